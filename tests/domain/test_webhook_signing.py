"""Herald's outgoing webhooks are signed and verified per the Standard Webhooks spec."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.domain.webhook_signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    decode_webhook_secret,
    encode_webhook_secret,
    generate_webhook_secret,
    sign_webhook,
    verify_webhook,
)
from herald.errors import ConfigurationError, InvalidInput, InvalidSignature

# The standard-webhooks reference libraries' vector (libraries/python/tests/test_webhooks.py).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = encode_webhook_secret(b"\x01" * 32)


def _headers(**changes: str) -> dict[str, str]:
    headers = {ID_HEADER: MESSAGE_ID, TIMESTAMP_HEADER: str(TIMESTAMP), SIGNATURE_HEADER: SIGNATURE}
    headers.update({name.replace("_", "-"): value for name, value in changes.items()})
    return headers


def test_signing_reproduces_the_reference_vector() -> None:
    """Signing the reference delivery gives the reference headers, signature included."""
    assert sign_webhook(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == _headers()


def test_the_reference_vector_verifies() -> None:
    """The reference delivery verifies at its own timestamp."""
    assert verify_webhook(SECRET, _headers(), BODY, now=TIMESTAMP)


def test_a_secret_without_its_prefix_is_the_same_secret() -> None:
    """The whsec_ prefix is optional: the bare Base64 signs identically."""
    bare = SECRET.removeprefix("whsec_")
    assert sign_webhook(bare, MESSAGE_ID, TIMESTAMP, BODY) == _headers()


def test_bytes_and_text_bodies_sign_alike() -> None:
    """A body given as UTF-8 bytes signs the same as the same text."""
    assert sign_webhook(SECRET, MESSAGE_ID, TIMESTAMP, BODY.encode()) == _headers()


def test_header_names_are_matched_in_any_case() -> None:
    """Headers such as Webhook-Signature are found whatever their case."""
    headers = {name.title(): value for name, value in _headers().items()}
    assert verify_webhook(SECRET, headers, BODY, now=TIMESTAMP)


def test_a_tampered_body_fails() -> None:
    """A body changed after signing does not verify."""
    assert not verify_webhook(SECRET, _headers(), BODY.replace("2432", "2433"), now=TIMESTAMP)


def test_a_tampered_id_fails() -> None:
    """The id is signed: another id does not verify."""
    assert not verify_webhook(SECRET, _headers(webhook_id="msg_other"), BODY, now=TIMESTAMP)


def test_a_tampered_timestamp_fails() -> None:
    """The timestamp is signed: another one, even within tolerance, does not verify."""
    headers = _headers(webhook_timestamp=str(TIMESTAMP + 1))
    assert not verify_webhook(SECRET, headers, BODY, now=TIMESTAMP)


def test_the_wrong_secret_fails() -> None:
    """A delivery signed with one secret does not verify with another."""
    assert not verify_webhook(OTHER_SECRET, _headers(), BODY, now=TIMESTAMP)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_within_the_tolerance_are_accepted(offset: int) -> None:
    """Up to five minutes either way of `now` is accepted by default."""
    assert verify_webhook(SECRET, _headers(), BODY, now=TIMESTAMP + offset)


@pytest.mark.parametrize(("offset", "word"), [(301, "old"), (-301, "in the future")])
def test_timestamps_beyond_the_tolerance_raise(offset: int, word: str) -> None:
    """A delivery more than five minutes old, or ahead, is refused as a replay or bad clock."""
    with pytest.raises(InvalidSignature, match=word):
        verify_webhook(SECRET, _headers(), BODY, now=TIMESTAMP + offset)


def test_the_tolerance_is_configurable() -> None:
    """A tighter tolerance refuses what the default would accept."""
    assert verify_webhook(SECRET, _headers(), BODY, now=TIMESTAMP + 60)
    with pytest.raises(InvalidSignature, match="tolerance of 30 s"):
        verify_webhook(SECRET, _headers(), BODY, now=TIMESTAMP + 60, tolerance=30)


def test_several_secrets_sign_with_each() -> None:
    """Signing with the new and the retiring secret sends both signatures, space-separated."""
    headers = sign_webhook([OTHER_SECRET, SECRET], MESSAGE_ID, TIMESTAMP, BODY)
    entries = headers[SIGNATURE_HEADER].split(" ")
    assert len(entries) == 2
    assert entries[1] == SIGNATURE
    assert verify_webhook(SECRET, headers, BODY, now=TIMESTAMP)
    assert verify_webhook(OTHER_SECRET, headers, BODY, now=TIMESTAMP)


def test_one_matching_signature_among_several_verifies() -> None:
    """Non-matching and other-version entries around a valid one do not stop verification."""
    others = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,AAAA"
    headers = _headers(webhook_signature=f"{others} {SIGNATURE} {others}")
    assert verify_webhook(SECRET, headers, BODY, now=TIMESTAMP)


def test_only_non_matching_signatures_fail() -> None:
    """A header whose v1 signatures all differ is False."""
    headers = _headers(webhook_signature="v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
    assert not verify_webhook(SECRET, headers, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("missing", [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_a_missing_header_raises(missing: str) -> None:
    """Each of the three headers is required; the error names the missing one."""
    headers = {name: value for name, value in _headers().items() if name != missing}
    with pytest.raises(InvalidSignature, match=missing):
        verify_webhook(SECRET, headers, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("timestamp", ["soon", "1614265330.5", "-1", "9" * 5000])
def test_a_malformed_timestamp_raises(timestamp: str) -> None:
    """A webhook-timestamp that is not Unix seconds raises InvalidSignature."""
    with pytest.raises(InvalidSignature, match="Unix seconds"):
        verify_webhook(SECRET, _headers(webhook_timestamp=timestamp), BODY, now=TIMESTAMP)


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1,<base64>"),
        ("v1,", "v1,<base64>"),
        ("v1,not*base64", "not Base64"),
        ("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw", "no v1 signature"),
    ],
)
def test_a_malformed_signature_header_raises(signature: str, message: str) -> None:
    """Entries that are not 'version,base64', bad Base64, or no v1 entry at all raise."""
    with pytest.raises(InvalidSignature, match=message):
        verify_webhook(SECRET, _headers(webhook_signature=signature), BODY, now=TIMESTAMP)


def test_generated_secrets_have_the_prefix_and_enough_bytes() -> None:
    """A generated secret is whsec_ plus Base64 of 32 random bytes, different every time."""
    first, second = generate_webhook_secret(), generate_webhook_secret()
    assert first.startswith("whsec_")
    assert len(decode_webhook_secret(first)) == 32
    assert first != second


def test_a_generated_secret_signs_and_verifies() -> None:
    """A delivery signed with a fresh secret verifies with it."""
    secret = generate_webhook_secret(24)
    headers = sign_webhook(secret, "evt_1", TIMESTAMP, b"{}")
    assert verify_webhook(secret, headers, b"{}", now=TIMESTAMP)


@pytest.mark.parametrize("size", [16, 23, 65])
def test_secrets_outside_the_spec_sizes_are_refused(size: int) -> None:
    """Secrets shorter than 24 or longer than 64 bytes are a configuration error."""
    with pytest.raises(ConfigurationError, match="24 to 64 bytes"):
        encode_webhook_secret(b"k" * size)
    with pytest.raises(ConfigurationError, match="24 to 64 bytes"):
        decode_webhook_secret("whsec_" + base64.b64encode(b"k" * size).decode())


def test_an_unpadded_secret_is_accepted() -> None:
    """Base64 without its = padding decodes to the same key."""
    padded = encode_webhook_secret(b"k" * 25)
    assert decode_webhook_secret(padded.rstrip("=")) == b"k" * 25


def test_a_secret_that_is_not_base64_is_refused() -> None:
    """A secret with characters outside Base64 is a configuration error saying how to fix it."""
    with pytest.raises(ConfigurationError, match="generate_webhook_secret"):
        decode_webhook_secret("whsec_not*base64*at*all*not*base64*")


def test_signing_without_a_secret_is_refused() -> None:
    """An empty list of secrets cannot sign anything."""
    with pytest.raises(ConfigurationError, match="at least one"):
        sign_webhook([], MESSAGE_ID, TIMESTAMP, BODY)


@pytest.mark.parametrize("message_id", ["", "msg.1", "msg\n1"])
def test_ids_that_would_make_the_signed_content_ambiguous_are_refused(message_id: str) -> None:
    """An empty id, or one with a dot or a control character, cannot be signed."""
    with pytest.raises(InvalidInput, match="webhook id"):
        sign_webhook(SECRET, message_id, TIMESTAMP, BODY)


def test_a_negative_timestamp_is_refused() -> None:
    """Timestamps are Unix seconds: a negative one cannot be signed."""
    with pytest.raises(InvalidInput, match="not negative"):
        sign_webhook(SECRET, MESSAGE_ID, -1, BODY)


@given(
    key=st.binary(min_size=24, max_size=64),
    message_id=st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
    timestamp=st.integers(0, 2**33),
    body=st.binary(max_size=200),
    skew=st.integers(-300, 300),
)
def test_any_signed_delivery_verifies_within_the_tolerance(
    key: bytes, message_id: str, timestamp: int, body: bytes, skew: int
) -> None:
    """Whatever the key, id, time and body, a signed delivery verifies, and not once altered."""
    secret = encode_webhook_secret(key)
    headers = sign_webhook(secret, message_id, timestamp, body)
    assert verify_webhook(secret, headers, body, now=timestamp + skew)
    assert not verify_webhook(secret, headers, body + b"x", now=timestamp + skew)
