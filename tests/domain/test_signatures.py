"""X-Twilio-Signature is computed and validated exactly as Twilio's own validator does it."""

from __future__ import annotations

import base64
from urllib.parse import urlparse

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from herald.domain import signatures
from herald.domain.signatures import (
    TwilioSignatureAlgorithm,
    signature_algorithm,
    twilio_signature,
    validate_twilio,
    with_body_sha256,
)
from herald.errors import InvalidSignature

# TWILIO-API.md §12 worked examples.
TOKEN = "f4c0ffee00000000000000000000beef"
SMS_URL = "https://example.com/twilio/sms"
SMS_FORM = {
    "AccountSid": "AC" + "0" * 32,
    "Body": "Hello World",
    "From": "+15551230000",
    "MessageSid": "SM" + "1" * 32,
    "NumMedia": "0",
    "To": "+15559870000",
}
SMS_SIGNATURE = "/Cjfb44ypHd3gEmP4DcjgHokahw="
GET_URL = "https://example.com/twilio/voice?CallSid=CA" + "2" * 32 + "&From=%2B15551230000"
GET_SIGNATURE = "DWvnaH3P66EGiwrnbDrsN7dqYyg="
JSON_BODY = '{"event":"test","n":1}'
JSON_HASH = "829ae2d3a157f2d3a9e99f221392c416a31026fb2bc17ad755b69170e942c916"
JSON_URL = "https://example.com/twilio/events?bodySHA256=" + JSON_HASH
JSON_SIGNATURE = "Sf317zPBU6Jyf+PRLYyoltlLLdw="

# twilio-python's own test vectors (tests/unit/test_request_validator.py).
UPSTREAM_TOKEN = "12345"
UPSTREAM_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
UPSTREAM_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
UPSTREAM_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
SHA1 = TwilioSignatureAlgorithm.HMAC_SHA1
SHA256 = TwilioSignatureAlgorithm.HMAC_SHA256


class _QueryDict(dict[str, list[str]]):
    """A multi-valued form as Django hands it to twilio's validator (it calls `getlist`)."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def test_form_post_signature_matches_the_worked_example() -> None:
    """A form POST is signed over the URL followed by the sorted name+value pairs."""
    assert twilio_signature(SMS_URL, SMS_FORM, TOKEN) == SMS_SIGNATURE


def test_get_signature_is_over_the_url_alone() -> None:
    """A GET is signed over its URL, query included, with nothing appended."""
    assert twilio_signature(GET_URL, None, TOKEN) == GET_SIGNATURE
    assert validate_twilio(GET_URL, None, GET_SIGNATURE, TOKEN)


def test_get_with_its_query_also_passed_as_params_fails() -> None:
    """Passing a GET's parsed query as params counts it twice, so validation fails."""
    query = {"CallSid": "CA" + "2" * 32, "From": "+15551230000"}
    assert not validate_twilio(GET_URL, query, GET_SIGNATURE, TOKEN)


def test_json_signature_is_over_the_url_with_its_body_hash() -> None:
    """A JSON request is signed over its URL, which carries the body's SHA-256."""
    assert with_body_sha256("https://example.com/twilio/events", JSON_BODY) == JSON_URL
    assert twilio_signature(JSON_URL, None, TOKEN) == JSON_SIGNATURE


def test_json_body_that_matches_its_hash_validates() -> None:
    """The raw JSON body, as str or bytes, validates when its hash is the URL's bodySHA256."""
    assert validate_twilio(JSON_URL, JSON_BODY, JSON_SIGNATURE, TOKEN)
    assert validate_twilio(JSON_URL, JSON_BODY.encode(), JSON_SIGNATURE, TOKEN)


def test_tampered_json_body_fails_even_with_a_valid_url_signature() -> None:
    """A body changed after signing no longer matches bodySHA256, so validation fails."""
    assert not validate_twilio(JSON_URL, '{"event":"test","n":2}', JSON_SIGNATURE, TOKEN)


def test_json_body_without_a_body_hash_fails() -> None:
    """A non-empty raw body whose URL has no bodySHA256 is vouched for by nothing: False."""
    url = "https://example.com/twilio/events"
    assert not validate_twilio(url, JSON_BODY, twilio_signature(url, None, TOKEN), TOKEN)


def test_empty_body_without_a_body_hash_is_a_request_without_params() -> None:
    """An empty raw body with no bodySHA256 validates like a GET: URL only."""
    assert validate_twilio(GET_URL, b"", GET_SIGNATURE, TOKEN)


def test_upstream_json_vector_validates() -> None:
    """twilio-python's JSON vector: the body hash and the URL signature both check."""
    body = '{"property": "value", "boolean": true}'
    url = with_body_sha256(UPSTREAM_URL, body)
    assert url.endswith("0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620")
    assert validate_twilio(url, body, "a9nBmqA0ju/hNViExpshrM61xv4=", UPSTREAM_TOKEN)


