"""`GET /v1/events`: the tenant's events, for applications that poll instead of (or besides)
receiving webhooks.

Events come oldest first after a cursor. The cursor is the position of the last event seen;
`next_cursor` is always given (the same cursor when nothing new came), so a poller just keeps
passing it back. Each event has the envelope of docs/events.md, identical to what the webhook
endpoints receive.

The position is the events table's sequence number, shared by every tenant: shown as it is, the
gap between two of a tenant's cursors would tell how many events the other tenants had meanwhile.
So the cursor is that number encrypted (one AES block, with a tag of the tenant in it) under a
key derived from `HERALD_SECRET_KEY`: it reads as noise, and another tenant's cursor, or one
made up, is refused as not issued by Herald. `0` (the start) is the one plain cursor.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from typing import Annotated, Any, Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
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
_START: Final = "0"
_CURSOR_PREFIX: Final = "c_"
_POSITION_BYTES: Final = 8


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
    key = deps.settings.secret_key
    position = _cursor(after, key, tenant.id)
    wanted = tuple(each.strip() for each in (types or "").split(",") if each.strip())
    events = await deps.events.list_after(tenant.id, after=position, limit=limit, types=wanted)
    following = _issue(events[-1].id, key, tenant.id) if events else (after or _START).strip()
    return EventPage(
        data=[_view(each) for each in events],
        next_cursor=following,
        has_more=len(events) == limit,
    )


def _cursor(after: str | None, key: str, tenant_id: str) -> int | None:
    if after is None or after.strip() == _START:
        return None
    position = _read(after.strip(), key, tenant_id)
    if position is None:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"after {after!r} is not a cursor Herald issued; pass the `next_cursor` of the "
            "previous poll unchanged, or leave it out to start from the first event.",
            field="after",
        )
    return position


def _issue(position: int, key: str, tenant_id: str) -> str:
    block = position.to_bytes(_POSITION_BYTES, "big") + _tenant_tag(tenant_id)
    encryptor = _cipher(key).encryptor()
    sealed = encryptor.update(block) + encryptor.finalize()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def _read(text: str, key: str, tenant_id: str) -> int | None:
    """The position in a cursor this tenant was issued; None for anything else."""
    if not text.startswith(_CURSOR_PREFIX) or len(text) > 32:  # noqa: PLR2004
        return None
    try:
        sealed = base64.urlsafe_b64decode(text.removeprefix(_CURSOR_PREFIX) + "==")
    except (binascii.Error, ValueError):
        return None
    if len(sealed) != algorithms.AES.block_size // 8:
        return None
    decryptor = _cipher(key).decryptor()
    block = decryptor.update(sealed) + decryptor.finalize()
    if block[_POSITION_BYTES:] != _tenant_tag(tenant_id):
        return None
    return int.from_bytes(block[:_POSITION_BYTES], "big")


@functools.cache  # one key per process (HERALD_SECRET_KEY)
def _cipher(key: str) -> Cipher[modes.ECB]:
    derived = hashlib.sha256(b"herald-event-cursor\0" + key.encode()).digest()
    # One block per cursor, each position once: ECB is a keyed permutation of the block here,
    # which is all a cursor needs (it is not a message with repeated blocks).
    return Cipher(algorithms.AES(derived), modes.ECB())  # noqa: S305


def _tenant_tag(tenant_id: str) -> bytes:
    return hashlib.sha256(b"herald-event-cursor-tenant\0" + tenant_id.encode()).digest()[:8]


def _view(event: Event) -> EventView:
    return EventView(
        id=event.public_id,
        type=event.type,
        created_at=iso8601(event.created_at),
        data=dict(event.payload),
    )
