"""`ProviderFactory`: the Twilio client of each tenant, built from its stored credentials.

Each tenant has its own Twilio account (a main account, a subaccount or an API key on one), so
the worker sends through a client per tenant. Clients are cheap (they share the process's one
aiohttp session) and cached; the credentials behind a cached client are read again after
`refresh_seconds`, so a tenant's new auth token is picked up without a restart, and `forget`
drops a tenant's client at once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Final, Protocol

import aiohttp

from herald.domain.records import TwilioCredentials as StoredCredentials
from herald.errors import ConfigurationError, InvalidInput
from herald.providers import MessagingProvider, TwilioClient, TwilioCredentials
from herald.providers.twilio import DEFAULT_TIMEOUT
from herald.settings import Settings
from herald.storage.tenants import TenantRepository

DEFAULT_REFRESH_SECONDS: Final = 60.0


class ProviderSource(Protocol):
    """Where the worker gets a tenant's `MessagingProvider` (tests pass a fake)."""

    async def for_tenant(self, tenant_id: str) -> MessagingProvider:
        """The provider to send the tenant's messages through."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Cached:
    client: TwilioClient
    credentials: StoredCredentials
    fetched_at: float


class ProviderFactory:
    """Builds and caches one `TwilioClient` per tenant on the shared aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tenants: TenantRepository,
        settings: Settings,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._tenants = tenants
        self._base_url = settings.twilio_base_url
        # A send still in flight when its lease runs out could be sent again by the worker that
        # takes the message over (its look-up finds nothing yet). Each request therefore ends
        # well inside the lease: a third of it, at most the client's usual 30 s.
        total = min(DEFAULT_TIMEOUT.total or 30.0, settings.worker_lease_seconds / 3)
        self._timeout = aiohttp.ClientTimeout(
            total=total, connect=min(DEFAULT_TIMEOUT.connect or total, total)
        )
        self._refresh = refresh_seconds
        self._clock = clock
        self._cache: dict[str, _Cached] = {}

    async def for_tenant(self, tenant_id: str) -> MessagingProvider:
        """The tenant's client; `ConfigurationError` when it has no usable Twilio credentials."""
        now = self._clock()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached.fetched_at < self._refresh:
            return cached.client
        credentials = await self._tenants.credentials(tenant_id)
        if credentials is None:
            self._cache.pop(tenant_id, None)
            raise ConfigurationError(
                f"Tenant {tenant_id} has no Twilio credentials, so its messages cannot be sent; "
                "give the tenant an account SID and auth token (or an API key)."
            )
        if cached is not None and cached.credentials == credentials:
            client = cached.client
        else:
            client = TwilioClient(
                self._session,
                _client_credentials(tenant_id, credentials),
                base_url=self._base_url,
                timeout=self._timeout,
            )
        self._cache[tenant_id] = _Cached(client, credentials, now)
        return client

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's cached client (its credentials changed)."""
        self._cache.pop(tenant_id, None)


def _client_credentials(tenant_id: str, stored: StoredCredentials) -> TwilioCredentials:
    try:
        if stored.key_sid is None:
            return TwilioCredentials.auth_token(stored.account_sid, stored.secret)
        return TwilioCredentials.api_key(stored.account_sid, stored.key_sid, stored.secret)
    except InvalidInput as exc:
        raise ConfigurationError(
            f"Tenant {tenant_id}'s stored Twilio credentials are unusable: {exc.detail}"
        ) from None
