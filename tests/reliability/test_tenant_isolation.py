"""Every route of a real Herald, tried with every other tenant's ids: nothing read, nothing changed.

Three tenants on one gateway (SQLite and PostgreSQL) each send a message (with the same
`Idempotency-Key`), opt a number out, register a webhook endpoint, choose a code length, start
a verification and receive an inbound message. Then, for pairs (attacker, victim), every route
is called with the attacker's API key and the victim's ids, numbers, cursors and codes: in the
quick form a ring (1 attacks 2, 2 attacks 3, 3 attacks 1, the third looking on), with
`HERALD_SOAK=1` all six ordered pairs. For each call:

- the answer is never a 5xx, and a /v1 route never answers 403 (which would say "it exists");
- the answer holds none of the victim's identifiers (tenant, message, endpoint, event,
  verification, inbound message ids, endpoint URLs, account SID, API key), unless the caller
  sent that identifier itself;
- the victim's rows in every table are the same before and after (the attacker's own rows may
  change: it may create its own message, opt-out or endpoint);
- and each route has its own expectation: 404 for the victim's message, endpoint or
  verification, a list without the victim's items, the attacker's own settings, and so on.

The routes are read from the app itself; a route without a probe here (a new endpoint) fails
the test until it gets one, and so does a table whose rows cannot be attributed to a tenant.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import TenantSettings, TwilioCredentials
from herald.domain.signatures import twilio_signature
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.schema import metadata
from herald.storage.tenants import TenantRepository
from tests.reliability.hostile_helpers import PUBLIC_URL, RunningHerald, running_herald
from tests.scaleout.cluster import soak_size

TENANTS: Final = 3
GLOBAL_TABLES: Final = frozenset({"webhook_receipts", "worker_heartbeats"})
"""Tables whose rows belong to no tenant: Twilio receipt keys and worker heartbeats."""

Rows = dict[str, list[dict[str, Any]]]


@dataclasses.dataclass
class Party:
    """One tenant: its numbers, key and, after setup, the ids of its data."""

    index: int
    tenant_id: str = ""
    key: str = ""
    message_id: str = ""
    endpoint_id: str = ""
    verification_id: str = ""
    code: str = ""
    message_cursor: str = ""
    event_cursor: str = ""
    ids: set[str] = dataclasses.field(default_factory=set)

    @property
    def name(self) -> str:
        """The tenant's name."""
        return f"isolation-{self.index}"

    @property
    def account(self) -> str:
        """Its Twilio account."""
        return "AC" + f"{self.index:x}e" * 16

    @property
    def token(self) -> str:
        """Its Twilio auth token."""
        return f"token-{self.index}-" + "t" * 24

    @property
    def sender(self) -> str:
        """Its default sender."""
        return f"+319701026{self.index:04d}"

    def number(self, purpose: int) -> str:
        """A Dutch mobile number of this tenant's: 1 messages, 2 verifications, 3 and 4 opt-outs."""
        return f"+3161234{self.index:02d}{purpose:02d}"

    @property
    def idempotency_key(self) -> str:
        """The Idempotency-Key of its first message."""
        return f"order-{self.index}"

    @property
    def endpoint_url(self) -> str:
        """The URL of its webhook endpoint."""
        return f"https://app{self.index}.example.com/herald-events"

    @property
    def code_length(self) -> int:
        """The code length it chose (7, 8, 9: never Herald's default of 6)."""
        return 6 + self.index


@dataclasses.dataclass(frozen=True)
class Answer:
    """An HTTP answer."""

    status: int
    headers: dict[str, str]
    """Lower-cased names; a repeated header's values joined by newlines."""
    text: str

    def json(self) -> Any:
        """The body as JSON."""
        import json  # noqa: PLC0415 - only when a probe reads JSON

        return json.loads(self.text)


