"""The Twilio Verify client of each tenant, from its stored Twilio credentials.

Verify lives on its own host at Twilio (`verify.twilio.com`); in sandbox mode the emulator
answers Verify's paths on its one address, so the client follows `HERALD_TWILIO_BASE_URL`.
"""

from __future__ import annotations

import aiohttp

from herald.errors import ConfigurationError, InvalidInput
from herald.providers.twilio import TwilioCredentials
from herald.providers.verify import TwilioVerifyClient, verify_base_url
from herald.storage.tenants import TenantRepository


class TenantVerifyClients:
    """Builds a `TwilioVerifyClient` for a tenant on the shared aiohttp session."""

    def __init__(
        self, session: aiohttp.ClientSession, tenants: TenantRepository, twilio_base_url: str
    ) -> None:
        self._session = session
        self._tenants = tenants
        self._base_url = verify_base_url(twilio_base_url)

    async def for_tenant(self, tenant_id: str) -> TwilioVerifyClient:
        """The tenant's Verify client; `ConfigurationError` when it has no credentials."""
        stored = await self._tenants.credentials(tenant_id)
        if stored is None:
            raise ConfigurationError(
                f"Tenant {tenant_id} has no Twilio credentials, so it cannot use Twilio Verify; "
                "give it an account SID and auth token, or choose the builtin engine."
            )
        try:
            credentials = (
                TwilioCredentials.auth_token(stored.account_sid, stored.secret)
                if stored.key_sid is None
                else TwilioCredentials.api_key(stored.account_sid, stored.key_sid, stored.secret)
            )
        except InvalidInput as exc:
            raise ConfigurationError(
                f"Tenant {tenant_id}'s stored Twilio credentials are unusable: {exc.detail}"
            ) from None
        return TwilioVerifyClient(self._session, credentials, base_url=self._base_url)
