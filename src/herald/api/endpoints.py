"""`/v1/webhook-endpoints`: where the application wants its events.

Each endpoint gets a signing secret (`whsec_...`, Standard Webhooks) that is shown once, in the
answer to its creation; Herald keeps it encrypted to sign every delivery. Deleting an endpoint
stops its deliveries at once (pending ones are given up) and keeps its history.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from herald.api.auth import CurrentTenant
from herald.api.deps import Deps
from herald.api.problems import problem_responses
from herald.domain.events import EventType, iso8601
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import WebhookEndpoint

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhook endpoints"])

_KNOWN_TYPES = tuple(each.value for each in EventType)


class CreateEndpointRequest(BaseModel):
    """A URL to post events to, and the event types it wants (every type when empty)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://shop.example/herald", "event_types": ["message.status_changed"]}
            ]
        },
    )

    url: str = Field(max_length=2000, description="An absolute http(s) URL.")
    event_types: list[str] = Field(
        default_factory=list, description=f"A subset of {', '.join(_KNOWN_TYPES)}; all if empty."
    )


class EndpointView(BaseModel):
    """A webhook endpoint."""

    id: str
    url: str
    event_types: list[str] = Field(description="The types delivered; empty means every type.")
    created_at: str


class CreatedEndpointView(EndpointView):
    """A new endpoint with its signing secret: store it now, it is never shown again."""

    secret: str = Field(description="`whsec_...`: verify each delivery's signature with it.")


class EndpointList(BaseModel):
    """The tenant's active endpoints, oldest first."""

    data: list[EndpointView]


@router.post(
    "",
    status_code=201,
    response_model=CreatedEndpointView,
    summary="Create a webhook endpoint",
    responses=problem_responses(401, 422),
)
async def create_endpoint(
    payload: CreateEndpointRequest, tenant: CurrentTenant, deps: Deps
) -> CreatedEndpointView:
    """Register a URL for events; the answer holds its signing secret, shown only this once."""
    unknown = sorted(set(payload.event_types) - set(_KNOWN_TYPES))
    if unknown:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"event_types: {', '.join(unknown)} is not an event type; use "
            f"{', '.join(_KNOWN_TYPES)}, or leave event_types empty for every type.",
            field="event_types",
        )
    created = await deps.endpoints.create(
        tenant.id, payload.url, now=deps.clock(), event_types=payload.event_types
    )
    return CreatedEndpointView.model_validate(
        {**_fields(created.endpoint), "secret": created.secret}
    )


@router.get(
    "",
    response_model=EndpointList,
    summary="List webhook endpoints",
    responses=problem_responses(401),
)
async def list_endpoints(tenant: CurrentTenant, deps: Deps) -> EndpointList:
    """The tenant's active endpoints (without their secrets)."""
    endpoints = await deps.endpoints.list(tenant.id)
    return EndpointList(data=[EndpointView.model_validate(_fields(each)) for each in endpoints])


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a webhook endpoint",
    responses=problem_responses(401, 404),
)
async def delete_endpoint(endpoint_id: str, tenant: CurrentTenant, deps: Deps) -> Response:
    """Stop delivering to the endpoint; its pending deliveries are given up."""
    if not await deps.endpoints.disable(tenant.id, endpoint_id, now=deps.clock()):
        raise ProblemError(
            ProblemCode.NOT_FOUND, f"There is no active webhook endpoint {endpoint_id!r}."
        )
    return Response(status_code=204)


def _fields(endpoint: WebhookEndpoint) -> dict[str, object]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "created_at": iso8601(endpoint.created_at),
    }
