"""How the admin pages render: Jinja2 templates, the security headers, the static files.

Message bodies and numbers come from whoever called the API or texted in, so templates
autoescape, and every response carries a Content-Security-Policy without inline script or
style: even a missed escape could not run script on the operator's session.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from herald.admin.masking import mask_number

HERE: Final = Path(__file__).parent
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC_TYPES: Final = {
    "admin.css": "text/css; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
}
NAVIGATION: Final = (
    ("/admin/messages", "Messages", "messages"),
    ("/admin/overview", "Overview", "overview"),
    ("/admin/opt-outs", "Opt-outs", "opt-outs"),
    ("/admin/endpoints", "Webhooks", "endpoints"),
)


def _stamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["stamp"] = _stamp
    env.filters["iso"] = lambda moment: moment.isoformat().replace("+00:00", "Z")
    env.filters["percent"] = lambda rate: "—" if rate is None else f"{rate:.1%}"
    env.globals["navigation"] = NAVIGATION
    env.globals["mask"] = mask_number
    return env


ENVIRONMENT: Final = _environment()


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page (or fragment) rendered from `template`, with the security headers."""
    html = ENVIRONMENT.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def static_file(name: str) -> Response:
    """One of the admin's static files, or a 404."""
    media_type = STATIC_TYPES.get(name)
    if media_type is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    content = (HERE / "static" / name).read_bytes()
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"}
    return Response(content, media_type=media_type, headers=headers)
