"""Is this webhook from Twilio, and for which tenant? `X-Twilio-Signature`, checked.

Twilio signs every webhook with the auth token of the account in its `AccountSid` parameter
(TWILIO-API.md §12). Herald finds the tenants on that account and checks the signature over
each URL Twilio may have signed (forms.signed_urls) with each tenant's auth token. The tenants
whose token matches are the request's candidates.

Tenants that authenticate with an API key are skipped: Twilio signs with the account's auth
token even then, and Herald holds only the key's secret. Their webhooks are refused, with a log
line saying to give the tenant the auth token.

A failure answers 403 and logs, at warning level, the URLs Herald expected and the tenant
tried, never a token: a wrong `HERALD_PUBLIC_URL` or an unconfigured proxy shows up at once.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Final

from fastapi import Request

from herald.domain.records import Tenant
from herald.domain.signatures import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    TwilioSignatureAlgorithm,
    signature_algorithm,
    validate_twilio,
)
from herald.errors import InvalidSignature
from herald.settings import Settings
from herald.storage.tenants import TenantRepository
from herald.webhooks.forms import Form, Rejected, signed_urls

logger = logging.getLogger("herald.webhooks")

# Tenants and tokens of an account are cached this long; a failed check reads them again (at
# most once a second), so a rotated auth token is picked up at its first webhook.
CACHE_SECONDS: Final = 30.0
_MIN_REFRESH_SECONDS: Final = 1.0
_MAX_SID: Final = 64


@dataclasses.dataclass(frozen=True, slots=True)
class _Signer:
    tenant: Tenant
    auth_token: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    signers: tuple[_Signer, ...]
    fetched_at: float


class TwilioVerifier:
    """Checks webhook signatures against the tokens of the tenants on the named account."""

    def __init__(
        self,
        tenants: TenantRepository,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tenants = tenants
        self._settings = settings
        self._clock = clock
        self._cache: dict[str, _Entry] = {}

    async def verify(self, request: Request, form: Form) -> list[Tenant]:
        """The tenants whose auth token signed this request; `Rejected` (403) if none did."""
        signature = request.headers.get(SIGNATURE_HEADER, "")
        account_sid = form.get("AccountSid")
        urls = signed_urls(request, self._settings)
        where = f"{request.method} {request.url.path}"
        if not account_sid:
            logger.warning("Twilio webhook %s refused: no AccountSid in the form", where)
            raise Rejected(403, "Forbidden.", "no_account")
        if not (account_sid.isascii() and account_sid.isalnum() and len(account_sid) <= _MAX_SID):
            # Not echoed: it is the sender's text, and could forge log lines or flood them.
            logger.warning("Twilio webhook %s refused: the AccountSid is not an account SID", where)
            raise Rejected(403, "Forbidden.", "unknown_account")
        try:
            algorithm = signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        except InvalidSignature as exc:
            logger.warning("Twilio webhook %s refused: %s", where, exc.detail)
            raise Rejected(403, "Forbidden.", "bad_signature") from None
        entry = await self._signers(account_sid, fresh=False)
        matched = self._matching(
            entry, urls=urls, form=form, signature=signature, algorithm=algorithm, where=where
        )
        if not matched and self._clock() - entry.fetched_at >= _MIN_REFRESH_SECONDS:
            entry = await self._signers(account_sid, fresh=True)
            matched = self._matching(
                entry, urls=urls, form=form, signature=signature, algorithm=algorithm, where=where
            )
        if matched:
            return matched
        raise Rejected(403, "Forbidden.", self._log_refusal(where, account_sid, urls, entry))

    def _matching(
        self,
        entry: _Entry,
        *,
        urls: list[str],
        form: Form,
        signature: str,
        algorithm: TwilioSignatureAlgorithm,
        where: str,
    ) -> list[Tenant]:
        matched = []
        for signer in entry.signers:
            if signer.auth_token is None:
                continue
            try:
                valid = any(
                    validate_twilio(
                        url,
                        form.pairs,
                        signature,
                        signer.auth_token,
                        algorithm=algorithm,
                    )
                    for url in urls
                )
            except InvalidSignature as exc:
                logger.warning("Twilio webhook %s refused: %s", where, exc.detail)
                raise Rejected(403, "Forbidden.", "bad_signature") from None
            if valid:
                matched.append(signer.tenant)
        return matched

    async def _signers(self, account_sid: str, *, fresh: bool) -> _Entry:
        now = self._clock()
        cached = self._cache.get(account_sid)
        if cached is not None and not fresh and now - cached.fetched_at < CACHE_SECONDS:
            return cached
        signers = []
        for tenant in await self._tenants.with_twilio_account(account_sid):
            credentials = await self._tenants.credentials(tenant.id)
            token = None
            if credentials is not None and credentials.key_sid is None:
                token = credentials.secret
            signers.append(_Signer(tenant, token))
        entry = _Entry(tuple(signers), now)
        self._cache[account_sid] = entry
        return entry

    def _log_refusal(self, where: str, account_sid: str, urls: list[str], entry: _Entry) -> str:
        """Log why no tenant's token matched; the refusal's outcome for the counter."""
        expected = " or ".join(urls)
        if not entry.signers:
            logger.warning(
                "Twilio webhook %s refused: no tenant has the Twilio account %s (expected URL %s)",
                where,
                account_sid,
                expected,
            )
            return "unknown_account"
        names = ", ".join(signer.tenant.name for signer in entry.signers)
        if all(signer.auth_token is None for signer in entry.signers):
            logger.warning(
                "Twilio webhook %s refused: tenant %s authenticates to account %s with an API "
                "key, but Twilio signs webhooks with the account's auth token; give the tenant "
                "the auth token to receive webhooks",
                where,
                names,
                account_sid,
            )
            return "api_key_tenant"
        logger.warning(
            "Twilio webhook %s refused: the signature does not match the auth token of tenant "
            "%s (account %s) over the URL %s; check HERALD_PUBLIC_URL and, behind a proxy, "
            "HERALD_TRUSTED_PROXIES",
            where,
            names,
            account_sid,
            expected,
        )
        return "bad_signature"
