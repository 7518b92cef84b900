"""Herald's exceptions, one tree.

    HeraldError
    ├── InvalidInput               bad input from a person or an application; `detail` says how
    │   ├── InvalidPhoneNumber     not a number that can be reached (`reason` is machine-readable)
    │   ├── InvalidSender          an alphanumeric sender ID or `from` that cannot be used
    │   │   └── InvalidAlphanumericSender  an ID that breaks Twilio's rules (`reason`)
    │   └── InvalidSignature       a webhook signature header that cannot even be parsed
    ├── Conflict                   the request contradicts what is already stored (HTTP 409)
    │   └── IdempotencyConflict    an Idempotency-Key reused with a different request
    ├── ConfigurationError         a setting that is missing, malformed or contradictory
    ├── StorageError               the database cannot be reached or is not in the expected state
    ├── ProblemError               a refusal with an API problem code (herald.domain.problems)
    └── ProviderError              Twilio (or the emulator) refused or failed a request
        ├── ProviderUnavailable    no answer, and nothing can have changed there: safe to retry
        └── AmbiguousSend          no answer, but the request may have arrived: look it up first

Each error carries a stable `code` (the API's problem documents and the CLI's one-line messages
use it) and a human `detail`. Errors from Twilio keep Twilio's own numeric code, as
`ProviderError.provider_code` (`code` stays Herald's stable string).
"""

from __future__ import annotations


class HeraldError(Exception):
    """Base of every error Herald raises on purpose."""

    code = "herald_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(HeraldError):
    """Input that Herald refuses; nothing was changed."""

    code = "invalid_input"


class InvalidPhoneNumber(InvalidInput):
    """A phone number that cannot be parsed or cannot receive messages.

    `reason` is one of the stable strings in `herald.domain.phone.REASONS`.
    """

    code = "invalid_phone_number"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class InvalidSender(InvalidInput):
    """A sender (alphanumeric ID, number or address) that cannot be used as given."""

    code = "invalid_sender"


class InvalidAlphanumericSender(InvalidSender):
    """An alphanumeric sender ID that Twilio would refuse, or that cannot reach the recipient.

    `reason` is one of the stable strings in `herald.domain.alphanumeric.REASONS`.
    """

    code = "invalid_alphanumeric_sender"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class InvalidSignature(InvalidInput):
    """A signature header that is malformed (a merely wrong signature is `False`, not an error)."""

    code = "invalid_signature"


class Conflict(HeraldError):
    """A request that contradicts what is stored (a duplicate name, a message already sent)."""

    code = "conflict"


class IdempotencyConflict(Conflict):
    """An Idempotency-Key that was first used with a different request.

    `message_id` is the message the key created the first time.
    """

    code = "idempotency_conflict"

    def __init__(self, detail: str, *, message_id: str) -> None:
        super().__init__(detail)
        self.message_id = message_id


class RecipientOptedOut(Conflict):
    """The recipient opted out of the channel, found as the message was being committed."""

    code = "recipient_opted_out"


class ConfigurationError(HeraldError):
    """A setting that is missing, malformed or contradictory."""

    code = "configuration_error"


class StorageError(HeraldError):
    """The database cannot be reached, or its schema is not the one this Herald expects."""

    code = "storage_error"


class ProviderError(HeraldError):
    """A provider answered a request with an error, or could not be asked at all.

    `provider_code` is Twilio's numeric error code (`21211`, `20429`, ...; `None` when no answer
    came), `status` the HTTP status (`None` without an answer), `message` and `more_info` Twilio's
    own words and link. `retryable` says whether the same request may be sent again unchanged;
    `retry_after` is the provider's requested pause in seconds (`Retry-After`), if it gave one.
    """

    code = "provider_error"

    def __init__(
        self,
        detail: str,
        *,
        provider_code: int | None = None,
        status: int | None = None,
        message: str = "",
        more_info: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.provider_code = provider_code
        self.status = status
        self.message = message or detail
        self.more_info = more_info
        self.retryable = retryable
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """No answer came, and nothing can have changed at the provider.

    The connection failed before the request left (refused, DNS, connect time-out, reset before
    any of the body was written), or the request was a read. Always `retryable`.
    """

    code = "provider_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retryable=True)


class AmbiguousSend(ProviderError):
    """The request may have reached the provider, but no answer came back.

    A time-out after the request was written, a connection reset or closed before the response:
    the message may or may not exist. Never `retryable` as such: the caller must look the message
    up (`find_message`) and resend only if it provably was not created.
    """

    code = "ambiguous_send"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retryable=False)
