"""The verification service: start and check verifications on the tenant's engine.

Both engines follow one set of rules, so an application sees the same API whichever runs:

- a start passes the throttles first (per number, per client IP, per destination prefix);
  a refused start is `verification_throttled` (429 with Retry-After) and a
  `verification.throttled` event;
- a start while the number's verification is pending resends on that verification: its
  checks so far still count, so resending never buys more guesses;
- a check answers `pending` (wrong code), `approved`, `expired` or `max_attempts_reached`;
  the fifth wrong code ends the verification; an approved verification is used up, and
  checking it again is `not_found`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol

from herald.domain.otp import (
    DEFAULT_THROTTLES,
    DEFAULT_TTL,
    MAX_CHECKS,
    MAX_CODE_LENGTH,
    MIN_CODE_LENGTH,
    Engine,
    ThrottleRule,
    Verification,
    VerificationSettings,
    VerificationStatus,
    check_length,
    code_key,
    generate_code,
    hash_code,
    throttle_keys,
)
from herald.domain.phone import Channel
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import Tenant
from herald.errors import ConfigurationError, ProviderError
from herald.providers.verify import TwilioVerifyClient
from herald.storage.throttles import Throttle
from herald.storage.verifications import VerificationRepository, new_verification_id
from herald.verification.delivery import CodeSender

# Twilio Verify's codes for "too many checks", "too many sends" and "no such verification".
_MAX_CHECKS_REACHED: Final = 60202
_MAX_SENDS_REACHED: Final = 60203
_NOT_FOUND: Final = 20404


class VerifyClients(Protocol):
    """Gives the Twilio Verify client of a tenant (`ConfigurationError` without credentials)."""

    async def for_tenant(self, tenant_id: str) -> TwilioVerifyClient:
        """The tenant's Verify client."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class VerificationService:
    """Starts and checks verifications; the only way the API touches them."""

    repository: VerificationRepository
    throttle: Throttle
    sender: CodeSender
    secret_key: str
    clock: Callable[[], datetime]
    verify_clients: VerifyClients | None = None
    throttles: tuple[ThrottleRule, ...] = DEFAULT_THROTTLES
    ttl: timedelta = DEFAULT_TTL

    async def configure(
        self, tenant_id: str, settings: VerificationSettings
    ) -> VerificationSettings:
        """Choose the tenant's engine and code length (keeping its Verify Service)."""
        check_length(settings.code_length)
        current = await self.repository.settings(tenant_id)
        chosen = dataclasses.replace(settings, verify_service_sid=current.verify_service_sid)
        return await self.repository.save_settings(tenant_id, chosen, now=self.clock())

    async def start(
        self, tenant: Tenant, to: str, channel: Channel, *, ip: str | None
    ) -> Verification:
        """Send a code to `to` on `channel`: a new verification, or a resend of the open one."""
        now = self.clock()
        parties = self.sender.recipient(tenant, channel, to)
        address = parties.to
        await self._throttle(tenant, address, channel, ip, now)
        settings = await self.repository.settings(tenant.id)
        latest = await self.repository.latest_for(tenant.id, address)
        open_one = latest if latest is not None and _is_open(latest, now) else None
        if settings.engine is Engine.TWILIO_VERIFY:
            return await self._start_on_twilio(
                tenant, settings, address=address, channel=channel, open_one=open_one, now=now
            )
        return await self._start_builtin(
            tenant, settings, address=address, channel=channel, open_one=open_one, now=now
        )

    async def check(
        self,
        tenant: Tenant,
        code: str,
        *,
        verification_id: str | None = None,
        to: str | None = None,
        channel: Channel = Channel.SMS,
    ) -> Verification:
        """Check `code` against the verification given by id, or by number; its new state."""
        if not (
            code.isascii() and code.isdigit() and MIN_CODE_LENGTH <= len(code) <= MAX_CODE_LENGTH
        ):
            raise ProblemError(
                ProblemCode.INVALID_REQUEST,
                f"code must be {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} digits.",
                field="code",
            )
        verification = await self._find(tenant, verification_id, to, channel)
        now = self.clock()
        if verification.status is VerificationStatus.APPROVED:
            # Single use: an approved verification is gone, as Twilio Verify's 20404 says.
            raise _not_found()
        if verification.status is not VerificationStatus.PENDING:
            return verification
        if now >= verification.expires_at:
            return await self.repository.settle(verification, VerificationStatus.EXPIRED, now=now)
        if verification.engine is Engine.TWILIO_VERIFY:
            return await self._check_on_twilio(tenant, verification, code, now)
        updated, outcome = await self.repository.check_code(
            tenant.id, verification.id, code, key=code_key(self.secret_key), now=now
        )
        if outcome is None and updated.status is VerificationStatus.APPROVED:
            # A concurrent check approved it first: the code has been used.
            raise _not_found()
        return updated

    # -- built-in engine ---------------------------------------------------------------

    async def _start_builtin(
        self,
        tenant: Tenant,
        settings: VerificationSettings,
        *,
        address: str,
        channel: Channel,
        open_one: Verification | None,
        now: datetime,
    ) -> Verification:
        code = generate_code(settings.code_length)
        if (
            open_one is not None
            and open_one.engine is Engine.BUILTIN
            and open_one.channel == channel.value
        ):
            message_id = await self.sender.send(tenant, channel, address, code, now=now)
            return await self.repository.reissue(
                open_one,
                code_hash=hash_code(code_key(self.secret_key), open_one.id, code),
                expires_at=now + self.ttl,
                message_id=message_id,
                now=now,
            )
        verification_id = new_verification_id(now)
        # Accepted first: if the rules refuse the message, no verification is left behind.
        message_id = await self.sender.send(tenant, channel, address, code, now=now)
        return await self.repository.create(
            Verification(
                id=verification_id,
                tenant_id=tenant.id,
                engine=Engine.BUILTIN,
                channel=channel.value,
                to=address,
                status=VerificationStatus.PENDING,
                code_hash=hash_code(code_key(self.secret_key), verification_id, code),
                checks=0,
                sends=1,
                expires_at=now + self.ttl,
                provider_sid=None,
                message_id=message_id,
                created_at=now,
                updated_at=now,
            )
        )

    # -- Twilio Verify engine ----------------------------------------------------------

    async def _start_on_twilio(
        self,
        tenant: Tenant,
        settings: VerificationSettings,
        *,
        address: str,
        channel: Channel,
        open_one: Verification | None,
        now: datetime,
    ) -> Verification:
        client = await self._client(tenant)
        service_sid = settings.verify_service_sid
        if service_sid is None:
            service_sid = await client.create_service(tenant.name, code_length=settings.code_length)
            await self.repository.save_settings(
                tenant.id,
                dataclasses.replace(settings, verify_service_sid=service_sid),
                now=now,
            )
        number = address.removeprefix("whatsapp:")
        try:
            started = await client.start(service_sid, number, channel.value)
        except ProviderError as exc:
            if exc.provider_code == _MAX_SENDS_REACHED:
                raise _throttled("number", exc.retry_after or self.ttl.total_seconds()) from None
            raise
        if open_one is not None and open_one.provider_sid == started.sid:
            return await self.repository.reissue(
                open_one, code_hash=None, expires_at=now + self.ttl, message_id=None, now=now
            )
        return await self.repository.create(
            Verification(
                id=new_verification_id(now),
                tenant_id=tenant.id,
                engine=Engine.TWILIO_VERIFY,
                channel=channel.value,
                to=address,
                status=VerificationStatus.PENDING,
                code_hash=None,
                checks=0,
                sends=1,
                expires_at=now + self.ttl,
                provider_sid=started.sid,
                message_id=None,
                created_at=now,
                updated_at=now,
            )
        )

    async def _check_on_twilio(
        self, tenant: Tenant, verification: Verification, code: str, now: datetime
    ) -> Verification:
        settings = await self.repository.settings(tenant.id)
        client = await self._client(tenant)
        if settings.verify_service_sid is None or verification.provider_sid is None:
            raise _not_found()
        try:
            answer = await client.check(
                settings.verify_service_sid, code, verification_sid=verification.provider_sid
            )
        except ProviderError as exc:
            if exc.provider_code == _MAX_CHECKS_REACHED:
                return await self.repository.settle(
                    verification, VerificationStatus.MAX_ATTEMPTS_REACHED, now=now
                )
            if exc.provider_code == _NOT_FOUND:
                # Twilio forgets a verification once it expires or is canceled.
                return await self.repository.settle(
                    verification, VerificationStatus.EXPIRED, now=now
                )
            raise
        if answer.status == VerificationStatus.APPROVED.value:
            return await self.repository.settle(
                verification, VerificationStatus.APPROVED, now=now, checks=1
            )
        # The same limit as the built-in engine: the fifth wrong code ends it here too.
        status = (
            VerificationStatus.MAX_ATTEMPTS_REACHED
            if verification.checks + 1 >= MAX_CHECKS
            else VerificationStatus.PENDING
        )
        return await self.repository.settle(verification, status, now=now, checks=1)

    async def _client(self, tenant: Tenant) -> TwilioVerifyClient:
        if self.verify_clients is None:
            raise ProblemError(
                ProblemCode.SERVICE_UNAVAILABLE,
                "This Herald has no Twilio Verify connection; set the tenant's engine to "
                "builtin, or run Herald with Twilio credentials.",
            )
        try:
            return await self.verify_clients.for_tenant(tenant.id)
        except ConfigurationError as exc:
            raise ProblemError(ProblemCode.SERVICE_UNAVAILABLE, exc.detail) from None

    # -- shared ------------------------------------------------------------------------

    async def _throttle(
        self, tenant: Tenant, address: str, channel: Channel, ip: str | None, now: datetime
    ) -> None:
        for rule, key in throttle_keys(tenant.id, address, ip, self.throttles):
            wait = await self.throttle.hit(key, rule, now)
            if wait is not None:
                await self.repository.record_throttled(
                    tenant.id, channel=channel.value, to=address, scope=rule.scope.value, now=now
                )
                raise _throttled(rule.scope.value, wait)

    async def _find(
        self, tenant: Tenant, verification_id: str | None, to: str | None, channel: Channel
    ) -> Verification:
        if verification_id is not None:
            found = await self.repository.get(tenant.id, verification_id)
        elif to is not None:
            address = self.sender.recipient(tenant, channel, to).to
            found = await self.repository.latest_for(tenant.id, address)
        else:
            raise ProblemError(
                ProblemCode.INVALID_REQUEST,
                "Give the verification's id or its to number.",
                field="id",
            )
        if found is None:
            raise _not_found()
        return found


def _is_open(verification: Verification, now: datetime) -> bool:
    return verification.status is VerificationStatus.PENDING and now < verification.expires_at


def _not_found() -> ProblemError:
    return ProblemError(
        ProblemCode.NOT_FOUND,
        "There is no pending verification like that for this API key; it may have been "
        "approved already. Start a new one with POST /v1/verifications.",
    )


def _throttled(scope: str, wait: float) -> ProblemError:
    return ProblemError(
        ProblemCode.VERIFICATION_THROTTLED,
        f"Too many verifications were started for this {scope}; try again in {int(wait)} seconds.",
        retry_after=int(wait),
        throttle=scope,
    )
