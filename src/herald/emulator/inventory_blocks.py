"""The emulator's stock of numbers: which countries, types, ranges and capabilities.

Capabilities follow what Twilio sells in each country (twilio.com/en-us/guidelines, per country,
"Phone number capabilities"): North American local and toll-free numbers take calls, SMS and MMS;
European mobile numbers take calls and SMS but no MMS; European geographic and freephone numbers
take calls only. Twilio sells no mobile numbers in the US or Canada: asking for them is a 404, as
on the real API (twilio/twilio-node#159).

`address_requirements` approximates Twilio's regulatory table (none in North America; an address
in the country for most European geographic numbers); the emulator reports it and filters on it
but does not ask for an AddressSid when a number is bought.

North American places use real area codes, exchanges and rate centres with city-centre
coordinates; the exchange 555 is left out because `outcomes` reserves `555-01XX` for scripted
delivery results. Every block is checked by the tests: all 10,000 numbers are valid for
`phonenumbers` and of the block's type.
"""

from __future__ import annotations

from typing import Final

from herald.emulator.inventory import Block, Capabilities, Country, Inventory, NumberKind, Place

LOCAL = NumberKind.LOCAL
MOBILE = NumberKind.MOBILE
TOLL_FREE = NumberKind.TOLL_FREE

VOICE_SMS_MMS: Final = Capabilities(voice=True, sms=True, mms=True)
VOICE_SMS: Final = Capabilities(voice=True, sms=True, mms=False)
VOICE_ONLY: Final = Capabilities(voice=True, sms=False, mms=False)


# prefix, locality, region, postal code, LATA (none in Canada), rate centre, latitude, longitude
NanpRow = tuple[str, str, str, str, str | None, str, float, float]


def _nanp(iso: str, rows: tuple[NanpRow, ...]) -> tuple[Block, ...]:
    return tuple(
        Block(
            iso,
            LOCAL,
            prefix,
            VOICE_SMS_MMS,
            "none",
            Place(
                locality=city,
                region=region,
                postal_code=postal_code,
                lata=lata,
                rate_center=rate_center,
                latitude=latitude,
                longitude=longitude,
            ),
        )
        for prefix, city, region, postal_code, lata, rate_center, latitude, longitude in rows
    )


def _blocks(
    iso: str,
    kind: NumberKind,
    capabilities: Capabilities,
    address: str,
    prefixes: dict[str, str | None],
) -> tuple[Block, ...]:
    return tuple(
        Block(iso, kind, prefix, capabilities, address, Place(locality=city))
        for prefix, city in prefixes.items()
    )


_US_LOCAL: Final[tuple[NanpRow, ...]] = (
    ("+1415234", "San Francisco", "CA", "94103", "722", "SNFC CNTL", 37.7749, -122.4194),
    ("+1415360", "San Francisco", "CA", "94107", "722", "SNFC CNTL", 37.7749, -122.4194),
    ("+1212381", "New York", "NY", "10001", "132", "NWYRCYZN01", 40.7506, -73.9972),
    ("+1646452", "New York", "NY", "10016", "132", "NWYRCYZN03", 40.7459, -73.9781),
    ("+1808925", "Hilo", "HI", "96720", "834", "HILO", 19.72, -155.09),
    ("+1607436", "Oneonta", "NY", "13820", "138", "ONEONTA", 42.4867, -75.0397),
    ("+1312248", "Chicago", "IL", "60601", "358", "CHICAGO", 41.8858, -87.6181),
    ("+1617398", "Boston", "MA", "02108", "128", "BOSTON", 42.3576, -71.0636),
    ("+1206279", "Seattle", "WA", "98101", "674", "SEATTLE", 47.6101, -122.3344),
    ("+1512394", "Austin", "TX", "78701", "558", "AUSTIN", 30.2711, -97.7437),
    ("+1303242", "Denver", "CO", "80202", "656", "DENVER", 39.7528, -104.9992),
    ("+1305423", "Miami", "FL", "33130", "460", "MIAMI", 25.7663, -80.2005),
)
_CA_LOCAL: Final[tuple[NanpRow, ...]] = (
    ("+1416238", "Toronto", "ON", "M5H", None, "TORONTO", 43.6511, -79.3837),
    ("+1604239", "Vancouver", "BC", "V6B", None, "VANCOUVER", 49.2827, -123.1207),
    ("+1514277", "Montreal", "QC", "H2Y", None, "MONTREAL", 45.5017, -73.5673),
)

