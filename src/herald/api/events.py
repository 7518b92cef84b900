"""`GET /v1/events`: the tenant's events, for applications that poll instead of (or besides)
receiving webhooks.

Events come oldest first after a cursor. The cursor is the position of the last event seen, as
text; `next_cursor` is always given (the same cursor when nothing new came), so a poller just
keeps passing it back. Each event has the envelope of docs/events.md, identical to what the
webhook endpoints receive.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from herald.api.auth import CurrentTenant
from herald.api.deps import Deps
from herald.api.problems import problem_responses
from herald.domain.events import iso8601
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import Event
from herald.storage.events import MAX_PAGE

router = APIRouter(prefix="/v1/events", tags=["events"])

_DEFAULT_LIMIT: Final = 100


class EventView(BaseModel):
    """One event, in the envelope webhooks deliver too."""

    id: str = Field(description="`evt_...`, stable: de-duplicate on it.")
    type: str
    created_at: str
    data: dict[str, Any]


class EventPage(BaseModel):
    """Events after the cursor, oldest first."""

    data: list[EventView]
    next_cursor: str = Field(description="Pass as `after` to get the events that follow.")
    has_more: bool = Field(description="Whether more events are waiting right now.")


@router.get(
    "",
    response_model=EventPage,
    summary="Poll events",
    responses=problem_responses(401, 422),
)
async def list_events(
    tenant: CurrentTenant,
    deps: Deps,
    after: Annotated[
        str | None,
        Query(description="The `next_cursor` of the previous poll; from the start if left out."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description="Events per page.")
    ] = _DEFAULT_LIMIT,
    types: Annotated[
        str | None, Query(description="Comma-separated event types to keep (all if left out).")
    ] = None,
) -> EventPage:
    """The tenant's events after `after`, oldest first."""
    position = _cursor(after)
    wanted = tuple(each.strip() for each in (types or "").split(",") if each.strip())
    events = await deps.events.list_after(tenant.id, after=position, limit=limit, types=wanted)
    following = str(events[-1].id) if events else (after or "0")
    return EventPage(
        data=[_view(each) for each in events],
        next_cursor=following,
        has_more=len(events) == limit,
    )


def _cursor(after: str | None) -> int | None:
    if after is None:
        return None
    text = after.strip()
    if not text.isdigit() or len(text) > 18:  # noqa: PLR2004 - fits a 64-bit id
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"after {after!r} is not a cursor Herald issued; pass the `next_cursor` of the "
            "previous poll unchanged, or leave it out to start from the first event.",
            field="after",
        )
    return int(text)


def _view(event: Event) -> EventView:
    return EventView(
        id=event.public_id,
        type=event.type,
        created_at=iso8601(event.created_at),
        data=dict(event.payload),
    )
