"""SendGrid's signed Event Webhook is verified, and signed like SendGrid for the emulator."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from herald.domain.sendgrid_signatures import (
    generate_sendgrid_key_pair,
    load_sendgrid_public_key,
    public_key_text,
    sign_sendgrid_event,
    verify_sendgrid_event,
)
from herald.errors import ConfigurationError, InvalidSignature

# sendgrid-python's own vector (test/unit/test_eventwebhook.py).
PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
    "2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluL"
    "tEZtM="
)
TIMESTAMP = "1600112502"
EVENT = {
    "email": "hello@world.com",
    "event": "dropped",
    "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    "timestamp": 1600112492,
}
PAYLOAD = (json.dumps([EVENT], sort_keys=True, separators=(",", ":")) + "\r\n").encode()
OTHER_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo"
    "7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)


def test_sendgrid_vector_verifies() -> None:
    """SendGrid's published signature over timestamp + body verifies with its public key."""
    assert verify_sendgrid_event(PUBLIC_KEY, PAYLOAD, SIGNATURE, TIMESTAMP)


def test_the_body_without_its_trailing_crlf_fails() -> None:
    """The raw body is signed byte for byte: dropping its trailing CRLF breaks the signature."""
    assert not verify_sendgrid_event(PUBLIC_KEY, PAYLOAD.rstrip(), SIGNATURE, TIMESTAMP)


def test_a_tampered_body_fails() -> None:
    """A changed event no longer verifies."""
    tampered = PAYLOAD.replace(b"dropped", b"delivered")
    assert not verify_sendgrid_event(PUBLIC_KEY, tampered, SIGNATURE, TIMESTAMP)


def test_a_tampered_timestamp_fails() -> None:
    """The timestamp is signed too: another one does not verify."""
    assert not verify_sendgrid_event(PUBLIC_KEY, PAYLOAD, SIGNATURE, "1600112503")


def test_another_key_fails() -> None:
    """The signature does not verify under a different P-256 public key."""
    assert not verify_sendgrid_event(OTHER_PUBLIC_KEY, PAYLOAD, SIGNATURE, TIMESTAMP)


def test_a_pem_public_key_is_accepted() -> None:
    """The same key written as PEM verifies the same signature."""
    key = load_sendgrid_public_key(PUBLIC_KEY)
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert verify_sendgrid_event(pem, PAYLOAD, SIGNATURE, TIMESTAMP)


def test_sign_then_verify_round_trips() -> None:
    """A body signed with a generated key pair verifies with its public key."""
    pair = generate_sendgrid_key_pair()
    signature = sign_sendgrid_event(pair.private_key_pem, PAYLOAD, TIMESTAMP)
    assert verify_sendgrid_event(pair.public_key, PAYLOAD, signature, TIMESTAMP)


def test_a_signed_round_trip_fails_when_tampered() -> None:
    """A body or timestamp changed after signing fails with the generated key pair."""
    pair = generate_sendgrid_key_pair()
    signature = sign_sendgrid_event(pair.private_key_pem, PAYLOAD, TIMESTAMP)
    assert not verify_sendgrid_event(pair.public_key, PAYLOAD + b" ", signature, TIMESTAMP)
    assert not verify_sendgrid_event(pair.public_key, PAYLOAD, signature, "1600112501")


def test_generated_public_key_is_sendgrid_shaped() -> None:
    """The public key is Base64 of a DER SubjectPublicKeyInfo for a P-256 key."""
    pair = generate_sendgrid_key_pair()
    der = base64.b64decode(pair.public_key, validate=True)
    key = serialization.load_der_public_key(der)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert public_key_text(key) == pair.public_key


def test_the_key_pair_repr_hides_the_private_key() -> None:
    """Printing a key pair never shows the private key."""
    pair = generate_sendgrid_key_pair()
    assert "PRIVATE" not in repr(pair)


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"not DER").decode()])
def test_malformed_signature_headers_raise(signature: str) -> None:
    """A missing, non-Base64 or non-DER signature header raises InvalidSignature."""
    with pytest.raises(InvalidSignature, match="Signature"):
        verify_sendgrid_event(PUBLIC_KEY, PAYLOAD, signature, TIMESTAMP)


@pytest.mark.parametrize("timestamp", ["", "timestamp", "16001125.02", "\uff11\uff16\uff10\uff10"])
def test_malformed_timestamp_headers_raise(timestamp: str) -> None:
    """A timestamp header that is not ASCII digits raises InvalidSignature."""
    with pytest.raises(InvalidSignature, match="Timestamp"):
        verify_sendgrid_event(PUBLIC_KEY, PAYLOAD, SIGNATURE, timestamp)


@pytest.mark.parametrize("key", ["", "not a key", base64.b64encode(b"garbage").decode()])
def test_an_unreadable_public_key_is_a_configuration_error(key: str) -> None:
    """A public key that is neither Base64 DER nor PEM raises ConfigurationError."""
    with pytest.raises(ConfigurationError, match="public_key"):
        verify_sendgrid_event(key, PAYLOAD, SIGNATURE, TIMESTAMP)


def test_a_key_on_another_curve_is_a_configuration_error() -> None:
    """A P-384 public key is refused: SendGrid signs with P-256 only."""
    other = public_key_text(ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(ConfigurationError, match="P-256"):
        verify_sendgrid_event(other, PAYLOAD, SIGNATURE, TIMESTAMP)


def test_a_non_ec_public_key_is_a_configuration_error() -> None:
    """An Ed25519 public key is refused as not being a P-256 key."""
    der = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ConfigurationError, match="P-256"):
        verify_sendgrid_event(base64.b64encode(der).decode(), PAYLOAD, SIGNATURE, TIMESTAMP)


def test_an_unreadable_private_key_is_a_configuration_error() -> None:
    """Signing with something that is not a PEM private key raises ConfigurationError."""
    with pytest.raises(ConfigurationError, match="PEM private key"):
        sign_sendgrid_event("not a key", PAYLOAD, TIMESTAMP)


def test_a_private_key_on_another_curve_is_a_configuration_error() -> None:
    """Signing with a P-384 key is refused: SendGrid's receivers expect P-256."""
    pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ConfigurationError, match="P-256"):
        sign_sendgrid_event(pem.decode(), PAYLOAD, TIMESTAMP)
