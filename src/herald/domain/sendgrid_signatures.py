"""SendGrid's signed Event Webhook: verify it, and sign like SendGrid (for the emulator and tests).

SendGrid signs `timestamp + raw body` with ECDSA P-256 over SHA-256 and sends the DER signature
in Base64 in `X-Twilio-Email-Event-Webhook-Signature`, the timestamp (Unix seconds) in
`X-Twilio-Email-Event-Webhook-Timestamp` (TWILIO-API.md §18, read in sendgrid-python's
`helpers/eventwebhook`). The body is signed byte for byte, trailing CRLF included, so it must be
the raw request body, never re-serialised JSON.

The public key is shown by SendGrid (`GET /v3/user/webhooks/event/settings/signed`, field
`public_key`) as Base64 of its DER SubjectPublicKeyInfo; a PEM is accepted as well.

`verify_sendgrid_event` answers True or False; headers that cannot be a signature or a timestamp
raise `InvalidSignature`, and a key that is not a P-256 key raises `ConfigurationError`. No
timestamp tolerance is applied: SendGrid documents none, and retried deliveries may carry the
original timestamp; de-duplicate on `sg_event_id` instead.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Final

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from herald.errors import ConfigurationError, InvalidSignature

SIGNATURE_HEADER: Final = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER: Final = "X-Twilio-Email-Event-Webhook-Timestamp"

_ALGORITHM: Final = ec.ECDSA(hashes.SHA256())


@dataclasses.dataclass(frozen=True)
class SendGridKeyPair:
    """A signing key pair: the private key as PKCS#8 PEM, the public key as SendGrid shows it."""

    private_key_pem: str
    public_key: str

    def __repr__(self) -> str:
        return f"SendGridKeyPair(public_key={self.public_key!r})"


def generate_sendgrid_key_pair() -> SendGridKeyPair:
    """A fresh P-256 key pair, as SendGrid creates one when signing is turned on."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SendGridKeyPair(pem.decode(), public_key_text(private_key.public_key()))


def public_key_text(public_key: ec.EllipticCurvePublicKey) -> str:
    """`public_key` as SendGrid shows it: Base64 of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sign_sendgrid_event(private_key_pem: str, payload: bytes, timestamp: str) -> str:
    """The `X-Twilio-Email-Event-Webhook-Signature` SendGrid would send for this body and time."""
    private_key = _load_private_key(private_key_pem)
    _check_timestamp(timestamp)
    signature = private_key.sign(timestamp.encode() + payload, _ALGORITHM)
    return base64.b64encode(signature).decode()


def verify_sendgrid_event(public_key: str, payload: bytes, signature: str, timestamp: str) -> bool:
    """Whether `signature` is SendGrid's over `timestamp` followed by the raw `payload`."""
    key = load_sendgrid_public_key(public_key)
    _check_timestamp(timestamp)
    if not signature:
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header is missing or empty")
    try:
        der = base64.b64decode(signature, validate=True)
        decode_dss_signature(der)
    except (binascii.Error, ValueError):
        raise InvalidSignature(
            f"the {SIGNATURE_HEADER} header is not a Base64 DER ECDSA signature"
        ) from None
    try:
        key.verify(der, timestamp.encode() + payload, _ALGORITHM)
    except BadSignature:
        return False
    return True


def load_sendgrid_public_key(public_key: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key from SendGrid's Base64 DER text (or a PEM), or `ConfigurationError`."""
    text = public_key.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise ConfigurationError(
            "the SendGrid Event Webhook public key is not Base64 DER (or PEM); copy the "
            "public_key field of GET /v3/user/webhooks/event/settings/signed as it is"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError(
            "the SendGrid Event Webhook public key is not an ECDSA P-256 key; SendGrid signs "
            "with P-256 only"
        )
    return key


def _load_private_key(private_key_pem: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigurationError(
            "the Event Webhook signing key is not an unencrypted PEM private key"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError("the Event Webhook signing key is not an ECDSA P-256 key")
    return key


def _check_timestamp(timestamp: str) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise InvalidSignature(
            f"the {TIMESTAMP_HEADER} header must be Unix seconds (digits only); "
            f"got {timestamp[:40]!r}"
        )
