"""Verifications: each tenant's engine settings, the verifications started, and their checks.

Every change of a verification's status is one transaction with its event
(`verification.approved`, `verification.failed`), so an application hears of exactly the
outcomes that were stored. A check of a built-in code locks the verification's row
(`FOR UPDATE` on PostgreSQL; SQLite's writer lock does the same), so concurrent guesses are
counted one by one and never get past the attempt limit together.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.events import EventType, verification_data
from herald.domain.otp import (
    CheckOutcome,
    Engine,
    Verification,
    VerificationSettings,
    VerificationStatus,
    check_outcome,
    code_matches,
)
from herald.domain.problems import ProblemCode, ProblemError
from herald.storage import ids
from herald.storage.dialect import write_transaction
from herald.storage.events import append_event
from herald.storage.schema import verification_settings, verifications

VERIFICATION_PREFIX: Final = "vfy"

_FINAL_EVENT: Final = {
    VerificationStatus.APPROVED: EventType.VERIFICATION_APPROVED,
    VerificationStatus.EXPIRED: EventType.VERIFICATION_FAILED,
    VerificationStatus.MAX_ATTEMPTS_REACHED: EventType.VERIFICATION_FAILED,
}
_STATUS_OF: Final = {
    CheckOutcome.APPROVED: VerificationStatus.APPROVED,
    CheckOutcome.WRONG_CODE: VerificationStatus.PENDING,
    CheckOutcome.EXPIRED: VerificationStatus.EXPIRED,
    CheckOutcome.MAX_ATTEMPTS_REACHED: VerificationStatus.MAX_ATTEMPTS_REACHED,
}


def new_verification_id(now: datetime) -> str:
    """A fresh `vfy_...` id."""
    return ids.new_id(VERIFICATION_PREFIX, now)


class VerificationRepository:
    """Verifications and verification settings, scoped to one tenant per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # -- settings -------------------------------------------------------------------------

    async def settings(self, tenant_id: str) -> VerificationSettings:
        """The tenant's settings; a tenant that chose nothing gets the built-in engine."""
        query = select(verification_settings).where(verification_settings.c.tenant_id == tenant_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return VerificationSettings()
        return VerificationSettings(
            engine=Engine(row.engine),
            code_length=row.code_length,
            verify_service_sid=row.verify_service_sid,
        )

    async def save_settings(
        self, tenant_id: str, settings: VerificationSettings, *, now: datetime
    ) -> VerificationSettings:
        """Store the tenant's settings, replacing earlier ones."""
        values = {
            "engine": settings.engine.value,
            "code_length": settings.code_length,
            "verify_service_sid": settings.verify_service_sid,
            "updated_at": now,
        }
        try:
            async with write_transaction(self._engine) as connection:
                changed = await connection.execute(
                    update(verification_settings)
                    .where(verification_settings.c.tenant_id == tenant_id)
                    .values(**values)
                )
                if changed.rowcount == 0:
                    await connection.execute(
                        insert(verification_settings).values(tenant_id=tenant_id, **values)
                    )
        except IntegrityError:
            # Two first saves raced: the other one inserted, so this one updates.
            async with write_transaction(self._engine) as connection:
                await connection.execute(
                    update(verification_settings)
                    .where(verification_settings.c.tenant_id == tenant_id)
                    .values(**values)
                )
        return settings

    # -- verifications --------------------------------------------------------------------

    async def create(self, verification: Verification) -> Verification:
        """Store a new verification."""
        async with write_transaction(self._engine) as connection:
            await connection.execute(insert(verifications).values(**_values(verification)))
        return verification

    async def get(self, tenant_id: str, verification_id: str) -> Verification | None:
        """The tenant's verification with this id (another tenant's is None, as if absent)."""
        query = select(verifications).where(
            verifications.c.id == verification_id, verifications.c.tenant_id == tenant_id
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _from_row(row)

    async def latest_for(self, tenant_id: str, to: str) -> Verification | None:
        """The tenant's most recent verification of `to`, whatever its status."""
        v = verifications.c
        query = (
            select(verifications)
            .where(v.tenant_id == tenant_id, v.to_address == to)
            .order_by(v.created_at.desc(), v.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _from_row(row)

    async def reissue(
        self,
        verification: Verification,
        *,
        code_hash: str | None,
        expires_at: datetime,
        message_id: str | None,
        now: datetime,
    ) -> Verification:
        """Count a resend of a pending verification: a new code (hash), a new expiry.

        Its checks are kept: resending never buys more guesses.
        """
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                update(verifications)
                .where(verifications.c.id == verification.id)
                .values(
                    sends=verifications.c.sends + 1,
                    code_hash=code_hash,
                    expires_at=expires_at,
                    message_id=message_id,
                    updated_at=now,
                )
            )
            row = await _locked(connection, verification.tenant_id, verification.id)
        return _from_row(row)

    async def check_code(
        self, tenant_id: str, verification_id: str, code: str, *, key: bytes, now: datetime
    ) -> tuple[Verification, CheckOutcome | None]:
        """Check a built-in code: count the check, settle the status, emit the final event.

        The outcome is None when the verification was no longer pending (nothing is counted
        then, and its stored status is the answer).
        """
        async with write_transaction(self._engine) as connection:
            row = await _locked(connection, tenant_id, verification_id)
            current = _from_row(row)
            if current.status is not VerificationStatus.PENDING or current.code_hash is None:
                return current, None
            # The hash is compared even after expiry, so the time taken says nothing.
            matches = code_matches(key, current.id, code, current.code_hash)
            outcome = check_outcome(
                matches=matches,
                checks_before=current.checks,
                expires_at=current.expires_at,
                now=now,
            )
            counted = outcome is not CheckOutcome.EXPIRED
            status = _STATUS_OF[outcome]
            updated = await _set_status(connection, current, status, now=now, extra_check=counted)
            return updated, outcome

    async def settle(
        self,
        verification: Verification,
        status: VerificationStatus,
        *,
        now: datetime,
        checks: int = 0,
    ) -> Verification:
        """Record a status reported by an outside engine (Twilio Verify), with its event."""
        async with write_transaction(self._engine) as connection:
            row = await _locked(connection, verification.tenant_id, verification.id)
            current = _from_row(row)
            if current.status is not VerificationStatus.PENDING:
                return current
            return await _set_status(connection, current, status, now=now, extra_check=checks > 0)

    async def record_throttled(
        self, tenant_id: str, *, channel: str, to: str, scope: str, now: datetime
    ) -> None:
        """Emit `verification.throttled`: a start refused by the `scope` throttle."""
        async with write_transaction(self._engine) as connection:
            await append_event(
                connection,
                tenant_id=tenant_id,
                type_=EventType.VERIFICATION_THROTTLED.value,
                payload=verification_data(
                    verification_id=None,
                    channel=channel,
                    to=to,
                    status="throttled",
                    reason=scope,
                    occurred_at=now,
                ),
                now=now,
            )


async def _locked(connection: AsyncConnection, tenant_id: str, verification_id: str) -> Row[Any]:
    query = (
        select(verifications)
        .where(verifications.c.id == verification_id, verifications.c.tenant_id == tenant_id)
        .with_for_update()
    )
    row = (await connection.execute(query)).first()
    if row is None:
        raise ProblemError(
            ProblemCode.NOT_FOUND, f"There is no verification {verification_id!r} for this API key."
        )
    return row


async def _set_status(
    connection: AsyncConnection,
    current: Verification,
    status: VerificationStatus,
    *,
    now: datetime,
    extra_check: bool,
) -> Verification:
    checks = current.checks + (1 if extra_check else 0)
    await connection.execute(
        update(verifications)
        .where(verifications.c.id == current.id)
        .values(status=status.value, checks=checks, updated_at=now)
    )
    event = _FINAL_EVENT.get(status)
    if event is not None:
        await append_event(
            connection,
            tenant_id=current.tenant_id,
            type_=event.value,
            payload=verification_data(
                verification_id=current.id,
                channel=current.channel,
                to=current.to,
                status=status.value,
                reason=None if status is VerificationStatus.APPROVED else status.value,
                occurred_at=now,
            ),
            now=now,
        )
    return dataclasses.replace(current, status=status, checks=checks, updated_at=now)


def _values(verification: Verification) -> dict[str, Any]:
    return {
        "id": verification.id,
        "tenant_id": verification.tenant_id,
        "engine": verification.engine.value,
        "channel": verification.channel,
        "to_address": verification.to,
        "status": verification.status.value,
        "code_hash": verification.code_hash,
        "checks": verification.checks,
        "sends": verification.sends,
        "expires_at": verification.expires_at,
        "provider_sid": verification.provider_sid,
        "message_id": verification.message_id,
        "created_at": verification.created_at,
        "updated_at": verification.updated_at,
    }


def _from_row(row: Row[Any]) -> Verification:
    return Verification(
        id=row.id,
        tenant_id=row.tenant_id,
        engine=Engine(row.engine),
        channel=row.channel,
        to=row.to_address,
        status=VerificationStatus(row.status),
        code_hash=row.code_hash,
        checks=row.checks,
        sends=row.sends,
        expires_at=row.expires_at,
        provider_sid=row.provider_sid,
        message_id=row.message_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
