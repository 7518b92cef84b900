"""Chaos modes: the failures a Twilio client meets in production, on demand and per account.

Settings (`ChaosSettings`, all off by default) are changed at runtime through the control API,
for every account (`/_emulator/chaos`) or for one (`/_emulator/chaos/{AccountSid}`):

- `latency_ms` ± `latency_jitter_ms`: every API request waits this long (wall-clock time, even
  under a manual clock: it stands for the network, not for the emulated world);
- `too_many_requests`, `server_errors`, `unavailable`: shares of API requests answered at once,
  without being processed, with Twilio's 429/20429, 500/20500 or 503/20503 body. Twilio
  documents no `Retry-After` on 20429 (twilio.com/docs/api/errors/20429 says only "retry after
  backing off"), so none is sent;
- `lost_responses`: a share of message creates whose message is stored and delivered but whose
  HTTP response never comes: the connection is closed without a byte (`ResponseLost`);
- `callback_drop`, `callback_duplicate`, `callback_delay` (by `callback_delay_ms`) and
  `callback_reorder`: shares of status callbacks never sent, sent twice, sent late, or held back
  three delivery steps so that the message's next callback overtakes them.

With a `seed` every decision comes from its own seeded stream (API faults, latency, callbacks,
lost responses), so a test replaying the same requests meets the same failures, and the
`counts` in the answer say exactly how many of each happened.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import random
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from herald.emulator import errors
from herald.emulator.callbacks import Callback, DeliverNormally
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.messaging import messaging
from herald.emulator.routing import Emulator, emulator_of
from herald.emulator.state import EmulatorState, StoreKey
from herald.emulator.v1wire import read_json
from herald.emulator.wire import json_response

API_RATES: Final = ("too_many_requests", "server_errors", "unavailable")
CALLBACK_RATES: Final = (
    "callback_drop",
    "callback_duplicate",
    "callback_delay",
    "callback_reorder",
)
DURATIONS: Final = ("latency_ms", "latency_jitter_ms", "callback_delay_ms")
MAX_DURATION_MS: Final = 60_000
REORDER_STEPS: Final = 3
_ACCOUNT_IN_PATH: Final = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})")
_RECORD_SID: Final = "chaos"


class ResponseLost(BaseException):
    """Raised by a handler whose side effect is done but whose response must never arrive.

    A `BaseException`, so that Starlette's error middleware lets it through instead of turning it
    into a 500; `EmulatorApp` catches it and has the server close the connection.
    """

    def __init__(self, resource_sid: str) -> None:
        super().__init__(resource_sid)
        self.resource_sid = resource_sid

    def __str__(self) -> str:
        return f"chaos: the response to the create of {self.resource_sid} was lost on purpose"


class EmulatorApp(Starlette):
    """The emulator's Starlette app, able to leave a request unanswered (`ResponseLost`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; for a lost response, close the connection without answering."""
        try:
            await super().__call__(scope, receive, send)
        except ResponseLost as lost:
            # uvicorn (every HTTP implementation of it) closes the transport without writing
            # anything when an ASGI app returns a value instead of None; the log line it writes
            # quotes `lost`, which says what happened.
            return lost  # type: ignore[return-value]


class ChaosSettingsError(ValueError):
    """A chaos setting the emulator cannot use; the message says which and why."""


