"""Opt-out keywords from a Dutch phone, texted through the emulator to the sandbox number.

Twilio acts on its English keywords only, and only for its US and Canadian numbers; Herald acts
on its keywords in every language. The sandbox number is a US number: for `stop` the emulator
(playing Twilio) answers and blocks, and Herald records the opt-out without answering a second
time; for `AFMELDEN` Twilio does nothing and Herald alone records and answers it.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    RunningHerald,
    assert_problem,
    received_by,
    send,
    settled,
    text_herald,
)

DUTCH_PHONE = "+31612345678"
DUTCH_CONFIRMATION = (
    "default: je bent afgemeld en ontvangt geen berichten meer. "
    "Stuur START om je weer aan te melden."
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.mark.parametrize("keyword", ["stop", "AFMELDEN"])
async def test_an_opt_out_keyword_blocks_the_next_sms(herald: RunningHerald, keyword: str) -> None:
    """After a Dutch phone texts an opt-out keyword, a message to it is refused 422."""
    await text_herald(herald, DUTCH_PHONE, keyword)

    response = await herald.api.post(
        "/v1/messages", json={"channel": "sms", "to": DUTCH_PHONE, "body": "Our summer sale!"}
    )

    problem = assert_problem(response, 422, "recipient_opted_out")
    assert DUTCH_PHONE in problem["detail"]


async def test_afmelden_is_confirmed_in_dutch_by_herald(herald: RunningHerald) -> None:
    """AFMELDEN, which Twilio ignores, is confirmed in Dutch by Herald's TwiML reply."""
    outcome = await text_herald(herald, DUTCH_PHONE, "AFMELDEN")

    assert outcome["keyword"] is None
    [reply] = outcome["replies"]
    assert reply["body"] == DUTCH_CONFIRMATION
    [received] = await received_by(herald, DUTCH_PHONE, count=1)
    assert received["body"] == DUTCH_CONFIRMATION
    assert received["from"] == herald.sandbox_number


async def test_stop_to_the_us_number_is_answered_once(herald: RunningHerald) -> None:
    """For STOP on a US number Twilio answers, so Herald records it but answers nothing."""
    outcome = await text_herald(herald, DUTCH_PHONE, "stop")

    assert outcome["keyword"]["kind"] == "opt_out"
    assert outcome["webhook"]["status_code"] == 200
    assert outcome["webhook"]["response_excerpt"] == EMPTY_TWIML
    [received] = await received_by(herald, DUTCH_PHONE, count=1)
    assert received["body"] == outcome["keyword"]["auto_reply"]
    state = (await herald.api.get(f"/v1/opt-outs/{DUTCH_PHONE}")).json()
    assert (state["opted_out"], state["source"], state["keyword"]) == (True, "keyword", "STOP")


async def test_start_lifts_the_opt_out(herald: RunningHerald) -> None:
    """After stop then START, a message to the Dutch phone is accepted and delivered."""
    await text_herald(herald, DUTCH_PHONE, "stop")
    await text_herald(herald, DUTCH_PHONE, "START")

    accepted = await send(herald, channel="sms", to=DUTCH_PHONE, body="Welcome back!")

    message = await settled(herald, accepted["id"])
    assert message["status"] == "delivered"
