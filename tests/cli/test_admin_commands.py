"""`herald migrate`, `tenants`, `keys` and `config` on a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from herald.cli import main
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import head_revision


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a Herald installation on the test database."""
    return {
        "HERALD_HOME": str(tmp_path / "home"),
        "HERALD_DATABASE_URL": database_url,
        "HERALD_SECRET_KEY": generate_secret_key(),
    }


def herald(env: dict[str, str], *args: str) -> Result:
    """Run `herald ARGS` with `env`, stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def migrated(env: dict[str, str]) -> dict[str, str]:
    """The environment, with the database migrated."""
    assert herald(env, "migrate").exit_code == 0
    return env


def test_migrate_reports_the_revision(env: dict[str, str]) -> None:
    """`herald migrate` brings the database to the head revision and says so."""
    result = herald(env, "migrate")
    assert result.exit_code == 0
    assert f"is at revision {head_revision()}" in result.stdout


def test_migrate_twice_is_harmless(migrated: dict[str, str]) -> None:
    """Migrating a current database changes nothing and succeeds."""
    assert herald(migrated, "migrate").exit_code == 0


def test_commands_refuse_an_unmigrated_database(env: dict[str, str]) -> None:
    """Before `herald migrate`, management commands say to run it, in one line."""
    result = herald(env, "tenants", "list")
    assert result.exit_code == 1
    assert "run `herald migrate`" in result.stderr
    assert "Traceback" not in result.output


def test_tenant_create_then_list(migrated: dict[str, str]) -> None:
    """A created tenant is listed with its account and default sender."""
    created = herald(
        migrated,
        "tenants",
        "create",
        "shop",
        "--twilio-account-sid",
        "AC" + "a" * 32,
        "--twilio-auth-token",
        "t" * 32,
        "--default-from",
        "+31 6 87654321",
        "--default-region",
        "nl",
    )
    assert created.exit_code == 0, created.output
    listed = herald(migrated, "tenants", "list")
    assert "shop" in listed.stdout
    assert "AC" + "a" * 32 in listed.stdout
    assert "+31687654321" in listed.stdout


def test_duplicate_tenant_is_a_one_line_error(migrated: dict[str, str]) -> None:
    """Creating a tenant whose name is taken fails with one line on stderr."""
    herald(migrated, "tenants", "create", "shop")
    result = herald(migrated, "tenants", "create", "shop")
    assert result.exit_code == 1
    assert result.stderr == "Error: A tenant named 'shop' already exists; choose another name.\n"


def test_malformed_account_sid_is_refused(migrated: dict[str, str]) -> None:
    """An account SID that is not AC + 32 hex digits is refused before anything is stored."""
    result = herald(
        migrated,
        "tenants",
        "create",
        "x",
        "--twilio-account-sid",
        "AC1",
        "--twilio-auth-token",
        "t",
    )
    assert result.exit_code == 1
    assert "is not a Twilio account SID" in result.stderr
    assert "x " not in herald(migrated, "tenants", "list").stdout


def test_token_without_account_is_refused(migrated: dict[str, str]) -> None:
    """An auth token without an account SID is refused, saying what to give."""
    result = herald(migrated, "tenants", "create", "x", "--twilio-auth-token", "t")
    assert result.exit_code == 1
    assert "--twilio-account-sid" in result.stderr


def test_broken_template_is_refused(migrated: dict[str, str]) -> None:
    """A template with an unclosed placeholder is refused with where it breaks."""
    result = herald(migrated, "tenants", "create", "x", "--template", "otp=Code {{code")
    assert result.exit_code == 1
    assert "never closed" in result.stderr


def test_keys_create_prints_only_a_working_key(migrated: dict[str, str]) -> None:
    """`keys create` prints the key alone on stdout, and the key authenticates its tenant."""
    herald(migrated, "tenants", "create", "shop")
    result = herald(migrated, "keys", "create", "--tenant", "shop", "--label", "ci")
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert result.stdout == key + "\n"
    assert key.startswith("hk_")

    async def owner() -> str | None:
        engine = create_engine(migrated["HERALD_DATABASE_URL"])
        try:
            tenant = await ApiKeyRepository(engine).authenticate(key)
        finally:
            await engine.dispose()
        return None if tenant is None else tenant.name

    assert asyncio.run(owner()) == "shop"


def test_keys_list_shows_prefix_and_label(migrated: dict[str, str]) -> None:
    """`keys list` shows each key's prefix and label, never the key."""
    herald(migrated, "tenants", "create", "shop")
    key = herald(migrated, "keys", "create", "--tenant", "shop", "--label", "ci").stdout.strip()
    listed = herald(migrated, "keys", "list", "--tenant", "shop").stdout
    assert key[:11] in listed
    assert key not in listed
    assert "ci" in listed


def test_keys_revoke_marks_the_key_revoked(migrated: dict[str, str]) -> None:
    """`keys revoke ID` revokes the key; the list shows when."""
    herald(migrated, "tenants", "create", "shop")
    herald(migrated, "keys", "create", "--tenant", "shop")
    key_id = herald(migrated, "keys", "list", "--tenant", "shop").stdout.splitlines()[1].split()[0]
    result = herald(migrated, "keys", "revoke", key_id, "--tenant", "shop")
    assert result.exit_code == 0
    row = herald(migrated, "keys", "list", "--tenant", "shop").stdout.splitlines()[1]
    assert row.split()[4] != "-"


def test_keys_revoke_of_another_tenants_key_fails(migrated: dict[str, str]) -> None:
    """A key id of another tenant cannot be revoked through this tenant."""
    herald(migrated, "tenants", "create", "shop")
    herald(migrated, "tenants", "create", "other")
    herald(migrated, "keys", "create", "--tenant", "shop")
    key_id = herald(migrated, "keys", "list", "--tenant", "shop").stdout.splitlines()[1].split()[0]
    result = herald(migrated, "keys", "revoke", key_id, "--tenant", "other")
    assert result.exit_code == 1
    assert "has no key" in result.stderr


def test_keys_for_unknown_tenant_is_a_one_line_error(migrated: dict[str, str]) -> None:
    """Naming a tenant that does not exist fails in one line."""
    result = herald(migrated, "keys", "create", "--tenant", "nobody")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1


def test_config_masks_secrets(env: dict[str, str]) -> None:
    """`herald config` lists every setting and masks the secret key."""
    result = herald(
        {**env, "HERALD_TWILIO_AUTH_TOKEN": "x" * 32, "HERALD_TWILIO_ACCOUNT_SID": "AC1"}, "config"
    )
    assert result.exit_code == 0
    assert "HERALD_SECRET_KEY" in result.stdout
    assert env["HERALD_SECRET_KEY"] not in result.stdout
    assert "x" * 32 not in result.stdout
    assert "Mode: Twilio" in result.stdout


def test_config_reports_a_malformed_setting_in_one_line(env: dict[str, str]) -> None:
    """A malformed variable is named in a one-line error."""
    result = herald({**env, "HERALD_PORT": "eighty"}, "config")
    assert result.exit_code == 1
    assert "HERALD_PORT must be a whole number" in result.stderr