@dataclasses.dataclass(frozen=True, slots=True)
class ChaosSettings:
    """One set of chaos settings; every rate is a share between 0 and 1."""

    seed: int | None = None
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    too_many_requests: float = 0.0
    server_errors: float = 0.0
    unavailable: float = 0.0
    lost_responses: float = 0.0
    callback_drop: float = 0.0
    callback_duplicate: float = 0.0
    callback_delay: float = 0.0
    callback_delay_ms: int = 5000
    callback_reorder: float = 0.0

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ChaosSettings:
        """Settings from a JSON object; absent keys keep their default (off)."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ChaosSettingsError(
                f"Unknown chaos setting(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}."
            )
        values: dict[str, Any] = {}
        for name, value in body.items():
            values[name] = _checked(name, value)
        settings = cls(**values)
        for group in (API_RATES, CALLBACK_RATES):
            total = sum(getattr(settings, name) for name in group)
            if total > 1:
                raise ChaosSettingsError(
                    f"{' + '.join(group)} add up to {total:g}; a request meets one fault at most, "
                    "so together they must not exceed 1."
                )
        return settings

    def to_json(self) -> dict[str, Any]:
        """The settings as the control API shows them."""
        return dataclasses.asdict(self)

    @property
    def api_faults(self) -> bool:
        """Whether any share of API requests is failed."""
        return any(getattr(self, name) > 0 for name in API_RATES)

    @property
    def callback_faults(self) -> bool:
        """Whether any share of callbacks is tampered with."""
        return any(getattr(self, name) > 0 for name in CALLBACK_RATES)


def _checked(name: str, value: Any) -> Any:
    if name == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ChaosSettingsError(f"seed must be an integer or null, got {value!r}.")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChaosSettingsError(f"{name} must be a number, got {value!r}.")
    if name in DURATIONS:
        if not float(value).is_integer() or not 0 <= value <= MAX_DURATION_MS:
            raise ChaosSettingsError(
                f"{name} must be a whole number of milliseconds from 0 to {MAX_DURATION_MS}, "
                f"got {value!r}."
            )
        return int(value)
    if not 0 <= value <= 1:
        raise ChaosSettingsError(f"{name} is a share of requests: give 0 to 1, got {value!r}.")
    return float(value)


class Chaos:
    """Settings in force with their dice and the tally of what they did."""

    def __init__(self, settings: ChaosSettings) -> None:
        self.settings = settings
        self.counts: dict[str, int] = dict.fromkeys(
            (*API_RATES, "lost_responses", *CALLBACK_RATES, "delayed_requests"), 0
        )
        self._dice = {
            stream: _dice(settings.seed, stream)
            for stream in ("api", "latency", "callbacks", "responses")
        }

    def to_json(self) -> dict[str, Any]:
        """The settings and counts, as the control API shows them."""
        return {**self.settings.to_json(), "counts": dict(self.counts)}

    def api_fault(self) -> str | None:
        """Which fault (one of `API_RATES`) this API request meets, if any."""
        if not self.settings.api_faults:
            return None
        return self._pick("api", API_RATES)

    def latency(self) -> float:
        """Seconds this API request waits before it is served."""
        base, jitter = self.settings.latency_ms, self.settings.latency_jitter_ms
        if base == 0 and jitter == 0:
            return 0.0
        offset = self._dice["latency"].uniform(-jitter, jitter) if jitter else 0.0
        self.counts["delayed_requests"] += 1
        return max(base + offset, 0.0) / 1000

    def lose_response(self) -> bool:
        """Whether this message create's response is lost."""
        rate = self.settings.lost_responses
        if rate <= 0 or self._dice["responses"].random() >= rate:
            return False
        self.counts["lost_responses"] += 1
        return True

    def callback_fault(self) -> str | None:
        """Which fault (one of `CALLBACK_RATES`) this callback meets, if any."""
        if not self.settings.callback_faults:
            return None
        return self._pick("callbacks", CALLBACK_RATES)

    def _pick(self, stream: str, names: Sequence[str]) -> str | None:
        draw = self._dice[stream].random()
        for name in names:
            rate = float(getattr(self.settings, name))
            if draw < rate:
                self.counts[name] += 1
                return name
            draw -= rate
        return None


def _dice(seed: int | None, stream: str) -> random.Random:
    if seed is None:
        return random.SystemRandom()
    return random.Random(f"chaos:{seed}:{stream}")  # noqa: S311 - reproducible faults, not secrets


@dataclasses.dataclass(slots=True)
class ChaosBoard:
    """The chaos of every account: a default, and the accounts that have their own."""

    sid: str = _RECORD_SID
    default: Chaos = dataclasses.field(default_factory=lambda: Chaos(ChaosSettings()))
    accounts: dict[str, Chaos] = dataclasses.field(default_factory=dict)

    def for_account(self, account_sid: str | None) -> Chaos:
        """The chaos in force for an account (its own, else the default)."""
        own = self.accounts.get(account_sid) if account_sid is not None else None
        return own if own is not None else self.default


CHAOS: StoreKey[ChaosBoard] = StoreKey("chaos")


def chaos_board(state: EmulatorState) -> ChaosBoard:
    """The emulator's chaos settings (a reset turns every mode off)."""
    store = state.store(CHAOS)
    board = store.get(_RECORD_SID)
    return board if board is not None else store.add(ChaosBoard())


# -- where chaos strikes -----------------------------------------------------------------------


class ChaosMiddleware:
    """Delays and fails Twilio API requests (never the control API) as the account's chaos says."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, after the latency and fault chaos assigns it."""
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        chaos = chaos_board(self.emulator.state).for_account(self._account_of(scope, path))
        delay = chaos.latency()
        if delay:
            await asyncio.sleep(delay)
        fault = chaos.api_fault()
        if fault is not None:
            await _FAULTS[fault]().to_response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _account_of(self, scope: Scope, path: str) -> str | None:
        match = _ACCOUNT_IN_PATH.match(path)
        if match:
            return match.group(1)
        # v1 products carry no account in the path: the credentials name it.
        principal = _basic_username(Request(scope).headers.get("authorization", ""))
        if principal is None or principal.startswith("AC"):
            return principal
        key = self.emulator.state.keys.get(principal)
        return key.account_sid if key is not None else None