class Calls:
    """Sends the probes' requests and checks each answer against the victim's identifiers."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self._http = http
        self._base = base
        self.sent = 0
        self.refused = 0
        self.faults: list[str] = []
        self.victim: Party | None = None

    async def __call__(
        self,
        who: Party | None,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """`method path` with `who`'s API key (None: no key)."""
        all_headers = dict(headers or {})
        if who is not None:
            all_headers.setdefault("Authorization", f"Bearer {who.key}")
        async with self._http.request(
            method,
            self._base + path,
            json=json,
            data=data,
            headers=all_headers,
            allow_redirects=False,
        ) as response:
            got: dict[str, str] = {}
            for name, value in response.headers.items():  # repeated ones (cookies) joined
                got[name.lower()] = "\n".join(filter(None, (got.get(name.lower()), value)))
            answer = Answer(response.status, got, await response.text())
        self.sent += 1
        self.refused += answer.status >= 400
        sent = f"{path} {json!r} {data!r} {all_headers!r}"
        where = f"{method} {path}"
        if answer.status >= 500:
            self.faults.append(f"{where}: {answer.status} {answer.text[:200]}")
        if path.startswith("/v1/") and answer.status == 403:
            self.faults.append(f"{where}: 403 says the victim's item exists; expected 404")
        if self.victim is not None:
            leaked = sorted(i for i in self.victim.ids if i in answer.text and i not in sent)
            if leaked:
                self.faults.append(f"{where}: the answer holds the victim's {leaked}")
        return answer

    def expect(self, ok: bool, what: str) -> None:  # noqa: FBT001 - reads as an assertion
        """Record a fault unless `ok`."""
        if not ok:
            self.faults.append(what)


Probe = Callable[[Calls, Party, Party], Awaitable[None]]


# --- the probes, in the order they run: reads and checks before the writes they would see ---


async def get_message(calls: Calls, me: Party, victim: Party) -> None:
    """The victim's message is 404."""
    answer = await calls(me, "GET", f"/v1/messages/{victim.message_id}")
    calls.expect(answer.status == 404, f"GET the victim's message: {answer.status}")


async def list_messages(calls: Calls, me: Party, victim: Party) -> None:
    """Listing, filtered by the victim's number or paged with its cursor, shows none of its."""
    for query in ("", f"?to={victim.number(1)}", f"?cursor={victim.message_cursor}&limit=50"):
        answer = await calls(me, "GET", "/v1/messages" + query.replace("+", "%2B"))
        calls.expect(answer.status in {200, 422}, f"list messages{query}: {answer.status}")
        if answer.status == 200 and query.startswith("?to="):
            calls.expect(answer.json()["data"] == [], f"list messages{query}: not empty")


async def preview_message(calls: Calls, me: Party, victim: Party) -> None:
    """The victim's opt-out does not block the attacker's preview."""
    body = {"channel": "sms", "to": victim.number(3), "body": "Hello"}
    answer = await calls(me, "POST", "/v1/messages/preview", json=body)
    calls.expect(answer.status == 200, f"preview to the victim's opt-out: {answer.status}")


async def get_opt_out(calls: Calls, me: Party, victim: Party) -> None:
    """The victim's opt-out reads as never recorded."""
    answer = await calls(me, "GET", f"/v1/opt-outs/{victim.number(3)}")
    state = answer.json() if answer.status == 200 else {}
    calls.expect(
        (answer.status, state.get("opted_out"), state.get("history")) == (200, False, []),
        f"GET the victim's opt-out: {answer.status} {state}",
    )


async def delete_opt_out(calls: Calls, me: Party, victim: Party) -> None:
    """The victim's opt-out cannot be lifted: 404."""
    answer = await calls(me, "DELETE", f"/v1/opt-outs/{victim.number(3)}")
    calls.expect(answer.status == 404, f"DELETE the victim's opt-out: {answer.status}")


