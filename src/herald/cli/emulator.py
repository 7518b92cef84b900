"""`herald emulator`: serve the offline Twilio emulator on its own port."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click
import uvicorn

from herald.cli import logs
from herald.emulator import EmulatorConfig, EmulatorConfigError, create_app
from herald.emulator.config import DEFAULT_HOST, DEFAULT_PORT, ENV_PREFIX

Command = TypeVar("Command", bound=Callable[..., Any])


def _option(name: str, help_text: str, **kwargs: Any) -> Callable[[Command], Command]:
    """A flag with its HERALD_EMULATOR_* twin, shown in --help."""
    variable = ENV_PREFIX + name.upper().replace("-", "_")
    return click.option(f"--{name}", envvar=variable, show_envvar=True, help=help_text, **kwargs)


@click.command()
@_option("host", "Interface to listen on.", default=DEFAULT_HOST, show_default=True)
@_option("port", "Port to listen on.", type=int, default=DEFAULT_PORT, show_default=True)
@_option("account-sid", "Main account SID (AC + 32 hex); random when unset.")
@_option("auth-token", "Main account auth token (32 hex); random when unset.")
@_option("test-account-sid", "Test credentials' account SID; random when unset.")
@_option("test-auth-token", "Test credentials' auth token; random when unset.")
@_option("seed", "Seed for SIDs and generated credentials (reproducible runs).", type=int)
def emulator(
    *,
    host: str,
    port: int,
    account_sid: str | None,
    auth_token: str | None,
    test_account_sid: str | None,
    test_auth_token: str | None,
    seed: int | None,
) -> None:
    """Run the offline Twilio emulator (a stand-in for api.twilio.com)."""
    try:
        config = EmulatorConfig.from_env(
            os.environ,
            host=host,
            port=port,
            account_sid=account_sid,
            auth_token=auth_token,
            test_account_sid=test_account_sid,
            test_auth_token=test_auth_token,
            seed=seed,
        )
    except EmulatorConfigError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(banner(config))
    logs.redact_access_log()
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info")


def banner(config: EmulatorConfig) -> str:
    """What `herald emulator` prints before serving: where it is and how to use it."""
    return "\n".join(
        [
            f"Herald Twilio emulator on {config.base_url}",
            "",
            f"  Account SID       {config.account_sid}",
            f"  Auth token        {config.auth_token}",
            f"  Test account SID  {config.test_account_sid}",
            f"  Test auth token   {config.test_auth_token}",
            "",
            "Point the twilio Python client at it:",
            "",
            "  from twilio.rest import Client",
            f'  client = Client("{config.account_sid}", "{config.auth_token}")',
            f'  client.api.base_url = "{config.base_url}"',
            "",
            "or curl:",
            "",
            f"  curl -u {config.account_sid}:{config.auth_token} \\",
            f"    {config.base_url}/2010-04-01/Accounts/{config.account_sid}.json",
            "",
            f"Credentials any time: {config.base_url}/_emulator/accounts",
        ]
    )
