"""Twilio's wire conventions for the 2010-04-01 API (TWILIO-API.md §2, §3).

- SIDs: two upper-case letters + 32 lower-case hex digits (`SidFactory`).
- Dates: RFC 2822 in GMT for 2010-04-01 (`rfc2822`), ISO 8601 for the v1/v2 products (`iso8601`).
- Requests: `application/x-www-form-urlencoded`, PascalCase keys, repeated keys for lists,
  booleans as `true`/`false` (`Params`, `read_form`, `read_query`).
- Responses: snake_case JSON; `uri` relative to the host, every path ending in `.json`
  (`resource_uri`); lists in the flat paging envelope (`paginate`).
"""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse

from herald.emulator import errors

API_VERSION = "2010-04-01"
API_PREFIX = f"/{API_VERSION}"

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# twilio-python strips exactly these keys from a 2010 list and needs exactly one key left.
LIST_META_KEYS = frozenset(
    {"end", "first_page_uri", "next_page_uri", "page", "page_size", "previous_page_uri"}
    | {"start", "uri"}
)
NEXT_TOKEN_PREFIX = "PA"  # noqa: S105 - a paging marker, not a password; "page after": the SID of the last record of the previous page
PREVIOUS_TOKEN_PREFIX = "PB"  # noqa: S105 - a paging marker; "page before": the SID of the first record of the next page

_SECRET_ALPHABET = string.ascii_letters + string.digits
_TRUE = "true"
_FALSE = "false"

T = TypeVar("T")
S = TypeVar("S", bound=str)


