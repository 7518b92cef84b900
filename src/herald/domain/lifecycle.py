"""A message's status in Herald, and the rule that a status never moves backwards.

Herald's statuses are Twilio's message statuses plus two of its own before the provider sees
the message: `accepted` (committed to the outbox, waiting to be sent) and `scheduled` (held
until `send_at`). Callbacks arrive late, twice and out of order; `apply_status` decides, for a
reported status, whether the message's current status changes. Every report is still kept in
the message's history by the caller, so nothing Twilio said is lost.
"""

from __future__ import annotations

import dataclasses
import enum


class Status(enum.StrEnum):
    """Where a message is, from Herald accepting it to its final outcome."""

    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    READ = "read"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """Whether no later report can change the outcome (`delivered` may still become `read`)."""
        return self in _FINAL

    @property
    def with_provider(self) -> bool:
        """Whether the provider has the message (it was handed over, successfully or not)."""
        return _RANK[self] >= _RANK[Status.QUEUED]


_FINAL = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.READ, Status.CANCELED}
)

# Progress along the lifecycle. Twilio's `accepted` (a Messaging Service is choosing the
# sender) maps onto Herald's `queued`: both mean "the provider has it, not yet sent".
_RANK = {
    Status.ACCEPTED: 0,
    Status.SCHEDULED: 0,
    Status.QUEUED: 1,
    Status.SENDING: 2,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.UNDELIVERED: 4,
    Status.FAILED: 4,
    Status.CANCELED: 4,
    Status.READ: 5,
}

# Twilio's message statuses (TWILIO-API.md §4) as Herald records them.
_FROM_TWILIO = {
    "accepted": Status.QUEUED,
    "scheduled": Status.QUEUED,
    "queued": Status.QUEUED,
    "sending": Status.SENDING,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "read": Status.READ,
    "canceled": Status.CANCELED,
    "receiving": Status.QUEUED,
    "received": Status.DELIVERED,
    "partially_delivered": Status.DELIVERED,
}


def from_twilio(status: str) -> Status:
    """Herald's status for a status Twilio reports; `ValueError` names an unknown one."""
    try:
        return _FROM_TWILIO[status.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(_FROM_TWILIO))
        raise ValueError(f"Unknown Twilio message status {status!r}; known: {known}.") from None


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of applying a reported status to a message."""

    previous: Status
    reported: Status
    current: Status

    @property
    def changed(self) -> bool:
        """Whether the message's status moved."""
        return self.current is not self.previous


def apply_status(current: Status, reported: Status) -> Transition:
    """Apply `reported` to a message whose status is `current`.

    The status moves only forwards: a late `sent` after `delivered` changes nothing. Once a
    final outcome is known it stands, except that a delivered WhatsApp message may become
    `read`; a contradicting final report (say `undelivered` after `delivered`) is kept in the
    history by the caller but does not replace the first outcome.
    """
    if current.is_final:
        moves = current is Status.DELIVERED and reported is Status.READ
    else:
        moves = _RANK[reported] > _RANK[current]
    return Transition(current, reported, reported if moves else current)