_US: Final = Country(
    "US",
    "United States",
    (
        *_nanp("US", _US_LOCAL),
        *_blocks(
            "US",
            TOLL_FREE,
            VOICE_SMS_MMS,
            "none",
            {
                "+1800247": None,
                "+1833392": None,
                "+1844325": None,
                "+1855426": None,
                "+1866541": None,
                "+1877683": None,
                "+1888712": None,
            },
        ),
    ),
)

_CA: Final = Country(
    "CA",
    "Canada",
    (
        *_nanp("CA", _CA_LOCAL),
        *_blocks("CA", TOLL_FREE, VOICE_SMS_MMS, "none", {"+1844329": None, "+1877591": None}),
    ),
)

_NL: Final = Country(
    "NL",
    "Netherlands",
    (
        *_blocks(
            "NL",
            LOCAL,
            VOICE_ONLY,
            "local",
            {
                "+3120760": "Amsterdam",
                "+3110760": "Rotterdam",
                "+3130760": "Utrecht",
                "+3170760": "The Hague",
                "+3140760": "Eindhoven",
            },
        ),
        *_blocks(
            "NL",
            MOBILE,
            VOICE_SMS,
            "any",
            {"+3161470": None, "+3162830": None, "+3164390": None, "+3165120": None},
        ),
        *_blocks("NL", TOLL_FREE, VOICE_ONLY, "any", {"+31800": None}),
    ),
)

_GB: Final = Country(
    "GB",
    "United Kingdom",
    (
        *_blocks(
            "GB",
            LOCAL,
            VOICE_ONLY,
            "any",
            {
                "+44203868": "London",
                "+44203966": "London",
                "+44161850": "Manchester",
                "+44121368": "Birmingham",
                "+44131285": "Edinburgh",
            },
        ),
        *_blocks(
            "GB",
            MOBILE,
            VOICE_SMS,
            "none",
            {"+44745123": None, "+44748612": None, "+44782160": None},
        ),
        *_blocks("GB", TOLL_FREE, VOICE_ONLY, "none", {"+44800046": None, "+44808189": None}),
    ),
)

_DE: Final = Country(
    "DE",
    "Germany",
    (
        *_blocks(
            "DE",
            LOCAL,
            VOICE_ONLY,
            "local",
            {
                "+49302089": "Berlin",
                "+49892154": "Munich",
                "+49402286": "Hamburg",
                "+49692578": "Frankfurt am Main",
            },
        ),
        *_blocks(
            "DE",
            MOBILE,
            VOICE_SMS,
            "any",
            {"+491573526": None, "+491762345": None, "+491521094": None},
        ),
        *_blocks("DE", TOLL_FREE, VOICE_ONLY, "any", {"+49800723": None}),
    ),
)

_BE: Final = Country(
    "BE",
    "Belgium",
    (
        *_blocks(
            "BE",
            LOCAL,
            VOICE_ONLY,
            "local",
            {
                "+322808": "Brussels",
                "+323808": "Antwerp",
                "+329298": "Ghent",
                "+324371": "Liege",
            },
        ),
        *_blocks(
            "BE",
            MOBILE,
            VOICE_SMS,
            "any",
            {"+3246012": None, "+3246835": None, "+3247512": None},
        ),
        *_blocks("BE", TOLL_FREE, VOICE_ONLY, "any", {"+328001": None, "+328007": None}),
    ),
)

COUNTRIES: Final = (_US, _CA, _NL, _GB, _DE, _BE)
INVENTORY: Final = Inventory(COUNTRIES)

# What test credentials "buy": Twilio's magic +1 500 555 numbers, never listed or stored.
TEST_CREDENTIALS_BLOCK: Final = Block("US", LOCAL, "+1500555", VOICE_SMS_MMS, "none")
