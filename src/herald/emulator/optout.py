"""Twilio's own STOP/START/HELP handling of inbound SMS, as the emulator plays it (§13).

Twilio answers a handful of English keywords by itself on US and Canadian numbers: the whole
message must be the keyword, in any letter case (help.twilio.com 223134027):

- opt-out (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT): the sender is blocked
  from the number, or from the whole Messaging Service the number belongs to; every later send
  in that scope is refused with 400/21610 until the person opts back in; Twilio confirms with
  its standard reply;
- opt-in (START, YES, UNSTOP): the block is lifted and Twilio confirms;
- help (HELP, INFO): Twilio answers with its help text, except to someone who has opted out.

The emulator plays Twilio, so it uses only that English default set
(`herald.domain.keywords.ENGLISH`), never Herald's multilingual sets: answering "ARRET" or
"UIT" is the job of Herald's gateway, and an emulator doing it would hide a gateway that does
not. Numbers outside the US and Canada, and WhatsApp addresses, get no automatic handling.

The ledger itself is the Messages runtime's `OptOuts` (`messaging(state).opt_outs`), the one the
Messages create consults for 21610; this module decides what an inbound message does to it.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.domain.keywords import ENGLISH, KeywordKind, KeywordSets, classify
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.messaging import messaging
from herald.emulator.routing import emulator_of
from herald.emulator.state import EmulatorState
from herald.emulator.whatsapp import bare_number, is_whatsapp
from herald.emulator.wire import json_response

TWILIO_KEYWORDS: Final = KeywordSets((ENGLISH,))
"""Twilio's default keywords: English only, as Twilio applies them on US/CA numbers."""

HANDLED_COUNTRIES: Final = frozenset({"US", "CA"})

# Twilio's standard replies, as quoted by integrators that show them to their users
# (e.g. TextIt's and Missive's opt-out guides); the help text is Twilio's long-standing default.
OPT_OUT_REPLY: Final = (
    "You have successfully been unsubscribed. You will not receive any more messages from this "
    "number. Reply START to resubscribe."
)
OPT_IN_REPLY: Final = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for help. "
    "Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
HELP_REPLY: Final = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."


@dataclasses.dataclass(frozen=True, slots=True)
class KeywordOutcome:
    """What Twilio did with an inbound message: the keyword kind, and its auto-reply if any."""

    kind: KeywordKind
    keyword: str | None = None
    reply: str | None = None


NOT_A_KEYWORD: Final = KeywordOutcome(KeywordKind.NONE)


def handles_keywords(number_country: str, to: str) -> bool:
    """Whether Twilio handles keywords for a message to this number (US/CA SMS only)."""
    return number_country in HANDLED_COUNTRIES and not is_whatsapp(to)


def apply_keyword(
    state: EmulatorState,
    *,
    account_sid: str,
    scope: str,
    sender: str,
    body: str,
) -> KeywordOutcome:
    """Act on an inbound `body` from `sender` to `scope` (a number, or its Service's MG SID).

    Records or lifts the opt-out, publishes `optout.changed`, and says which auto-reply Twilio
    sends (None for help to someone opted out, and for an ordinary message).
    """
    match = classify(body, TWILIO_KEYWORDS)
    ledger = messaging(state).opt_outs
    blocked = ledger.blocks(account_sid, sender=scope, service_sid=None, recipient=sender)
    if match.kind is KeywordKind.OPT_OUT:
        ledger.add(account_sid, scope, sender)
        _publish(state, account_sid, scope, sender, opted_out=True)
        return KeywordOutcome(match.kind, match.keyword, OPT_OUT_REPLY)
    if match.kind is KeywordKind.OPT_IN:
        ledger.remove(account_sid, scope, sender)
        if blocked:
            _publish(state, account_sid, scope, sender, opted_out=False)
        return KeywordOutcome(match.kind, match.keyword, OPT_IN_REPLY)
    if match.kind is KeywordKind.HELP:
        return KeywordOutcome(match.kind, match.keyword, None if blocked else HELP_REPLY)
    return NOT_A_KEYWORD


def _publish(
    state: EmulatorState, account_sid: str, scope: str, recipient: str, *, opted_out: bool
) -> None:
    state.events.publish(
        "optout.changed",
        {
            "account_sid": account_sid,
            "scope": bare_number(scope),
            "recipient": bare_number(recipient),
            "opted_out": opted_out,
        },
    )


async def list_opt_outs(request: Request) -> Response:
    """`GET /_emulator/opt-outs`: every recorded opt-out (`?account_sid=` narrows it)."""
    state = emulator_of(request).state
    account_filter = request.query_params.get("account_sid")
    entries = [
        {"account_sid": account_sid, "scope": scope, "recipient": recipient}
        for account_sid, scope, recipient in messaging(state).opt_outs.entries()
        if account_filter in {None, "", account_sid}
    ]
    return json_response({"opt_outs": entries})


def routes() -> list[Route]:
    """The opt-out control route."""
    return [Route(f"{CONTROL_PREFIX}/opt-outs", list_opt_outs, methods=["GET"])]
