"""The catalogue of problem codes Herald's API answers with (RFC 9457 problem details).

Every refusal the API makes is an `application/problem+json` document:

    {"type": "https://herald.dev/problems/recipient_opted_out",
     "title": "Recipient opted out", "status": 422, "code": "recipient_opted_out",
     "detail": "+31612345678 opted out of sms from this tenant (replied STOP) ...",
     "hint": "Do not send to this person on this channel until they reply START ..."}

`code` is the stable, machine-readable key: clients branch on it, never on `title` or
`detail`. `type` is derived from it (`PROBLEM_TYPE_BASE` + code), so it is just as stable; it
identifies the problem and is documented in docs/sending-rules.md, whether or not the address
resolves. Codes are only ever added, never renamed or given another status.

Code that refuses something raises `ProblemError(code, detail, **extra)`; the API's single
error handler turns it into the document with `ProblemError.document()`. Other Herald errors
are mapped onto a problem by `problem_for(error)`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from herald.errors import (
    Conflict,
    HeraldError,
    IdempotencyConflict,
    InvalidAlphanumericSender,
    InvalidInput,
    InvalidPhoneNumber,
    InvalidSender,
    ProviderError,
    StorageError,
)

__all__ = [
    "PROBLEMS",
    "PROBLEM_TYPE_BASE",
    "STANDARD_MEMBERS",
    "Problem",
    "ProblemCode",
    "ProblemError",
    "problem_for",
]

PROBLEM_TYPE_BASE: Final = "https://herald.dev/problems/"
"""Each problem's `type` URI is this base followed by its code."""

STANDARD_MEMBERS: Final = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "hint"}
)
"""Members every problem document may carry; extension members must use other names."""


class ProblemCode(enum.StrEnum):
    """Every problem code Herald's API uses."""

    INVALID_REQUEST = "invalid_request"
    INVALID_RECIPIENT = "invalid_recipient"
    MISSING_COUNTRY_CODE = "missing_country_code"
    UNKNOWN_COUNTRY_CODE = "unknown_country_code"
    RECIPIENT_NOT_MOBILE = "recipient_not_mobile"
    CHANNEL_MISMATCH = "channel_mismatch"
    INVALID_SENDER = "invalid_sender"
    SENDER_REQUIRED = "sender_required"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    SENDER_CANNOT_RECEIVE_REPLIES = "sender_cannot_receive_replies"
    CONFLICTING_CONTENT = "conflicting_content"
    BODY_EMPTY = "body_empty"
    BODY_TOO_LONG = "body_too_long"
    INVALID_SEND_AT = "invalid_send_at"
    UNKNOWN_TEMPLATE = "unknown_template"
    MISSING_TEMPLATE_VARIABLE = "missing_template_variable"
    INVALID_TEMPLATE = "invalid_template"
    RECIPIENT_OPTED_OUT = "recipient_opted_out"
    WHATSAPP_WINDOW_CLOSED = "whatsapp_window_closed"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    VERIFICATION_THROTTLED = "verification_throttled"
    REQUEST_TOO_LARGE = "request_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    SCHEMA_OUTDATED = "schema_outdated"


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One kind of problem: its code, HTTP status, short title and what to do about it."""

    code: ProblemCode
    status: int
    title: str
    hint: str

    @property
    def type(self) -> str:
        """The problem's `type` URI: `https://herald.dev/problems/<code>`."""
        return PROBLEM_TYPE_BASE + self.code.value


_UNPROCESSABLE = 422