async def put_opt_out(calls: Calls, me: Party, victim: Party) -> None:
    """Opting the victim's other number out records the attacker's opt-out only."""
    answer = await calls(me, "PUT", f"/v1/opt-outs/{victim.number(4)}")
    calls.expect(answer.status == 200, f"PUT an opt-out: {answer.status}")


async def list_endpoints(calls: Calls, me: Party, victim: Party) -> None:
    """The endpoint list is the attacker's own."""
    answer = await calls(me, "GET", "/v1/webhook-endpoints")
    ids = {each["id"] for each in answer.json()["data"]}
    calls.expect(victim.endpoint_id not in ids, "the victim's endpoint is listed")


async def delete_endpoint(calls: Calls, me: Party, victim: Party) -> None:
    """The victim's endpoint is 404."""
    answer = await calls(me, "DELETE", f"/v1/webhook-endpoints/{victim.endpoint_id}")
    calls.expect(answer.status == 404, f"DELETE the victim's endpoint: {answer.status}")


async def create_endpoint(calls: Calls, me: Party, victim: Party) -> None:
    """An endpoint with the victim's URL is the attacker's own, with a new secret."""
    answer = await calls(me, "POST", "/v1/webhook-endpoints", json={"url": victim.endpoint_url})
    calls.expect(answer.status == 201, f"POST an endpoint: {answer.status}")
    if answer.status == 201:
        await calls(me, "DELETE", f"/v1/webhook-endpoints/{answer.json()['id']}")


async def list_events(calls: Calls, me: Party, victim: Party) -> None:
    """Polling serves none of the victim's events; its cursor, or a made-up one, is refused."""
    for query, status in (
        ("", 200),
        ("?after=0&limit=200", 200),
        (f"?after={victim.event_cursor}", 422),
        ("?after=1", 422),
    ):
        answer = await calls(me, "GET", "/v1/events" + query)
        calls.expect(answer.status == status, f"GET /v1/events{query}: {answer.status}")
        if answer.status == 200:
            cursor = answer.json()["next_cursor"]
            calls.expect(not cursor.isdigit(), f"GET /v1/events{query}: cursor {cursor}")


async def check_verification(calls: Calls, me: Party, victim: Party) -> None:
    """The victim's verification, even with its right code, is 404 and stays pending."""
    for body in (
        {"id": victim.verification_id, "code": victim.code},
        {"to": victim.number(2), "code": victim.code},
    ):
        answer = await calls(me, "POST", "/v1/verifications/check", json=body)
        calls.expect(answer.status == 404, f"check {sorted(body)}: {answer.status}")


async def start_verification(calls: Calls, me: Party, victim: Party) -> None:
    """Starting a verification of the victim's number starts the attacker's own."""
    answer = await calls(me, "POST", "/v1/verifications", json={"to": victim.number(2)})
    calls.expect(answer.status == 201, f"start: {answer.status}")
    if answer.status == 201:
        calls.expect(answer.json()["id"] != victim.verification_id, "start: the victim's id")


async def get_verification_settings(calls: Calls, me: Party, victim: Party) -> None:
    """The settings read are the attacker's."""
    del victim
    answer = await calls(me, "GET", "/v1/verifications/settings")
    calls.expect(answer.json()["code_length"] == me.code_length, "settings: not the caller's")


async def put_verification_settings(calls: Calls, me: Party, victim: Party) -> None:
    """Settings written are the attacker's (the victim's code length stays)."""
    del victim
    body = {"engine": "builtin", "code_length": me.code_length}
    answer = await calls(me, "PUT", "/v1/verifications/settings", json=body)
    calls.expect(answer.status == 200, f"PUT settings: {answer.status}")


