"""Herald's admin pages at `/admin`: the message log, the delivery overview, opt-outs and
webhook endpoints, behind the admin key (`HERALD_ADMIN_KEY`).

The gateway mounts `router` on the API's app; see docs/admin.md.
"""

from __future__ import annotations

from herald.admin.routes import router

__all__ = ["router"]
