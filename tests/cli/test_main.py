"""The `herald` command group itself."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from herald import __version__
from herald.cli import main


def test_version_prints_the_package_version() -> None:
    """`herald --version` prints the installed version and exits 0."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"herald {__version__}"


def test_unknown_command_is_a_one_line_usage_error() -> None:
    """An unknown command exits 2 with click's usage error, not a traceback."""
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output
    assert "Traceback" not in result.output


def test_console_script_module_entry_point() -> None:
    """`python -m herald --version` works like the console script."""
    completed = subprocess.run(
        [sys.executable, "-m", "herald", "--version"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"herald {__version__}"
