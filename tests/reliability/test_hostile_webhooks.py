"""Hostile Twilio webhooks against a real Herald: refused, counted, and changing nothing.

A gateway serves on a socket of the test's own (SQLite and PostgreSQL). Two tenants, `shop`
and `clinic`, each on its own Twilio account, each with a sent message. Every request below is
written byte for byte (forged, unsigned, signed for another URL or token, altered after
signing, truncated, oversized, in another encoding, missing what it needs, about a message that
is not the signer's) and must be answered with 403 or another 4xx (503 with `Retry-After` for a
signed callback about a message Herald does not know: the only answer that lets Twilio deliver
a callback that overtook the worker). After each one the whole database is compared with its
snapshot from before, and at the end `GET /metrics` must count every request under its route
and outcome, exactly.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlencode

from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import NewMessage, Tenant, TwilioCredentials
from herald.domain.signatures import twilio_signature
from herald.storage.messages import MessageRepository
from herald.storage.outbox import Outbox
from herald.storage.tenants import TenantRepository
from herald.webhooks.forms import MAX_BODY_BYTES
from tests.reliability.hostile_helpers import (
    ADMIN_KEY,
    PUBLIC_URL,
    RawAnswer,
    RunningHerald,
    changed_tables,
    http_request,
    raw_http,
    running_herald,
    snapshot,
)

STATUS: Final = "/webhooks/twilio/status"
INBOUND: Final = "/webhooks/twilio/inbound"
FORM: Final = "application/x-www-form-urlencoded"
ACCOUNT_A: Final = "AC" + "a1" * 16
ACCOUNT_B: Final = "AC" + "b2" * 16
TOKEN_A: Final = "tokenA-" + "x" * 25
TOKEN_B: Final = "tokenB-" + "y" * 25
ACCOUNT_C: Final = "AC" + "c3" * 16
KEY_SECRET_C: Final = "secretC-" + "z" * 24
SID_A: Final = "SM" + "a" * 32
SID_B: Final = "SM" + "b" * 32
UNKNOWN_SID: Final = "SM" + "c" * 32
SHOP_NUMBER: Final = "+3197010260001"
PERSON: Final = "+31612345670"

Params = list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile request, the answer it must get and the outcome it must be counted as."""

    name: str
    request: bytes
    status: int | None
    outcome: str
    route: str = "status"
    truncated: bool = False


def status_params(sid: str = SID_A, status: str = "delivered", account: str = ACCOUNT_A) -> Params:
    """A delivery status callback's parameters, as Twilio sends them."""
    return [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", account),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("From", SHOP_NUMBER),
        ("To", PERSON),
        ("ApiVersion", "2010-04-01"),
    ]


def inbound_params(body: str = "STOP", account: str = ACCOUNT_A) -> Params:
    """An inbound message's parameters."""
    sid = "SM" + "d" * 32
    return [
        ("MessageSid", sid),
        ("SmsMessageSid", sid),
        ("AccountSid", account),
        ("From", PERSON),
        ("To", SHOP_NUMBER),
        ("Body", body),
        ("NumMedia", "0"),
        ("ApiVersion", "2010-04-01"),
    ]


def signed(
    path: str,
    params: Params,
    *,
    token: str = TOKEN_A,
    url: str | None = None,
    sent: Params | None = None,
    headers: Sequence[tuple[str, str]] = (),
    content_type: str | None = FORM,
) -> bytes:
    """A POST of `sent` (default `params`) carrying the signature of `params` over `url`."""
    signature = twilio_signature(url or PUBLIC_URL + path, params, token)
    all_headers = [("X-Twilio-Signature", signature), *headers]
    if content_type is not None:
        all_headers.append(("Content-Type", content_type))
    body = urlencode(params if sent is None else sent).encode()
    return http_request("POST", path, headers=all_headers, body=body)


def unsigned(path: str, body: bytes, *, content_type: str = FORM, **extra: int) -> bytes:
    """A POST of `body` with no signature at all."""
    return http_request("POST", path, headers=[("Content-Type", content_type)], body=body, **extra)


def _with(params: Params, name: str, value: str) -> Params:
    return [(key, value if key == name else old) for key, old in params]


def _without(params: Params, name: str) -> Params:
    return [(key, value) for key, value in params if key != name]


def _chunked_oversized() -> bytes:
    chunk = b"a" * 16384
    head = http_request(
        "POST",
        STATUS,
        headers=[("Content-Type", FORM), ("Transfer-Encoding", "chunked")],
    )
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6))
    return head + chunks + b"0\r\n\r\n"


