"""Twilio's `X-Twilio-Signature`: compute it, and check it the way Twilio's validator does.

The algorithm (TWILIO-API.md §12, read in twilio-python's `request_validator.py`):

- The signed string is the full URL Twilio requested, followed, for a form POST, by every body
  parameter as `name + value`, names sorted; a repeated name contributes each of its distinct
  values, sorted (exact duplicates count once). A GET signs the URL alone, its query included.
- A JSON body is not signed directly: Twilio adds `bodySHA256=<hex SHA-256 of the raw body>` to
  the URL's query, signs that URL alone, and the receiver checks the hash against the body.
- The signature is Base64 of HMAC-SHA1 keyed with the account's auth token; a request that carries
  `X-Twilio-Webhooks-Signature-Settings` (Twilio's shared-key signing, a public beta) names its
  algorithm there, HMAC_SHA1 or HMAC_SHA256, and is keyed with that shared key instead.
- Twilio is not consistent about the default port, so a validator accepts the signature of the
  URL with the port and of the URL without it (`:443` for https, `:80` otherwise, when none is
  given).

`validate_twilio` answers True or False. A header that cannot be a signature at all (empty,
wrong length, not Base64) raises `InvalidSignature` instead, and so does an algorithm Herald does
not know; both are only looked at after the comparison failed, so the hot path stays short.

Speed: a validation costs about one HMAC plus building the signed string. The HMAC keyed state
(RFC 2104's inner and outer padded keys) is derived once per token and reused, which more than
pays for building the string; see `docs/signatures.md` for the figures.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Final, TypeAlias
from urllib.parse import parse_qs

from herald.errors import InvalidSignature

SIGNATURE_HEADER: Final = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER: Final = "X-Twilio-Webhooks-Signature-Settings"

FormParams: TypeAlias = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]
"""Form parameters: a mapping (a value may be a sequence for a repeated name) or (name, value)
pairs, e.g. Starlette's `form.multi_items()` (its `FormData` as a mapping keeps one value per
name)."""

_IPAD: Final = bytes(byte ^ 0x36 for byte in range(256))
_OPAD: Final = bytes(byte ^ 0x5C for byte in range(256))


class TwilioSignatureAlgorithm(enum.StrEnum):
    """The HMAC Twilio signs with: SHA-1 (the default) or SHA-256 (shared-key signing)."""

    HMAC_SHA1 = "HMAC_SHA1"
    HMAC_SHA256 = "HMAC_SHA256"


_HASHES: Final = {
    TwilioSignatureAlgorithm.HMAC_SHA1: ("sha1", 28),
    TwilioSignatureAlgorithm.HMAC_SHA256: ("sha256", 44),
}  # hashlib name, length of the Base64 signature


def signature_algorithm(settings_header: str | None) -> TwilioSignatureAlgorithm:
    """The algorithm named by an `X-Twilio-Webhooks-Signature-Settings` header.

    The header reads `key=<shared key id>,algorithm=HMAC_SHA256`; when it is absent or names no
    algorithm, the request is signed the classic way (auth token, HMAC_SHA1).
    """
    for part in (settings_header or "").split(","):
        name, equals, value = part.partition("=")
        if equals and name.strip() == "algorithm" and value.strip():
            try:
                return TwilioSignatureAlgorithm(value.strip().upper())
            except ValueError:
                raise InvalidSignature(
                    f"{SIGNATURE_SETTINGS_HEADER} names the algorithm {value.strip()!r}, which "
                    "Herald cannot check (it knows HMAC_SHA1 and HMAC_SHA256)"
                ) from None
    return TwilioSignatureAlgorithm.HMAC_SHA1


def twilio_signature(
    url: str,
    params: FormParams | None,
    auth_token: str,
    *,
    algorithm: TwilioSignatureAlgorithm = TwilioSignatureAlgorithm.HMAC_SHA1,
) -> str:
    """The `X-Twilio-Signature` Twilio sends for a request to `url` exactly as written.

    `params` are the form parameters of a POST; pass None for a GET or for a JSON body (whose
    URL must then carry `bodySHA256`, see `with_body_sha256`).
    """
    return _mac(_keyed(auth_token, algorithm), _signed_string(url, params).encode()).decode()


def with_body_sha256(url: str, body: bytes | str) -> str:
    """`url` with the `bodySHA256` query parameter Twilio adds when it sends a JSON body."""
    raw = body.encode() if isinstance(body, str) else body
    base, hash_mark, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}bodySHA256={hashlib.sha256(raw).hexdigest()}{hash_mark}{fragment}"


def validate_twilio(
    url: str,
    params_or_body: FormParams | bytes | str | None,
    signature: str,
    auth_token: str,
    *,
    algorithm: TwilioSignatureAlgorithm = TwilioSignatureAlgorithm.HMAC_SHA1,
) -> bool:
    """Whether `signature` is Twilio's for this request, in constant time.

    `url` is the full URL Twilio requested (the configured public URL, path and query exactly as
    received). `params_or_body` is the parsed form of a POST, None (or empty) for a GET, or the
    raw body (bytes or str) of a JSON request: then the URL's `bodySHA256` must be the body's
    SHA-256, and a body without it is False, since nothing would vouch for the body.
    """
    if type(params_or_body) is dict:  # the hot path: a parsed form
        signed = _signed_mapping(url, params_or_body)
    elif isinstance(params_or_body, bytes | str):
        if not _body_hash_matches(url, params_or_body):
            return False
        signed = url
    else:
        signed = _signed_string(url, params_or_body)
    keyed = _keyed(auth_token, algorithm)
    try:
        given = signature.encode()
        if hmac.compare_digest(_mac(keyed, signed.encode()), given):
            return True
        other = _other_port_form(url)
        if other is not None and hmac.compare_digest(
            _mac(keyed, (other + signed[len(url) :]).encode()), given
        ):
            return True
    except UnicodeEncodeError:
        # Only lone surrogates cannot be encoded; no request Twilio signed contains them.
        pass
    _check_well_formed(signature, algorithm)
    return False


def _signed_string(url: str, params: FormParams | None) -> str:
    if not params:
        return url
    if isinstance(params, Mapping):
        return _signed_mapping(url, params)
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    return url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )


def _signed_mapping(url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    if not params:
        return url
    names_as_sent = tuple(params)
    names, values_of = _LAYOUTS.get(names_as_sent) or _layout(names_as_sent)
    # Interleaving names and values by slice assignment keeps the loop in C: this string is
    # built on every validation and is most of its cost beyond the HMAC itself.
    parts: list[str | Sequence[str]] = [url, *names, *names]
    parts[1::2] = names
    parts[2::2] = values_of(params)
    try:
        return "".join(parts)  # type: ignore[arg-type]
    except TypeError:  # a sequence value: a name sent more than once
        return url + "".join(
            name + value for name in names for value in _distinct_sorted(params[name])
        )


_Layout: TypeAlias = tuple[list[str], Callable[[Mapping[str, str | Sequence[str]]], Sequence[Any]]]
_LAYOUTS: Final[dict[tuple[str, ...], _Layout]] = {}
_MAX_LAYOUTS: Final = 256


def _layout(names_as_sent: tuple[str, ...]) -> _Layout:
    """The sorted names and a getter of their values, memoised in `_LAYOUTS` per list of names.

    Twilio sends the same names in the same order for every webhook of a kind, so sorting them
    once per kind saves a sort per request. The memo is bounded: past `_MAX_LAYOUTS` kinds (only
    a sender inventing names gets there) it starts afresh.
    """
    names = sorted(names_as_sent)
    layout: _Layout
    if len(names) == 1:
        only = names[0]
        layout = (names, lambda params: (params[only],))
    else:
        layout = (names, itemgetter(*names))
    if len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.clear()
    _LAYOUTS[names_as_sent] = layout
    return layout


def _distinct_sorted(value: str | Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [value]
    return sorted(set(value))


@functools.cache  # keys come from configuration only, so the cache stays small
def _keyed(
    auth_token: str, algorithm: TwilioSignatureAlgorithm
) -> tuple[hashlib._Hash, hashlib._Hash]:
    """The HMAC inner and outer hash states for one key (RFC 2104), computed once per key."""
    name = _HASHES[algorithm][0]
    key = auth_token.encode()
    block_size = hashlib.new(name).block_size
    if len(key) > block_size:
        key = hashlib.new(name, key).digest()
    key = key.ljust(block_size, b"\0")
    return hashlib.new(name, key.translate(_IPAD)), hashlib.new(name, key.translate(_OPAD))


def _mac(keyed: tuple[hashlib._Hash, hashlib._Hash], message: bytes) -> bytes:
    inner = keyed[0].copy()
    inner.update(message)
    outer = keyed[1].copy()
    outer.update(inner.digest())
    return base64.b64encode(outer.digest())


def _other_port_form(url: str) -> str | None:
    """`url` without its port if it has one, else with its scheme's default port.

    None when `url` has no `scheme://authority` (nothing to vary).
    """
    scheme_end = url.find("://")
    if scheme_end <= 0:
        return None
    start = scheme_end + 3
    end = len(url)
    for mark in "/?#":
        found = url.find(mark, start)
        if found != -1 and found < end:
            end = found
    authority = url[start:end]
    host_start = authority.rfind("@") + 1
    colon = authority.rfind(":")
    # A colon inside user info or an IPv6 literal ("[::1]") is not a port separator.
    if colon >= host_start and "]" not in authority[colon:]:
        return url[: start + colon] + url[end:]
    default = "443" if url[:scheme_end].lower() == "https" else "80"
    return f"{url[:end]}:{default}{url[end:]}"


def _body_hash_matches(url: str, body: bytes | str) -> bool:
    _, question_mark, query = url.partition("#")[0].partition("?")
    expected = parse_qs(query).get("bodySHA256") if question_mark else None
    if not expected:
        # An empty body with no hash is a request without a body (Twilio's validator agrees).
        return not body
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    actual = hashlib.sha256(raw).hexdigest().encode()
    return hmac.compare_digest(actual, expected[0].encode("utf-8", "surrogatepass"))


def _check_well_formed(signature: str, algorithm: TwilioSignatureAlgorithm) -> None:
    length = _HASHES[algorithm][1]
    if not signature:
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header is missing or empty")
    try:
        decoded = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(signature) != length or not decoded:
        raise InvalidSignature(
            f"the {SIGNATURE_HEADER} header is not a Base64 {algorithm} signature "
            f"({length} characters); got {len(signature)} characters"
        )
