"""`POST /_emulator/inbound`: a simulated phone sends a message to a bought number.

The body (JSON, or form-encoded) names `from` (E.164, or `whatsapp:+…`), `to` (a number some
account bought, in the same channel), `body`, and optionally `media_urls` (a list) and
`profile_name` (WhatsApp). What Twilio would do then, in order:

1. the inbound Message is created (`direction` `inbound`, `status` `received`, SID `SM…`, or
   `MM…` with media) and is visible through the Messages API of the number's account;
2. a WhatsApp message opens (or refreshes) the 24-hour window of that customer and sender;
3. on a US/CA number, Twilio's keywords act (`optout`): STOP records the opt-out for the number
   or its whole Messaging Service, START lifts it, HELP is answered; Twilio's auto-reply is sent;
4. the application's webhook is called (`inbound_webhook`), signed, and logged;
5. its TwiML answer (`twiml`) becomes outbound `outbound-reply` messages from that number, which
   go through the normal delivery lifecycle; a reply to someone who opted out is refused (21610).

The answer is the inbound message, the keyword handling, the webhook's outcome and the replies.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.domain.segments import analyse
from herald.emulator import errors
from herald.emulator.callbacks import WebhookDelivery
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.inbound_webhook import Answer, InboundSender, inbound_params, target_of
from herald.emulator.message_store import Message
from herald.emulator.messages import render
from herald.emulator.messaging import Messaging, messaging
from herald.emulator.messaging_services import POOL, MessagingService, find_service
from herald.emulator.numbers import IncomingNumber, PhoneNumbers
from herald.emulator.optout import NOT_A_KEYWORD, KeywordOutcome, apply_keyword, handles_keywords
from herald.emulator.routing import Emulator, emulator_of
from herald.emulator.twiml import ReplyMessage, TwimlError, read_reply
from herald.emulator.whatsapp import bare_number, is_whatsapp, whatsapp_state
from herald.emulator.wire import iso8601, json_response, read_form, rfc2822

E164: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
OPTED_OUT: Final = 21610
MAX_MEDIA: Final = 10


@dataclasses.dataclass(frozen=True, slots=True)
class Inbound:
    """One simulated incoming message, checked."""

    from_: str
    to: str
    body: str
    media_urls: tuple[str, ...] = ()
    profile_name: str | None = None


async def read_inbound(request: Request) -> Inbound:
    """The simulated message in a JSON or form body; a clear 400 for anything unusable."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            raw = json.loads(await request.body())
        except (UnicodeDecodeError, ValueError):
            raise errors.invalid_parameter("The request body is not valid JSON.") from None
        if not isinstance(raw, dict):
            raise errors.invalid_parameter("The request body must be a JSON object.")
        fields: dict[str, Any] = raw
    else:
        form = await read_form(request)
        fields = {key: value for key, value in form.items() if key != "media_urls"}
        fields["media_urls"] = form.get_all("media_urls")
    return _checked(fields)


def _checked(fields: dict[str, Any]) -> Inbound:
    unknown = sorted(set(fields) - {"from", "to", "body", "media_urls", "profile_name"})
    if unknown:
        raise errors.invalid_parameter(
            f"Unknown field(s) {', '.join(unknown)}; give from, to, body, media_urls, profile_name."
        )
    from_, to = _address(fields, "from"), _address(fields, "to")
    if is_whatsapp(from_) != is_whatsapp(to):
        raise errors.invalid_parameter("from and to must both be whatsapp: addresses, or neither.")
    body = fields.get("body", "")
    media = fields.get("media_urls") or []
    if not isinstance(body, str):
        raise errors.invalid_parameter("body must be a string.")
    if not isinstance(media, list) or not all(isinstance(url, str) and url for url in media):
        raise errors.invalid_parameter("media_urls must be a list of URLs.")
    if len(media) > MAX_MEDIA:
        raise errors.invalid_parameter(f"A message carries at most {MAX_MEDIA} media.")
    if not body and not media:
        raise errors.invalid_parameter("Give a body, media_urls, or both.")
    profile = fields.get("profile_name")
    if profile is not None and not isinstance(profile, str):
        raise errors.invalid_parameter("profile_name must be a string.")
    return Inbound(from_, to, body, tuple(media), profile)