def cases() -> list[Case]:
    """Every hostile request the intake is tried with (the slow 503 ones are in `unknown`)."""
    good = status_params()
    sig_over = PUBLIC_URL + STATUS
    many = "&".join(f"f{index}=v" for index in range(501)).encode()
    return [
        Case("forged signature", signed(STATUS, good, token="f" * 32), 403, "bad_signature"),
        Case("no signature", unsigned(STATUS, urlencode(good).encode()), 403, "bad_signature"),
        Case(
            "signature not Base64",
            http_request(
                "POST",
                STATUS,
                headers=[("Content-Type", FORM), ("X-Twilio-Signature", "!" * 28)],
                body=urlencode(good).encode(),
            ),
            403,
            "bad_signature",
        ),
        Case(
            "signed for another path",
            signed(STATUS, good, url=PUBLIC_URL + INBOUND),
            403,
            "bad_signature",
        ),
        Case(
            "signed for another host",
            signed(STATUS, good, url="https://evil.example.com" + STATUS),
            403,
            "bad_signature",
        ),
        Case(
            "signed for another port",
            signed(STATUS, good, url="https://herald.example.com:8443" + STATUS),
            403,
            "bad_signature",
        ),
        Case(
            "signed for http instead of https",
            signed(STATUS, good, url=sig_over.replace("https://", "http://")),
            403,
            "bad_signature",
        ),
        Case(
            "signed for the URL with a query added",
            signed(STATUS, good, url=sig_over + "?x=1"),
            403,
            "bad_signature",
        ),
        Case(
            "signed with another tenant's token",
            signed(STATUS, good, token=TOKEN_B),
            403,
            "bad_signature",
        ),
        Case(
            "another tenant's account, this tenant's token",
            signed(STATUS, status_params(account=ACCOUNT_B)),
            403,
            "bad_signature",
        ),
        Case(
            "unknown account",
            signed(STATUS, status_params(account="AC" + "0" * 32)),
            403,
            "unknown_account",
        ),
        Case(
            "a tenant with an API key, signed with the key's secret",
            signed(STATUS, status_params(account=ACCOUNT_C), token=KEY_SECRET_C),
            403,
            "api_key_tenant",
        ),
        Case("no AccountSid", signed(STATUS, _without(good, "AccountSid")), 403, "no_account"),
        Case(
            "unknown signature algorithm",
            signed(
                STATUS,
                good,
                headers=[("X-Twilio-Webhooks-Signature-Settings", "key=K1,algorithm=HMAC_MD5")],
            ),
            403,
            "bad_signature",
        ),
        Case(
            "status altered after signing",
            signed(STATUS, good, sent=_with(good, "MessageStatus", "failed")),
            403,
            "bad_signature",
        ),
        Case(
            "parameter added after signing",
            signed(STATUS, good, sent=[*good, ("ErrorCode", "30007")]),
            403,
            "bad_signature",
        ),
        Case(
            "parameter removed after signing",
            signed(STATUS, good, sent=_without(good, "ApiVersion")),
            403,
            "bad_signature",
        ),
        Case(
            "parameter duplicated with another value",
            signed(STATUS, good, sent=[("MessageStatus", "failed"), *good]),
            403,
            "bad_signature",
        ),
        Case(
            "name/value boundary moved (the signature still matches)",
            signed(
                STATUS,
                good,
                sent=[
                    ("MessageStatu", "sdelivered") if key == "MessageStatus" else (key, value)
                    for key, value in good
                ],
            ),
            400,
            "missing_parameter",
        ),
        Case(
            "signed, no MessageSid",
            signed(STATUS, _without(good, "MessageSid")),
            400,
            "missing_parameter",
        ),
        Case(
            "signed, no MessageStatus",
            signed(STATUS, _without(good, "MessageStatus")),
            400,
            "missing_parameter",
        ),
        Case(
            "JSON body",
            signed(STATUS, good, content_type="application/json"),
            415,
            "unsupported_media_type",
        ),
        Case(
            "text/plain",
            signed(STATUS, good, content_type="text/plain"),
            415,
            "unsupported_media_type",
        ),
        Case(
            "multipart",
            signed(STATUS, good, content_type="multipart/form-data; boundary=x"),
            415,
            "unsupported_media_type",
        ),
        Case(
            "no Content-Type",
            signed(STATUS, good, content_type=None),
            415,
            "unsupported_media_type",
        ),
        Case(
            "charset ISO-8859-1",
            signed(STATUS, good, content_type=f"{FORM}; charset=ISO-8859-1"),
            415,
            "wrong_charset",
        ),
        Case(
            "raw bytes that are not UTF-8",
            unsigned(STATUS, urlencode(good).encode() + b"&Body=\xe9t\xe9"),
            400,
            "malformed_form",
        ),
        Case(
            "percent-encoded bytes that are not UTF-8",
            unsigned(STATUS, urlencode(good).encode() + b"&Body=%FF%FE"),
            400,
            "malformed_form",
        ),
        Case("501 fields", unsigned(STATUS, many), 400, "malformed_form"),
        Case(
            "oversized body",
            unsigned(STATUS, b"Body=" + b"a" * MAX_BODY_BYTES + urlencode(good).encode()),
            413,
            "too_large",
        ),
        Case(
            "oversized chunked body",
            _chunked_oversized(),
            413,
            "too_large",
        ),
        Case(
            "body shorter than its Content-Length",
            unsigned(STATUS, urlencode(good).encode()[:40], content_length=400),
            None,
            "truncated",
            truncated=True,
        ),
        Case(
            "signed, MessageSid of 5,000 characters",
            signed(STATUS, status_params(sid="SM" + "a" * 4998)),
            400,
            "invalid_parameter",
        ),
        Case(
            "signed, MessageStatus of 100 characters",
            signed(STATUS, status_params(status="delivered" + "d" * 91)),
            400,
            "invalid_parameter",
        ),
        Case(
            "signed, idempotency token of 1,000 characters",
            signed(STATUS, good, headers=[("I-Twilio-Idempotency-Token", "t" * 1000)]),
            400,
            "invalid_parameter",
        ),
        Case(
            "signed, NUL in a parameter",
            signed(STATUS, [*good, ("ErrorMessage", "a\x00b")]),
            400,
            "malformed_form",
        ),
        Case(
            "AccountSid that is no SID (a forged log line)",
            signed(STATUS, status_params(account="AC1\nWARNING forged line " + "x" * 5000)),
            403,
            "unknown_account",
        ),
        Case("GET", http_request("GET", STATUS), 405, "no_route"),
        Case(
            "a path that would forge a log line",
            unsigned("/webhooks/twilio/%0AERROR%20forged", b"a=b"),
            404,
            "no_route",
            route="other",
        ),
        Case(
            "a path under the prefix that is no route",
            signed("/webhooks/twilio/voice", good),
            404,
            "no_route",
            route="other",
        ),
        # The inbound route, whose accepted requests store messages and opt-outs.
        Case(
            "inbound, forged",
            signed(INBOUND, inbound_params(), token="f" * 32),
            403,
            "bad_signature",
            route="inbound",
        ),
        Case(
            "inbound, no signature",
            unsigned(INBOUND, urlencode(inbound_params()).encode()),
            403,
            "bad_signature",
            route="inbound",
        ),
        Case(
            "inbound, signed for the status URL",
            signed(INBOUND, inbound_params(), url=PUBLIC_URL + STATUS),
            403,
            "bad_signature",
            route="inbound",
        ),
        Case(
            "inbound, another tenant's token",
            signed(INBOUND, inbound_params(), token=TOKEN_B),
            403,
            "bad_signature",
            route="inbound",
        ),
        Case(
            "inbound, body altered after signing",
            signed(INBOUND, inbound_params("hello"), sent=inbound_params("STOP")),
            403,
            "bad_signature",
            route="inbound",
        ),
        Case(
            "inbound, signed, no From",
            signed(INBOUND, _without(inbound_params(), "From")),
            400,
            "missing_parameter",
            route="inbound",
        ),
        Case(
            "inbound, signed, NUL in the body",
            signed(INBOUND, inbound_params("STOP\x00")),
            400,
            "malformed_form",
            route="inbound",
        ),
        Case(
            "inbound, signed, From of 3,000 digits",
            signed(INBOUND, _with(inbound_params(), "From", "+3" + "1" * 2999)),
            400,
            "invalid_parameter",
            route="inbound",
        ),
        Case(
            "inbound, signed, MessageSid of 5,000 characters",
            signed(INBOUND, _with(inbound_params(), "MessageSid", "SM" + "e" * 4998)),
            400,
            "invalid_parameter",
            route="inbound",
        ),
        Case(
            "inbound, JSON",
            signed(INBOUND, inbound_params(), content_type="application/json"),
            415,
            "unsupported_media_type",
            route="inbound",
        ),
        Case(
            "inbound, not UTF-8",
            unsigned(INBOUND, b"Body=\xff\xfe&" + urlencode(inbound_params()).encode()),
            400,
            "malformed_form",
            route="inbound",
        ),
    ]


