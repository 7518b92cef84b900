"""`/docs`: the API reference as one self-contained HTML page, rendered from `/openapi.json`.

FastAPI's own `/docs` loads Swagger UI's scripts from a CDN, which leaves a blank page on a
laptop without internet (the sandbox's whole point). This page is rendered on the server from
the same OpenAPI document, with no script and no outside asset, so it always works; it links
to `/docs/swagger` (the interactive Swagger UI, which needs the CDN) and to `/openapi.json`.
"""

from __future__ import annotations

from html import escape
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_METHODS: Final = ("get", "post", "put", "delete", "patch")
_STYLE: Final = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
.op{margin:1rem 0;padding:.6rem .8rem;border-left:4px solid #4a7;background:#f7f9f8}
.method{font-weight:700;text-transform:uppercase;margin-right:.5rem}
code{background:#eee;padding:0 .2rem}table{border-collapse:collapse}
td,th{padding:.15rem .6rem .15rem 0;text-align:left;vertical-align:top}
"""


@router.get("/docs", response_class=HTMLResponse)
async def reference(request: Request) -> HTMLResponse:
    """The offline API reference."""
    return HTMLResponse(render_reference(request.app.openapi()))


@router.get("/docs/swagger", response_class=HTMLResponse)
async def swagger(request: Request) -> HTMLResponse:
    """Swagger UI (its scripts come from a CDN, so it needs internet access)."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} (Swagger)")


def render_reference(schema: dict[str, Any]) -> str:
    """The HTML reference for an OpenAPI document: every operation, its inputs and answers."""
    info = schema.get("info", {})
    sections: dict[str, list[str]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is not None:
                tag = (operation.get("tags") or ["other"])[0]
                sections.setdefault(tag, []).append(_operation(method, path, operation))
    body = [
        f"<h1>{escape(info.get('title', 'API'))} {escape(info.get('version', ''))}</h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        (
            '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Interactive (needs '
            'internet for its scripts): <a href="/docs/swagger">Swagger UI</a>.</p>'
        ),
    ]
    for tag, operations in sections.items():
        body.append(f"<h2>{escape(tag)}</h2>")
        body.extend(operations)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(info.get('title', 'API'))}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    parts = [
        f"<div class=op><span class=method>{method}</span><code>{escape(path)}</code>",
        (
            f"<p><b>{escape(operation.get('summary', ''))}</b>. "
            f"{escape(operation.get('description', ''))}</p>"
        ),
    ]
    parameters = operation.get("parameters", [])
    if parameters:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{escape(p.get('description', ''))}</td></tr>"
            for p in parameters
        )
        parts.append(f"<table><tr><th>parameter</th><th>in</th><th></th></tr>{rows}</table>")
    content = operation.get("requestBody", {}).get("content", {})
    for media, spec in content.items():
        parts.append(f"<p>Body ({escape(media)}): {_schema_name(spec.get('schema', {}))}</p>")
    answers = ", ".join(
        f"{escape(status)} {_answer(response)}"
        for status, response in operation.get("responses", {}).items()
    )
    parts.append(f"<p>Answers: {answers}</p></div>")
    return "".join(parts)


def _answer(response: dict[str, Any]) -> str:
    for spec in response.get("content", {}).values():
        name = _schema_name(spec.get("schema", {}))
        if name:
            return name
    return escape(response.get("description", ""))


def _schema_name(schema: dict[str, Any]) -> str:
    reference = schema.get("$ref", "")
    return f"<code>{escape(reference.rsplit('/', 1)[-1])}</code>" if reference else ""
