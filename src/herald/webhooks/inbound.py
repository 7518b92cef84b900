"""Inbound messages: store them, act on keywords, and answer with TwiML.

`handle_inbound` runs after the signature check:

1. The message is stored (`InboundRepository.insert`, once per `MessageSid`). Storage opens the
   WhatsApp window of a WhatsApp message and appends the `message.inbound` event.
2. An opt-out or opt-in keyword is recorded for the sender's number on the message's channel
   (`OptOutRepository.set`, source `keyword`): STOP by SMS stops SMS, not WhatsApp.
3. The answer is TwiML: `<Response><Message>` with the confirmation or help text, in the
   keyword's language, or an empty `<Response/>` for any other message (and for the English
   keywords Twilio already answered on US and Canadian numbers, see keywords.py).

Twilio retries a webhook whose answer it did not get. A retry stores nothing twice and gets the
same answer. Should the first attempt have stopped between storing the message and recording
its keyword, the retry records the keyword, unless the person's state changed after the message
arrived (a later START must not be undone by an old STOP's retry).
"""

from __future__ import annotations

import html
import re
from typing import Final

from herald.domain.keywords import KeywordKind, KeywordMatch, classify
from herald.domain.phone import Channel, parse_address
from herald.domain.records import InboundMessage, NewInbound, OptOutSource, Tenant
from herald.errors import InvalidInput
from herald.webhooks.deps import WebhookDeps
from herald.webhooks.forms import Form
from herald.webhooks.keywords import (
    keyword_reply,
    sender_language,
    tenant_keyword_sets,
    twilio_answers,
)

TWIML_TYPE: Final = "text/xml; charset=utf-8"
_XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>'
# Characters XML 1.0 does not allow even escaped (C0 controls other than tab, LF, CR, and the
# non-characters U+FFFE and U+FFFF); a tenant's reply text must not break the document.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAX_MEDIA: Final = 10
_MAX_COUNT_DIGITS: Final = 4


def twiml(message: str | None = None) -> str:
    """A TwiML document answering with `message`, or answering nothing."""
    if message is None:
        return f"{_XML_DECLARATION}<Response/>"
    text = html.escape(_NOT_XML.sub("", message), quote=False)
    return f"{_XML_DECLARATION}<Response><Message>{text}</Message></Response>"


async def handle_inbound(deps: WebhookDeps, tenant: Tenant, form: Form) -> tuple[str, str]:
    """Store the inbound message of `form` for `tenant`, act on its keyword.

    Returns the TwiML answer and the outcome for the counter: `accepted`, or `duplicate` for a
    retry of a message already stored.
    """
    from_ = form.required("From")
    to = form.required("To")
    body = form.get("Body")
    match = classify(body, tenant_keyword_sets(tenant), preferred_language=sender_language(from_))
    channel = Channel.WHATSAPP if from_.lower().startswith("whatsapp:") else Channel.SMS
    now = deps.now()
    received = await deps.inbound.insert(
        tenant.id,
        NewInbound(
            provider_sid=form.required("MessageSid"),
            channel=channel,
            from_=from_,
            to=to,
            body=body,
            num_media=_count(form.get("NumMedia")),
            media=_media(form),
            keyword_kind=match.kind,
            keyword=match.keyword,
            keyword_language=match.language,
        ),
        now=now,
    )
    stored = received.message
    stored_match = KeywordMatch(stored.keyword_kind, stored.keyword, stored.keyword_language)
    if stored_match.kind in {KeywordKind.OPT_OUT, KeywordKind.OPT_IN}:
        await _record_opt_out(deps, stored, first_time=received.created)
    outcome = "accepted" if received.created else "duplicate"
    if stored_match.kind is KeywordKind.NONE or twilio_answers(stored.to, stored_match):
        return twiml(), outcome
    return twiml(keyword_reply(tenant, stored_match)), outcome


async def _record_opt_out(deps: WebhookDeps, message: InboundMessage, *, first_time: bool) -> None:
    try:
        number = parse_address(message.from_).number.e164
    except InvalidInput:
        # A sender Herald cannot send to (a short code, an alphanumeric ID) has nothing to stop.
        return
    opted_out = message.keyword_kind is KeywordKind.OPT_OUT
    if not first_time:
        current = await deps.opt_outs.get(message.tenant_id, message.channel, number)
        settled = current is not None and (
            current.opted_out == opted_out or current.updated_at >= message.received_at
        )
        if settled:
            return
    await deps.opt_outs.set(
        message.tenant_id,
        message.channel,
        number,
        opted_out=opted_out,
        source=OptOutSource.KEYWORD,
        now=deps.now(),
        keyword=message.keyword,
    )


def _count(text: str) -> int:
    # Twilio sends at most 10 media; anything else that is not a small number counts as none.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= _MAX_COUNT_DIGITS else 0


def _media(form: Form) -> tuple[dict[str, str], ...]:
    items = []
    for index in range(min(_count(form.get("NumMedia")), _MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}")
        if url:
            items.append({"url": url, "content_type": form.get(f"MediaContentType{index}")})
    return tuple(items)
