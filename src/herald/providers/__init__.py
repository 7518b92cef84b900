"""Providers: Herald's clients for the services that carry its messages.

`MessagingProvider` is the port the worker and the API use; `TwilioClient` implements it over
HTTP (aiohttp, session passed in), `FakeTwilio` in memory. Failures are
`herald.errors.ProviderError` and its subclasses `ProviderUnavailable` (safe to retry) and
`AmbiguousSend` (look the message up first); `RetryPolicy` says when to try again.
"""

from __future__ import annotations

from herald.providers.fake import LOST_RESPONSE, FakeTwilio, Outcome
from herald.providers.lookup import MessageLookup
from herald.providers.models import (
    AvailableNumber,
    IncomingNumber,
    MessagingService,
    ProviderMessage,
    SendRequest,
    ServiceNumber,
)
from herald.providers.port import MessagingProvider
from herald.providers.retry import RetryPolicy
from herald.providers.twilio import TwilioClient, TwilioCredentials

__all__ = [
    "LOST_RESPONSE",
    "AvailableNumber",
    "FakeTwilio",
    "IncomingNumber",
    "MessageLookup",
    "MessagingProvider",
    "MessagingService",
    "Outcome",
    "ProviderMessage",
    "RetryPolicy",
    "SendRequest",
    "ServiceNumber",
    "TwilioClient",
    "TwilioCredentials",
]