_CATALOGUE: Final = (
    Problem(
        ProblemCode.INVALID_REQUEST,
        _UNPROCESSABLE,
        "Invalid request",
        "Fix the fields named in the detail; the API reference lists each field's type.",
    ),
    Problem(
        ProblemCode.INVALID_RECIPIENT,
        _UNPROCESSABLE,
        "Invalid recipient",
        "Give `to` as a phone number in E.164 form, e.g. +31612345678.",
    ),
    Problem(
        ProblemCode.MISSING_COUNTRY_CODE,
        _UNPROCESSABLE,
        "Recipient has no country code",
        "Write the number with + and its country code, or set the tenant's default region.",
    ),
    Problem(
        ProblemCode.UNKNOWN_COUNTRY_CODE,
        _UNPROCESSABLE,
        "Unknown country code",
        "Check the digits after the +: they must start with a country code that exists.",
    ),
    Problem(
        ProblemCode.RECIPIENT_NOT_MOBILE,
        _UNPROCESSABLE,
        "Recipient cannot receive SMS",
        "Send SMS to a mobile number; reach a landline by voice call or e-mail instead.",
    ),
    Problem(
        ProblemCode.CHANNEL_MISMATCH,
        _UNPROCESSABLE,
        "Part of the request belongs to another channel",
        "Use `whatsapp:` addresses, senders and templates only with channel whatsapp, "
        "and plain numbers with channel sms.",
    ),
    Problem(
        ProblemCode.INVALID_SENDER,
        _UNPROCESSABLE,
        "Invalid sender",
        "Give `from` as one of your Twilio numbers, a short code, a Messaging Service SID "
        "(MG...), an alphanumeric sender ID or a whatsapp: address.",
    ),
    Problem(
        ProblemCode.SENDER_REQUIRED,
        _UNPROCESSABLE,
        "No sender",
        "Give `from`, or configure a default sender or Messaging Service for the tenant.",
    ),
    Problem(
        ProblemCode.SENDER_NOT_ALLOWED,
        _UNPROCESSABLE,
        "Sender not allowed to this country",
        "Send from a phone number, short code or Messaging Service to this country.",
    ),
    Problem(
        ProblemCode.SENDER_CANNOT_RECEIVE_REPLIES,
        _UNPROCESSABLE,
        "Sender cannot receive replies",
        "Send from a phone number or Messaging Service when you expect the recipient to reply.",
    ),
    Problem(
        ProblemCode.CONFLICTING_CONTENT,
        _UNPROCESSABLE,
        "Conflicting message content",
        "Give exactly one of `body`, `template` (with `variables`) or `content_sid` (with "
        "`content_variables`); `media_urls` go with `body` or `template`.",
    ),
    Problem(
        ProblemCode.BODY_EMPTY,
        _UNPROCESSABLE,
        "Message is empty",
        "Give a `body` with some text, a `template`, a `content_sid` or `media_urls`.",
    ),
    Problem(
        ProblemCode.BODY_TOO_LONG,
        _UNPROCESSABLE,
        "Message is too long",
        "Shorten the body to at most 1,600 characters, or send it as several messages.",
    ),
    Problem(
        ProblemCode.INVALID_SEND_AT,
        _UNPROCESSABLE,
        "Invalid send_at",
        "Give `send_at` as an ISO 8601 time with a UTC offset, e.g. 2030-01-31T09:00:00+01:00, "
        "no earlier than now and at most a year ahead.",
    ),
    Problem(
        ProblemCode.UNKNOWN_TEMPLATE,
        _UNPROCESSABLE,
        "Unknown template",
        "Use the name of one of the tenant's templates, or create the template first.",
    ),
    Problem(
        ProblemCode.MISSING_TEMPLATE_VARIABLE,
        _UNPROCESSABLE,
        "Template variable missing",
        "Give a value in `variables` for every {{name}} in the template.",
    ),
    Problem(
        ProblemCode.INVALID_TEMPLATE,
        _UNPROCESSABLE,
        "Invalid template",
        "Write placeholders as {{name}} (letters, digits, _ and . in the name) and close every "
        "{{ with }}.",
    ),
    Problem(
        ProblemCode.RECIPIENT_OPTED_OUT,
        _UNPROCESSABLE,
        "Recipient opted out",
        "Do not send to this person on this channel until they opt in again (e.g. reply "
        "START), or lift the opt-out with DELETE /v1/opt-outs/{address} if they asked you to.",
    ),
    Problem(
        ProblemCode.WHATSAPP_WINDOW_CLOSED,
        _UNPROCESSABLE,
        "WhatsApp window closed",
        "Outside the 24 hours after the customer's last message, send an approved WhatsApp "
        "template: give `content_sid` (HX...) and `content_variables` instead of a body.",
    ),
    Problem(
        ProblemCode.IDEMPOTENCY_CONFLICT,
        409,
        "Idempotency key reused",
        "Use a new Idempotency-Key for a different request; repeat a request only unchanged.",
    ),
    Problem(
        ProblemCode.CONFLICT,
        409,
        "Conflicts with what is stored",
        "Read the resource's current state, then change your request to fit it (a name may "
        "already be taken; a message already sent cannot be changed).",
    ),
    Problem(
        ProblemCode.NOT_FOUND,
        404,
        "Not found",
        "Check the id or address in the URL; resources of other tenants are never visible.",
    ),
    Problem(
        ProblemCode.METHOD_NOT_ALLOWED,
        405,
        "Method not allowed",
        "Use one of the methods listed in the Allow header.",
    ),
    Problem(
        ProblemCode.UNAUTHORIZED,
        401,
        "Unauthorized",
        "Send the header `Authorization: Bearer <api key>` with a key that has not been revoked.",
    ),
    Problem(
        ProblemCode.FORBIDDEN,
        403,
        "Forbidden",
        "Use an API key that is allowed to do this; no key reaches another tenant's data.",
    ),
    Problem(
        ProblemCode.RATE_LIMITED,
        429,
        "Too many requests",
        "Wait for the number of seconds in the Retry-After header, then try again.",
    ),
    Problem(
        ProblemCode.VERIFICATION_THROTTLED,
        429,
        "Too many verifications",
        "Wait for the number of seconds in the Retry-After header; `throttle` says whether the "
        "number, your client's IP or the number's range was refused.",
    ),
    Problem(
        ProblemCode.REQUEST_TOO_LARGE,
        413,
        "Request too large",
        "Send a request body of at most `max_bytes` bytes; a message's text is at most 1,600 "
        "characters.",
    ),
    Problem(
        ProblemCode.REQUEST_TIMEOUT,
        408,
        "Request timeout",
        "Send the whole request body within `timeout_seconds` seconds of its headers; a slow or "
        "stalled upload is cut off so that it cannot hold the server.",
    ),
    Problem(
        ProblemCode.INTERNAL_ERROR,
        500,
        "Internal error",
        "Retry the request with the same Idempotency-Key; if it persists, report it with the "
        "time and the request.",
    ),
    Problem(
        ProblemCode.SERVICE_UNAVAILABLE,
        503,
        "Service unavailable",
        "Retry with the same Idempotency-Key after the Retry-After interval; nothing was sent.",
    ),
    Problem(
        ProblemCode.SCHEMA_OUTDATED,
        503,
        "Database schema outdated",
        "Run `herald migrate` against this database, then restart Herald.",
    ),
)

