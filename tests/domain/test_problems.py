"""Every refusal maps to a stable problem code with a valid HTTP status and a hint."""

from __future__ import annotations

import http
import json

import pytest

from herald.domain import problems
from herald.domain.problems import (
    PROBLEM_TYPE_BASE,
    PROBLEMS,
    STANDARD_MEMBERS,
    ProblemCode,
    ProblemError,
    problem_for,
)
from herald.errors import (
    ConfigurationError,
    Conflict,
    HeraldError,
    IdempotencyConflict,
    InvalidAlphanumericSender,
    InvalidInput,
    InvalidPhoneNumber,
    InvalidSender,
    ProviderUnavailable,
    StorageError,
)

REQUIRED_CODES = {
    "invalid_request",
    "invalid_recipient",
    "recipient_not_mobile",
    "unknown_country_code",
    "missing_country_code",
    "sender_not_allowed",
    "sender_cannot_receive_replies",
    "body_empty",
    "body_too_long",
    "recipient_opted_out",
    "whatsapp_window_closed",
    "unknown_template",
    "missing_template_variable",
    "idempotency_conflict",
    "not_found",
    "unauthorized",
    "forbidden",
    "rate_limited",
    "service_unavailable",
    "schema_outdated",
}


def test_all_names_exactly_the_public_api() -> None:
    """`__all__` names exactly the public API, and every name in it exists."""
    assert sorted(problems.__all__) == [
        "PROBLEMS",
        "PROBLEM_TYPE_BASE",
        "Problem",
        "ProblemCode",
        "ProblemError",
        "STANDARD_MEMBERS",
        "problem_for",
    ]
    assert all(hasattr(problems, name) for name in problems.__all__)


def test_catalogue_holds_every_code_once() -> None:
    """Each `ProblemCode` has exactly one entry, filed under its own code."""
    assert set(PROBLEMS) == set(ProblemCode)
    assert all(code is problem.code for code, problem in PROBLEMS.items())


def test_catalogue_has_the_codes_the_api_promises() -> None:
    """The codes the gateway's issue and API rely on are all in the catalogue."""
    assert {code.value for code in ProblemCode} >= REQUIRED_CODES


@pytest.mark.parametrize("problem", PROBLEMS.values(), ids=lambda problem: problem.code.value)
def test_status_is_an_http_error_status(problem: problems.Problem) -> None:
    """Every status is a registered HTTP status of the 4xx or 5xx classes."""
    assert problem.status in {status.value for status in http.HTTPStatus}
    assert 400 <= problem.status < 600


@pytest.mark.parametrize("problem", PROBLEMS.values(), ids=lambda problem: problem.code.value)
def test_every_problem_has_a_title_and_a_hint(problem: problems.Problem) -> None:
    """Every problem says what it is and, as a sentence, what to do about it."""
    assert problem.title.strip()
    assert problem.hint.strip()
    assert problem.hint.endswith(".")


def test_titles_are_unique() -> None:
    """No two problems share a title, so a person reading one can tell them apart."""
    titles = [problem.title for problem in PROBLEMS.values()]
    assert len(titles) == len(set(titles))


def test_type_uri_is_the_base_followed_by_the_code() -> None:
    """A problem's `type` is the documented base URI plus its code."""
    problem = PROBLEMS[ProblemCode.RECIPIENT_OPTED_OUT]
    assert problem.type == "https://herald.dev/problems/recipient_opted_out"
    assert problem.type.startswith(PROBLEM_TYPE_BASE)


def test_codes_are_snake_case() -> None:
    """Codes are lower-case words joined by underscores, fit for URIs and switch statements."""
    assert all(code.value.replace("_", "").isalpha() for code in ProblemCode)
    assert all(code.value == code.value.lower() for code in ProblemCode)


def test_validation_problems_are_422() -> None:
    """Refusals of a well-formed request by a sending rule answer 422."""
    assert PROBLEMS[ProblemCode.RECIPIENT_OPTED_OUT].status == 422
    assert PROBLEMS[ProblemCode.INVALID_REQUEST].status == 422


def test_idempotency_conflict_is_409() -> None:
    """A reused Idempotency-Key with a different request answers 409."""
    assert PROBLEMS[ProblemCode.IDEMPOTENCY_CONFLICT].status == 409


def test_error_document_has_the_rfc_9457_members() -> None:
    """The document carries type, title, status, detail, code and hint."""
    error = ProblemError(ProblemCode.BODY_EMPTY, "The body is empty.")
    assert error.document() == {
        "type": "https://herald.dev/problems/body_empty",
        "title": "Message is empty",
        "status": 422,
        "detail": "The body is empty.",
        "code": "body_empty",
        "hint": PROBLEMS[ProblemCode.BODY_EMPTY].hint,
    }


def test_error_document_includes_the_instance_when_given() -> None:
    """`instance` names the request path the problem occurred on."""
    error = ProblemError("not_found", "No message msg_1.")
    assert error.document(instance="/v1/messages/msg_1")["instance"] == "/v1/messages/msg_1"


def test_error_document_carries_extension_members() -> None:
    """Extra keyword arguments become extension members of the document."""
    error = ProblemError(ProblemCode.MISSING_TEMPLATE_VARIABLE, "x", missing=["name"])
    assert error.document()["missing"] == ["name"]


