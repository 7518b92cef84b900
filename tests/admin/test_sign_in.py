"""Signing in to the admin pages: the key, the session cookie, CSRF and the redirects."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from herald.admin import router
from herald.api import ApiDeps, create_api
from herald.settings import Settings
from herald.storage.crypto import SecretBox
from tests.admin.admin_helpers import ADMIN_KEY, csrf_of, sign_in


async def test_pages_redirect_to_the_sign_in_form_without_a_session(
    browser: httpx.AsyncClient,
) -> None:
    """A page asked for without a session redirects to the sign-in form, remembering it."""
    response = await browser.get("/admin/overview?days=7")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin%2Foverview%3Fdays%3D7"


async def test_the_right_key_sets_a_strict_http_only_session_cookie(
    browser: httpx.AsyncClient,
) -> None:
    """Signing in with the admin key sets an HttpOnly, SameSite=Strict cookie for /admin."""
    response = await sign_in(browser)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/messages"
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith("herald_admin=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/admin" in cookie


async def test_a_signed_in_client_sees_the_pages(admin: httpx.AsyncClient) -> None:
    """After signing in, the message log answers with HTML and a strict CSP."""
    response = await admin.get("/admin/messages")
    assert response.status_code == 200
    assert "<h1>Messages</h1>" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


async def test_a_wrong_key_is_refused(browser: httpx.AsyncClient) -> None:
    """A wrong key answers 401 with the form again, and no session."""
    response = await sign_in(browser, key="not-the-admin-key-at-all")
    assert response.status_code == 401
    assert "That is not the admin key." in response.text
    assert (await browser.get("/admin/messages")).status_code == 303


async def test_signing_in_needs_the_form_token(browser: httpx.AsyncClient) -> None:
    """A sign-in post whose token does not match the form's cookie is refused (login CSRF)."""
    await browser.get("/admin/login")
    response = await browser.post("/admin/login", data={"csrf": "forged", "key": ADMIN_KEY})
    assert response.status_code == 400
    assert "The form expired" in response.text


async def test_a_forged_session_cookie_is_not_a_session(browser: httpx.AsyncClient) -> None:
    """A session cookie Herald did not sign redirects to the sign-in form."""
    browser.cookies.set("herald_admin", "1900000000.nonce.0000", path="/admin")
    assert (await browser.get("/admin/messages")).status_code == 303


async def test_sign_out_needs_the_session_token(admin: httpx.AsyncClient) -> None:
    """Signing out with another token is refused; with the page's token it ends the session."""
    page = await admin.get("/admin/messages")
    refused = await admin.post("/admin/logout", data={"csrf": "forged"})
    assert refused.status_code == 400
    response = await admin.post("/admin/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert (await admin.get("/admin/messages")).status_code == 303


async def test_sign_in_never_redirects_off_the_admin_pages(browser: httpx.AsyncClient) -> None:
    """A `next` outside /admin is replaced by the message log (no open redirect)."""
    form = await browser.get("/admin/login?next=https://evil.example/")
    response = await browser.post(
        "/admin/login",
        data={"csrf": csrf_of(form.text), "key": ADMIN_KEY, "next": "//evil.example/"},
    )
    assert response.headers["location"] == "/admin/messages"


@pytest.mark.parametrize("path", ["/admin/login", "/admin/messages"])
async def test_without_an_admin_key_the_pages_are_off(deps: ApiDeps, path: str) -> None:
    """With no HERALD_ADMIN_KEY, the sign-in form says how to turn the pages on."""
    settings = Settings(secret_key=deps.settings.secret_key)
    app: FastAPI = create_api(
        ApiDeps.build(
            settings,
            deps.engine,
            SecretBox(settings.secret_key),
            clock=deps.clock,
            worker_expected=False,
        ),
        extra_routers=[router],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://herald.test", follow_redirects=True
    ) as http:
        response = await http.get(path)
    assert response.status_code == 403
    assert "HERALD_ADMIN_KEY" in response.text