PROBLEMS: Final[Mapping[ProblemCode, Problem]] = MappingProxyType(
    {problem.code: problem for problem in _CATALOGUE}
)
"""Every problem, by code."""


class ProblemError(HeraldError):
    """A refusal the API reports as a problem document with a stable `code`.

    `detail` says what was wrong with this very request and what to do; `extra` holds
    extension members (JSON-ready values) such as the missing template variables. `hint`
    replaces the problem's default hint when a more precise one is known.
    """

    def __init__(
        self, code: ProblemCode | str, detail: str, *, hint: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        try:
            self.problem = PROBLEMS[ProblemCode(code)]
        except ValueError:
            raise ValueError(f"{code!r} is not a problem code in herald.domain.problems") from None
        clashes = sorted(STANDARD_MEMBERS & extra.keys())
        if clashes:
            raise ValueError(f"extension members may not be named {', '.join(clashes)}")
        self.code = self.problem.code.value
        self.hint = hint or self.problem.hint
        self.extra: Mapping[str, Any] = MappingProxyType(dict(extra))

    @property
    def status(self) -> int:
        """The HTTP status the API answers with."""
        return self.problem.status

    @property
    def title(self) -> str:
        """The problem's short, unchanging title."""
        return self.problem.title

    def document(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document; `instance` is the request path, when given."""
        body: dict[str, Any] = {
            "type": self.problem.type,
            "title": self.problem.title,
            "status": self.problem.status,
            "detail": self.detail,
            "code": self.code,
            "hint": self.hint,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extra)
        return body

    def __repr__(self) -> str:
        return f"ProblemError({self.code!r}, {self.detail!r})"


_PHONE_REASONS: Final = {
    "not_sms_capable": ProblemCode.RECIPIENT_NOT_MOBILE,
    "invalid_country_code": ProblemCode.UNKNOWN_COUNTRY_CODE,
    "missing_country_code": ProblemCode.MISSING_COUNTRY_CODE,
}

# Most specific first: the first class an error is an instance of decides its problem.
_BY_CLASS: Final[tuple[tuple[type[HeraldError], ProblemCode, str | None], ...]] = (
    (InvalidSender, ProblemCode.INVALID_SENDER, None),
    (InvalidInput, ProblemCode.INVALID_REQUEST, None),
    (Conflict, ProblemCode.CONFLICT, None),
    (StorageError, ProblemCode.SERVICE_UNAVAILABLE, "Herald's database is not available."),
    (ProviderError, ProblemCode.SERVICE_UNAVAILABLE, "Twilio could not be reached."),
)


def problem_for(error: HeraldError) -> ProblemError:
    """The problem an error raised elsewhere in Herald is reported as.

    Phone numbers are taken to be recipients (the API's only free-text numbers besides `from`,
    which the send policy reports itself). Errors of Herald's own making (configuration, the
    database, the provider) keep their detail out of the document: it is for the log.
    """
    if isinstance(error, ProblemError):
        return error
    if isinstance(error, InvalidPhoneNumber):
        code = _PHONE_REASONS.get(error.reason, ProblemCode.INVALID_RECIPIENT)
        return ProblemError(code, error.detail, reason=error.reason)
    if isinstance(error, InvalidAlphanumericSender) and error.reason == "not_supported_in_country":
        return ProblemError(ProblemCode.SENDER_NOT_ALLOWED, error.detail)
    if isinstance(error, IdempotencyConflict):
        return ProblemError(
            ProblemCode.IDEMPOTENCY_CONFLICT, error.detail, message_id=error.message_id
        )
    for kind, code, shown in _BY_CLASS:
        if isinstance(error, kind):
            return ProblemError(code, shown or error.detail)
    return ProblemError(ProblemCode.INTERNAL_ERROR, "Herald could not complete the request.")