def test_error_document_is_json() -> None:
    """The document serialises to JSON as it is."""
    error = ProblemError(ProblemCode.RATE_LIMITED, "Slow down.", retry_after=1.5)
    assert json.loads(json.dumps(error.document()))["retry_after"] == 1.5


def test_extension_member_may_not_shadow_a_standard_one() -> None:
    """An extension member named like a standard member is a programming error."""
    with pytest.raises(ValueError, match="status"):
        ProblemError(ProblemCode.NOT_FOUND, "x", status=500)


def test_standard_members_are_the_documented_ones() -> None:
    """The reserved member names are RFC 9457's five plus Herald's code and hint."""
    assert {"type", "title", "status", "detail", "instance", "code", "hint"} == STANDARD_MEMBERS


def test_unknown_code_is_refused() -> None:
    """A code outside the catalogue cannot be raised."""
    with pytest.raises(ValueError, match="no_such_code"):
        ProblemError("no_such_code", "x")


def test_hint_can_be_made_more_precise() -> None:
    """A hint given with the error replaces the catalogue's default."""
    error = ProblemError(ProblemCode.NOT_FOUND, "x", hint="List your messages first.")
    assert error.document()["hint"] == "List your messages first."


def test_error_exposes_code_status_and_title() -> None:
    """The error carries its code as a string, and its problem's status and title."""
    error = ProblemError(ProblemCode.UNAUTHORIZED, "No key.")
    assert (error.code, error.status, error.title) == ("unauthorized", 401, "Unauthorized")


def test_problem_error_is_a_herald_error() -> None:
    """ProblemError sits in Herald's exception tree, with `detail` like every other."""
    error = ProblemError(ProblemCode.FORBIDDEN, "Not yours.")
    assert isinstance(error, HeraldError)
    assert error.detail == "Not yours."


def test_problem_for_keeps_a_problem_error() -> None:
    """A ProblemError is already its own problem."""
    error = ProblemError(ProblemCode.FORBIDDEN, "Not yours.")
    assert problem_for(error) is error


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("not_sms_capable", ProblemCode.RECIPIENT_NOT_MOBILE),
        ("invalid_country_code", ProblemCode.UNKNOWN_COUNTRY_CODE),
        ("missing_country_code", ProblemCode.MISSING_COUNTRY_CODE),
        ("too_short", ProblemCode.INVALID_RECIPIENT),
        ("not_a_number", ProblemCode.INVALID_RECIPIENT),
    ],
)
def test_problem_for_phone_number_follows_its_reason(reason: str, code: ProblemCode) -> None:
    """An invalid phone number maps to the recipient problem its reason names."""
    problem = problem_for(InvalidPhoneNumber("bad number", reason=reason))
    assert problem.code == code.value
    assert problem.extra["reason"] == reason


def test_problem_for_alphanumeric_sender_refused_by_country() -> None:
    """An alphanumeric ID refused by the recipient's country is `sender_not_allowed`."""
    error = InvalidAlphanumericSender("not here", reason="not_supported_in_country")
    assert problem_for(error).code == "sender_not_allowed"


def test_problem_for_malformed_alphanumeric_sender() -> None:
    """A malformed alphanumeric ID is `invalid_sender`."""
    error = InvalidAlphanumericSender("too long", reason="too_long")
    assert problem_for(error).code == "invalid_sender"


def test_problem_for_invalid_sender() -> None:
    """Any other unusable sender is `invalid_sender`, with its detail."""
    problem = problem_for(InvalidSender("not a short code"))
    assert (problem.code, problem.detail) == ("invalid_sender", "not a short code")


def test_problem_for_other_invalid_input() -> None:
    """Other bad input is `invalid_request`, with its detail."""
    assert problem_for(InvalidInput("bad")).code == "invalid_request"


def test_problem_for_idempotency_conflict_names_the_first_message() -> None:
    """An idempotency conflict is a 409 naming the message the key created first."""
    problem = problem_for(IdempotencyConflict("reused", message_id="msg_1"))
    assert (problem.code, problem.status, problem.extra["message_id"]) == (
        "idempotency_conflict",
        409,
        "msg_1",
    )


def test_problem_for_conflict() -> None:
    """A conflict with stored state is `conflict`."""
    assert problem_for(Conflict("name taken")).code == "conflict"


def test_problem_for_storage_error_hides_its_detail() -> None:
    """A database failure is `service_unavailable` without the database's own words."""
    problem = problem_for(StorageError("password authentication failed for user herald"))
    assert problem.code == "service_unavailable"
    assert "password" not in problem.detail


def test_problem_for_provider_error_is_service_unavailable() -> None:
    """A provider that cannot be reached makes the service unavailable."""
    assert problem_for(ProviderUnavailable("connect failed")).code == "service_unavailable"


def test_problem_for_configuration_error_is_internal_and_hidden() -> None:
    """Herald's own misconfiguration is `internal_error`, its detail kept for the log."""
    problem = problem_for(ConfigurationError("HERALD_SECRET_KEY is malformed"))
    assert problem.code == "internal_error"
    assert "SECRET" not in problem.detail
