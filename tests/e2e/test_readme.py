"""The README's first message, run as written against a running Herald, so the README stays true.

The curl commands are read from README.md's "Send your first message": the request's path and
JSON body are sent exactly (only the host and the key are the fixture's), and the path it says
to watch is read from the emulator.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.e2e.helpers import RunningHerald, eventually, settled

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Send your first message"


def _curls() -> list[list[str]]:
    """The README's curl commands in the first-message section, as argument lists."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    commands = [shlex.split(block.replace("\\\n", " ")) for block in blocks]
    return [command for command in commands if command and command[0] == "curl"]


def _send_command() -> tuple[str, dict[str, Any]]:
    """The path and the JSON body of the README's curl that sends a message."""
    [command] = [each for each in _curls() if "-d" in each]
    assert command[command.index("-X") + 1] == "POST"
    url = next(arg for arg in command if arg.startswith("http"))
    body: dict[str, Any] = json.loads(command[command.index("-d") + 1])
    return urlsplit(url).path, body


def _watch_path() -> str:
    """The emulator path the README says to watch the message arrive at."""
    [command] = [each for each in _curls() if "-d" not in each]
    return urlsplit(command[-1]).path


async def test_the_readme_curl_sends_a_message(herald: RunningHerald) -> None:
    """The README's curl, path and body as written, is accepted with 202."""
    path, body = _send_command()

    response = await herald.api.post(path, json=body)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"


async def test_the_readme_shows_where_the_message_arrives(herald: RunningHerald) -> None:
    """The emulator path the README gives shows the README's message, delivered."""
    path, body = _send_command()
    accepted = (await herald.api.post(path, json=body)).json()
    message = await settled(herald, accepted["id"])

    async def arrived() -> dict[str, Any] | None:
        listed = (await herald.emulator.get(_watch_path())).json()["messages"]
        return next((m for m in listed if m["sid"] == message["provider_sid"]), None)

    shown = await eventually(arrived, what="the README's message on the emulator's phone")
    assert shown["status"] == "delivered"
    assert shown["body"] == body["body"]
    assert shown["to"] == unquote(_watch_path().split("/")[3])
