"""Who is calling, and may they act on the account in the URL (TWILIO-API.md §1).

Two steps, both answering Twilio's own errors:

1. `authenticate` reads HTTP Basic credentials: Account SID + auth token, API key SID (`SK…`) +
   secret, or the test credentials. Anything missing, malformed, unknown, wrong, deleted, or
   belonging to a suspended or closed account is 401/20003 with a Basic challenge.
2. `authorize` checks the principal against the `{AccountSid}` of the URL and the route's
   `Access` flags:
   - an account acts on itself, and a main account on its subaccounts (Twilio's documented
     "parent credentials, subaccount SID in the URL"); a subaccount on its parent or a sibling,
     or anyone on an unrelated account, is 401/20003 (Twilio's 20003 page lists "subaccount
     credentials to access the main account or another subaccount");
   - API keys act on their own account only, and not on routes that need the account's own
     credentials (`/Accounts`, `/Keys`: Twilio's 20003 page says standard keys cannot use them);
   - test credentials act only on their own test SID and only on routes that accept them, else
     403/20008 (twilio.com/docs/iam/test-credentials: "any other resource … 403 Forbidden");
   - a suspended or closed target account is 401/20003 except where the route allows it (a
     parent must still be able to read and reactivate its suspended subaccount).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
from typing import Literal

from herald.emulator import errors
from herald.emulator.state import Account, EmulatorState

CredentialKind = Literal["auth_token", "api_key", "test"]


@dataclasses.dataclass(frozen=True, slots=True)
class Access:
    """What a route accepts beyond an account acting on itself or its subaccounts."""

    test_credentials: bool = False
    """Test credentials may call it (Messages, Calls and IncomingPhoneNumbers create)."""
    api_keys: bool = True
    """API keys may call it (not `/Accounts` nor `/Keys`)."""
    inactive_account: bool = False
    """The URL's account may be suspended or closed (fetching and updating an Account)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    account_sid: str
    """The account the credentials belong to (the test SID for test credentials)."""
    kind: CredentialKind
    key_sid: str | None = None
    """The API key used, when `kind == "api_key"`."""
    live_account_sid: str = ""
    """The live account behind the credentials (the owner of test credentials)."""

    @property
    def is_test(self) -> bool:
        """True when the caller used test credentials."""
        return self.kind == "test"


def authenticate(authorization: str | None, state: EmulatorState) -> Principal:
    """The principal behind an `Authorization` header, or 401/20003."""
    username, password = _basic_credentials(authorization)
    test = state.test_credentials
    if username == test.account_sid:
        if not _same(password, test.auth_token):
            raise errors.authenticate()
        owner = state.accounts.get(test.owner_account_sid)
        if owner is None or owner.status != "active":
            raise errors.authenticate()
        return Principal(test.account_sid, "test", live_account_sid=owner.sid)
    if username.startswith("SK"):
        key = state.keys.get(username)
        if key is None or not _same(password, key.secret):
            raise errors.authenticate()
        account = state.accounts.get(key.account_sid)
        if account is None or account.status != "active":
            raise errors.authenticate()
        return Principal(account.sid, "api_key", key_sid=key.sid, live_account_sid=account.sid)
    account = state.accounts.get(username)
    if account is None or not _same(password, account.auth_token) or account.status != "active":
        raise errors.authenticate()
    return Principal(account.sid, "auth_token", live_account_sid=account.sid)


def authorize(
    principal: Principal, state: EmulatorState, account_sid: str | None, access: Access
) -> Account:
    """The live account a request acts on, or Twilio's refusal.

    `account_sid` is the URL's `{AccountSid}` (None for routes without one, such as
    `/Accounts.json`, which act on the caller's own account). For test credentials the result is
    the live account that owns them; handlers must store nothing for such requests.
    """
    if principal.is_test:
        if account_sid is not None and account_sid != principal.account_sid:
            raise errors.authenticate()
        if not access.test_credentials:
            raise errors.refused_with_test_credentials()
        owner = state.accounts.get(principal.live_account_sid)
        if owner is None:
            raise errors.authenticate()
        return owner
    if principal.kind == "api_key" and not access.api_keys:
        raise errors.authenticate()
    caller = state.accounts.get(principal.account_sid)
    if caller is None:
        raise errors.authenticate()
    if account_sid is None or account_sid == caller.sid:
        return caller
    target = state.accounts.get(account_sid)
    if target is None or principal.kind == "api_key" or target.owner_account_sid != caller.sid:
        raise errors.authenticate()
    if target.status != "active" and not access.inactive_account:
        raise errors.authenticate()
    return target


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    if not authorization:
        raise errors.authenticate()
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise errors.authenticate()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise errors.authenticate() from None
    username, separator, password = decoded.partition(":")
    if not separator or not username:
        raise errors.authenticate()
    return username, password


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
