"""Herald's HTTP API (`/v1`), the interface applications call.

    app.py            create_api(deps): the FastAPI app, routers, error handling, body limit
    deps.py           ApiDeps: settings, repositories and clock shared by the routes
    auth.py           Bearer API key -> tenant (401 otherwise)
    problems.py       every error as an RFC 9457 problem document
    limits.py         the request body cap (413) and read timeout (408)
    input_guard.py    NUL, lone surrogates, non-finite numbers, unknown query parameters (422)
    messages.py       POST/GET /v1/messages, POST /v1/messages/preview (+ message_views.py)
    optouts.py        GET/PUT/DELETE /v1/opt-outs/{address}
    endpoints.py      POST/GET/DELETE /v1/webhook-endpoints
    events.py         GET /v1/events (polling)
    health.py         /healthz, /readyz
    docs_page.py      /docs (offline reference), /docs/swagger

docs/api.md describes every endpoint.
"""

from __future__ import annotations

from herald.api.app import create_api
from herald.api.deps import ApiDeps, utc_now

__all__ = ["ApiDeps", "create_api", "utc_now"]
