"""A message's status moves only forwards, whatever order callbacks arrive in."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.domain.lifecycle import Status, apply_status, from_twilio


def test_forward_report_moves_the_status() -> None:
    """`sent` after `queued` becomes the current status."""
    transition = apply_status(Status.QUEUED, Status.SENT)
    assert transition.current is Status.SENT
    assert transition.changed


def test_late_sent_after_delivered_changes_nothing() -> None:
    """A `sent` that arrives after `delivered` leaves the message delivered."""
    transition = apply_status(Status.DELIVERED, Status.SENT)
    assert transition.current is Status.DELIVERED
    assert not transition.changed


def test_duplicate_report_changes_nothing() -> None:
    """The same status reported twice is not a change."""
    assert not apply_status(Status.SENT, Status.SENT).changed


def test_delivered_whatsapp_message_can_become_read() -> None:
    """`read` follows `delivered`, the one move out of a final status."""
    assert apply_status(Status.DELIVERED, Status.READ).current is Status.READ


def test_first_final_outcome_stands() -> None:
    """`delivered` after `undelivered` does not rewrite the outcome."""
    assert apply_status(Status.UNDELIVERED, Status.DELIVERED).current is Status.UNDELIVERED


def test_read_is_not_reached_from_a_failure() -> None:
    """A failed message never becomes read."""
    assert apply_status(Status.FAILED, Status.READ).current is Status.FAILED


@pytest.mark.parametrize(
    ("twilio", "herald"),
    [
        ("accepted", Status.QUEUED),
        ("queued", Status.QUEUED),
        ("sending", Status.SENDING),
        ("sent", Status.SENT),
        ("delivered", Status.DELIVERED),
        ("undelivered", Status.UNDELIVERED),
        ("failed", Status.FAILED),
        ("read", Status.READ),
        ("canceled", Status.CANCELED),
        (" Delivered ", Status.DELIVERED),
    ],
)
def test_twilio_statuses_map_to_herald_statuses(twilio: str, herald: Status) -> None:
    """Each of Twilio's message statuses has its Herald status."""
    assert from_twilio(twilio) is herald


def test_unknown_twilio_status_is_named() -> None:
    """An unknown status is a ValueError naming it and listing the known ones."""
    with pytest.raises(ValueError, match=r"'lost'.*delivered"):
        from_twilio("lost")


@given(st.lists(st.sampled_from(list(Status)), min_size=1, max_size=12))
def test_order_of_reports_never_moves_a_final_status_back(reports: list[Status]) -> None:
    """Whatever the order of reports, once final the status only ever goes delivered→read."""
    current = Status.ACCEPTED
    for reported in reports:
        after = apply_status(current, reported).current
        if current.is_final:
            assert after is current or (current, after) == (Status.DELIVERED, Status.READ)
        current = after


@given(st.permutations([Status.QUEUED, Status.SENDING, Status.SENT, Status.DELIVERED]))
def test_any_arrival_order_of_a_normal_lifecycle_ends_delivered(order: list[Status]) -> None:
    """Callbacks of one normal lifecycle, in any order, end in `delivered`."""
    current = Status.ACCEPTED
    for reported in order:
        current = apply_status(current, reported).current
    assert current is Status.DELIVERED


def test_every_pair_is_defined() -> None:
    """apply_status answers for every (current, reported) pair with one of the two."""
    for current, reported in itertools.product(Status, Status):
        assert apply_status(current, reported).current in {current, reported}
