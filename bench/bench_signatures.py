"""X-Twilio-Signature validation on a realistic inbound SMS, against a bare HMAC loop.

The floor computes HMAC-SHA1, Base64 and a constant-time comparison over the signed bytes,
already built: whatever a validator spends beyond it goes on building the signed string and
choosing the URL. The twilio package's `RequestValidator` is measured beside the same floor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from twilio.request_validator import RequestValidator

from harness import Pair
from herald.domain.signatures import twilio_signature, validate_twilio

BATCH = 20_000
TOKEN = "f4c0ffee00000000000000000000beef"  # noqa: S105 - a made-up token for measurement
URL = "https://herald.example.com/webhooks/twilio/messages"
SID = "SM" + "3f1d0c7e9a8b" * 2 + "5c6d4e2f"
# An inbound SMS as Twilio posts it: 19 parameters, about 400 bytes of names and values.
FORM = {
    "ToCountry": "US",
    "ToState": "CA",
    "SmsMessageSid": SID,
    "NumMedia": "0",
    "ToCity": "SAN FRANCISCO",
    "FromZip": "94105",
    "SmsSid": SID,
    "FromState": "CA",
    "SmsStatus": "received",
    "FromCity": "SAN FRANCISCO",
    "Body": "Is my order 4471 on its way? Thanks!",
    "FromCountry": "US",
    "To": "+14155550100",
    "ToZip": "94105",
    "NumSegments": "1",
    "MessageSid": SID,
    "AccountSid": "AC" + "9e8d7c6b5a4f" * 2 + "3e2d1c0b",
    "From": "+14155550199",
    "ApiVersion": "2010-04-01",
}
SIGNATURE = twilio_signature(URL, FORM, TOKEN)


def _floor() -> None:
    key = TOKEN.encode()
    data = (URL + "".join(name + FORM[name] for name in sorted(FORM))).encode()
    expected = SIGNATURE.encode()
    for _ in range(BATCH):
        computed = base64.b64encode(hmac.new(key, data, hashlib.sha1).digest())
        hmac.compare_digest(computed, expected)


def _herald() -> None:
    for _ in range(BATCH):
        validate_twilio(URL, FORM, SIGNATURE, TOKEN)


def _twilio_package() -> None:
    validator = RequestValidator(TOKEN)
    for _ in range(BATCH):
        validator.validate(URL, FORM, SIGNATURE)


def pairs() -> list[Pair]:
    """Herald's validator and the twilio package's, each beside the bare HMAC floor."""
    assert validate_twilio(URL, FORM, SIGNATURE, TOKEN)
    assert RequestValidator(TOKEN).validate(URL, FORM, SIGNATURE)
    return [
        Pair(
            name="validate_twilio (inbound SMS form)",
            run=_herald,
            floor_name="hmac.new + b64 + compare_digest",
            floor=_floor,
            batch=BATCH,
            goal="<= 1.5x floor",
        ),
        Pair(
            name="twilio RequestValidator.validate (same form)",
            run=_twilio_package,
            floor_name="hmac.new + b64 + compare_digest",
            floor=_floor,
            batch=BATCH,
            goal="comparison only",
        ),
    ]
