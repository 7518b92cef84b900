"""Wire conventions seen over raw HTTP: list envelopes, paging links, 404/405, bad input."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.emulator.conftest import RunningEmulator
from tests.emulator.rawhttp import call


def _auth(running: RunningEmulator) -> tuple[str, str]:
    return running.config.account_sid, running.config.auth_token


def _keys_url(running: RunningEmulator) -> str:
    return running.url(f"/2010-04-01/Accounts/{running.config.account_sid}/Keys.json")


def _make_keys(running: RunningEmulator, count: int) -> list[str]:
    return [
        call("POST", _keys_url(running), auth=_auth(running), form={"FriendlyName": f"k{n}"}).json[
            "sid"
        ]
        for n in range(count)
    ]


def test_first_page_envelope(emulator: RunningEmulator) -> None:
    """Page 0 of 5 keys by 2 carries start/end indexes and a PageToken in next_page_uri."""
    sids = _make_keys(emulator, 5)
    body = call("GET", _keys_url(emulator) + "?PageSize=2", auth=_auth(emulator)).json
    path = f"/2010-04-01/Accounts/{emulator.config.account_sid}/Keys.json"
    assert [key["sid"] for key in body["keys"]] == sids[:2]
    assert (body["page"], body["page_size"], body["start"], body["end"]) == (0, 2, 0, 1)
    assert body["uri"] == f"{path}?PageSize=2&Page=0"
    assert body["first_page_uri"] == f"{path}?PageSize=2&Page=0"
    assert body["previous_page_uri"] is None
    assert body["next_page_uri"] == f"{path}?PageSize=2&Page=1&PageToken=PA{sids[1]}"


def test_following_next_and_previous_links(emulator: RunningEmulator) -> None:
    """next_page_uri walks every record once; previous_page_uri leads back to the page before."""
    sids = _make_keys(emulator, 5)
    seen: list[str] = []
    pages = []
    uri: str | None = urlsplit(_keys_url(emulator)).path + "?PageSize=2"
    while uri is not None:
        body = call("GET", emulator.url(uri), auth=_auth(emulator)).json
        pages.append(body)
        seen += [key["sid"] for key in body["keys"]]
        uri = body["next_page_uri"]
    assert seen == sids
    assert [(page["page"], page["start"], page["end"]) for page in pages] == [
        (0, 0, 1),
        (1, 2, 3),
        (2, 4, 4),
    ]
    back = call("GET", emulator.url(pages[2]["previous_page_uri"]), auth=_auth(emulator)).json
    assert [key["sid"] for key in back["keys"]] == sids[2:4]
    assert back["page"] == 1


def test_filters_are_repeated_in_page_links(emulator: RunningEmulator) -> None:
    """List filters appear, in order, before the paging parameters of every link."""
    url = emulator.url("/2010-04-01/Accounts.json?Status=active&FriendlyName=Herald+Emulator")
    body = call("GET", url, auth=_auth(emulator)).json
    query = parse_qs(urlsplit(body["uri"]).query)
    assert query == {
        "FriendlyName": ["Herald Emulator"],
        "Status": ["active"],
        "PageSize": ["50"],
        "Page": ["0"],
    }
    assert len(body["accounts"]) == 1


@pytest.mark.parametrize("page_size", ["0", "1001", "ten"])
def test_bad_page_size_is_a_400(emulator: RunningEmulator, page_size: str) -> None:
    """PageSize outside 1..1000, or not a number, is 400/20001."""
    reply = call("GET", _keys_url(emulator) + f"?PageSize={page_size}", auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (400, 20001)


def test_page_without_token_is_a_400(emulator: RunningEmulator) -> None:
    """Asking for Page>0 without a PageToken is refused, as Twilio does."""
    reply = call("GET", _keys_url(emulator) + "?Page=1", auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (400, 20001)
    assert reply.json["message"] == "Paged requests must include a PageToken"


def test_malformed_page_token_is_a_400(emulator: RunningEmulator) -> None:
    """A PageToken that is not PA/PB + SID is refused."""
    reply = call("GET", _keys_url(emulator) + "?Page=1&PageToken=XYZ", auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (400, 20001)


def test_unknown_route_is_twilio_404(emulator: RunningEmulator) -> None:
    """An unknown path answers 404/20404 naming the path."""
    reply = call("GET", emulator.url("/2010-04-01/Nothing.json"), auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (404, 20404)
    assert reply.json["message"] == "The requested resource /2010-04-01/Nothing.json was not found"


def test_path_without_json_suffix_is_404(emulator: RunningEmulator) -> None:
    """2010-04-01 paths need their .json suffix (Twilio would answer XML without it)."""
    reply = call("GET", emulator.url("/2010-04-01/Accounts"), auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (404, 20404)


def test_malformed_account_sid_is_404(emulator: RunningEmulator) -> None:
    """An account SID without Twilio's shape is a 404, even before authentication."""
    reply = call("GET", emulator.url("/2010-04-01/Accounts/12345/Keys.json"))
    assert (reply.status, reply.json["code"]) == (404, 20404)


def test_wrong_method_is_405(emulator: RunningEmulator) -> None:
    """A known path with an unsupported method answers 405/20004 with Allow."""
    reply = call("DELETE", emulator.url("/2010-04-01/Accounts.json"), auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (405, 20004)
    assert reply.headers["Allow"] == "POST"


def test_bad_enum_value_in_query_is_400(emulator: RunningEmulator) -> None:
    """An unknown Status filter is 400/20001 naming the parameter."""
    reply = call("GET", emulator.url("/2010-04-01/Accounts.json?Status=gone"), auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (400, 20001)
    assert "Status" in reply.json["message"]


def test_body_that_is_not_utf8_is_400(emulator: RunningEmulator) -> None:
    """A form body that is not UTF-8 is refused with 400/20001."""
    reply = call(
        "POST",
        emulator.url("/2010-04-01/Accounts.json"),
        auth=_auth(emulator),
        body=b"FriendlyName=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (reply.status, reply.json["code"]) == (400, 20001)


def test_repeated_and_encoded_form_values(emulator: RunningEmulator) -> None:
    """Percent-encoded UTF-8 is decoded; for a single-valued field the first value counts."""
    reply = call(
        "POST",
        emulator.url("/2010-04-01/Accounts.json"),
        auth=_auth(emulator),
        form=[("FriendlyName", "Café 🙂"), ("FriendlyName", "ignored")],
    )
    assert reply.status == 201
    assert reply.json["friendly_name"] == "Café 🙂"


def test_delete_answers_204_without_body(emulator: RunningEmulator) -> None:
    """DELETE of a key is 204 with an empty body."""
    sid = _make_keys(emulator, 1)[0]
    url = emulator.url(f"/2010-04-01/Accounts/{emulator.config.account_sid}/Keys/{sid}.json")
    reply = call("DELETE", url, auth=_auth(emulator))
    assert (reply.status, reply.raw) == (204, b"")