async def send_message(calls: Calls, me: Party, victim: Party) -> None:
    """The victim's Idempotency-Key and request send a new message of the attacker's own."""
    body = {"channel": "sms", "to": victim.number(1), "body": "Your order shipped."}
    key = {"Idempotency-Key": victim.idempotency_key}
    answer = await calls(me, "POST", "/v1/messages", json=body, headers=key)
    calls.expect(answer.headers.get("idempotent-replayed") is None, "send: a replay")
    calls.expect(answer.status == 202, f"send with the victim's key: {answer.status}")
    if answer.status == 202:
        calls.expect(answer.json()["id"] != victim.message_id, "send: the victim's message")


def _webhook(path: str) -> Probe:
    async def probe(calls: Calls, me: Party, victim: Party) -> None:
        """An API key does not open the Twilio webhooks: 403."""
        form = {"AccountSid": victim.account, "MessageSid": "SM" + "0" * 32}
        form |= {"MessageStatus": "failed", "From": victim.number(1), "To": victim.sender}
        answer = await calls(
            me,
            "POST",
            path,
            data=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        calls.expect(answer.status == 403, f"{path} with an API key: {answer.status}")

    return probe


async def metrics(calls: Calls, me: Party, victim: Party) -> None:
    """An API key is not the admin key: 401."""
    del victim
    answer = await calls(me, "GET", "/metrics")
    calls.expect(answer.status == 401, f"/metrics with an API key: {answer.status}")


def _public(path: str) -> Probe:
    async def probe(calls: Calls, me: Party, victim: Party) -> None:
        """Pages for everyone: nothing of any tenant in them (the generic check)."""
        del victim
        answer = await calls(me, "GET", path)
        calls.expect(answer.status in {200, 503}, f"{path}: {answer.status}")

    return probe


def _admin_page(path: str) -> Probe:
    async def probe(calls: Calls, me: Party, victim: Party) -> None:
        """Admin pages are the operator's: an API key, as bearer or cookie, is sent to sign in."""
        url = path.replace("{message_id}", victim.message_id)
        # `/admin` itself only points at the message log, which sends to the sign-in page.
        target = "/admin/messages" if path == "/admin" else "/admin/login?next="
        for headers in ({}, {"Cookie": f"herald_admin={me.key}"}):
            answer = await calls(me, "GET", url, headers=headers)
            location = answer.headers.get("location", "")
            calls.expect(
                answer.status == 303 and location.startswith(target),
                f"{url} with an API key: {answer.status} to {location}",
            )

    return probe


async def admin_static(calls: Calls, me: Party, victim: Party) -> None:
    """The admin stylesheet is public and holds no data."""
    del victim
    answer = await calls(me, "GET", "/admin/static/admin.css")
    calls.expect(answer.status == 200, f"admin.css: {answer.status}")


async def admin_login_form(calls: Calls, me: Party, victim: Party) -> None:
    """The sign-in form holds no data."""
    del victim
    answer = await calls(me, "GET", "/admin/login")
    calls.expect(answer.status == 200, f"GET /admin/login: {answer.status}")


async def admin_login(calls: Calls, me: Party, victim: Party) -> None:
    """An API key is not the admin key: 401 and no session."""
    del victim
    form = await calls(None, "GET", "/admin/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    cookie = re.search(r"herald_admin_login=([^;]+)", form.headers.get("set-cookie", ""))
    calls.expect(token is not None and cookie is not None, "the sign-in form has no token")
    if token is None or cookie is None:
        return
    answer = await calls(
        None,
        "POST",
        "/admin/login",
        data=urlencode({"csrf": token.group(1), "key": me.key, "next": "/admin/messages"}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"herald_admin_login={cookie.group(1)}",
        },
    )
    calls.expect(answer.status == 401, f"sign in with an API key: {answer.status}")
    calls.expect("herald_admin=" not in answer.headers.get("set-cookie", ""), "a session cookie")


async def admin_logout(calls: Calls, me: Party, victim: Party) -> None:
    """Signing out without a session only sends to the sign-in page."""
    del victim
    answer = await calls(me, "POST", "/admin/logout", data="csrf=x")
    calls.expect(answer.status in {303, 400}, f"POST /admin/logout: {answer.status}")


PROBES: Final[dict[tuple[str, str], Probe]] = {
    ("GET", "/v1/messages/{message_id}"): get_message,
    ("GET", "/v1/messages"): list_messages,
    ("POST", "/v1/messages/preview"): preview_message,
    ("GET", "/v1/opt-outs/{address}"): get_opt_out,
    ("DELETE", "/v1/opt-outs/{address}"): delete_opt_out,
    ("PUT", "/v1/opt-outs/{address}"): put_opt_out,
    ("GET", "/v1/webhook-endpoints"): list_endpoints,
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): delete_endpoint,
    ("POST", "/v1/webhook-endpoints"): create_endpoint,
    ("GET", "/v1/events"): list_events,
    ("POST", "/v1/verifications/check"): check_verification,
    ("POST", "/v1/verifications"): start_verification,
    ("GET", "/v1/verifications/settings"): get_verification_settings,
    ("PUT", "/v1/verifications/settings"): put_verification_settings,
    ("POST", "/v1/messages"): send_message,
    ("POST", "/webhooks/twilio/status"): _webhook("/webhooks/twilio/status"),
    ("POST", "/webhooks/twilio/inbound"): _webhook("/webhooks/twilio/inbound"),
    ("GET", "/metrics"): metrics,
    ("GET", "/healthz"): _public("/healthz"),
    ("GET", "/readyz"): _public("/readyz"),
    ("GET", "/openapi.json"): _public("/openapi.json"),
    ("GET", "/docs"): _public("/docs"),
    ("GET", "/docs/swagger"): _public("/docs/swagger"),
    ("GET", "/admin"): _admin_page("/admin"),
    ("GET", "/admin/messages"): _admin_page("/admin/messages"),
    ("GET", "/admin/messages/{message_id}"): _admin_page("/admin/messages/{message_id}"),
    ("GET", "/admin/overview"): _admin_page("/admin/overview"),
    ("GET", "/admin/opt-outs"): _admin_page("/admin/opt-outs"),
    ("GET", "/admin/endpoints"): _admin_page("/admin/endpoints"),
    ("GET", "/admin/static/{name}"): admin_static,
    ("GET", "/admin/login"): admin_login_form,
    ("POST", "/admin/login"): admin_login,
    ("POST", "/admin/logout"): admin_logout,
}


def app_routes(herald: RunningHerald) -> set[tuple[str, str]]:
    """Every (method, path) the gateway's app serves (HEAD goes with GET)."""
    # FastAPI keeps included routers as branches; `iter_route_contexts` walks them all.
    routes = set()
    for route in iter_route_contexts(herald.gateway.app.routes):
        for method in route.methods or ():
            if method != "HEAD" and route.path is not None:
                routes.add((method, route.path))
    return routes


# --- the data, and whose rows are whose ---


async def rows(engine: AsyncEngine) -> Rows:
    """Every row of every table, as mappings."""
    found: Rows = {}
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            result = await connection.execute(select(table))
            found[table.name] = [dict(row) for row in result.mappings()]
    return found


def owned(all_rows: Rows, tenant_id: str) -> dict[str, list[str]]:
    """The rows of `tenant_id` in every table; an AssertionError for a table of unknown owner."""
    messages = {row["id"] for row in all_rows["messages"] if row["tenant_id"] == tenant_id}
    endpoints = {
        row["id"] for row in all_rows["webhook_endpoints"] if row["tenant_id"] == tenant_id
    }
    owners: dict[str, Callable[[dict[str, Any]], bool]] = {
        "tenants": lambda row: row["id"] == tenant_id,
        "message_status_history": lambda row: row["message_id"] in messages,
        "event_deliveries": lambda row: row["endpoint_id"] in endpoints,
        "verification_throttles": lambda row: row["key"].startswith(f"verify:{tenant_id}:"),
    }
    mine: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        if table.name in GLOBAL_TABLES:
            continue
        belongs = owners.get(table.name)
        if belongs is None:
            assert "tenant_id" in table.c, f"whose are the rows of {table.name}? map it here"

            def belongs(row: dict[str, Any]) -> bool:
                return bool(row["tenant_id"] == tenant_id)

        mine[table.name] = sorted(repr(row) for row in all_rows[table.name] if belongs(row))
    return mine


async def _set_up(herald: RunningHerald, calls: Calls) -> list[Party]:
    now = datetime.now(UTC)
    tenants = TenantRepository(herald.engine, herald.box)
    parties = [Party(index) for index in range(1, TENANTS + 1)]
    for party in parties:
        tenant = await tenants.create(
            party.name,
            now=now,
            credentials=TwilioCredentials(party.account, party.token),
            settings=TenantSettings(default_region="NL", default_sender=party.sender),
        )
        party.tenant_id = tenant.id
        party.key = (await ApiKeyRepository(herald.engine).create(tenant.id, now=now)).key
        await _make_data(calls, party)
    for party in parties:
        party.event_cursor = (await calls(party, "GET", "/v1/events")).json()["next_cursor"]
    all_rows = await rows(herald.engine)
    for party in parties:
        party.code = _code(all_rows, party)
        mine = owned(all_rows, party.tenant_id)
        party.ids = {party.tenant_id, party.account, party.key, party.endpoint_url}
        party.ids |= {party.event_cursor, party.message_cursor}
        for table in ("messages", "webhook_endpoints", "verifications", "inbound_messages"):
            party.ids |= {
                row["id"] for row in all_rows[table] if row["tenant_id"] == party.tenant_id
            }
        party.ids |= {
            row["public_id"] for row in all_rows["events"] if row["tenant_id"] == party.tenant_id
        }
        assert mine["events"], "the setup made no events to leak"
    return parties


async def _make_data(calls: Calls, party: Party) -> None:
    sms = {"channel": "sms", "to": party.number(1), "body": "Your order shipped."}
    key = {"Idempotency-Key": party.idempotency_key}
    sent = await calls(party, "POST", "/v1/messages", json=sms, headers=key)
    assert sent.status == 202, sent.text
    party.message_id = sent.json()["id"]
    again = {**sms, "to": party.number(4)}
    assert (await calls(party, "POST", "/v1/messages", json=again)).status == 202
    page = await calls(party, "GET", "/v1/messages?limit=1")
    party.message_cursor = page.json()["next_cursor"]
    assert party.message_cursor, "two messages, one per page: a cursor"
    assert (await calls(party, "PUT", f"/v1/opt-outs/{party.number(3)}")).status == 200
    endpoint = await calls(party, "POST", "/v1/webhook-endpoints", json={"url": party.endpoint_url})
    party.endpoint_id = endpoint.json()["id"]
    settings = {"engine": "builtin", "code_length": party.code_length}
    assert (await calls(party, "PUT", "/v1/verifications/settings", json=settings)).status == 200
    started = await calls(party, "POST", "/v1/verifications", json={"to": party.number(2)})
    assert started.status == 201, started.text
    party.verification_id = started.json()["id"]
    inbound = {
        "MessageSid": f"SM{party.index:032d}",
        "AccountSid": party.account,
        "From": party.number(1),
        "To": party.sender,
        "Body": "Thanks!",
        "NumMedia": "0",
    }
    signature = twilio_signature(PUBLIC_URL + "/webhooks/twilio/inbound", inbound, party.token)
    answer = await calls(
        None,
        "POST",
        "/webhooks/twilio/inbound",
        data=urlencode(inbound),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert answer.status == 200, answer.text


def _code(all_rows: Rows, party: Party) -> str:
    [verification] = [
        row for row in all_rows["verifications"] if row["id"] == party.verification_id
    ]
    [message] = [row for row in all_rows["messages"] if row["id"] == verification["message_id"]]
    found = re.search(rf"\b(\d{{{party.code_length}}})\b", message["body"])
    assert found is not None, "the code message holds the code"
    return found.group(1)


async def test_no_route_reads_or_changes_another_tenants_data(database_url: str) -> None:
    """Each tenant's key, with each other tenant's ids, on every route: nothing leaks or moves."""
    async with running_herald(database_url) as herald, aiohttp.ClientSession() as http:
        calls = Calls(http, herald.base)
        served = app_routes(herald)
        assert served - PROBES.keys() == set(), "routes without a probe: add one to PROBES"
        assert PROBES.keys() - served == set(), "probes of routes the app does not serve"
        parties = await _set_up(herald, calls)
        calls.sent = calls.refused = 0
        before = await rows(herald.engine)
        for me, victim in _pairs(parties):
            calls.victim = victim
            others = [party for party in parties if party is not me]
            for route, probe in PROBES.items():
                await probe(calls, me, victim)
                after = await rows(herald.engine)
                for other in others:
                    if owned(before, other.tenant_id) != owned(after, other.tenant_id):
                        changed = _changed(before, after, other.tenant_id)
                        calls.faults.append(f"{route} by {me.name}: {other.name}'s {changed}")
                before = after
    print(f"tenant isolation: {calls.sent} requests, {calls.refused} refused")  # noqa: T201
    assert calls.faults == [], "\n".join(calls.faults)
    assert calls.sent >= len(PROBES) * len(_pairs(parties))


def _pairs(parties: list[Party]) -> list[tuple[Party, Party]]:
    """(attacker, victim) pairs: every ordered pair under HERALD_SOAK=1, else a ring in which
    each tenant attacks one and is attacked by another, the third always looking on."""
    if soak_size(0, 1):
        return [(me, victim) for me in parties for victim in parties if victim is not me]
    return [(me, parties[(index + 1) % len(parties)]) for index, me in enumerate(parties)]


def _changed(before: Rows, after: Rows, tenant_id: str) -> list[str]:
    old, new = owned(before, tenant_id), owned(after, tenant_id)
    return sorted(table for table in old if old[table] != new[table])


async def test_an_event_cursor_tells_nothing_of_other_tenants(database_url: str) -> None:
    """Events are numbered across tenants; a tenant's cursors must not show that numbering.

    Shown as numbers, the gap between two of a tenant's cursors would count the events of the
    others meanwhile. The cursor for a position is the same on every poll.
    """
    async with running_herald(database_url) as herald, aiohttp.ClientSession() as http:
        calls = Calls(http, herald.base)
        first, second = await _bare_tenants(herald, 2)
        await calls(first, "PUT", f"/v1/opt-outs/{first.number(3)}")
        start = (await calls(first, "GET", "/v1/events")).json()["next_cursor"]
        for index in range(5):
            await calls(second, "PUT", f"/v1/opt-outs/{second.number(10 + index)}")
        await calls(first, "PUT", f"/v1/opt-outs/{first.number(4)}")
        polls = [(await calls(first, "GET", f"/v1/events?after={start}")).json() for _ in range(2)]
    assert [len(poll["data"]) for poll in polls] == [1, 1]
    assert polls[0]["next_cursor"] == polls[1]["next_cursor"]
    assert not any(cursor.isdigit() for cursor in (start, polls[0]["next_cursor"]))


async def _bare_tenants(herald: RunningHerald, count: int) -> list[Party]:
    now = datetime.now(UTC)
    parties = [Party(index) for index in range(1, count + 1)]
    for party in parties:
        tenant = await TenantRepository(herald.engine, herald.box).create(party.name, now=now)
        party.tenant_id = tenant.id
        party.key = (await ApiKeyRepository(herald.engine).create(tenant.id, now=now)).key
    return parties