def unknown() -> list[Case]:
    """Correctly signed callbacks about a message that is not the signer's: 503, nothing done.

    Herald waits (2 s) for the worker to record the SID, then asks Twilio to call again later.
    """
    return [
        Case(
            "unknown MessageSid",
            signed(STATUS, status_params(sid=UNKNOWN_SID)),
            503,
            "unknown_message",
        ),
        Case(
            "status for another tenant's message",
            signed(STATUS, status_params(sid=SID_B)),
            503,
            "unknown_message",
        ),
    ]


@dataclasses.dataclass(frozen=True)
class Sent:
    """A tenant and the id of its message that Twilio took (SID `SID_A` or `SID_B`)."""

    tenant: Tenant
    message_id: str


async def _tenants_with_messages(herald: RunningHerald) -> tuple[Sent, Sent]:
    now = datetime.now(UTC)
    tenants = TenantRepository(herald.engine, herald.box)
    shop = await tenants.create("shop", now=now, credentials=TwilioCredentials(ACCOUNT_A, TOKEN_A))
    clinic = await tenants.create(
        "clinic", now=now, credentials=TwilioCredentials(ACCOUNT_B, TOKEN_B)
    )
    # A tenant that calls Twilio with an API key: Herald holds no auth token to check with.
    await tenants.create(
        "agency",
        now=now,
        credentials=TwilioCredentials(ACCOUNT_C, KEY_SECRET_C, key_sid="SK" + "c" * 32),
    )
    messages = MessageRepository(herald.engine)
    outbox = Outbox(herald.engine)
    sent = []
    for tenant, sid in ((shop, SID_A), (clinic, SID_B)):
        accepted = await messages.accept(
            tenant.id,
            NewMessage(Channel.SMS, PERSON, SHOP_NUMBER, "Your order shipped.", "GSM-7", 1),
            now=now,
        )
        await outbox.claim("test", now=now, lease_seconds=30, limit=1)
        assert await outbox.mark_sent(accepted.message.id, "test", now=now, provider_sid=sid)
        sent.append(Sent(tenant, accepted.message.id))
    return sent[0], sent[1]


