"""Helpers for the messaging v1 and content v1 tests: clients on every domain, seeded numbers."""

from __future__ import annotations

from twilio.rest import Client

from herald.emulator.inventory import NumberKind
from herald.emulator.inventory_blocks import INVENTORY
from herald.emulator.numbers import IncomingNumber, PhoneNumbers
from tests.emulator.conftest import RunningEmulator


def on_all_domains(client: Client, emulator: RunningEmulator) -> Client:
    """Point the client's messaging and content domains at the emulator too."""
    client.messaging.base_url = emulator.base_url
    client.content.base_url = emulator.base_url
    return client


def seed_number(
    emulator: RunningEmulator,
    client: Client,
    iso: str,
    kind: NumberKind = NumberKind.LOCAL,
    *,
    area_code: str | None = None,
) -> IncomingNumber:
    """Buy, through the client, the first free number of a country and type (or area code)."""
    numbers = PhoneNumbers(emulator.state)
    taken = numbers.taken()
    if area_code is not None:
        available = INVENTORY.first_in_area_code(area_code, taken=taken)
    else:
        available = next(n for n in INVENTORY.numbers(iso, kind) if n.phone_number not in taken)
    assert available is not None
    bought = client.incoming_phone_numbers.create(phone_number=available.phone_number)
    number = numbers.get(bought.account_sid, bought.sid)
    assert number is not None
    return number
