#!/usr/bin/env python3
"""Set up Herald's development environment and run it or its checks.

    python3 dev.py run      set up, then run Herald (`herald serve`, in sandbox without Twilio)
    python3 dev.py test     set up, then run every check: ruff, mypy and the test suite

Needs only Python 3.11+. The virtual environment lives in `.venv/` and is refreshed whenever
`pyproject.toml` changes; extra arguments after `test` are passed to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".dev-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Herald needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        print("Creating the virtual environment in .venv/ ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("Installing Herald and its development tools into .venv/ ...", flush=True)
    _run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]")
    STAMP.write_text(wanted)


def _run(*argv: str) -> None:
    completed = subprocess.run(argv, cwd=ROOT, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def run() -> None:
    """Herald's main job, as the README's first command promises: `herald serve` in sandbox."""
    herald = str(BIN / "herald")
    if os.name == "nt":
        _run(herald, "serve")
    else:
        # Become Herald, so that Ctrl+C and SIGTERM reach it alone and it shuts down in order
        # (subprocess.run would kill it a quarter of a second after Ctrl+C).
        os.execv(herald, [herald, "serve"])  # noqa: S606 - the project's own entry point


def test(pytest_args: list[str]) -> None:
    """Every check that CI runs, in the order that fails fastest."""
    _run(str(BIN / "ruff"), "check", ".")
    _run(str(BIN / "ruff"), "format", "--check", ".")
    _run(str(BIN / "mypy"))
    _run(str(BIN / "python"), "-m", "pytest", *pytest_args)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        sys.exit(__doc__)
    _setup()
    if sys.argv[1] == "run":
        run()
    else:
        test(sys.argv[2:])


if __name__ == "__main__":
    main()