async def _metrics(herald: RunningHerald) -> collections.Counter[tuple[str, str]]:
    answer = await raw_http(
        herald.port,
        http_request("GET", "/metrics", headers=[("Authorization", f"Bearer {ADMIN_KEY}")]),
    )
    assert answer.status == 200, answer.body
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    pattern = re.compile(
        r'^herald_twilio_webhooks_total\{route="(\w+)",outcome="(\w+)"\} (\d+)$', re.MULTILINE
    )
    for route, outcome, count in pattern.findall(answer.body.decode()):
        counts[route, outcome] = int(count)
    return counts


def _judge(case: Case, answer: RawAnswer, changed: list[str]) -> list[str]:
    faults = []
    if case.truncated:
        if answer.status not in {None, 400}:
            faults.append(f"{case.name}: answered {answer.status}, expected 400 or nothing")
    elif answer.status != case.status:
        faults.append(f"{case.name}: answered {answer.status}, expected {case.status}")
    if answer.status == 503 and answer.headers.get("retry-after") is None:
        faults.append(f"{case.name}: 503 without Retry-After")
    if changed:
        faults.append(f"{case.name}: changed {', '.join(changed)}")
    return faults


async def test_every_hostile_webhook_is_refused_counted_and_changes_nothing(
    database_url: str,
) -> None:
    """Each request gets its 4xx (403 for a signature), changes no row, and is counted."""
    async with running_herald(database_url) as herald:
        await _tenants_with_messages(herald)
        faults: list[str] = []
        expected: collections.Counter[tuple[str, str]] = collections.Counter()
        for case in cases():
            before = await snapshot(herald.engine)
            answer = await raw_http(herald.port, case.request, close_after_sending=case.truncated)
            faults += _judge(case, answer, changed_tables(before, await snapshot(herald.engine)))
            expected[case.route, case.outcome] += 1
        slow = unknown()
        before = await snapshot(herald.engine)
        answers = await asyncio.gather(*(raw_http(herald.port, case.request) for case in slow))
        changed = changed_tables(before, await snapshot(herald.engine))
        for case, answer in zip(slow, answers, strict=True):
            faults += _judge(case, answer, changed)
            expected[case.route, case.outcome] += 1
        counted = await _metrics(herald)
    assert faults == []
    assert counted == expected
    assert sum(expected.values()) == len(cases()) + len(slow)


