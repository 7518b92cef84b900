"""The message log's filters, read from the query string of `/admin/messages`.

Whatever the operator types, the page answers: a value Herald cannot read is dropped and
named in `problems`, shown above the log, rather than failing the request.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import MessageFilter

E = TypeVar("E", Channel, Status)

_SEPARATORS: Final = re.compile(r"[\s\-().]")
_DATE_ONLY: Final = 10  # len("YYYY-MM-DD")


@dataclasses.dataclass(frozen=True, slots=True)
class LogQuery:
    """The filters of one view of the message log, and what could not be read."""

    tenant: str | None
    filters: MessageFilter
    cursor: str | None
    values: Mapping[str, str]
    problems: tuple[str, ...]


def read_log_query(params: Mapping[str, str], tenant_ids: set[str]) -> LogQuery:
    """The filters in `params`; unknown tenants, channels, statuses and dates are reported."""
    problems: list[str] = []
    values = {
        key: params.get(key, "").strip()
        for key in ("tenant", "channel", "status", "number", "from", "to")
    }
    tenant = values["tenant"] or None
    if tenant is not None and tenant not in tenant_ids:
        problems.append(f"There is no tenant {tenant!r}; showing every tenant.")
        tenant = None
    channel = _choice(values["channel"], Channel, "channel", problems)
    status = _choice(values["status"], Status, "status", problems)
    number = _SEPARATORS.sub("", values["number"]) or None
    created_from = _moment(values["from"], "from", problems, end_of_day=False)
    created_to = _moment(values["to"], "to", problems, end_of_day=True)
    cursor = params.get("cursor", "").strip() or None
    return LogQuery(
        tenant=tenant,
        filters=MessageFilter(
            status=status,
            channel=channel,
            to=number,
            created_from=created_from,
            created_to=created_to,
        ),
        cursor=cursor,
        values=values,
        problems=tuple(problems),
    )


def _choice(text: str, kind: type[E], name: str, problems: list[str]) -> E | None:
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        problems.append(f"{text!r} is not a {name}; pick one of {known}.")
        return None


def _moment(text: str, name: str, problems: list[str], *, end_of_day: bool) -> datetime | None:
    """UTC from `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`; a bare `to` date takes its whole day."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(
            f"{name} {text!r} is not a date; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM."
        )
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if end_of_day and len(text) == _DATE_ONLY:
        moment += timedelta(days=1) - timedelta(microseconds=1)
    return moment