def test_body_hash_is_added_before_a_fragment() -> None:
    """with_body_sha256 adds to an existing query and keeps a fragment at the end."""
    url = with_body_sha256("https://h/p?x=1#ct=2000", b"")
    assert url.startswith("https://h/p?x=1&bodySHA256=e3b0c442")
    assert url.endswith("#ct=2000")


def test_repeated_names_sign_each_distinct_value_sorted() -> None:
    """A repeated name contributes each distinct value, sorted; exact duplicates count once."""
    expected = "WdMCTpcVELjmG1iBXMurx6peCrk="
    url = "https://example.com/cb"
    call = "CA" + "3" * 32
    as_mapping = {"CallSid": call, "StatusCallbackEvent": ["ringing", "answered", "ringing"]}
    as_pairs = [
        ("StatusCallbackEvent", "ringing"),
        ("CallSid", call),
        ("StatusCallbackEvent", "answered"),
    ]
    assert twilio_signature(url, as_mapping, TOKEN) == expected
    assert twilio_signature(url, as_pairs, TOKEN) == expected
    assert validate_twilio(url, as_pairs, expected, TOKEN)


def test_upstream_duplicate_values_vector() -> None:
    """twilio's duplicate-value vector (Digits 5678, 1234, 1234) is reproduced."""
    params = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234", "1234"]}
    assert twilio_signature(UPSTREAM_URL, params, UPSTREAM_TOKEN) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_form_post_validates() -> None:
    """The genuine signature of a form POST validates."""
    assert validate_twilio(SMS_URL, SMS_FORM, SMS_SIGNATURE, TOKEN)


@pytest.mark.parametrize(
    ("name", "value"), [("Body", "Hello World!"), ("From", "+15551230001"), ("Extra", "1")]
)
def test_tampered_params_fail(name: str, value: str) -> None:
    """Changing or adding any parameter after signing makes validation fail."""
    assert not validate_twilio(SMS_URL, {**SMS_FORM, name: value}, SMS_SIGNATURE, TOKEN)


def test_a_missing_param_fails() -> None:
    """Dropping a parameter after signing makes validation fail."""
    form = {name: value for name, value in SMS_FORM.items() if name != "NumMedia"}
    assert not validate_twilio(SMS_URL, form, SMS_SIGNATURE, TOKEN)


def test_a_different_url_fails() -> None:
    """The same parameters posted to another path do not validate."""
    assert not validate_twilio(SMS_URL + "2", SMS_FORM, SMS_SIGNATURE, TOKEN)


def test_wrong_token_fails() -> None:
    """A signature made with another auth token does not validate."""
    assert not validate_twilio(SMS_URL, SMS_FORM, SMS_SIGNATURE, TOKEN[:-1] + "e")


