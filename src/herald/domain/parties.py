"""Who a message goes to and who it comes from: the recipient normalised, the sender resolved.

`resolve_recipient` reads `to` as people write it (with the tenant's default region for
numbers without a country code) and, for SMS, refuses numbers that cannot receive one.
`resolve_sender` picks the request's `from`, else the tenant's default sender, else its
Messaging Service, and makes sure the sender can send on the channel. Both raise
`ProblemError` with the codes of docs/sending-rules.md.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from herald.domain.phone import Address, Channel, parse
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.senders import Sender, SenderKind, classify_sender
from herald.errors import InvalidInput, InvalidPhoneNumber

__all__ = ["Parties", "resolve_recipient", "resolve_sender"]


@dataclasses.dataclass(frozen=True, slots=True)
class Parties:
    """The normalised recipient and the resolved sender of a message."""

    recipient: Address
    sender: Sender

    @property
    def channel(self) -> Channel:
        """The channel the message goes out on."""
        return self.recipient.channel

    @property
    def to(self) -> str:
        """The recipient as Twilio writes it: `+E164` or `whatsapp:+E164`."""
        return self.recipient.twilio_form


_RECIPIENT_CODES: Final = {
    "invalid_country_code": ProblemCode.UNKNOWN_COUNTRY_CODE,
    "missing_country_code": ProblemCode.MISSING_COUNTRY_CODE,
}


def resolve_recipient(channel: Channel, raw: str, region: str | None) -> Address:
    """The recipient `raw` on `channel`: a number as people write it, or `whatsapp:+E164`.

    `region` (the tenant's default) supplies the country code of a number written without
    one. A `whatsapp:` prefix is accepted only on the WhatsApp channel, and there optional.
    """
    text = raw.strip()
    scheme, colon, rest = text.partition(":")
    if colon:
        if scheme.strip().lower() != Channel.WHATSAPP.value:
            raise ProblemError(
                ProblemCode.INVALID_RECIPIENT,
                f"to {raw!r} is not a phone number or a whatsapp: address.",
                field="to",
            )
        if channel is Channel.SMS:
            raise ProblemError(
                ProblemCode.CHANNEL_MISMATCH,
                f"to {raw!r} is a WhatsApp address, but the channel is sms; send it with "
                "channel whatsapp, or give the number without whatsapp:.",
                field="to",
            )
        text = rest
    try:
        number = parse(text, region)
    except InvalidPhoneNumber as exc:
        code = _RECIPIENT_CODES.get(exc.reason, ProblemCode.INVALID_RECIPIENT)
        raise ProblemError(code, f"to: {exc.detail}", field="to", reason=exc.reason) from None
    # WhatsApp accounts can be registered on landlines, so only SMS needs a mobile.
    if channel is Channel.SMS and not number.can_receive_sms:
        raise ProblemError(
            ProblemCode.RECIPIENT_NOT_MOBILE,
            f"{number.e164} cannot receive SMS: it is {number.sms_reason}. Send SMS to a "
            "mobile number.",
            field="to",
            number_type=number.number_type.value,
        )
    return Address(channel, number)


def resolve_sender(
    recipient: Address,
    from_: str | None,
    *,
    default_sender: str | None = None,
    messaging_service_sid: str | None = None,
    default_region: str | None = None,
) -> Sender:
    """The sender of a message to `recipient`, in the form Twilio expects on its channel.

    `from_` wins when given, and must suit the channel. Otherwise the tenant's
    `default_sender` is used if it suits the channel, else its `messaging_service_sid`; with
    neither, `sender_required`. On WhatsApp a plain number becomes its `whatsapp:` address.
    A short code is read in the recipient's country, the only one where it can work.
    """
    region = recipient.number.region or default_region
    channel = recipient.channel
    if from_ is not None:
        sender = _classify(from_, region, "from")
        if not _fits(sender, channel):
            raise _mismatch(sender, channel)
        return _on_channel(sender, channel)
    for raw, what in (
        (default_sender, "the tenant's default sender"),
        (messaging_service_sid, "the tenant's Messaging Service"),
    ):
        if raw is not None:
            sender = _classify(raw, region, what)
            if _fits(sender, channel):
                return _on_channel(sender, channel)
    raise ProblemError(
        ProblemCode.SENDER_REQUIRED,
        "The request has no from, and the tenant has no default sender or Messaging Service "
        f"that can send {channel.value}; give from, or configure a default for the tenant.",
        field="from",
    )


def _classify(raw: str, region: str | None, what: str) -> Sender:
    try:
        return classify_sender(raw, region)
    except InvalidInput as exc:
        raise ProblemError(
            ProblemCode.INVALID_SENDER, f"{what}: {exc.detail}", field="from"
        ) from None


def _fits(sender: Sender, channel: Channel) -> bool:
    if channel is Channel.SMS:
        return sender.kind is not SenderKind.WHATSAPP
    return sender.kind in {
        SenderKind.WHATSAPP,
        SenderKind.MESSAGING_SERVICE,
        SenderKind.PHONE_NUMBER,
    }


def _on_channel(sender: Sender, channel: Channel) -> Sender:
    if channel is Channel.WHATSAPP and sender.kind is SenderKind.PHONE_NUMBER:
        assert sender.number is not None
        address = Address(Channel.WHATSAPP, sender.number)
        return Sender(SenderKind.WHATSAPP, address.twilio_form, number=sender.number)
    return sender


def _mismatch(sender: Sender, channel: Channel) -> ProblemError:
    if channel is Channel.SMS:
        detail = (
            f"from {sender.value!r} is a WhatsApp sender, but the channel is sms; send SMS "
            "from a phone number, short code, alphanumeric sender ID or Messaging Service."
        )
    else:
        kind = sender.kind.value.replace("_", " ")
        detail = (
            f"from {sender.value!r} is {'an' if kind[0] in 'aeiou' else 'a'} {kind}, which "
            "cannot send WhatsApp messages; send from a whatsapp: address or a Messaging "
            "Service."
        )
    return ProblemError(ProblemCode.CHANNEL_MISMATCH, detail, field="from")
