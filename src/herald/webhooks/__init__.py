"""Herald's intake of Twilio's webhooks: status callbacks and inbound messages.

    twilio.py        create_router(deps): POST /webhooks/twilio/status and /inbound
    deps.py          WebhookDeps
    forms.py         the form within limits, and the URLs Twilio may have signed
    verification.py  TwilioVerifier: X-Twilio-Signature with the tenant's auth token
    status.py        status callbacks: de-duplicated, forwards only, stored before the 200
    inbound.py       inbound messages: stored, keywords acted on, TwiML answered
    keywords.py      tenant keyword sets, the sender's language, the reply text

docs/webhooks.md is the long form.
"""

from __future__ import annotations

from herald.webhooks.deps import WebhookDeps
from herald.webhooks.twilio import create_router

__all__ = ["WebhookDeps", "create_router"]
