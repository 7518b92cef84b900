"""`herald emulator`: flags with environment twins, validation, the start-up banner."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from herald.cli import main

FLAGS = ("host", "port", "account-sid", "auth-token", "test-account-sid", "test-auth-token", "seed")
SID = "AC" + "1" * 32
TOKEN = "2" * 32


def test_help_shows_every_environment_twin() -> None:
    """--help names the HERALD_EMULATOR_* variable of every flag."""
    result = CliRunner().invoke(main, ["emulator", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in FLAGS:
        assert f"--{flag}" in result.output
        assert "HERALD_EMULATOR_" + flag.upper().replace("-", "_") in result.output


def test_malformed_sid_is_a_usage_error_without_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad account SID stops before any server starts, with a one-line reason."""
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **_kwargs: served.append(args))
    result = CliRunner().invoke(main, ["emulator", "--account-sid", "AC123"])
    assert result.exit_code == 2
    assert "HERALD_EMULATOR_ACCOUNT_SID must be 'AC' followed by 32" in result.output
    assert "Traceback" not in result.output
    assert served == []


def test_start_prints_credentials_and_serves_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up prints the base URL, the credentials and client set-up, then runs uvicorn."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    result = CliRunner().invoke(
        main,
        ["emulator", "--port", "8899", "--auth-token", TOKEN],
        env={"HERALD_EMULATOR_ACCOUNT_SID": SID},
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8899" in result.output
    assert SID in result.output
    assert TOKEN in result.output
    assert 'client.api.base_url = "http://127.0.0.1:8899"' in result.output
    assert [(call["host"], call["port"]) for call in calls] == [("127.0.0.1", 8899)]
    assert calls[0]["app"].state.emulator.config.account_sid == SID
