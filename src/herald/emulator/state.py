"""The emulator's in-memory state: plain records in per-resource stores, nothing rendered.

`EmulatorState` owns one `Store` per resource, reached through a typed `StoreKey`, so that a new
resource module declares its own key (`MESSAGES: StoreKey[Message] = StoreKey("messages")`) and
gets its store with `state.store(MESSAGES)` without touching this file. `reset()` empties every
store, restarts the SID sequence (a seeded run repeats itself) and seeds the main account again.

Accounts and API keys live here rather than in their resource modules because authentication
needs them before any route runs.

The state is mutated only from the event loop the app runs on; tests read it between requests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from herald.emulator.clock import Clock
from herald.emulator.config import EmulatorConfig
from herald.emulator.events import EventBus
from herald.emulator.wire import SidFactory

AccountStatus = Literal["active", "suspended", "closed"]
ACCOUNT_STATUSES: tuple[AccountStatus, ...] = ("active", "suspended", "closed")


class HasSid(Protocol):
    """Anything stored: a record with a SID."""

    @property
    def sid(self) -> str:
        """The record's SID, unique within its store."""
        ...


T = TypeVar("T", bound=HasSid)


@dataclasses.dataclass(slots=True)
class Account:
    """A Twilio account: the main account (its own owner) or one of its subaccounts."""

    sid: str
    auth_token: str
    friendly_name: str
    owner_account_sid: str
    date_created: datetime
    date_updated: datetime
    status: AccountStatus = "active"
    type: Literal["Trial", "Full"] = "Full"

    @property
    def is_main(self) -> bool:
        """True for the main account (Twilio makes a main account its own owner)."""
        return self.owner_account_sid == self.sid


@dataclasses.dataclass(slots=True)
class ApiKey:
    """A standard API key; its secret authenticates until the key is deleted."""

    sid: str
    account_sid: str
    friendly_name: str
    secret: str
    date_created: datetime
    date_updated: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class TestCredentials:
    """The test credentials of an account: their own account SID and auth token."""

    account_sid: str
    auth_token: str
    owner_account_sid: str


class StoreKey(Generic[T]):
    """The typed name of a store: `StoreKey[Message]("messages")`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StoreKey({self.name!r})"


class Store(Generic[T]):
    """Records of one resource by SID, in insertion order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[str, T] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, sid: object) -> bool:
        return sid in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def add(self, item: T) -> T:
        """Store a new record; its SID must be new."""
        if item.sid in self._items:
            raise KeyError(f"{self.name} already holds {item.sid}.")
        self._items[item.sid] = item
        return item

    def get(self, sid: str) -> T | None:
        """The record with this SID, or None."""
        return self._items.get(sid)

    def remove(self, sid: str) -> T | None:
        """Forget a record; returns it, or None if it was not there."""
        return self._items.pop(sid, None)

    def values(self) -> list[T]:
        """Every record, oldest first."""
        return list(self._items.values())

    def clear(self) -> None:
        """Forget every record."""
        self._items.clear()


ACCOUNTS: StoreKey[Account] = StoreKey("accounts")
KEYS: StoreKey[ApiKey] = StoreKey("keys")


class EmulatorState:
    """Everything the emulator remembers, plus the SID factory and the clock it dates things by."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.sids = SidFactory(config.seed)
        # What happened, for whoever listens (the control API's event stream); outlives resets.
        self.events = EventBus(clock.now)
        self._stores: dict[str, Store[Any]] = {}
        self.test_credentials = TestCredentials(
            config.test_account_sid, config.test_auth_token, config.account_sid
        )
        # Called after every reset, e.g. to cancel scheduled work of the previous state.
        self.reset_hooks: list[Callable[[EmulatorState], None]] = []
        # Called when an account is closed (Twilio then releases its phone numbers).
        self.account_closed_hooks: list[Callable[[EmulatorState, Account], None]] = []
        self.reset()

    def store(self, key: StoreKey[T]) -> Store[T]:
        """The store behind `key`, created empty on first use."""
        store = self._stores.get(key.name)
        if store is None:
            store = self._stores[key.name] = Store[T](key.name)
        return store

    @property
    def accounts(self) -> Store[Account]:
        """The main account and its subaccounts."""
        return self.store(ACCOUNTS)

    @property
    def keys(self) -> Store[ApiKey]:
        """Every account's API keys."""
        return self.store(KEYS)

    @property
    def main_account(self) -> Account:
        """The account the emulator was started with."""
        account = self.accounts.get(self.config.account_sid)
        assert account is not None, "reset() always seeds the main account"
        return account

    def reset(self) -> None:
        """Forget everything, restart the SID sequence, seed the main account again."""
        for store in self._stores.values():
            store.clear()
        self.sids.reseed()
        now = self.clock.now()
        self.accounts.add(
            Account(
                sid=self.config.account_sid,
                auth_token=self.config.auth_token,
                friendly_name=self.config.friendly_name,
                owner_account_sid=self.config.account_sid,
                date_created=now,
                date_updated=now,
            )
        )
        for hook in self.reset_hooks:
            hook(self)
        self.events.publish("state.reset", {})

    def subaccounts_of(self, account_sid: str) -> list[Account]:
        """The subaccounts an account owns (not itself), oldest first."""
        return [
            account
            for account in self.accounts
            if account.owner_account_sid == account_sid and account.sid != account_sid
        ]

    def set_account_status(self, account: Account, status: AccountStatus) -> None:
        """Change an account's status, running the close hooks when it closes."""
        if account.status == status:
            return
        account.status = status
        account.date_updated = self.clock.now()
        if status == "closed":
            for hook in self.account_closed_hooks:
                hook(self, account)