def test_upstream_vector_without_port() -> None:
    """twilio's base vector validates on the URL as given."""
    assert validate_twilio(UPSTREAM_URL, UPSTREAM_PARAMS, UPSTREAM_SIGNATURE, UPSTREAM_TOKEN)


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # Twilio signed with :443 but the URL arrived without a port.
        (UPSTREAM_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        # Twilio signed with :80 but the URL arrived without a port.
        (UPSTREAM_URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        # Twilio signed without a port but the URL arrived with :443.
        (UPSTREAM_URL.replace(".com", ".com:443"), UPSTREAM_SIGNATURE),
        # A non-default port: signed without it, received with it.
        (UPSTREAM_URL.replace(".com", ".com:1234"), UPSTREAM_SIGNATURE),
        # A non-default port: signed with it (http), received with it.
        (
            UPSTREAM_URL.replace(".com", ".com:1234").replace("https", "http"),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
    ],
)
def test_the_url_validates_with_and_without_its_port(url: str, signature: str) -> None:
    """Twilio is inconsistent about ports, so both the port and no-port forms are accepted."""
    assert validate_twilio(url, UPSTREAM_PARAMS, signature, UPSTREAM_TOKEN)


def test_a_different_non_default_port_fails() -> None:
    """A URL signed with :1234 does not validate when received with :4321."""
    signed = twilio_signature("https://h.example:1234/p", None, TOKEN)
    assert not validate_twilio("https://h.example:4321/p", None, signed, TOKEN)


def test_the_default_port_is_added_after_user_info() -> None:
    """With credentials in the URL the default port goes after the host, not the user name."""
    signed = twilio_signature("https://user:pw@h.example:443/p", None, TOKEN)
    assert validate_twilio("https://user:pw@h.example/p", None, signed, TOKEN)


def test_a_port_is_removed_after_user_info() -> None:
    """With credentials in the URL, removing the port keeps the user name and host intact."""
    signed = twilio_signature("https://user:pw@h.example/p", None, TOKEN)
    assert validate_twilio("https://user:pw@h.example:8443/p", None, signed, TOKEN)


def test_an_ipv6_host_keeps_its_brackets_when_the_port_changes() -> None:
    """The colons inside an IPv6 literal are not mistaken for a port separator."""
    signed = twilio_signature("https://[2001:db8::1]/p", None, TOKEN)
    assert validate_twilio("https://[2001:db8::1]:8443/p", None, signed, TOKEN)
    signed_with_port = twilio_signature("https://[2001:db8::1]:443/p", None, TOKEN)
    assert validate_twilio("https://[2001:db8::1]/p", None, signed_with_port, TOKEN)


def test_a_url_without_a_scheme_has_no_port_variant() -> None:
    """A URL that is not absolute is only tried as given (and a wrong signature is False)."""
    signed = twilio_signature("/twilio/sms", SMS_FORM, TOKEN)
    assert validate_twilio("/twilio/sms", SMS_FORM, signed, TOKEN)
    assert not validate_twilio("/twilio/sms", SMS_FORM, SMS_SIGNATURE, TOKEN)


@pytest.mark.parametrize(
    "header",
    ["", "short", "/Cjfb44ypHd3gEmP4DcjgHokahw", "!Cjfb44ypHd3gEmP4DcjgHokahw=", "é" * 28],
)
def test_malformed_signature_headers_raise(header: str) -> None:
    """An empty, wrong-length, non-Base64 or non-ASCII header raises InvalidSignature."""
    with pytest.raises(InvalidSignature, match="X-Twilio-Signature"):
        validate_twilio(SMS_URL, SMS_FORM, header, TOKEN)


def test_a_header_with_a_lone_surrogate_raises() -> None:
    """A header that cannot even be encoded raises InvalidSignature rather than crashing."""
    with pytest.raises(InvalidSignature):
        validate_twilio(SMS_URL, SMS_FORM, "\ud800" * 28, TOKEN)


def test_a_well_formed_wrong_signature_is_false_not_an_error() -> None:
    """A Base64 signature of the right length that does not match is simply False."""
    wrong = base64.b64encode(b"\x00" * 20).decode()
    assert validate_twilio(SMS_URL, SMS_FORM, wrong, TOKEN) is False


def test_sha256_shared_key_signatures_validate() -> None:
    """With HMAC_SHA256 (shared-key signing) the same string is signed with SHA-256."""
    signed = twilio_signature(SMS_URL, SMS_FORM, "shared-key-secret", algorithm=SHA256)
    assert len(signed) == 44
    assert validate_twilio(SMS_URL, SMS_FORM, signed, "shared-key-secret", algorithm=SHA256)
    assert not validate_twilio(SMS_URL, SMS_FORM, signed, "other-secret", algorithm=SHA256)


def test_a_sha1_length_header_is_malformed_for_sha256() -> None:
    """A 28-character header cannot be an HMAC_SHA256 signature."""
    with pytest.raises(InvalidSignature, match="44 characters"):
        validate_twilio(SMS_URL, SMS_FORM, SMS_SIGNATURE, TOKEN, algorithm=SHA256)


@pytest.mark.parametrize(
    ("header", "algorithm"),
    [
        (None, SHA1),
        ("", SHA1),
        ("key=webhooks_sharedkey_1", SHA1),
        ("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256", SHA256),
        (" algorithm = hmac_sha1 , key=k", SHA1),
    ],
)
def test_the_settings_header_names_the_algorithm(
    header: str | None, algorithm: TwilioSignatureAlgorithm
) -> None:
    """X-Twilio-Webhooks-Signature-Settings picks the HMAC; without it, HMAC_SHA1."""
    assert signature_algorithm(header) is algorithm


def test_an_unknown_algorithm_raises() -> None:
    """An algorithm Herald cannot check raises InvalidSignature naming it."""
    with pytest.raises(InvalidSignature, match="HMAC_SHA512"):
        signature_algorithm("key=k,algorithm=HMAC_SHA512")


def test_many_distinct_name_sets_keep_signatures_correct() -> None:
    """Past the memo's bound, new name sets still sign correctly and the memo stays bounded."""
    bound = signatures._MAX_LAYOUTS  # noqa: SLF001 - the memo's bound is what this test pins
    for number in range(bound + 10):
        params = {f"Name{number}": "v", "Body": "b"}
        expected = RequestValidator(TOKEN).compute_signature(SMS_URL, params)
        assert twilio_signature(SMS_URL, params, TOKEN) == expected
    assert len(signatures._LAYOUTS) <= bound  # noqa: SLF001


# Property tests against the official twilio package's RequestValidator, the test oracle.

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
URL_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs"), exclude_characters="?#;/@:[]"),
    max_size=10,
)
HOSTS = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){0,2}", fullmatch=True),
    st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=10),
)
TOKENS = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80)
FORMS = st.dictionaries(TEXT, TEXT, max_size=8)
MULTI_FORMS = st.dictionaries(TEXT, st.lists(TEXT, min_size=1, max_size=3), max_size=6)
PORTS = st.one_of(st.none(), st.sampled_from([80, 443]), st.integers(1, 65535))


