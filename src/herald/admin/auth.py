"""Admin sign-in: the admin key, exchanged once for a signed session cookie.

`HERALD_ADMIN_KEY` opens the pages; without it they are off. Signing in with the key sets
`herald_admin`, an HttpOnly, SameSite=Strict cookie scoped to `/admin` that holds when it was
issued and a random nonce, signed with HMAC-SHA256 under a key derived from both
`HERALD_SECRET_KEY` and the admin key: changing either signs every session out. A session
lasts `SESSION_SECONDS`.

Forms that change something carry a CSRF token: for a signed-in session, the HMAC of its nonce;
for the sign-in form (no session yet), a random token that must match the `herald_admin_login`
cookie set with the form (double submit). SameSite=Strict already keeps other sites' requests
from carrying the cookies; the tokens hold when a browser does not honour it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Final

from herald.settings import Settings

SESSION_COOKIE: Final = "herald_admin"
LOGIN_COOKIE: Final = "herald_admin_login"
COOKIE_PATH: Final = "/admin"
SESSION_SECONDS: Final = 12 * 3600
_NONCE_BYTES: Final = 16
_PARTS: Final = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """A signed-in admin session."""

    issued: int
    nonce: str


class AdminAuth:
    """Checks the admin key, issues and verifies session cookies and CSRF tokens."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self._admin_key = settings.admin_key
        self._signing_key = hashlib.sha256(
            b"herald-admin-session\0"
            + settings.secret_key.encode()
            + b"\0"
            + settings.admin_key.encode()
        ).digest()
        self._clock = clock
        self.secure = settings.base_url.startswith("https://")

    @property
    def enabled(self) -> bool:
        """Whether an admin key is configured at all."""
        return bool(self._admin_key)

    def key_matches(self, offered: str) -> bool:
        """Whether `offered` is the admin key (compared in constant time)."""
        if not self.enabled:
            return False
        return hmac.compare_digest(
            hashlib.sha256(offered.encode()).digest(),
            hashlib.sha256(self._admin_key.encode()).digest(),
        )

    def issue(self) -> str:
        """A new session cookie value."""
        payload = f"{int(self._clock())}.{secrets.token_urlsafe(_NONCE_BYTES)}"
        return f"{payload}.{self._sign(payload)}"

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie value proves, or None when it is missing, forged or expired."""
        if not cookie or not self.enabled:
            return None
        parts = cookie.split(".")
        if len(parts) != _PARTS or not parts[0].isdigit():
            return None
        issued_text, nonce, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{issued_text}.{nonce}")):
            return None
        issued = int(issued_text)
        if not 0 <= self._clock() - issued < SESSION_SECONDS:
            return None
        return Session(issued=issued, nonce=nonce)

    def csrf_token(self, session: Session) -> str:
        """The token the session's forms carry."""
        return self._sign(f"csrf.{session.nonce}")

    def csrf_matches(self, session: Session, offered: str) -> bool:
        """Whether a form's token belongs to `session`."""
        return hmac.compare_digest(offered, self.csrf_token(session))

    def _sign(self, payload: str) -> str:
        return hmac.new(self._signing_key, payload.encode(), hashlib.sha256).hexdigest()


def login_token() -> str:
    """A fresh random token for the sign-in form and its cookie."""
    return secrets.token_urlsafe(_NONCE_BYTES)


def login_token_matches(cookie: str | None, offered: str) -> bool:
    """Whether the sign-in form's token is the one its cookie carries."""
    return bool(cookie) and hmac.compare_digest(cookie or "", offered)
