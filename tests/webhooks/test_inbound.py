"""Inbound messages: stored once, keywords acted on in every country, answered with TwiML."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.phone import Channel
from herald.domain.records import Tenant
from herald.storage.crypto import SecretBox
from herald.storage.inbound import InboundRepository
from herald.storage.optouts import OptOutRepository
from herald.storage.tenants import TenantRepository
from tests.webhooks.webhook_helpers import START, inbound_form, twilio_post

PATH = "/webhooks/twilio/inbound"
DUTCH = "+31612345678"
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _reply(text: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{text}</Message></Response>'


async def _opted_out(engine: AsyncEngine, tenant: Tenant, channel: Channel = Channel.SMS) -> bool:
    return await OptOutRepository(engine).is_opted_out(tenant.id, channel, DUTCH)


async def test_stop_from_a_dutch_number_opts_out_with_a_dutch_confirmation(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """STOP from +316... records the opt-out and answers in Dutch, as TwiML."""
    answer = await twilio_post(app, PATH, inbound_form("STOP"))
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.body == _reply(
        "Jansen: je bent afgemeld en ontvangt geen berichten meer. "
        "Stuur START om je weer aan te melden."
    )
    assert await _opted_out(engine, tenant)


async def test_afmelden_opts_out(app: FastAPI, engine: AsyncEngine, tenant: Tenant) -> None:
    """The Dutch word AFMELDEN is an opt-out too."""
    await twilio_post(app, PATH, inbound_form("Afmelden"))
    assert await _opted_out(engine, tenant)


async def test_the_opt_out_is_recorded_as_a_keyword(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """The opt-out's source is the keyword, and the word is kept."""
    await twilio_post(app, PATH, inbound_form("stop"))
    state = await OptOutRepository(engine).get(tenant.id, Channel.SMS, DUTCH)
    assert state is not None
    assert (state.source.value, state.keyword) == ("keyword", "STOP")


async def test_start_opts_back_in_with_a_confirmation(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """START after STOP lifts the opt-out and confirms it."""
    await twilio_post(app, PATH, inbound_form("STOP", sid="SM" + "1" * 32))
    answer = await twilio_post(app, PATH, inbound_form("START", sid="SM" + "2" * 32))
    assert answer.body == _reply(
        "Jansen: je bent weer aangemeld. Stuur STOP om je af te melden, HELP voor hulp."
    )
    assert not await _opted_out(engine, tenant)


async def test_help_is_answered_without_changing_anything(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """HELP gets the help text and records no opt-out."""
    answer = await twilio_post(app, PATH, inbound_form("help"))
    assert answer.body == _reply(
        "Jansen: stuur STOP om je af te melden, START om je weer aan te melden."
    )
    assert await OptOutRepository(engine).get(tenant.id, Channel.SMS, DUTCH) is None


async def test_an_ordinary_message_is_stored_and_answered_with_nothing(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """A message that is not a keyword gets an empty Response and is stored."""
    answer = await twilio_post(app, PATH, inbound_form("Stop sending me offers please"))
    assert answer.body == EMPTY
    (stored,) = await InboundRepository(engine).list(tenant.id)
    assert (stored.body, stored.keyword_kind.value) == ("Stop sending me offers please", "none")


async def test_a_retried_inbound_is_stored_once_and_answered_again(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """Twilio's retry of one message stores nothing twice and gets the same answer."""
    first = await twilio_post(app, PATH, inbound_form("STOP"))
    second = await twilio_post(app, PATH, inbound_form("STOP"))
    assert first.body == second.body
    assert len(await InboundRepository(engine).list(tenant.id)) == 1
    assert len(await OptOutRepository(engine).history(tenant.id, Channel.SMS, DUTCH)) == 1


async def test_whatsapp_inbound_opens_the_window(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """A WhatsApp message opens the customer's window with that sender."""
    form = inbound_form("Hoi", from_=f"whatsapp:{DUTCH}", to="whatsapp:+14155238886")
    assert (await twilio_post(app, PATH, form)).status == 200
    opened = await InboundRepository(engine).last_inbound_at(
        tenant.id, business="whatsapp:+14155238886", customer=f"whatsapp:{DUTCH}"
    )
    assert opened == START


async def test_stop_on_whatsapp_opts_out_of_whatsapp_only(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """STOP by WhatsApp blocks WhatsApp, not SMS."""
    form = inbound_form("STOP", from_=f"whatsapp:{DUTCH}", to="whatsapp:+14155238886")
    await twilio_post(app, PATH, form)
    assert await _opted_out(engine, tenant, Channel.WHATSAPP)
    assert not await _opted_out(engine, tenant, Channel.SMS)


async def test_english_stop_to_a_us_number_is_recorded_but_not_answered_twice(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """Twilio answers its own keywords on US numbers; Herald records the opt-out silently."""
    answer = await twilio_post(app, PATH, inbound_form("STOP", to="+14155550100"))
    assert answer.body == EMPTY
    assert await _opted_out(engine, tenant)


async def test_a_dutch_keyword_to_a_us_number_is_answered(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """Twilio does not know UIT, so Herald answers it even on a US number."""
    answer = await twilio_post(app, PATH, inbound_form("UIT", to="+14155550100"))
    assert answer.body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert await _opted_out(engine, tenant)


async def test_a_forged_inbound_is_refused_and_not_stored(
    app: FastAPI, engine: AsyncEngine, tenant: Tenant
) -> None:
    """A bad signature is 403 and nothing is stored or opted out."""
    answer = await twilio_post(app, PATH, inbound_form("STOP"), token="e" * 32)
    assert answer.status == 403
    assert await InboundRepository(engine).list(tenant.id) == []
    assert not await _opted_out(engine, tenant)


async def test_a_tenants_own_reply_text_is_used(
    app: FastAPI, engine: AsyncEngine, box: SecretBox, tenant: Tenant
) -> None:
    """The tenant's opt-out reply replaces Herald's default."""
    own = dataclasses.replace(tenant.settings, opt_out_reply="{{brand}}: afgemeld.")
    await TenantRepository(engine, box).update_settings(tenant.id, own, now=START)
    answer = await twilio_post(app, PATH, inbound_form("STOP"))
    assert answer.body == _reply("Jansen: afgemeld.")


async def test_a_tenants_own_keyword_is_honoured(
    app: FastAPI, engine: AsyncEngine, box: SecretBox, tenant: Tenant
) -> None:
    """A word the tenant added as a Dutch opt-out opts out, answered in Dutch."""
    own = dataclasses.replace(tenant.settings, keyword_additions={"opt_out:nl": ("KAPPEN",)})
    await TenantRepository(engine, box).update_settings(tenant.id, own, now=START)
    answer = await twilio_post(app, PATH, inbound_form("Kappen!"))
    assert "je bent afgemeld" in answer.body
    assert await _opted_out(engine, tenant)
