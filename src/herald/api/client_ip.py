"""The client's IP address as the API sees it, for the per-IP verification throttle.

The peer of the connection is the client, unless it is one of `HERALD_TRUSTED_PROXIES`: then
`X-Forwarded-For` is read from the right (each proxy appends the address it saw), skipping
trusted proxies, and the first address that is not one is the client. Anything to its left
was written by the client itself and could be anything, so it is never believed.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request


def client_ip(request: Request, trusted_proxies: tuple[str, ...]) -> str | None:
    """The client's address, or None when the server cannot tell (no peer)."""
    peer = request.client.host if request.client is not None else None
    if peer is None or not is_trusted(peer, trusted_proxies):
        return peer
    chain = [
        hop.strip()
        for value in request.headers.getlist("x-forwarded-for")
        for hop in value.split(",")
        if hop.strip()
    ]
    for hop in reversed(chain):
        if not is_trusted(hop, trusted_proxies):
            return hop
    return chain[0] if chain else peer


def is_trusted(address: str, trusted_proxies: tuple[str, ...]) -> bool:
    """Whether `address` is one of the trusted proxies (addresses or networks)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address in trusted_proxies
    for entry in trusted_proxies:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if entry == address:
                return True
    return False
