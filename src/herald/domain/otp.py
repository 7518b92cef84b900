"""One-time codes for Herald's built-in verification engine: pure rules, no I/O.

- codes come from `secrets` (4 to 10 digits, 6 by default) and are kept only as a keyed hash:
  HMAC-SHA256 under a key derived from `HERALD_SECRET_KEY`, bound to the verification's id so
  that a hash copied onto another verification never matches;
- a check compares hashes in constant time (`hmac.compare_digest`);
- a verification is single use, expires (10 minutes by default) and takes at most 5 checks;
- starts are throttled per number, per client IP and per destination prefix. The prefix rule
  stops SMS pumping: fraudsters request codes to ranges of premium numbers they are paid for,
  so many numbers sharing their first digits is the signal, whatever the IPs.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from herald.errors import InvalidInput

__all__ = [
    "DEFAULT_CODE_LENGTH",
    "DEFAULT_THROTTLES",
    "DEFAULT_TTL",
    "MAX_CHECKS",
    "MAX_CODE_LENGTH",
    "MIN_CODE_LENGTH",
    "PREFIX_DIGITS",
    "CheckOutcome",
    "Engine",
    "ThrottleRule",
    "ThrottleScope",
    "Verification",
    "VerificationSettings",
    "VerificationStatus",
    "check_length",
    "check_outcome",
    "code_key",
    "code_matches",
    "destination_prefix",
    "generate_code",
    "hash_code",
    "throttle_keys",
]

MIN_CODE_LENGTH: Final = 4
MAX_CODE_LENGTH: Final = 10
DEFAULT_CODE_LENGTH: Final = 6
DEFAULT_TTL: Final = timedelta(minutes=10)
MAX_CHECKS: Final = 5
PREFIX_DIGITS: Final = 5
"""Digits of an E.164 number (country code first) that make its destination prefix."""

_KEY_CONTEXT: Final = b"herald verification codes v1"


class VerificationStatus(enum.StrEnum):
    """Where a verification stands; only `pending` accepts checks."""

    PENDING = "pending"
    APPROVED = "approved"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """Whether the verification can change no more."""
        return self is not VerificationStatus.PENDING


class CheckOutcome(enum.StrEnum):
    """What one check did to a pending verification."""

    APPROVED = "approved"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"


class ThrottleScope(enum.StrEnum):
    """What a start-throttle counts by."""

    NUMBER = "number"
    IP = "ip"
    PREFIX = "prefix"


@dataclasses.dataclass(frozen=True, slots=True)
class ThrottleRule:
    """At most `limit` starts per `window` for one value of `scope`."""

    scope: ThrottleScope
    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= timedelta(0):
            raise InvalidInput("A throttle needs a limit of at least 1 and a positive window.")


DEFAULT_THROTTLES: Final = (
    ThrottleRule(ThrottleScope.NUMBER, 5, timedelta(minutes=10)),
    ThrottleRule(ThrottleScope.IP, 20, timedelta(minutes=10)),
    ThrottleRule(ThrottleScope.PREFIX, 30, timedelta(minutes=10)),
)
"""Per number: Twilio Verify's own five sends per verification window; per IP and per prefix:
generous for people, low for a script walking a number range."""


def generate_code(
    length: int = DEFAULT_CODE_LENGTH, *, randbelow: Callable[[int], int] = secrets.randbelow
) -> str:
    """A code of `length` decimal digits, each drawn from `secrets` (leading zeros kept)."""
    check_length(length)
    return "".join(str(randbelow(10)) for _ in range(length))


def check_length(length: int) -> int:
    """`length` if it is a valid code length, else `InvalidInput` saying the range."""
    if not MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH:
        raise InvalidInput(
            f"code_length is {length}; codes have {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} digits."
        )
    return length


def code_key(secret_key: str) -> bytes:
    """The key codes are hashed under, derived from Herald's secret key.

    A separate derived key means the hashes stay useless to someone holding only the encrypted
    provider secrets, and the other way round.
    """
    if not secret_key:
        raise InvalidInput("Verification codes need HERALD_SECRET_KEY to be set.")
    return hmac.new(secret_key.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def hash_code(key: bytes, verification_id: str, code: str) -> str:
    """The hex HMAC-SHA256 of `code` for this verification."""
    message = verification_id.encode() + b"\x00" + code.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(key: bytes, verification_id: str, code: str, stored_hash: str) -> bool:
    """Whether `code` is the one hashed into `stored_hash`, in constant time."""
    return hmac.compare_digest(hash_code(key, verification_id, code), stored_hash)


def check_outcome(
    *, matches: bool, checks_before: int, expires_at: datetime, now: datetime
) -> CheckOutcome:
    """The outcome of one check of a pending verification.

    Expiry is judged before the code, so a late right code never approves; a wrong code that
    uses up the last allowed check ends the verification.
    """
    if now >= expires_at:
        return CheckOutcome.EXPIRED
    if checks_before >= MAX_CHECKS:
        return CheckOutcome.MAX_ATTEMPTS_REACHED
    if matches:
        return CheckOutcome.APPROVED
    if checks_before + 1 >= MAX_CHECKS:
        return CheckOutcome.MAX_ATTEMPTS_REACHED
    return CheckOutcome.WRONG_CODE


def destination_prefix(e164: str) -> str:
    """The first `PREFIX_DIGITS` digits of an E.164 number: its country code and range."""
    digits = e164.removeprefix("whatsapp:").removeprefix("+")
    return digits[:PREFIX_DIGITS]


def throttle_keys(
    tenant_id: str, to: str, ip: str | None, rules: tuple[ThrottleRule, ...] = DEFAULT_THROTTLES
) -> list[tuple[ThrottleRule, str]]:
    """Each rule with the counter key it applies to for this start (no IP, no IP rule)."""
    values = {
        ThrottleScope.NUMBER: to.removeprefix("whatsapp:"),
        ThrottleScope.IP: ip,
        ThrottleScope.PREFIX: destination_prefix(to),
    }
    keys = []
    for rule in rules:
        value = values[rule.scope]
        if value:
            keys.append((rule, f"verify:{tenant_id}:{rule.scope.value}:{value}"))
    return keys


class Engine(enum.StrEnum):
    """Who makes and checks a tenant's codes."""

    BUILTIN = "builtin"
    TWILIO_VERIFY = "twilio_verify"


@dataclasses.dataclass(frozen=True, slots=True)
class VerificationSettings:
    """A tenant's choice of engine, its code length, and its Verify Service once created."""

    engine: Engine = Engine.BUILTIN
    code_length: int = DEFAULT_CODE_LENGTH
    verify_service_sid: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Verification:
    """One verification as stored; `code_hash` is the only trace of a built-in code."""

    id: str
    tenant_id: str
    engine: Engine
    channel: str
    to: str
    status: VerificationStatus
    code_hash: str | None
    checks: int
    sends: int
    expires_at: datetime
    provider_sid: str | None
    message_id: str | None
    created_at: datetime
    updated_at: datetime
