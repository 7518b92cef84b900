"""The admin pages' routes, on the gateway's port under `/admin`.

Every page but the sign-in form needs a session (`herald.admin.auth`); without one it
redirects to `/admin/login?next=...`. Pages read through `AdminReads` and the API's
repositories, which `create_api` keeps on the app (`app.state.herald`). A page asked for with
`?fragment=1` answers only its live part, which `admin.js` fetches again every few seconds.

Numbers are masked unless the URL says `reveal=1`; each reveal is logged at INFO with the
path, never the numbers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.admin import overview
from herald.admin.auth import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    AdminAuth,
    Session,
    login_token,
    login_token_matches,
)
from herald.admin.explain import EXPLANATIONS, explain
from herald.admin.filters import read_log_query
from herald.admin.rendering import render, static_file
from herald.api.deps import ApiDeps
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import Tenant
from herald.errors import InvalidInput
from herald.storage.admin_reads import AdminReads

logger = logging.getLogger("herald.admin")

PAGE_SIZE: Final = 50
WINDOWS: Final = (1, 7, 14, 30)
DEFAULT_WINDOW: Final = 14
MAX_FORM_BYTES: Final = 4096

router = APIRouter(include_in_schema=False)


def _deps(request: Request) -> ApiDeps:
    deps: ApiDeps = request.app.state.herald
    return deps


def _auth(request: Request) -> AdminAuth:
    state = request.app.state
    auth: AdminAuth | None = getattr(state, "herald_admin_auth", None)
    if auth is None:
        auth = AdminAuth(_deps(request).settings)
        state.herald_admin_auth = auth
    return auth


def _session(request: Request) -> Session | None:
    return _auth(request).session(request.cookies.get(SESSION_COOKIE))


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/admin/login?{urlencode({'next': target})}", status_code=303)


def _reveal(request: Request) -> bool:
    reveal = request.query_params.get("reveal") == "1"
    if reveal and request.query_params.get("fragment") != "1":
        logger.info("Admin revealed phone numbers on %s", request.url.path)
    return reveal


def _toggle_url(request: Request, *, reveal: bool) -> str:
    params = [(k, v) for k, v in parse_qsl(request.url.query) if k not in {"reveal", "fragment"}]
    if not reveal:
        params.append(("reveal", "1"))
    return request.url.path + (f"?{urlencode(params)}" if params else "")


def _fragment_url(request: Request) -> str:
    params = [(k, v) for k, v in parse_qsl(request.url.query) if k != "fragment"]
    return f"{request.url.path}?{urlencode([*params, ('fragment', '1')])}"


async def _common(
    request: Request, session: Session, page: str
) -> tuple[dict[str, Any], list[Tenant]]:
    reveal = _reveal(request)
    tenants = await _deps(request).tenants.list()
    context: dict[str, Any] = {
        "page": page,
        "reveal": reveal,
        "toggle_url": _toggle_url(request, reveal=reveal),
        "fragment_url": _fragment_url(request),
        "csrf": _auth(request).csrf_token(session),
        "tenants": tenants,
        "tenant_names": {tenant.id: tenant.name for tenant in tenants},
    }
    return context, tenants


def _tenant_param(request: Request, tenants: list[Tenant]) -> str | None:
    wanted = request.query_params.get("tenant", "").strip()
    return wanted if wanted in {tenant.id for tenant in tenants} else None


def _local_path(target: str) -> str:
    """`target` if it is a path of the admin pages, else the message log (no open redirect)."""
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/messages"


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", errors="replace")))


# -- sign-in -----------------------------------------------------------------------------------


@router.get("/admin")
async def admin_home() -> Response:
    """The admin pages start at the message log."""
    return RedirectResponse("/admin/messages", status_code=303)


@router.get("/admin/login")
async def login_form(request: Request) -> Response:
    """The sign-in form, with a fresh CSRF token in a cookie and in the form."""
    return _login_page(request, error=None, status=200)


def _login_page(request: Request, *, error: str | None, status: int) -> Response:
    auth = _auth(request)
    if not auth.enabled:
        return render(request, "disabled.html", status=403, page="login")
    token = login_token()
    response = render(
        request,
        "login.html",
        status=status,
        page="login",
        token=token,
        error=error,
        next=_local_path(request.query_params.get("next", "")),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=f"{COOKIE_PATH}/login",
        httponly=True,
        samesite="strict",
        secure=auth.secure,
    )
    return response


@router.post("/admin/login")
async def login(request: Request) -> Response:
    """Exchange the admin key for a session cookie."""
    auth = _auth(request)
    if not auth.enabled:
        return render(request, "disabled.html", status=403, page="login")
    form = await _form(request)
    if not login_token_matches(request.cookies.get(LOGIN_COOKIE), form.get("csrf", "")):
        return _login_page(request, error="The form expired; sign in again.", status=400)
    if not auth.key_matches(form.get("key", "")):
        logger.warning("Admin sign-in refused: wrong admin key from %s", _client(request))
        return _login_page(request, error="That is not the admin key.", status=401)
    logger.info("Admin signed in from %s", _client(request))
    response = RedirectResponse(_local_path(form.get("next", "")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        auth.issue(),
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=auth.secure,
    )
    response.delete_cookie(LOGIN_COOKIE, path=f"{COOKIE_PATH}/login")
    return response


@router.post("/admin/logout")
async def logout(request: Request) -> Response:
    """End the session (the form's CSRF token must belong to it)."""
    session = _session(request)
    form = await _form(request)
    if session is not None and not _auth(request).csrf_matches(session, form.get("csrf", "")):
        return Response("The form expired; reload the page.", status_code=400)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/admin/static/{name}")
async def static(name: str) -> Response:
    """The admin's stylesheet and script."""
    return static_file(name)


# -- pages -------------------------------------------------------------------------------------


@router.get("/admin/messages")
async def message_log(request: Request) -> Response:
    """The message log: filters, newest first, a page at a time."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    context, tenants = await _common(request, session, "messages")
    query = read_log_query(request.query_params, {tenant.id for tenant in tenants})
    problems = list(query.problems)
    reads = AdminReads(_deps(request).engine)
    try:
        page = await reads.messages(
            query.tenant, query.filters, limit=PAGE_SIZE, cursor=query.cursor
        )
    except InvalidInput as exc:
        problems.append(str(exc))
        page = await reads.messages(query.tenant, query.filters, limit=PAGE_SIZE)
    next_params = [
        (k, v) for k, v in parse_qsl(request.url.query) if k not in {"cursor", "fragment"}
    ]
    next_url = (
        None
        if page.next_cursor is None
        else f"/admin/messages?{urlencode([*next_params, ('cursor', page.next_cursor)])}"
    )
    template = (
        "_message_rows.html" if request.query_params.get("fragment") == "1" else "messages.html"
    )
    return render(
        request,
        template,
        **context,
        messages=page.items,
        next_url=next_url,
        live=query.cursor is None,
        values=query.values,
        problems=problems,
        channels=[channel.value for channel in Channel],
        statuses=[status.value for status in Status],
    )


@router.get("/admin/messages/{message_id}")
async def message_detail(request: Request, message_id: str) -> Response:
    """One message with its full history and its error explained."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    context, _tenants = await _common(request, session, "messages")
    found = await AdminReads(_deps(request).engine).message(message_id)
    if found is None:
        return render(request, "missing.html", status=404, **context, what=f"message {message_id}")
    message, history = found
    codes = {change.error_code for change in history} | {message.error_code}
    explanations = [explain(code) for code in sorted(c for c in codes if c is not None)]
    template = (
        "_message_state.html" if request.query_params.get("fragment") == "1" else "message.html"
    )
    return render(
        request,
        template,
        **context,
        message=message,
        history=history,
        explanations=[e for e in explanations if e is not None],
        unexplained=sorted(c for c in codes if c is not None and c not in EXPLANATIONS),
        live=not message.status.is_final,
    )


@router.get("/admin/overview")
async def delivery_overview(request: Request) -> Response:
    """Messages by outcome over time, delivery by country and sender, cost, the queue."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    context, tenants = await _common(request, session, "overview")
    tenant = _tenant_param(request, tenants)
    deps = _deps(request)
    reads = AdminReads(deps.engine)
    if request.query_params.get("fragment") == "1":
        return render(request, "_queue.html", **context, waiting=await reads.waiting(tenant))
    days_text = request.query_params.get("days", "")
    days = int(days_text) if days_text.isdigit() and int(days_text) in WINDOWS else DEFAULT_WINDOW
    today = deps.clock().astimezone(UTC).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=UTC)
    # Independent reads: run them side by side, each on its own pooled connection.
    by_day, by_route, waiting = await asyncio.gather(
        reads.by_day(tenant, since), reads.by_route(tenant, since), reads.waiting(tenant)
    )
    countries = overview.by_country(by_route)
    return render(
        request,
        "overview.html",
        **context,
        tenant=tenant or "",
        days=days,
        windows=WINDOWS,
        chart=overview.chart(by_day, first_day, days),
        categories=overview.CATEGORIES,
        countries=countries,
        senders=overview.by_sender(by_route, deps.settings.sender_rates),
        segments=sum(row.segments for row in countries),
        cost=sum(row.cost or 0.0 for row in countries),
        prices=overview.SMS_PRICES,
        default_price=overview.DEFAULT_SMS_PRICE,
        waiting=waiting,
    )


@router.get("/admin/opt-outs")
async def opt_out_page(request: Request) -> Response:
    """Who is opted out now, and the latest changes."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    context, tenants = await _common(request, session, "opt-outs")
    tenant = _tenant_param(request, tenants)
    reads = AdminReads(_deps(request).engine)
    template = (
        "_opt_out_lists.html" if request.query_params.get("fragment") == "1" else "opt_outs.html"
    )
    return render(
        request,
        template,
        **context,
        tenant=tenant or "",
        opt_outs=await reads.opt_outs(tenant),
        changes=await reads.opt_out_history(tenant),
    )


@router.get("/admin/endpoints")
async def endpoint_page(request: Request) -> Response:
    """Webhook endpoints with their latest deliveries."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    context, tenants = await _common(request, session, "endpoints")
    tenant = _tenant_param(request, tenants)
    reads = AdminReads(_deps(request).engine)
    endpoints = await reads.endpoints(tenant)
    deliveries = await reads.recent_deliveries([endpoint.id for endpoint in endpoints])
    template = (
        "_endpoint_list.html" if request.query_params.get("fragment") == "1" else "endpoints.html"
    )
    return render(
        request,
        template,
        **context,
        tenant=tenant or "",
        endpoints=endpoints,
        deliveries=deliveries,
    )
