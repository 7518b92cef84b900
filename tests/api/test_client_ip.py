"""The client IP the verification throttle counts by, behind trusted proxies or not."""

from __future__ import annotations

from starlette.requests import Request

from herald.api.client_ip import client_ip

PROXIES = ("10.0.0.0/8", "proxy.internal")


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_direct_client_is_the_peer() -> None:
    """Without a proxy, the connection's peer is the client, whatever it claims."""
    assert client_ip(_request("192.0.2.5", "198.51.100.1"), PROXIES) == "192.0.2.5"


def test_trusted_proxy_passes_on_the_client() -> None:
    """Behind a trusted proxy, the address it appended is the client."""
    assert client_ip(_request("10.0.0.2", "198.51.100.1"), PROXIES) == "198.51.100.1"


def test_spoofed_entries_left_of_the_proxy_are_ignored() -> None:
    """What the client wrote into X-Forwarded-For itself never counts."""
    assert client_ip(_request("10.0.0.2", "1.2.3.4, 198.51.100.1"), PROXIES) == "198.51.100.1"


def test_chain_of_trusted_proxies_is_walked() -> None:
    """Several trusted proxies in a row are skipped from the right."""
    chain = "198.51.100.1, 10.1.1.1, 10.2.2.2"
    assert client_ip(_request("10.0.0.2", chain), PROXIES) == "198.51.100.1"


def test_trusted_proxy_without_header_is_the_client() -> None:
    """A trusted proxy that forwards no header is taken as the client itself."""
    assert client_ip(_request("10.0.0.2"), PROXIES) == "10.0.0.2"