class SidFactory:
    """Makes SIDs, tokens and secrets: reproducible from `seed`, or from `secrets` without one."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._rng: random.Random | None = None
        self.reseed()

    def reseed(self) -> None:
        """Start the sequence again (a seeded factory then repeats the same values)."""
        self._rng = random.Random(f"sids:{self._seed}") if self._seed is not None else None  # noqa: S311 - reproducible test data

    def hex(self, digits: int = 32) -> str:
        """`digits` lower-case hex digits."""
        if self._rng is None:
            return secrets.token_hex((digits + 1) // 2)[:digits]
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"

    def sid(self, prefix: str) -> str:
        """A new SID: `prefix` (two upper-case letters) + 32 hex digits."""
        if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():  # noqa: PLR2004 - SID prefixes are two letters
            raise ValueError(f"A SID prefix is two upper-case letters, got {prefix!r}.")
        return prefix + self.hex(32)

    def secret(self, length: int = 32) -> str:
        """A letters-and-digits secret, like an API key secret."""
        if self._rng is None:
            return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(length))
        return "".join(self._rng.choice(_SECRET_ALPHABET) for _ in range(length))


def rfc2822(moment: datetime) -> str:
    """`Wed, 18 Aug 2021 20:01:00 +0000`: how 2010-04-01 renders every date."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def iso8601(moment: datetime) -> str:
    """`2021-08-18T20:01:00Z`: how the v1/v2 products render dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_uri(*segments: str) -> str:
    """The host-relative URI of a 2010-04-01 resource: `resource_uri("Accounts", sid)`."""
    return API_PREFIX + "/" + "/".join(segments) + ".json"


class Params:
    """Request parameters (form body or query string) as Twilio reads them.

    Keys are case-sensitive and PascalCase. A repeated key is a list (`get_all`); for a
    single-valued parameter the first value counts. Typed getters raise Twilio's 400 error.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs = list(pairs)

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self._pairs)

    def __repr__(self) -> str:
        return f"Params({self._pairs!r})"

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair in request order, repeats included."""
        return list(self._pairs)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`, or `default` when absent."""
        for key, value in self._pairs:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of a repeated parameter, in order."""
        return [value for key, value in self._pairs if key == name]

    def require(self, name: str) -> str:
        """The value of a required parameter; absent or empty is Twilio's 400."""
        value = self.get(name)
        if value is None or value == "":
            raise errors.missing_parameter(name)
        return value

    def boolean(self, name: str, *, default: bool | None = None) -> bool | None:
        """`true`/`false` in any letter case; anything else is a 400."""
        value = self.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered == _TRUE:
            return True
        if lowered == _FALSE:
            return False
        raise errors.invalid_parameter(f"Invalid {name}: {value!r} is not a boolean (true/false).")

    def integer(
        self,
        name: str,
        default: int | None = None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """A decimal integer within [minimum, maximum]; anything else is a 400."""
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise errors.invalid_parameter(
                f"Invalid {name}: {value!r} is not an integer."
            ) from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise errors.invalid_parameter(f"Invalid {name}: {number} must be {bounds}.")
        return number

    def choice(self, name: str, choices: Sequence[S], default: S | None = None) -> S | None:
        """One of `choices` (exact spelling); anything else is a 400."""
        value = self.get(name)
        if value is None:
            return default
        for candidate in choices:
            if value == candidate:
                return candidate
        raise errors.invalid_parameter(
            f"Invalid {name}: {value!r} is not one of {', '.join(choices)}."
        )


async def read_form(request: Request) -> Params:
    """The form-encoded body of a POST (other content types carry no parameters for Twilio)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body or content_type not in {"", "application/x-www-form-urlencoded"}:
        return Params()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.invalid_parameter("The request body is not valid UTF-8.") from None
    return _parse(text)


def read_query(request: Request) -> Params:
    """The query-string parameters of a request."""
    return _parse(request.url.query)


def _parse(encoded: str) -> Params:
    try:
        pairs = parse_qsl(encoded, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise errors.invalid_parameter(
            "The request parameters are not valid UTF-8 form encoding."
        ) from None
    return Params(pairs)


def json_response(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON answer as Twilio sends it."""
    return JSONResponse(dict(body), status_code=status, headers=dict(headers or {}))


def paginate(
    items: Sequence[T],
    *,
    params: Params,
    path: str,
    key: str,
    render: Callable[[T], Mapping[str, Any]],
    sid_of: Callable[[T], str],
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """One page of `items` in the 2010-04-01 list envelope.

    `path` is the list's URI (`/2010-04-01/Accounts.json`), `key` the one array key
    (`accounts`), `filters` the filter parameters to repeat in every page link. Page tokens are
    `PA<sid>` (records after that SID) and `PB<sid>` (records before it), so that paging stays
    stable while records are added; a token whose record is gone falls back to `Page` x
    `PageSize`.
    """
    if key in LIST_META_KEYS:
        raise ValueError(f"{key!r} is a paging key; the records need their own key.")
    page_size = params.integer("PageSize", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    page = params.integer("Page", 0, minimum=0)
    assert page_size is not None
    assert page is not None
    token = params.get("PageToken")
    if token is None and page > 0:
        # Twilio: "Paged requests must include a PageToken" (HTTP 400) when Page > 0 is asked
        # for directly; clients follow next_page_uri, which carries one.
        raise errors.invalid_parameter("Paged requests must include a PageToken")
    first = _first_index(items, token, page, page_size, sid_of)
    chunk = list(items[first : first + page_size])
    start = page * page_size

    def link(page_number: int, page_token: str | None) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
        if page_token is not None:
            query.append(("PageToken", page_token))
        return f"{path}?{urlencode(query)}"

    has_next = first + page_size < len(items) and bool(chunk)
    return {
        "first_page_uri": link(0, None),
        "end": start + max(len(chunk) - 1, 0),
        "previous_page_uri": (
            link(page - 1, PREVIOUS_TOKEN_PREFIX + sid_of(chunk[0])) if page > 0 and chunk else None
        ),
        key: [dict(render(item)) for item in chunk],
        "uri": link(page, token),
        "page_size": page_size,
        "start": start,
        "next_page_uri": link(page + 1, NEXT_TOKEN_PREFIX + sid_of(chunk[-1]))
        if has_next
        else None,
        "page": page,
    }


def _first_index(
    items: Sequence[T], token: str | None, page: int, page_size: int, sid_of: Callable[[T], str]
) -> int:
    if token is None:
        return page * page_size
    prefix, sid = token[:2], token[2:]
    if prefix not in {NEXT_TOKEN_PREFIX, PREVIOUS_TOKEN_PREFIX} or not sid:
        raise errors.invalid_parameter(f"Invalid PageToken: {token!r}.")
    for index, item in enumerate(items):
        if sid_of(item) == sid:
            return index + 1 if prefix == NEXT_TOKEN_PREFIX else max(index - page_size, 0)
    return page * page_size
