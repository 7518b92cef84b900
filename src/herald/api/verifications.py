"""`/v1/verifications`: send a one-time code to a number, check the code the person typed.

The tenant's engine (Herald's own codes, or Twilio Verify) is invisible here: both answer the
same statuses and problems (docs/verifications.md). No answer ever carries a code.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from herald.api.auth import CurrentTenant
from herald.api.client_ip import client_ip
from herald.api.deps import ApiDeps, Deps
from herald.api.problems import problem_responses
from herald.domain.events import iso8601
from herald.domain.otp import (
    DEFAULT_CODE_LENGTH,
    MAX_CODE_LENGTH,
    MIN_CODE_LENGTH,
    Engine,
    Verification,
    VerificationSettings,
)
from herald.domain.phone import Channel
from herald.domain.problems import ProblemCode, ProblemError
from herald.verification import VerificationService

router = APIRouter(prefix="/v1/verifications", tags=["verifications"])


class StartVerificationRequest(BaseModel):
    """Send a code to a number."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="The number to verify, e.g. +31612345678.", max_length=64)
    channel: Literal["sms", "whatsapp"] = Field("sms", description="`sms` or `whatsapp`.")


class CheckVerificationRequest(BaseModel):
    """Check a code, naming the verification by `id` or by `to`."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="The digits the person typed.", max_length=32)
    id: str | None = Field(None, description="The verification's id (`vfy_...`).", max_length=64)
    to: str | None = Field(
        None, description="The number verified, if the id is not at hand.", max_length=64
    )
    channel: Literal["sms", "whatsapp"] = Field(
        "sms", description="With `to`: the channel the code was sent on."
    )


class VerificationView(BaseModel):
    """A verification, never with its code."""

    id: str
    to: str
    channel: str
    status: str = Field(description="`pending`, `approved`, `expired` or `max_attempts_reached`.")
    expires_at: str
    created_at: str


class SettingsRequest(BaseModel):
    """The tenant's verification engine and code length."""

    model_config = ConfigDict(extra="forbid")

    engine: Engine = Field(description="`builtin` (Herald's codes) or `twilio_verify`.")
    code_length: int = Field(
        DEFAULT_CODE_LENGTH,
        ge=MIN_CODE_LENGTH,
        le=MAX_CODE_LENGTH,
        description="Digits per code, 4 to 10.",
    )


class SettingsView(BaseModel):
    """The tenant's verification settings."""

    engine: str
    code_length: int
    verify_service_sid: str | None


@router.post(
    "",
    status_code=201,
    response_model=VerificationView,
    summary="Send a verification code",
    responses=problem_responses(401, 422, 429, 503),
)
async def start_verification(
    payload: StartVerificationRequest, tenant: CurrentTenant, deps: Deps, request: Request
) -> VerificationView:
    """Send a code to `to` (a resend, when a verification of that number is pending)."""
    ip = client_ip(request, deps.settings.trusted_proxies)
    verification = await _service(deps).start(tenant, payload.to, Channel(payload.channel), ip=ip)
    return _view(verification)


@router.post(
    "/check",
    response_model=VerificationView,
    summary="Check a verification code",
    responses=problem_responses(401, 404, 422, 503),
)
async def check_verification(
    payload: CheckVerificationRequest, tenant: CurrentTenant, deps: Deps
) -> VerificationView:
    """`approved` for the right code; `pending` for a wrong one while checks remain."""
    verification = await _service(deps).check(
        tenant,
        payload.code,
        verification_id=payload.id,
        to=payload.to,
        channel=Channel(payload.channel),
    )
    return _view(verification)


@router.put(
    "/settings",
    response_model=SettingsView,
    summary="Choose the verification engine",
    responses=problem_responses(401, 422),
)
async def put_settings(payload: SettingsRequest, tenant: CurrentTenant, deps: Deps) -> SettingsView:
    """Set the tenant's engine and code length; a Verify Service already made is kept."""
    saved = await _service(deps).configure(
        tenant.id, VerificationSettings(engine=payload.engine, code_length=payload.code_length)
    )
    return _settings_view(saved)


@router.get(
    "/settings",
    response_model=SettingsView,
    summary="Read the verification engine",
    responses=problem_responses(401),
)
async def get_settings(tenant: CurrentTenant, deps: Deps) -> SettingsView:
    """The tenant's engine and code length (`builtin`, 6 digits, until chosen)."""
    return _settings_view(await _service(deps).repository.settings(tenant.id))


def _service(deps: ApiDeps) -> VerificationService:
    if deps.verifications is None:
        raise ProblemError(
            ProblemCode.SERVICE_UNAVAILABLE, "Verifications are not enabled on this Herald."
        )
    return deps.verifications


def _view(verification: Verification) -> VerificationView:
    return VerificationView(
        id=verification.id,
        to=verification.to,
        channel=verification.channel,
        status=verification.status.value,
        expires_at=iso8601(verification.expires_at),
        created_at=iso8601(verification.created_at),
    )


def _settings_view(settings: VerificationSettings) -> SettingsView:
    return SettingsView(
        engine=settings.engine.value,
        code_length=settings.code_length,
        verify_service_sid=settings.verify_service_sid,
    )