def _address(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid_parameter(f"Missing {name}: give an E.164 number or whatsapp:+….")
    value = value.strip()
    if not E164.match(bare_number(value)):
        raise errors.invalid_parameter(
            f"Invalid {name} {value!r}: write it in E.164 (+ and up to 15 digits), "
            "or as whatsapp:+…."
        )
    return value


# -- receiving -------------------------------------------------------------------------------


def _number_for(emulator: Emulator, inbound: Inbound) -> IncomingNumber:
    number = PhoneNumbers(emulator.state).by_number(bare_number(inbound.to))
    if number is None:
        raise errors.TwilioError(
            404,
            20404,
            f"{bare_number(inbound.to)} is not a number bought in this emulator; buy it first "
            "(IncomingPhoneNumbers, or POST /_emulator/seed).",
        )
    if is_whatsapp(inbound.to) and not whatsapp_state(emulator.state).is_sender(
        number.account_sid, inbound.to
    ):
        raise errors.invalid_parameter(
            f"{number.phone_number} is not a WhatsApp sender of its account; register it with "
            "POST /_emulator/whatsapp/senders."
        )
    return number


def _service_of(emulator: Emulator, number: IncomingNumber) -> MessagingService | None:
    entry = emulator.state.store(POOL).get(number.sid)
    if entry is None:
        return None
    return find_service(emulator.state, number.account_sid, entry.service_sid)


def _new_message(
    emulator: Emulator,
    *,
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    media: tuple[str, ...],
    direction: str,
    service: MessagingService | None,
    status_callback: str | None = None,
) -> Message:
    info = analyse(body) if body else None
    now = emulator.clock.now()
    return Message(
        sid=emulator.state.sids.sid("MM" if media else "SM"),
        account_sid=account_sid,
        to=to,
        from_=from_,
        body=body,
        status="received" if direction == "inbound" else "queued",
        date_created=now,
        date_updated=now,
        date_sent=now if direction == "inbound" else None,
        num_segments=1 if info is None or is_whatsapp(to) else info.segments,
        num_media=len(media),
        media_urls=media,
        direction=direction,
        messaging_service_sid=service.sid if service is not None else None,
        status_callback=status_callback,
        encoding=info.encoding if info is not None else "GSM-7",
    )


async def receive(emulator: Emulator, inbound: Inbound) -> dict[str, Any]:
    """Play everything Twilio does for one incoming message; the control API's answer."""
    state = emulator.state
    number = _number_for(emulator, inbound)
    service = _service_of(emulator, number)
    runtime = messaging(state)
    message = _new_message(
        emulator,
        account_sid=number.account_sid,
        from_=inbound.from_,
        to=inbound.to,
        body=inbound.body,
        media=inbound.media_urls,
        direction="inbound",
        service=service,
    )
    runtime.store.add(message)
    state.events.publish("message.created", {"message": render(message)})
    state.events.publish("message.inbound", {"message": render(message)})
    if is_whatsapp(inbound.to):
        whatsapp_state(state).open(inbound.to, inbound.from_, emulator.clock.now())
    keyword = NOT_A_KEYWORD
    scope = service.sid if service is not None else number.phone_number
    if handles_keywords(number.iso_country, inbound.to):
        keyword = apply_keyword(
            state,
            account_sid=number.account_sid,
            scope=scope,
            sender=inbound.from_,
            body=inbound.body,
        )
    replies: list[Message] = []
    if keyword.reply is not None:
        replies.append(_send(emulator, runtime, message, ReplyMessage(keyword.reply), service))
    webhook, twiml = await _call_application(
        emulator, runtime, message, number, service, profile_name=inbound.profile_name
    )
    refused: list[dict[str, Any]] = []
    for reply in twiml:
        if runtime.opt_outs.blocks(
            message.account_sid,
            sender=reply.from_ or message.to,
            service_sid=message.messaging_service_sid,
            recipient=reply.to or inbound.from_,
        ):
            refused.append({"to": reply.to or inbound.from_, "code": OPTED_OUT})
            continue
        replies.append(_send(emulator, runtime, message, reply, service))
    return {
        "message": render(message),
        "keyword": _keyword_view(keyword),
        "webhook": webhook,
        "replies": [render(reply) for reply in replies],
        "refused_replies": refused,
    }


async def _call_application(
    emulator: Emulator,
    runtime: Messaging,
    message: Message,
    number: IncomingNumber,
    service: MessagingService | None,
    *,
    profile_name: str | None,
) -> tuple[dict[str, Any] | None, tuple[ReplyMessage, ...]]:
    target = target_of(number, service)
    account = emulator.state.accounts.get(message.account_sid)
    if target is None or account is None:
        return None, ()
    sender = InboundSender(
        clock=emulator.clock,
        log=runtime.webhooks,
        timeout=emulator.config.callback_timeout_seconds,
    )
    digits = emulator.state.sids.hex(32)
    answer = await sender.call(
        target,
        inbound_params(message, profile_name=profile_name, iso_country=number.iso_country),
        auth_token=account.auth_token,
        idempotency_token="-".join(
            (digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:])
        ),
        message=message,
    )
    view = webhook_view(answer.delivery)
    if not answer.delivery.ok:
        return view, ()
    return view, _read_answer(answer, view)


