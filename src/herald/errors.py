"""Herald's exceptions, one tree.

    HeraldError
    ├── InvalidInput               bad input from a person or an application; `detail` says how
    │   ├── InvalidPhoneNumber     not a number that can be reached (`reason` is machine-readable)
    │   ├── InvalidSender          an alphanumeric sender ID or `from` that cannot be used
    │   │   └── InvalidAlphanumericSender  an ID that breaks Twilio's rules (`reason`)
    │   └── InvalidSignature       a webhook signature header that cannot even be parsed
    ├── ConfigurationError         a setting that is missing, malformed or contradictory
    └── StorageError               the database cannot be reached or is not in the expected state

Each error carries a stable `code` (the API's problem documents and the CLI's one-line messages
use it) and a human `detail`. Errors from Twilio keep Twilio's own numeric code.
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


class ConfigurationError(HeraldError):
    """A setting that is missing, malformed or contradictory."""

    code = "configuration_error"


class StorageError(HeraldError):
    """The database cannot be reached, or its schema is not the one this Herald expects."""

    code = "storage_error"