QUERY_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="#"), min_size=1, max_size=20
)
UrlParts = tuple[str, str, str, str | None]  # scheme, host, path, query


@st.composite
def urls(draw: st.DrawFn) -> UrlParts:
    """The parts of a URL; `_url` joins them with whichever port a test needs."""
    scheme = draw(st.sampled_from(["https", "http"]))
    host = draw(HOSTS)
    path = "".join("/" + segment for segment in draw(st.lists(URL_TEXT, max_size=3)))
    query = draw(st.one_of(st.none(), QUERY_TEXT))
    return scheme, host, path, query


def _url(parts: UrlParts, port: int | None) -> str:
    scheme, host, path, query = parts
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}" + ("" if query is None else f"?{query}")


def _round_trips(url: str) -> bool:
    """Whether twilio's validator (which re-assembles URLs with urllib) sees `url` unchanged."""
    try:
        parsed = urlparse(url)
        _ = parsed.port
    except ValueError:
        return False
    return parsed.geturl() == url


@given(url=urls(), port=PORTS, form=FORMS, token=TOKENS)
def test_form_signatures_equal_the_twilio_package(
    url: UrlParts, port: int | None, form: dict[str, str], token: str
) -> None:
    """For any URL, form and token, Herald computes the signature twilio's validator computes."""
    full = _url(url, port)
    assert twilio_signature(full, form, token) == RequestValidator(token).compute_signature(
        full, form
    )


@given(url=urls(), form=MULTI_FORMS, token=TOKENS)
def test_multi_valued_signatures_equal_the_twilio_package(
    url: UrlParts, form: dict[str, list[str]], token: str
) -> None:
    """Repeated names sign the same as twilio's validator given a Django-style QueryDict."""
    full = _url(url, None)
    expected = RequestValidator(token).compute_signature(full, _QueryDict(form))
    assert twilio_signature(full, form, token) == expected
    pairs = [(name, value) for name, values in form.items() for value in values]
    assert twilio_signature(full, pairs, token) == expected


@given(
    url=urls(),
    signed_port=PORTS,
    received_port=PORTS,
    form=FORMS,
    token=TOKENS,
    algorithm=st.sampled_from(list(TwilioSignatureAlgorithm)),
)
def test_validation_answers_equal_the_twilio_package(
    *,
    url: UrlParts,
    signed_port: int | None,
    received_port: int | None,
    form: dict[str, str],
    token: str,
    algorithm: TwilioSignatureAlgorithm,
) -> None:
    """Signed with one port form and received with another, both validators agree."""
    signed_url, received_url = _url(url, signed_port), _url(url, received_port)
    assume(_round_trips(signed_url) and _round_trips(received_url))
    signature = twilio_signature(signed_url, form, token, algorithm=algorithm)
    expected = RequestValidator(token).validate(received_url, form, signature, algorithm)
    assert validate_twilio(received_url, form, signature, token, algorithm=algorithm) == expected


@given(url=urls(), port=PORTS, form=FORMS, token=TOKENS, digest=st.binary(min_size=20, max_size=20))
def test_random_signatures_are_refused_by_both(
    url: UrlParts,
    port: int | None,
    form: dict[str, str],
    token: str,
    digest: bytes,
) -> None:
    """A random well-formed signature gets the same answer (almost surely False) from both."""
    received = _url(url, port)
    assume(_round_trips(received))
    signature = base64.b64encode(digest).decode()
    expected = RequestValidator(token).validate(received, form, signature)
    assert validate_twilio(received, form, signature, token) == expected


@given(url=urls(), body=TEXT, sent=TEXT, token=TOKENS)
def test_json_validation_answers_equal_the_twilio_package(
    url: UrlParts, body: str, sent: str, token: str
) -> None:
    """For a JSON body (possibly not the one signed), both validators give the same answer."""
    signed_url = with_body_sha256(_url(url, None), body)
    assume(_round_trips(signed_url))
    signature = twilio_signature(signed_url, None, token)
    expected = RequestValidator(token).validate(signed_url, sent, signature)
    assert validate_twilio(signed_url, sent, signature, token) == expected