def _read_answer(answer: Answer, view: dict[str, Any]) -> tuple[ReplyMessage, ...]:
    try:
        reply = read_reply(answer.content_type, answer.body)
    except TwimlError as exc:
        view["twiml_error"] = {"code": exc.code, "message": exc.message}
        return ()
    view["ignored_verbs"] = list(reply.ignored)
    return reply.messages


def _send(
    emulator: Emulator,
    runtime: Messaging,
    inbound: Message,
    reply: ReplyMessage,
    service: MessagingService | None,
) -> Message:
    message = _new_message(
        emulator,
        account_sid=inbound.account_sid,
        from_=reply.from_ or inbound.to,
        to=reply.to or inbound.from_ or "",
        body=reply.body,
        media=reply.media,
        direction="outbound-reply",
        service=service,
        status_callback=reply.status_callback,
    )
    runtime.store.add(message)
    runtime.engine.accept(message)
    emulator.state.events.publish("message.created", {"message": render(message)})
    return message


def _keyword_view(outcome: KeywordOutcome) -> dict[str, Any] | None:
    if outcome is NOT_A_KEYWORD:
        return None
    return {"kind": str(outcome.kind), "keyword": outcome.keyword, "auto_reply": outcome.reply}


def webhook_view(delivery: WebhookDelivery) -> dict[str, Any]:
    """One webhook attempt as the control API shows it."""
    return {
        "url": delivery.url,
        "method": delivery.method,
        "event": delivery.event,
        "account_sid": delivery.account_sid,
        "resource_sid": delivery.resource_sid,
        "attempt": delivery.attempt,
        "status_code": delivery.status_code,
        "error": delivery.error,
        "latency_ms": round(delivery.latency_ms, 3),
        "signature": delivery.signature,
        "idempotency_token": delivery.idempotency_token,
        "params": dict(delivery.params),
        "response_excerpt": delivery.response_excerpt,
        "at": iso8601(delivery.at),
        "date": rfc2822(delivery.at),
    }


async def post_inbound(request: Request) -> Response:
    """`POST /_emulator/inbound` (201): the inbound message, keyword, webhook and replies."""
    emulator = emulator_of(request)
    result = await receive(emulator, await read_inbound(request))
    return json_response(result, status=201)


def routes() -> list[Route]:
    """The inbound simulation route."""
    return [Route(f"{CONTROL_PREFIX}/inbound", post_inbound, methods=["POST"])]
