"""Status callbacks: de-duplicated, applied forwards only, stored before Twilio hears 200.

1. The callback's key is its `I-Twilio-Idempotency-Token` (the same on Twilio's retries of
   one event), else `MessageSid:MessageStatus`.
2. The report is applied by `StatusReports.apply` (source `callback`) with that key as its
   receipt: in one transaction the key is recorded, the report added to the message's
   history, the status changed only forwards, and the `message.status_changed` event
   appended. A key seen before is answered 200 and changes nothing; callbacks arriving
   together share the transaction.
3. A callback can overtake the worker: Twilio may call back before the worker has recorded
   the message's SID. Herald then waits up to `WebhookDeps.unknown_message_wait` seconds for
   the SID to appear; if it does not, the answer is 503 with `Retry-After`, and the key stays
   unrecorded, so that a retry of the callback is applied rather than skipped as a duplicate.
   The same holds for any failure while applying it: nothing of it was committed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from herald.domain.lifecycle import from_twilio
from herald.domain.records import HistorySource, Tenant
from herald.storage.reports import SEEN, StatusReport
from herald.webhooks.deps import WebhookDeps
from herald.webhooks.forms import Form, Rejected

logger = logging.getLogger("herald.webhooks")

IDEMPOTENCY_HEADER: Final = "I-Twilio-Idempotency-Token"
_POLL_SECONDS: Final = 0.1
_MAX_TOKEN: Final = 255  # the receipts' key column
_MAX_STATUS: Final = 32  # the history's provider_status column
_MAX_ERROR_DIGITS: Final = 9  # Twilio's error codes have 5; more is not one, and overflows


def receipt_key(form: Form, token: str | None) -> str:
    """The de-duplication key of a status callback; `Rejected` for a token too long to keep."""
    if token:
        if len(token) > _MAX_TOKEN:
            raise Rejected(
                400,
                f"{IDEMPOTENCY_HEADER} is longer than {_MAX_TOKEN} characters.",
                "invalid_parameter",
            )
        return token
    return f"{form.required('MessageSid')}:{form.required('MessageStatus')}"


async def handle_status(
    deps: WebhookDeps, tenants: list[Tenant], form: Form, token: str | None
) -> str:
    """Apply one status callback (see the module docstring); `Rejected` to be tried again.

    Returns the outcome for the counter: `accepted`, `duplicate` or `unknown_status`.
    """
    sid = form.required("MessageSid")
    status_text = form.required("MessageStatus", max_length=_MAX_STATUS)
    key = receipt_key(form, token)
    try:
        reported = from_twilio(status_text)
    except ValueError:
        # Retrying cannot help with a status Herald does not know; the callback is kept out.
        if not await deps.receipts.first_time(key, received_at=deps.now()):
            return "duplicate"
        logger.warning("status callback for %s: unknown status %r ignored", sid, status_text)
        return "unknown_status"
    error = form.get("ErrorCode")
    # Several tenants on one account: the SID alone says whose message it is.
    tenant_id = tenants[0].id if len(tenants) == 1 else None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deps.unknown_message_wait
    while True:
        now = deps.now()
        outcome = await deps.reports.apply(
            StatusReport(
                reported=reported,
                occurred_at=now,
                now=now,
                source=HistorySource.CALLBACK,
                provider_sid=sid,
                tenant_id=tenant_id,
                provider_status=status_text,
                error_code=_error_code(error),
                error_message=form.get("ErrorMessage") or None,
                receipt=key,
            )
        )
        if outcome is SEEN:
            return "duplicate"
        if outcome is not None:
            return "accepted"
        if loop.time() >= deadline:
            logger.info("status callback for %s: no such message (yet); Twilio retries", sid)
            raise Rejected(
                503, f"Message {sid} is not known yet; try again later.", "unknown_message"
            )
        await asyncio.sleep(_POLL_SECONDS)


def _error_code(text: str) -> int | None:
    """Twilio's `ErrorCode` as a number; None when it is missing or not an error code."""
    if text.isascii() and text.isdigit() and len(text) <= _MAX_ERROR_DIGITS:
        return int(text)
    return None
