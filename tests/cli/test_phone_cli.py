"""`herald phone NUMBER` explains a number, in a table or as JSON, and fails in one line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from herald.cli import main


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["phone", *args])
    return result.exit_code, result.stdout, result.stderr


def test_human_output_shows_every_fact() -> None:
    """The table shows E.164, country, type, time zone, formats, SMS and alphanumeric answers."""
    code, out, _ = _run("06 12345678", "--region", "NL")
    assert code == 0
    for fact in (
        "+31612345678",
        "Netherlands (NL)",
        "mobile",
        "Europe/Amsterdam",
        "06 12345678",
        "+31 6 12345678",
        "SMS",
        "Alphanumeric sender",
    ):
        assert fact in out


def test_json_output_is_the_same_facts() -> None:
    """--json prints one JSON document with the same facts."""
    code, out, _ = _run("+1 415 555 0100", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["e164"] == "+14155550100"
    assert document["region"] == "US"
    assert document["type"] == "fixed_line_or_mobile"
    assert document["time_zones"] == ["America/Los_Angeles"]
    assert document["sms"]["can_receive"] is True
    assert document["alphanumeric_sender"]["permitted"] is False


def test_json_reports_a_landline_cannot_receive_sms() -> None:
    """A Dutch fixed line is reported as unable to receive SMS, with the reason."""
    _, out, _ = _run("020 123 4567", "--region", "NL", "--json")
    sms = json.loads(out)["sms"]
    assert sms["can_receive"] is False
    assert "landline" in sms["reason"]


def test_json_says_alphanumeric_senders_are_one_way() -> None:
    """The alphanumeric verdict for a Dutch mobile is permitted, without replies."""
    _, out, _ = _run("+31612345678", "--json")
    verdict = json.loads(out)["alphanumeric_sender"]
    assert verdict["permitted"] is True
    assert verdict["replies_possible"] is False


def test_bad_number_is_a_one_line_error() -> None:
    """An invalid number exits 1 with one line on stderr saying what is wrong."""
    code, out, err = _run("06 12345678")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "has no country code" in err
    assert "Traceback" not in err


def test_letters_are_a_one_line_error() -> None:
    """Letters in the number are named in the error."""
    code, _, err = _run("call-me", "--region", "NL")
    assert code == 1
    assert "the letter 'c'" in err


def test_unknown_region_is_an_error() -> None:
    """An unknown --region exits 1 saying the region is not known."""
    code, _, err = _run("06 12345678", "--region", "XX")
    assert code == 1
    assert "'XX' is not a region" in err


def test_json_flag_does_not_hide_errors() -> None:
    """With --json, bad input is still a one-line error and a non-zero exit."""
    code, out, err = _run("+999 123", "--json")
    assert code == 1
    assert out == ""
    assert "country code" in err
