"""Twilio's wire conventions as pure functions: SIDs, dates, parameters, paging."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.emulator.errors import TwilioError
from herald.emulator.wire import Params, SidFactory, iso8601, paginate, resource_uri, rfc2822

SID = re.compile(r"^SM[0-9a-f]{32}$")


def test_rfc2822_renders_gmt_with_numeric_offset() -> None:
    """2010-04-01 dates read `Wed, 18 Aug 2021 20:01:00 +0000`, converted to UTC."""
    moment = datetime(2021, 8, 18, 22, 1, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert rfc2822(moment) == "Wed, 18 Aug 2021 20:01:00 +0000"


def test_iso8601_renders_zulu_seconds() -> None:
    """v1/v2 dates read `2015-07-30T20:00:00Z`."""
    assert iso8601(datetime(2015, 7, 30, 20, 0, 0, 999, tzinfo=UTC)) == "2015-07-30T20:00:00Z"


def test_sids_have_twilio_shape() -> None:
    """A SID is the prefix plus 32 lower-case hex digits."""
    assert SID.match(SidFactory().sid("SM"))


def test_seeded_sids_repeat_after_reseed() -> None:
    """A seeded factory gives the same sequence again after reseed()."""
    factory = SidFactory(seed=7)
    first = [factory.sid("SM"), factory.secret(), factory.hex(8)]
    factory.reseed()
    assert [factory.sid("SM"), factory.secret(), factory.hex(8)] == first
    assert SidFactory(seed=8).sid("SM") != first[0]


def test_sid_prefix_must_be_two_capitals() -> None:
    """A malformed prefix is a programming error, refused at once."""
    with pytest.raises(ValueError, match="two upper-case letters"):
        SidFactory().sid("sm")


def test_resource_uri_is_host_relative_with_json_suffix() -> None:
    """URIs start at /2010-04-01 and end in .json."""
    assert resource_uri("Accounts", "AC1", "Keys") == "/2010-04-01/Accounts/AC1/Keys.json"


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("FALSE", False), ("True", True)])
def test_booleans_are_case_insensitive(raw: str, *, expected: bool) -> None:
    """`true`/`false` are read in any letter case."""
    assert Params([("Flag", raw)]).boolean("Flag") is expected


def test_bad_boolean_is_twilio_400() -> None:
    """Anything but true/false is 400/20001 naming the parameter."""
    with pytest.raises(TwilioError) as raised:
        Params([("SmartEncoded", "yes")]).boolean("SmartEncoded")
    assert (raised.value.status, raised.value.code) == (400, 20001)
    assert "SmartEncoded" in raised.value.message


def test_repeated_keys_are_a_list() -> None:
    """Repeated keys keep every value in order; get() returns the first."""
    params = Params([("MediaUrl", "a"), ("To", "+1"), ("MediaUrl", "b")])
    assert params.get_all("MediaUrl") == ["a", "b"]
    assert params.get("MediaUrl") == "a"


def test_missing_required_parameter_is_twilio_400() -> None:
    """require() of an absent parameter uses Twilio's wording."""
    with pytest.raises(TwilioError) as raised:
        Params().require("To")
    assert raised.value.message == "Missing required parameter To in the post body"


def test_integer_bounds_are_enforced() -> None:
    """integer() refuses values outside the given range."""
    with pytest.raises(TwilioError):
        Params([("ValidityPeriod", "0")]).integer("ValidityPeriod", minimum=1, maximum=36000)
    assert Params([("ValidityPeriod", "60")]).integer("ValidityPeriod", minimum=1) == 60


def _walk(items: list[str], page_size: int) -> list[str]:
    seen: list[str] = []
    query: list[tuple[str, str]] = [("PageSize", str(page_size))]
    while True:
        body: dict[str, Any] = paginate(
            items,
            params=Params(query),
            path="/2010-04-01/Things.json",
            key="things",
            render=lambda sid: {"sid": sid},
            sid_of=lambda sid: sid,
        )
        assert len(body["things"]) <= page_size
        seen += [thing["sid"] for thing in body["things"]]
        if body["next_page_uri"] is None:
            return seen
        query = parse_qsl(urlsplit(body["next_page_uri"]).query)


@given(count=st.integers(min_value=0, max_value=60), page_size=st.integers(1, 25))
def test_following_next_links_reads_every_record_once(count: int, page_size: int) -> None:
    """For any list and page size, next_page_uri links visit each record exactly once."""
    items = [f"TH{n:032x}" for n in range(count)]
    assert _walk(items, page_size) == items


def test_page_token_survives_a_deleted_anchor() -> None:
    """A PageToken whose record is gone falls back to Page x PageSize."""
    params = Params([("PageSize", "2"), ("Page", "1"), ("PageToken", "PAgone")])
    body = paginate(
        ["a", "b", "c", "d"],
        params=params,
        path="/x.json",
        key="things",
        render=lambda sid: {"sid": sid},
        sid_of=lambda sid: sid,
    )
    assert [thing["sid"] for thing in body["things"]] == ["c", "d"]


def test_records_key_must_not_be_a_paging_key() -> None:
    """A list whose array key clashes with the envelope would break the twilio client."""
    with pytest.raises(ValueError, match="paging key"):
        paginate([], params=Params(), path="/x.json", key="uri", render=dict, sid_of=str)
