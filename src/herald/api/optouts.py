"""`/v1/opt-outs/{address}`: read, record and lift a person's opt-out by hand.

The address says the channel: `+31612345678` is the SMS opt-out, `whatsapp:+31612345678` the
WhatsApp one (a `+` in a path may be written as `%2B`). Changes made here are recorded with
source `api` in the opt-out ledger and announced as `opt_out.changed` events, like those a
person makes by texting STOP or START.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from herald.api.auth import CurrentTenant
from herald.api.deps import ApiDeps, Deps
from herald.api.problems import problem_responses
from herald.domain.events import iso8601
from herald.domain.phone import Address, parse_address
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import OptOutSource
from herald.errors import InvalidPhoneNumber

router = APIRouter(prefix="/v1/opt-outs", tags=["opt-outs"])


class OptOutChangeView(BaseModel):
    """One entry of the opt-out ledger."""

    opted_out: bool
    source: str = Field(description="`keyword`, `api` or `admin`.")
    keyword: str | None
    occurred_at: str


class OptOutView(BaseModel):
    """Whether a person accepts your messages on a channel, and how that came to be."""

    address: str = Field(description="`+E164` for SMS, `whatsapp:+E164` for WhatsApp.")
    channel: str
    opted_out: bool
    source: str | None = Field(description="How the current state was recorded; null if never.")
    keyword: str | None = Field(description="The word they texted, for source `keyword`.")
    updated_at: str | None
    history: list[OptOutChangeView] = Field(description="Every change, oldest first.")


@router.get(
    "/{address}",
    response_model=OptOutView,
    summary="Read an opt-out",
    responses=problem_responses(401, 422),
)
async def get_opt_out(address: str, tenant: CurrentTenant, deps: Deps) -> OptOutView:
    """The current state for the address; `opted_out` is false if nothing was ever recorded."""
    return await _view(deps, tenant.id, _parse(address))


@router.put(
    "/{address}",
    response_model=OptOutView,
    summary="Record an opt-out",
    responses=problem_responses(401, 422),
)
async def put_opt_out(address: str, tenant: CurrentTenant, deps: Deps) -> OptOutView:
    """Opt the address out of the channel (again is harmless): nothing more is sent to it."""
    target = _parse(address)
    await deps.opt_outs.set(
        tenant.id,
        target.channel,
        target.number.e164,
        opted_out=True,
        source=OptOutSource.API,
        now=deps.clock(),
    )
    return await _view(deps, tenant.id, target)


@router.delete(
    "/{address}",
    status_code=204,
    response_class=Response,
    summary="Lift an opt-out",
    responses=problem_responses(401, 404, 422),
)
async def delete_opt_out(address: str, tenant: CurrentTenant, deps: Deps) -> Response:
    """Lift the opt-out (only when the person asked for it); 404 if none is recorded."""
    target = _parse(address)
    lifted = await deps.opt_outs.delete(
        tenant.id, target.channel, target.number.e164, source=OptOutSource.API, now=deps.clock()
    )
    if not lifted:
        raise ProblemError(
            ProblemCode.NOT_FOUND,
            f"No opt-out is recorded for {target.twilio_form}; there is nothing to lift.",
        )
    return Response(status_code=204)


def _parse(address: str) -> Address:
    try:
        return parse_address(address)
    except InvalidPhoneNumber as exc:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"The address in the path: {exc.detail}",
            field="address",
            reason=exc.reason,
        ) from None


async def _view(deps: ApiDeps, tenant_id: str, target: Address) -> OptOutView:
    number = target.number.e164
    current = await deps.opt_outs.get(tenant_id, target.channel, number)
    history = await deps.opt_outs.history(tenant_id, target.channel, number)
    return OptOutView(
        address=target.twilio_form,
        channel=target.channel.value,
        opted_out=current is not None and current.opted_out,
        source=None if current is None else current.source.value,
        keyword=None if current is None else current.keyword,
        updated_at=None if current is None else iso8601(current.updated_at),
        history=[
            OptOutChangeView(
                opted_out=change.opted_out,
                source=change.source.value,
                keyword=change.keyword,
                occurred_at=iso8601(change.occurred_at),
            )
            for change in history
        ],
    )
