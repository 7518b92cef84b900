"""Who is calling: `Authorization: Bearer <api key>`, resolved to the key's tenant.

Every `/v1` route depends on `CurrentTenant`. A missing, malformed, unknown or revoked key is
refused with the `unauthorized` problem (401, `WWW-Authenticate: Bearer`), and nothing about
which of these it was: a caller probing keys learns nothing. Each route then scopes every read
and write to the tenant found here, so a key of one tenant never reaches another's data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from herald.api.deps import Deps
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import Tenant

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A tenant's API key (`hk_...`), created with `herald keys create`.",
)


async def authenticated_tenant(
    deps: Deps,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Tenant:
    """The tenant whose live API key the request carries, or the `unauthorized` problem."""
    if credentials is None:
        raise ProblemError(
            ProblemCode.UNAUTHORIZED,
            "The request has no API key; send the header `Authorization: Bearer <api key>`.",
        )
    tenant = await deps.api_keys.authenticate(credentials.credentials.strip())
    if tenant is None:
        raise ProblemError(
            ProblemCode.UNAUTHORIZED,
            "The API key is not valid: it is unknown or has been revoked. Create one with "
            "`herald keys create --tenant NAME`.",
        )
    return tenant


CurrentTenant = Annotated[Tenant, Depends(authenticated_tenant)]
"""A route parameter receiving the authenticated tenant."""