def _basic_username(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _too_many_requests() -> errors.TwilioError:
    return errors.TwilioError(429, 20429, "Too many requests")


def _unavailable() -> errors.TwilioError:
    # twilio.com/docs/api/errors/20503: "The requested Twilio Service is temporarily unavailable."
    return errors.TwilioError(503, 20503, "Service unavailable")


_FAULTS: Final[dict[str, Callable[[], errors.TwilioError]]] = {
    "too_many_requests": _too_many_requests,
    "server_errors": errors.internal_error,
    "unavailable": _unavailable,
}


class ChaosCallbackPolicy(DeliverNormally):
    """The Messages callback seam, following each account's chaos."""

    def __init__(self, state: EmulatorState, step_seconds: float) -> None:
        self._state = state
        self._reorder_delay = REORDER_STEPS * step_seconds

    def plan(self, callback: Callback) -> Sequence[float]:
        """No copy (drop), two (duplicate), one late (delay, reorder) or one at once."""
        chaos = chaos_board(self._state).for_account(callback.account_sid)
        fault = chaos.callback_fault()
        if fault == "callback_drop":
            return ()
        if fault == "callback_duplicate":
            return (0.0, 0.0)
        if fault == "callback_delay":
            return (chaos.settings.callback_delay_ms / 1000,)
        if fault == "callback_reorder":
            return (self._reorder_delay,)
        return (0.0,)

    def lose_create_response(self, message_sid: str) -> bool:
        """Whether the account's chaos loses this create's response."""
        message = messaging(self._state).store.lookup(message_sid)
        if message is None:
            return False
        return chaos_board(self._state).for_account(message.account_sid).lose_response()


@contextlib.asynccontextmanager
async def lifespan(emulator: Emulator) -> AsyncIterator[None]:
    """Plug the chaos policy into the Messages callback seam while the app runs."""
    runtime = messaging(emulator.state)
    runtime.policy = ChaosCallbackPolicy(emulator.state, emulator.config.delivery_step_seconds)
    try:
        yield
    finally:
        runtime.policy = DeliverNormally()


# -- control API -------------------------------------------------------------------------------


async def _settings_from(request: Request) -> ChaosSettings:
    body = await read_json(request)
    try:
        return ChaosSettings.from_json(body)
    except ChaosSettingsError as exc:
        raise errors.invalid_parameter(str(exc)) from None


def _account_or_404(request: Request) -> str:
    account_sid = str(request.path_params["account_sid"])
    if emulator_of(request).state.accounts.get(account_sid) is None:
        raise errors.TwilioError(404, 20404, f"No account {account_sid} in this emulator.")
    return account_sid


def _view(board: ChaosBoard) -> dict[str, Any]:
    return {
        "default": board.default.to_json(),
        "accounts": {sid: chaos.to_json() for sid, chaos in board.accounts.items()},
    }


async def get_chaos(request: Request) -> Response:
    """`GET /_emulator/chaos`: the default settings and every account's own."""
    return json_response(_view(chaos_board(emulator_of(request).state)))


async def put_chaos(request: Request) -> Response:
    """`PUT /_emulator/chaos`: replace the default settings (accounts with their own keep them)."""
    settings = await _settings_from(request)
    board = chaos_board(emulator_of(request).state)
    board.default = Chaos(settings)
    return json_response(_view(board))


async def get_account_chaos(request: Request) -> Response:
    """`GET /_emulator/chaos/{AccountSid}`: the settings in force for that account."""
    account_sid = _account_or_404(request)
    board = chaos_board(emulator_of(request).state)
    own = account_sid in board.accounts
    body = {"account_sid": account_sid, "own": own, **board.for_account(account_sid).to_json()}
    return json_response(body)


async def put_account_chaos(request: Request) -> Response:
    """`PUT /_emulator/chaos/{AccountSid}`: give the account its own settings."""
    account_sid = _account_or_404(request)
    settings = await _settings_from(request)
    chaos = Chaos(settings)
    chaos_board(emulator_of(request).state).accounts[account_sid] = chaos
    return json_response({"account_sid": account_sid, "own": True, **chaos.to_json()})


async def delete_account_chaos(request: Request) -> Response:
    """`DELETE /_emulator/chaos/{AccountSid}`: the account follows the default again (204)."""
    account_sid = _account_or_404(request)
    chaos_board(emulator_of(request).state).accounts.pop(account_sid, None)
    return Response(status_code=204)


def routes() -> list[Route]:
    """The chaos control routes."""
    account = f"{CONTROL_PREFIX}/chaos/{{account_sid}}"
    return [
        Route(f"{CONTROL_PREFIX}/chaos", get_chaos, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/chaos", put_chaos, methods=["PUT"]),
        Route(account, get_account_chaos, methods=["GET"]),
        Route(account, put_account_chaos, methods=["PUT"]),
        Route(account, delete_account_chaos, methods=["DELETE"]),
    ]