async def test_a_replayed_callback_changes_nothing_and_an_altered_one_is_refused(
    database_url: str,
) -> None:
    """A signed callback sent again is a duplicate; with other values it is a 403.

    Twilio's signature has no timestamp and does not cover `I-Twilio-Idempotency-Token`, so a
    copy sent later without the token (or with another) is a new report: it goes into the
    history as not applied, and the status, the events and everything else stay as they were.
    """
    async with running_herald(database_url) as herald:
        shop, _ = await _tenants_with_messages(herald)
        messages = MessageRepository(herald.engine)
        delivered = signed(STATUS, status_params(), headers=[("I-Twilio-Idempotency-Token", "e1")])
        no_token = signed(STATUS, status_params())
        answers = [(await raw_http(herald.port, delivered)).status]
        applied = await snapshot(herald.engine)
        answers.append((await raw_http(herald.port, delivered)).status)
        assert changed_tables(applied, await snapshot(herald.engine)) == []
        answers.append((await raw_http(herald.port, no_token)).status)
        without_token = await snapshot(herald.engine)
        answers.append((await raw_http(herald.port, no_token)).status)
        altered = signed(
            STATUS,
            status_params(),
            sent=status_params(status="failed"),
            headers=[("I-Twilio-Idempotency-Token", "e2")],
        )
        answers.append((await raw_http(herald.port, altered)).status)
        assert changed_tables(without_token, await snapshot(herald.engine)) == []
        stop = signed(INBOUND, inbound_params("STOP"))
        first = await raw_http(herald.port, stop)
        stored = await snapshot(herald.engine)
        again = await raw_http(herald.port, stop)
        assert changed_tables(stored, await snapshot(herald.engine)) == []
        counted = await _metrics(herald)
        message = await messages.get(shop.tenant.id, shop.message_id)
        history = await messages.history(shop.tenant.id, shop.message_id)
    assert answers == [200, 200, 200, 200, 403]
    assert changed_tables(applied, without_token) == ["message_status_history", "webhook_receipts"]
    assert message is not None
    assert message.status is Status.DELIVERED
    assert history is not None
    assert [(c.provider_status, c.applied) for c in history if c.source.value == "callback"] == [
        ("delivered", True),
        ("delivered", False),
    ]
    assert (first.status, again.status, again.body) == (200, 200, first.body)
    assert b"<Message>" in first.body
    assert counted == {
        ("status", "accepted"): 2,
        ("status", "duplicate"): 2,
        ("status", "bad_signature"): 1,
        ("inbound", "accepted"): 1,
        ("inbound", "duplicate"): 1,
    }


async def test_metrics_need_the_admin_key(database_url: str) -> None:
    """`GET /metrics` is 401 without the admin key or with another, 200 with it."""
    async with running_herald(database_url) as herald:
        answers = [
            await raw_http(herald.port, http_request("GET", "/metrics", headers=headers))
            for headers in (
                [],
                [("Authorization", "Bearer wrong-key-of-enough-length")],
                [("Authorization", f"Basic {ADMIN_KEY}")],
                [("Authorization", f"Bearer {ADMIN_KEY}")],
            )
        ]
    assert [answer.status for answer in answers] == [401, 401, 401, 200]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert answers[3].headers["content-type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE herald_twilio_webhooks_total counter" in answers[3].body


async def test_signed_values_herald_cannot_use_are_dropped_not_a_500(database_url: str) -> None:
    """An `ErrorCode` or `NumMedia` that is no number Herald can store is left out; 200."""
    async with running_herald(database_url) as herald:
        shop, _ = await _tenants_with_messages(herald)
        callbacks = [
            signed(STATUS, [*status_params(status="sent"), ("ErrorCode", "9" * 30)]),
            signed(STATUS, [*status_params(status="delivered"), ("ErrorCode", "\u00b2")]),
            signed(INBOUND, _with(inbound_params("hi"), "NumMedia", "9" * 40)),
        ]
        answers = [(await raw_http(herald.port, each)).status for each in callbacks]
        messages = MessageRepository(herald.engine)
        history = await messages.history(shop.tenant.id, shop.message_id)
        counted = await _metrics(herald)
    assert answers == [200, 200, 200]
    assert history is not None
    assert [(c.provider_status, c.error_code) for c in history if c.source.value == "callback"] == [
        ("sent", None),
        ("delivered", None),
    ]
    assert counted == {("status", "accepted"): 2, ("inbound", "accepted"): 1}
