"""Verify v2 state: verifications, their codes and the log of codes sent, with Verify's limits.

Plain records and one `VerifyRuntime` per emulator state (the only record of its store, so a
reset forgets it); no HTTP here. The rules (TWILIO-API.md §8 and Twilio's error pages):

- a verification lives 10 minutes from its creation, then it is gone: fetches and checks answer
  404/20404 (twilio.com/docs/api/errors/60202, …/60203; Twilio's blog "How to test Twilio Verify
  without getting rate limited": "Twilio deletes the verification SID once it expires, it's
  approved, the max attempts to check a code have been reached");
- an approved verification is gone at once; a canceled one stays fetchable until it expires
  but can no longer be checked or resent;
- a start to the same `To` of the same Service while one is open reuses it (same SID, same
  code, one more entry in `send_code_attempts`), at most 5 sends (429/60203);
- at most 5 checks: the fifth wrong code locks the verification (`max_attempts_reached`), and
  any later check or start answers 429/60202 until it expires.

Codes are digits from `secrets`; with the emulator's `seed` they come from a seeded generator
(restarted by a reset) so that recorded tests repeat themselves. They are compared in constant
time.
"""

from __future__ import annotations

import dataclasses
import hmac
import random
import secrets
import string
from collections import deque
from datetime import datetime, timedelta
from typing import Final, Literal

from herald.emulator import errors
from herald.emulator.state import EmulatorState, StoreKey

Channel = Literal["sms", "call", "email", "whatsapp"]
CHANNELS: Final[tuple[Channel, ...]] = ("sms", "call", "email", "whatsapp")
LIFETIME: Final = timedelta(minutes=10)
MAX_SENDS: Final = 5
MAX_CHECKS: Final = 5
CODE_LENGTH_MIN: Final = 4
CODE_LENGTH_MAX: Final = 10
DEFAULT_CODE_LENGTH: Final = 6

PENDING: Final = "pending"
APPROVED: Final = "approved"
CANCELED: Final = "canceled"
LOCKED: Final = "max_attempts_reached"

INVALID_PARAMETER: Final = 60200
MAX_CHECKS_REACHED: Final = 60202
MAX_SENDS_REACHED: Final = 60203
LANDLINE: Final = 60205

_RECORD_SID: Final = "verify"


def invalid_parameter(name: str) -> errors.TwilioError:
    """400/60200 `Invalid parameter: <Name>`, Verify's answer to any value it refuses.

    Wording from twilio.com/docs/api/errors/60200, whose example names `To`.
    """
    return errors.TwilioError(400, INVALID_PARAMETER, f"Invalid parameter: {name}")


def max_checks_reached() -> errors.TwilioError:
    """429/60202: five checks were made (twilio.com/docs/api/errors/60202)."""
    return errors.TwilioError(429, MAX_CHECKS_REACHED, "Max check attempts reached")


def max_sends_reached() -> errors.TwilioError:
    """429/60203: five codes were sent for this verification (…/errors/60203)."""
    return errors.TwilioError(429, MAX_SENDS_REACHED, "Max send attempts reached")


def sms_to_landline() -> errors.TwilioError:
    """403/60205: the Service skips SMS to landlines and `To` is one (…/errors/60205)."""
    return errors.TwilioError(403, LANDLINE, "SMS is not supported by landline phone number")


@dataclasses.dataclass(frozen=True, slots=True)
class SendAttempt:
    """One code sent: `VL…` SID, channel and time (an entry of `send_code_attempts`)."""

    sid: str
    channel: Channel
    time: datetime


@dataclasses.dataclass(slots=True)
class Verification:
    """One verification (`VE…`) of a Verify Service."""

    sid: str
    account_sid: str
    service_sid: str
    to: str
    channel: Channel
    code: str
    date_created: datetime
    date_updated: datetime
    lookup: dict[str, object]
    amount: str | None = None
    payee: str | None = None
    status: str = PENDING
    checks: int = 0
    attempts: list[SendAttempt] = dataclasses.field(default_factory=list)

    @property
    def expires_at(self) -> datetime:
        """When the verification is gone (10 minutes after it was created)."""
        return self.date_created + LIFETIME

    @property
    def is_open(self) -> bool:
        """Whether a start to the same `To` reuses it (pending, or locked until it expires)."""
        return self.status in {PENDING, LOCKED}


