"""API keys: created once, stored only as a hash, found by that hash, revocable.

A key is `hk_` and 32 urlsafe random characters (192 bits). Herald stores its SHA-256 and a
display prefix. A fast hash is right here: the key is random, so there is nothing to guess
that a slow hash would protect, and authentication is one indexed lookup by the hash, whose
timing reveals nothing about the keys that exist.

An API process remembers a key it found live for `cache_seconds` (`HERALD_API_KEY_CACHE_SECONDS`,
2 s by default), so that a client sending many requests costs one lookup per interval instead
of one per request. Revoking a key through a repository forgets it there at once; other
processes stop accepting it when their memory of it expires. Unknown and revoked keys are
never remembered: each try is looked up.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import ApiKey, CreatedApiKey, Tenant
from herald.errors import InvalidInput
from herald.storage import ids
from herald.storage.dialect import write_transaction
from herald.storage.schema import api_keys, tenants
from herald.storage.tenants import tenant_from_row

KEY_PREFIX: Final = "hk_"

# Every API request runs this: built once, so that only its parameter changes.
_AUTHENTICATE: Final = (
    select(tenants)
    .join(api_keys, api_keys.c.tenant_id == tenants.c.id)
    .where(api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None))
)
_RANDOM_CHARS: Final = 32
_SHOWN_CHARS: Final = 8  # of the random part, in listings: enough to tell keys apart
_MAX_LABEL: Final = 200
_CACHED_KEYS: Final = 1024


def hash_key(key: str) -> str:
    """The stored form of an API key: hex SHA-256."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _random_part() -> str:
    # token_urlsafe(24) is exactly 32 characters: 24 random bytes in unpadded Base64.
    return secrets.token_urlsafe(_RANDOM_CHARS * 3 // 4)


class ApiKeyRepository:
    """Creates, checks, lists and revokes a tenant's API keys."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._clock = clock
        # key hash -> (tenant, monotonic time until which it is trusted), oldest first
        self._live: OrderedDict[str, tuple[Tenant, float]] = OrderedDict()

    async def create(self, tenant_id: str, *, label: str = "", now: datetime) -> CreatedApiKey:
        """A new key for the tenant; the full key is in the result and nowhere else."""
        label = label.strip()
        if len(label) > _MAX_LABEL:
            raise InvalidInput(f"An API key label is at most {_MAX_LABEL} characters.")
        key = KEY_PREFIX + _random_part()
        record = ApiKey(
            id=ids.new_id(ids.API_KEY, now),
            tenant_id=tenant_id,
            prefix=key[: len(KEY_PREFIX) + _SHOWN_CHARS],
            label=label,
            created_at=now,
            revoked_at=None,
        )
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                insert(api_keys).values(
                    id=record.id,
                    tenant_id=tenant_id,
                    prefix=record.prefix,
                    key_hash=hash_key(key),
                    label=label,
                    created_at=now,
                )
            )
        return CreatedApiKey(api_key=record, key=key)

    async def authenticate(self, key: str) -> Tenant | None:
        """The tenant whose live key this is, or None (unknown, revoked or malformed)."""
        if not key.startswith(KEY_PREFIX):
            return None
        key_hash = hash_key(key)
        now = self._clock()
        cached = self._live.get(key_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._engine.connect() as connection:
            row = (await connection.execute(_AUTHENTICATE, {"key_hash": key_hash})).first()
        if row is None:
            self._live.pop(key_hash, None)
            return None
        tenant = tenant_from_row(row)
        if self._cache_seconds > 0:
            self._live[key_hash] = (tenant, now + self._cache_seconds)
            self._live.move_to_end(key_hash)
            if len(self._live) > _CACHED_KEYS:
                self._live.popitem(last=False)
        return tenant

    async def list(self, tenant_id: str, *, include_revoked: bool = True) -> list[ApiKey]:
        """The tenant's keys, oldest first, without the keys themselves."""
        query = select(api_keys).where(api_keys.c.tenant_id == tenant_id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        async with self._engine.connect() as connection:
            rows = await connection.execute(query.order_by(api_keys.c.created_at, api_keys.c.id))
            return [_api_key(row) for row in rows]

    async def revoke(self, tenant_id: str, key_id: str, *, now: datetime) -> ApiKey | None:
        """Revoke a key of this tenant (again is harmless); None if the tenant has no such key."""
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            row = (
                await connection.execute(
                    select(api_keys).where(
                        api_keys.c.id == key_id, api_keys.c.tenant_id == tenant_id
                    )
                )
            ).first()
        if row is None:
            return None
        self._live.pop(row.key_hash, None)
        return _api_key(row)


def _api_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        tenant_id=row.tenant_id,
        prefix=row.prefix,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
