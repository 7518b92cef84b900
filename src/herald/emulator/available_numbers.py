"""AvailablePhoneNumbers: the countries on sale and the search for numbers to buy.

- `GET …/AvailablePhoneNumbers.json`: the countries, each with the URIs of its number types.
- `GET …/AvailablePhoneNumbers/{CC}.json`: one country; a country not on sale is 404/20404.
- `GET …/AvailablePhoneNumbers/{CC}/{Local|Mobile|TollFree}.json`: up to `PageSize` (default 50)
  numbers that match the filters and that nobody has bought. A type the country does not offer
  is 404/20404 naming the path, as Twilio answers `US/Mobile.json` (twilio/twilio-node#159).

Responses follow the OpenAPI schema, which three older captures of the real API contradict
(TWILIO-API.md §9, §20): those show the search without paging keys, capabilities keyed `SMS`
and `MMS` (twilio/twilio-php#783, RestComm/Restcomm-Connect#70, twilio/twilio-node#280) and
coordinates as strings. The emulator sends the schema's form (paging keys with no next page,
lower-case `sms`/`mms`, numeric coordinates): it validates, and the twilio client reads both.

Filter values Twilio would refuse are 400/20001 naming the parameter, except `AreaCode`, whose
refusal has its own code, 21451 (twilio.com/docs/errors/21451).
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.inventory import (
    AvailableNumber,
    Country,
    NumberKind,
    Place,
    Search,
    compile_contains,
)
from herald.emulator.inventory_blocks import INVENTORY
from herald.emulator.numbers import PhoneNumbers
from herald.emulator.routing import RequestContext, api_route
from herald.emulator.wire import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Params,
    json_response,
    paginate,
    resource_uri,
)

AREA_CODE: Final = re.compile(r"[2-9]\d{2}")
MAX_DISTANCE_MILES: Final = 500
DEFAULT_DISTANCE_MILES: Final = 25
_LATITUDE_LIMIT: Final = 90.0
_LONGITUDE_LIMIT: Final = 180.0
_PAGING_PARAMS: Final = frozenset({"PageSize", "Page", "PageToken"})


def invalid_area_code(area_code: str) -> errors.TwilioError:
    """400/21451: `AreaCode` is not a North American area code (twilio.com/docs/errors/21451)."""
    return errors.TwilioError(
        400,
        21451,
        f"AreaCode {area_code!r} is not valid: give a three-digit US or Canadian area code.",
    )


def routes() -> list[Route]:
    """The AvailablePhoneNumbers routes."""
    base = "/Accounts/{account_sid}/AvailablePhoneNumbers"
    return [
        api_route("GET", base + ".json", list_countries),
        api_route("GET", base + "/{country_code}.json", fetch_country),
        api_route("GET", base + "/{country_code}/{kind}.json", search_numbers),
    ]


async def list_countries(ctx: RequestContext) -> Response:
    """Every country the emulator sells numbers in."""
    countries = INVENTORY.countries
    return json_response(
        {
            "countries": [_render_country(ctx.account_sid, country) for country in countries],
            "uri": resource_uri("Accounts", ctx.account_sid, "AvailablePhoneNumbers"),
        }
    )


async def fetch_country(ctx: RequestContext) -> Response:
    """One country, or 404 when the emulator sells no numbers there."""
    country = INVENTORY.country(ctx.path("country_code"))
    if country is None:
        raise ctx.not_found()
    return json_response(_render_country(ctx.account_sid, country))


async def search_numbers(ctx: RequestContext) -> Response:
    """Numbers of one country and type that match the query's filters and are still free."""
    country = INVENTORY.country(ctx.path("country_code"))
    kind = NumberKind.from_path_segment(ctx.path("kind"))
    if country is None or kind is None or kind not in country.kinds:
        raise ctx.not_found()
    params = ctx.query()
    limit = params.integer("PageSize", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    assert limit is not None
    search = read_search(params, country)
    found = INVENTORY.search(
        country.iso, kind, search, taken=PhoneNumbers(ctx.state).taken(), limit=limit
    )
    # One page only: Twilio's search never links to a next page.
    filters = [(name, value) for name, value in params.items() if name not in _PAGING_PARAMS]
    return json_response(
        paginate(
            found,
            params=params,
            path=ctx.request.url.path,
            key="available_phone_numbers",
            render=render_available,
            sid_of=lambda number: number.phone_number,
            filters=filters,
        )
    )


def read_search(params: Params, country: Country) -> Search:
    """The validated filters of a search in `country`."""
    area_code = params.get("AreaCode")
    if area_code is not None:
        area_code = area_code.strip()
        nanp = any(block.area_code for block in country.blocks)
        if not nanp or not AREA_CODE.fullmatch(area_code):
            raise invalid_area_code(area_code)
    contains = params.get("Contains")
    try:
        pattern = compile_contains(contains) if contains is not None else None
    except ValueError as exc:
        raise errors.invalid_parameter(f"Invalid Contains {contains!r}: {exc}.") from None
    in_rate_center = _text(params, "InRateCenter")
    in_lata = _text(params, "InLata")
    if in_rate_center is not None and in_lata is None:
        raise errors.invalid_parameter("InRateCenter requires InLata to be set as well.")
    distance = params.integer(
        "Distance", DEFAULT_DISTANCE_MILES, minimum=0, maximum=MAX_DISTANCE_MILES
    )
    assert distance is not None
    return Search(
        area_code=area_code,
        contains=pattern,
        sms=params.boolean("SmsEnabled"),
        mms=params.boolean("MmsEnabled"),
        voice=params.boolean("VoiceEnabled"),
        fax=params.boolean("FaxEnabled"),
        beta=params.boolean("Beta", default=True) is not False,
        exclude_all_address_required=params.boolean("ExcludeAllAddressRequired") is True,
        exclude_local_address_required=params.boolean("ExcludeLocalAddressRequired") is True,
        exclude_foreign_address_required=params.boolean("ExcludeForeignAddressRequired") is True,
        in_region=_text(params, "InRegion"),
        in_postal_code=_text(params, "InPostalCode"),
        in_locality=_text(params, "InLocality"),
        in_lata=in_lata,
        in_rate_center=in_rate_center,
        near=_near(params, country),
        distance=distance,
    )


def _text(params: Params, name: str) -> str | None:
    value = params.get(name)
    return value.strip() if value is not None and value.strip() else None


def _near(params: Params, country: Country) -> tuple[float, float] | None:
    lat_long = params.get("NearLatLong")
    if lat_long is not None:
        latitude, _, longitude = lat_long.partition(",")
        try:
            point = (float(latitude), float(longitude))
        except ValueError:
            point = (_LATITUDE_LIMIT + 1, 0.0)
        if abs(point[0]) > _LATITUDE_LIMIT or abs(point[1]) > _LONGITUDE_LIMIT:
            raise errors.invalid_parameter(
                f"Invalid NearLatLong {lat_long!r}: give latitude,longitude in degrees."
            )
        return point
    near_number = params.get("NearNumber")
    if near_number is None:
        return None
    place = _place_of(near_number.strip(), country)
    if place is None or place.latitude is None or place.longitude is None:
        raise errors.invalid_parameter(
            f"Invalid NearNumber {near_number!r}: give an E.164 number in one of this "
            "country's area codes."
        )
    return (place.latitude, place.longitude)


def _place_of(phone_number: str, country: Country) -> Place | None:
    # The place of the number's own block, else of any block in the same area code.
    for block in country.blocks:
        if phone_number.startswith(block.prefix):
            return block.place
    for block in country.blocks:
        if block.area_code and phone_number.startswith("+1" + block.area_code):
            return block.place
    return None


def _render_country(account_sid: str, country: Country) -> dict[str, Any]:
    base = ("Accounts", account_sid, "AvailablePhoneNumbers", country.iso)
    return {
        "beta": False,
        "country": country.name,
        "country_code": country.iso,
        "subresource_uris": {
            kind.subresource_key: resource_uri(*base, kind.path_segment) for kind in country.kinds
        },
        "uri": resource_uri(*base),
    }


def render_available(number: AvailableNumber) -> dict[str, Any]:
    """One search result as Twilio sends it."""
    place, caps = number.block.place, number.capabilities
    return {
        "friendly_name": number.friendly_name,
        "phone_number": number.phone_number,
        "lata": place.lata,
        "locality": place.locality,
        "rate_center": place.rate_center,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "region": place.region,
        "postal_code": place.postal_code,
        "iso_country": number.iso_country,
        "address_requirements": number.block.address_requirements,
        "beta": number.block.beta,
        "capabilities": {"voice": caps.voice, "sms": caps.sms, "mms": caps.mms, "fax": caps.fax},
    }
