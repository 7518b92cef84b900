"""Herald's segment analysis beside the least any segment counter must do on the same bodies.

The floor encodes each body to UTF-16 (what sizing a UCS-2 body needs) and checks every
character against the GSM-7 set (what choosing the encoding needs). Herald does that and also
splits the body into segments, counts graphemes and, for a UCS-2 body, finds the culprits,
their GSM-7 look-alikes and the GSM-7 alternative: those bodies cost the most.
"""

from __future__ import annotations

from harness import Pair
from herald.domain.gsm7 import GSM7_BASIC, GSM7_EXTENSION
from herald.domain.segments import analyse

_GSM7 = GSM7_BASIC | GSM7_EXTENSION

_SHORT_GSM = "Your code is 482913. It expires in 10 minutes."
_GSM_160 = (
    "Hi Anna, your order #10482 has shipped and will arrive Thursday between 9:00 and 13:00. "
    "Track it at https://example.com/t/10482 or reply STOP to opt out. Thanks"
)
_GSM_300 = (
    "Reminder: your appointment with Dr. Jansen is tomorrow, 14 March, at 10:30 at the Central "
    "Clinic, 2nd floor. Please bring your insurance card and arrive 10 minutes early. To "
    "reschedule, call 020-555-0199 or reply CHANGE. Reply C to confirm. Costs: €15 if you cancel "
    "less than 24h ahead. See you then!"
)[:300]
_EMOJI_UCS2 = (
    "Happy birthday Anna! 🎉🎂 Have a wonderful day 😊 Love, the whole team 👩\u200d👩\u200d👦"
)
_TEXT_1000 = (
    "Dear customer,\n\nThank you for your payment of €249.00 for invoice 2026-0311 [ref: ABX-77]. "
    "Your subscription now runs until 31 December. You can download the receipt from your "
    "account page at any time. If anything in this message looks wrong, please contact our "
    "support team by replying to this message or by calling 0800-555-0101 (free, Mon-Fri "
    "9:00-17:00). Kind regards, the Billing team.\n\n"
) * 4
_MIX = [_SHORT_GSM, _GSM_300, _EMOJI_UCS2, _TEXT_1000[:1000]]
_ROUNDS = 200

assert len(_GSM_160) == 160
assert len(_GSM_300) == 300
assert len(_MIX[3]) == 1000


def _analyse_all(bodies: list[str]) -> None:
    for _ in range(_ROUNDS):
        for body in bodies:
            analyse(body).segments  # noqa: B018 - the attribute read is the measured result


def _floor_all(bodies: list[str]) -> None:
    gsm7 = _GSM7
    for _ in range(_ROUNDS):
        for body in bodies:
            body.encode("utf-16-le")
            gsm7.issuperset(body)


def pairs() -> list[Pair]:
    """A realistic mix of bodies, and the common 160-character GSM-7 body on its own."""
    return [
        Pair(
            name="segments.analyse (mix: OTP, 300 GSM, emoji UCS-2, 1,000 chars)",
            run=lambda: _analyse_all(_MIX),
            floor_name="utf-16 encode + GSM-7 set check",
            floor=lambda: _floor_all(_MIX),
            batch=_ROUNDS * len(_MIX),
            goal="<= 10x floor",
        ),
        Pair(
            name="segments.analyse (160-char GSM-7)",
            run=lambda: _analyse_all([_GSM_160]),
            floor_name="utf-16 encode + GSM-7 set check",
            floor=lambda: _floor_all([_GSM_160]),
            batch=_ROUNDS,
            goal="< 5 µs/op, <= 4x floor",
        ),
    ]