@dataclasses.dataclass(frozen=True, slots=True)
class CodeDelivery:
    """A code as it reached the simulated recipient: a message, a call or an e-mail."""

    attempt_sid: str
    account_sid: str
    service_sid: str
    verification_sid: str
    channel: Channel
    to: str
    code: str
    text: str
    sent_at: datetime
    from_: str | None = None
    subject: str | None = None
    message_sid: str | None = None
    call_sid: str | None = None


def codes_match(expected: str, given: str) -> bool:
    """Whether `given` is the code, compared in constant time (no timing hint per digit)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def open_key(to: str) -> str:
    """The form of `To` under which an open verification is found (e-mail is case-blind)."""
    return to.lower() if "@" in to else to


class VerifyRuntime:
    """Every verification of one emulator, the code generator and the log of codes sent.

    Verifications expire in creation order (all live the same 10 minutes), so a queue of SIDs
    by age is enough to forget the expired ones as time passes; the log keeps the newest
    `capacity` deliveries.
    """

    def __init__(self, *, seed: int | None, capacity: int) -> None:
        self.sid = _RECORD_SID
        # A generator of its own: drawing codes must not shift the SID sequence of a seeded run.
        self._rng = random.Random(f"verify-codes:{seed}") if seed is not None else None  # noqa: S311 - reproducible codes for seeded test runs only
        self._verifications: dict[str, Verification] = {}
        self._open: dict[tuple[str, str], str] = {}
        self._by_age: deque[str] = deque()
        self.deliveries: deque[CodeDelivery] = deque(maxlen=capacity)

    def new_code(self, length: int) -> str:
        """A fresh code of `length` digits."""
        if self._rng is None:
            return "".join(secrets.choice(string.digits) for _ in range(length))
        return "".join(self._rng.choice(string.digits) for _ in range(length))

    def add(self, verification: Verification) -> None:
        """Keep a new verification; it is the open one of its Service and `To`."""
        self._verifications[verification.sid] = verification
        self._open[(verification.service_sid, open_key(verification.to))] = verification.sid
        self._by_age.append(verification.sid)

    def get(self, service_sid: str, sid: str, now: datetime) -> Verification | None:
        """The Service's verification `sid`, unless it is gone."""
        self.expire(now)
        verification = self._verifications.get(sid)
        if verification is None or verification.service_sid != service_sid:
            return None
        return verification

    def open_for(self, service_sid: str, to: str, now: datetime) -> Verification | None:
        """The pending or locked verification of this Service and `To`, if any."""
        self.expire(now)
        sid = self._open.get((service_sid, open_key(to)))
        return None if sid is None else self._verifications.get(sid)

    def close(self, verification: Verification) -> None:
        """It no longer takes checks or resends (canceled); it stays fetchable until it expires."""
        key = (verification.service_sid, open_key(verification.to))
        if self._open.get(key) == verification.sid:
            del self._open[key]

    def forget(self, verification: Verification) -> None:
        """It is gone (approved): later fetches and checks answer 404."""
        self.close(verification)
        self._verifications.pop(verification.sid, None)

    def forget_service(self, service_sid: str) -> None:
        """Every verification of a deleted Service is gone."""
        for verification in list(self._verifications.values()):
            if verification.service_sid == service_sid:
                self.forget(verification)

    def expire(self, now: datetime) -> None:
        """Forget every verification whose 10 minutes are over."""
        while self._by_age:
            verification = self._verifications.get(self._by_age[0])
            if verification is not None and verification.expires_at > now:
                return
            self._by_age.popleft()
            if verification is not None:
                self.forget(verification)


RUNTIME: StoreKey[VerifyRuntime] = StoreKey("verify")


def verify_runtime(state: EmulatorState) -> VerifyRuntime:
    """The Verify runtime of `state` (created on first use, forgotten by a reset)."""
    store = state.store(RUNTIME)
    runtime = store.get(_RECORD_SID)
    if runtime is None:
        runtime = store.add(
            VerifyRuntime(seed=state.config.seed, capacity=state.config.max_messages)
        )
    return runtime
