"""Shared request builders for the send policy's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from herald.domain.phone import Channel
from herald.domain.policy import SendContext, SendPlan, SendRequest, TenantDefaults, plan_send
from herald.domain.problems import ProblemError
from herald.domain.templates import Template

NOW = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
MG = "MG" + "0123456789abcdef" * 2
CONTENT_SID = "HX" + "0123456789abcdef" * 2
NL_MOBILE = "+31612345678"
NL_SENDER = "+31687654321"
TENANT = TenantDefaults(
    default_region="NL",
    default_sender=NL_SENDER,
    messaging_service_sid=MG,
    templates={
        "otp": Template("otp", "Your code is {{code}}."),
        "hello": Template("hello", "Hi {{name}}, {{shop}} here."),
        "wa_only": Template("wa_only", "Hi {{name}}", Channel.WHATSAPP),
        "blank": Template("blank", "{{text}}"),
    },
)
_CONTENT_FIELDS = {"body", "template", "content_sid", "media_urls"}


def plan(
    *,
    tenant: TenantDefaults = TENANT,
    now: datetime = NOW,
    opted_out: bool = False,
    last_inbound: datetime | None = None,
    **fields: Any,
) -> SendPlan:
    """Plan a request for an NL mobile by SMS saying "Hello", with `fields` changed."""
    fields.setdefault("channel", Channel.SMS)
    fields.setdefault("to", NL_MOBILE)
    if not _CONTENT_FIELDS & fields.keys():
        fields["body"] = "Hello"
    context = SendContext(tenant, now, opted_out=opted_out, whatsapp_last_inbound_at=last_inbound)
    return plan_send(SendRequest(**fields), context)


def refused(code: str, **fields: Any) -> ProblemError:
    """The refusal `plan(**fields)` raises, checked to carry `code`."""
    with pytest.raises(ProblemError) as caught:
        plan(**fields)
    assert caught.value.code == code, caught.value.detail
    return caught.value
