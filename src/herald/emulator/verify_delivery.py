"""How a Verify code reaches the simulated recipient, per channel.

- `sms` and `whatsapp`: an outbound message through the emulator's Messages machinery (store,
  delivery engine, `message.created` event), so it shows in `/_emulator/phones/{number}/messages`
  and ends as any message to that number does (docs/emulator.md, "Lifecycle and outcomes").
  The text is Twilio's default, `Your <FriendlyName> verification code is: <code>`, with the
  Service's do-not-share warning appended to SMS when it is on (wording from the spec's
  description of `DoNotShareWarningEnabled`). SMS come from Verify's own short code, WhatsApp
  from the Service's `Whatsapp.From` or Verify's own sender. A WhatsApp code is an approved
  authentication template on Twilio, so the customer-service window does not apply to it.
- `call`: a call-like record (`CA…` SID, the sentence the voice would read); no call resource.
- `email`: an e-mail record (subject and text) in the log; no e-mail is sent.

Verify's messages are not the account's: Twilio bills and logs them under Verify, and they are
absent from the account's Messages API. The emulator files them under
`VERIFY_ACCOUNT_SID` for that reason. Every delivery is kept in the runtime's log (the control
API's `/_emulator/verify/codes`) and published as a `verify.code_sent` event.
"""

from __future__ import annotations

from typing import Any, Final

from herald.domain.segments import analyse
from herald.emulator.message_store import Message
from herald.emulator.messages import render as render_message
from herald.emulator.messaging import messaging
from herald.emulator.state import EmulatorState
from herald.emulator.verify_models import CodeDelivery, SendAttempt, Verification, verify_runtime
from herald.emulator.verify_services import VerifyService
from herald.emulator.whatsapp import channel_address
from herald.emulator.wire import iso8601

VERIFY_ACCOUNT_SID: Final = "AC" + "0" * 32
"""The owner of Verify's messages in the emulator's store: no account, so no account lists them."""
SMS_SENDER: Final = "837439"
"""Verify's SMS short code in the emulator ("VERIFY" on a phone keypad)."""
VERIFY_NUMBER: Final = "+12025550100"
"""Verify's own number in the emulator (fictional: NANPA keeps 555-0100 to 0199 out of service):
the caller ID of its calls and, as `whatsapp:+12025550100`, the WhatsApp sender of Services
that name none."""
DO_NOT_SHARE: Final = (
    ". Don't share this code with anyone; our employees will never ask for the code"
)


def code_text(service: VerifyService, name: str, code: str, channel: str) -> str:
    """The text that carries the code on `channel`."""
    if channel == "call":
        return f"Your {name} verification code is {', '.join(code)}."
    text = f"Your {name} verification code is: {code}"
    if channel == "sms" and service.do_not_share_warning_enabled:
        text += DO_NOT_SHARE
    return text


def deliver(
    state: EmulatorState,
    service: VerifyService,
    verification: Verification,
    attempt: SendAttempt,
    *,
    friendly_name: str | None = None,
) -> CodeDelivery:
    """Send the verification's code over the attempt's channel and log it."""
    name = friendly_name or service.friendly_name
    text = code_text(service, name, verification.code, attempt.channel)
    fields: dict[str, Any] = {}
    if attempt.channel in {"sms", "whatsapp"}:
        message = _send_message(state, service, verification.to, text, attempt)
        fields = {"from_": message.from_, "message_sid": message.sid}
    elif attempt.channel == "call":
        fields = {"from_": VERIFY_NUMBER, "call_sid": state.sids.sid("CA")}
    else:
        fields = {"subject": f"{name} verification code"}
    delivery = CodeDelivery(
        attempt_sid=attempt.sid,
        account_sid=verification.account_sid,
        service_sid=service.sid,
        verification_sid=verification.sid,
        channel=attempt.channel,
        to=verification.to,
        code=verification.code,
        text=text,
        sent_at=attempt.time,
        **fields,
    )
    verify_runtime(state).deliveries.append(delivery)
    state.events.publish("verify.code_sent", {"delivery": delivery_view(delivery)})
    return delivery


def _send_message(
    state: EmulatorState, service: VerifyService, to: str, text: str, attempt: SendAttempt
) -> Message:
    whatsapp = attempt.channel == "whatsapp"
    info = analyse(text)
    message = Message(
        sid=state.sids.sid("SM"),
        account_sid=VERIFY_ACCOUNT_SID,
        to=channel_address(to) if whatsapp else to,
        from_=(service.whatsapp_from or channel_address(VERIFY_NUMBER)) if whatsapp else SMS_SENDER,
        body=text,
        status="queued",
        date_created=attempt.time,
        date_updated=attempt.time,
        num_segments=1 if whatsapp else info.segments,
        encoding=info.encoding,
        template_approved=True if whatsapp else None,
    )
    runtime = messaging(state)
    runtime.store.add(message)
    runtime.engine.accept(message)
    state.events.publish("message.created", {"message": render_message(message)})
    return message


def delivery_view(delivery: CodeDelivery) -> dict[str, Any]:
    """A delivery as the control API and the event bus show it."""
    return {
        "code": delivery.code,
        "channel": delivery.channel,
        "to": delivery.to,
        "from": delivery.from_,
        "text": delivery.text,
        "subject": delivery.subject,
        "account_sid": delivery.account_sid,
        "service_sid": delivery.service_sid,
        "verification_sid": delivery.verification_sid,
        "attempt_sid": delivery.attempt_sid,
        "message_sid": delivery.message_sid,
        "call_sid": delivery.call_sid,
        "sent_at": iso8601(delivery.sent_at),
    }


def sent_codes(
    state: EmulatorState, *, to: str | None, account_sid: str | None, limit: int
) -> list[CodeDelivery]:
    """The newest `limit` deliveries, newest first, to `to` and of `account_sid` when given."""
    wanted = None if to is None else to.lower()
    found: list[CodeDelivery] = []
    for delivery in reversed(verify_runtime(state).deliveries):
        if wanted is not None and delivery.to.lower() != wanted:
            continue
        if account_sid is not None and delivery.account_sid != account_sid:
            continue
        found.append(delivery)
        if len(found) == limit:
            break
    return found
