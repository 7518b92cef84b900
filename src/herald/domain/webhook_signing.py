"""Signatures on the webhooks Herald sends to applications, per the Standard Webhooks spec.

Each delivery carries three headers (standardwebhooks.com, "Webhook headers"):

- `webhook-id`: the event's id, the same on every retry (receivers de-duplicate on it);
- `webhook-timestamp`: the attempt's time in Unix seconds (receivers refuse stale ones);
- `webhook-signature`: space-separated `v1,<Base64 HMAC-SHA256 of "id.timestamp.body">`, one per
  secret, so that a secret can be rotated without downtime.

A secret is shown as `whsec_` followed by Base64 of 24 to 64 random bytes.

`verify_webhook` answers True or False: does one of the `v1` signatures match? Headers that are
missing or malformed, a header with no `v1` signature at all, and a timestamp outside the
tolerance raise `InvalidSignature` with a detail saying which; the request is to be refused in
every one of these cases. Time is a parameter (`now`), never read here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Final

from herald.errors import ConfigurationError, InvalidInput, InvalidSignature

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a format marker, not a secret
DEFAULT_TOLERANCE: Final = 300.0  # seconds either side of `now`: the spec's suggested 5 minutes
MIN_SECRET_BYTES: Final = 24  # the spec's minimum (192 bits)
MAX_SECRET_BYTES: Final = 64  # and maximum (512 bits)
_MAX_TIMESTAMP_DIGITS: Final = 12  # Unix seconds fit in 11 digits until the year 5138


def generate_webhook_secret(size: int = 32) -> str:
    """A new `whsec_` secret of `size` random bytes (from `secrets`, 24 to 64 bytes)."""
    return encode_webhook_secret(secrets.token_bytes(size))


def encode_webhook_secret(key: bytes) -> str:
    """`key` as a `whsec_` secret; `ConfigurationError` unless it is 24 to 64 bytes long."""
    _check_length(len(key))
    return SECRET_PREFIX + base64.b64encode(key).decode()


def decode_webhook_secret(secret: str) -> bytes:
    """The key bytes of a secret, with or without `whsec_`, padded or not."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            "a webhook secret must be 'whsec_' followed by Base64; "
            "generate one with generate_webhook_secret()"
        ) from None
    _check_length(len(key))
    return key


def sign_webhook(
    secret: str | Sequence[str], message_id: str, timestamp: int, body: bytes | str
) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt of `body`.

    Give several secrets (the new one and the one being retired) to sign with each: receivers
    holding either secret then accept the delivery.
    """
    if not message_id or "." in message_id or not message_id.isprintable():
        # The id starts the signed "id.timestamp.body"; with a dot in it, two different deliveries
        # could sign the same bytes, which the spec warns against.
        raise InvalidInput(f"webhook id {message_id!r} must be non-empty, printable, dot-free")
    if timestamp < 0:
        raise InvalidInput(f"webhook timestamp {timestamp} must be Unix seconds, not negative")
    keys = (
        [decode_webhook_secret(secret)]
        if isinstance(secret, str)
        else [decode_webhook_secret(each) for each in secret]
    )
    if not keys:
        raise ConfigurationError("at least one webhook secret is needed to sign a webhook")
    content = _signed_content(message_id, str(timestamp), body)
    signature = " ".join("v1," + base64.b64encode(_hmac(key, content)).decode() for key in keys)
    return {ID_HEADER: message_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature}


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Whether one of the `v1` signatures in `headers` is `secret`'s over this delivery.

    `headers` may use any case for the names. `now` is the receiver's clock in Unix seconds; a
    `webhook-timestamp` more than `tolerance` seconds from it, either way, raises
    `InvalidSignature` (a replay, or a clock that is off).
    """
    key = decode_webhook_secret(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get(ID_HEADER, "")
    timestamp = lowered.get(TIMESTAMP_HEADER, "")
    signatures = lowered.get(SIGNATURE_HEADER, "")
    missing = [
        name
        for name, value in ((ID_HEADER, message_id), (TIMESTAMP_HEADER, timestamp))
        if not value
    ] + ([SIGNATURE_HEADER] if not signatures.strip() else [])
    if missing:
        raise InvalidSignature(f"the webhook header(s) {', '.join(missing)} are missing or empty")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} must be Unix seconds; got {timestamp[:40]!r}")
    drift = int(timestamp) - now
    if abs(drift) > tolerance:
        direction = "in the future" if drift > 0 else "old"
        raise InvalidSignature(
            f"{TIMESTAMP_HEADER} is {abs(drift):.0f} s {direction}, beyond the tolerance of "
            f"{tolerance:.0f} s: a replayed delivery, or a clock that is off"
        )
    expected = _hmac(key, _signed_content(message_id, timestamp, body))
    candidates = _v1_signatures(signatures)
    # Compare against every candidate, so the time taken does not reveal which one matched.
    matched = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matched)


def _v1_signatures(header: str) -> list[bytes]:
    found: list[bytes] = []
    versions: list[str] = []
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if not comma or not version or not encoded:
            raise InvalidSignature(
                f"{SIGNATURE_HEADER} entries must read 'v1,<base64>'; got {entry[:40]!r}"
            )
        versions.append(version)
        if version != "v1":
            continue  # e.g. "v1a" (asymmetric), which a symmetric secret cannot check
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidSignature(
                f"{SIGNATURE_HEADER} has a v1 entry that is not Base64"
            ) from None
    if not found:
        raise InvalidSignature(
            f"{SIGNATURE_HEADER} has no v1 signature (found {', '.join(versions)}); Herald "
            "checks symmetric v1 signatures"
        )
    return found


def _signed_content(message_id: str, timestamp: str, body: bytes | str) -> bytes:
    raw = body.encode() if isinstance(body, str) else body
    return f"{message_id}.{timestamp}.".encode() + raw


def _hmac(key: bytes, content: bytes) -> bytes:
    return hmac.digest(key, content, hashlib.sha256)


def _check_length(size: int) -> None:
    if not MIN_SECRET_BYTES <= size <= MAX_SECRET_BYTES:
        raise ConfigurationError(
            f"a webhook secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes "
            f"(Standard Webhooks); this one holds {size}"
        )
