"""uvicorn's HTTP/1.1 protocol with a deadline on request headers (slow-client protection).

uvicorn closes an idle keep-alive connection after `timeout_keep_alive` seconds, but once a
client has sent the first byte of a request it waits for the rest of the headers for ever. A
client that sends its headers a byte at a time (slowloris) thus holds a connection, a file
descriptor and a parser as long as it likes, and enough of them exhaust the process.

`HeaderDeadlineProtocol` gives every request `header_timeout` seconds from its first byte (or
from the connection opening) to finish its headers; past that the connection is closed without
an answer. Once the headers are in, the body has its own deadline, enforced by the API's
`BodySizeLimit` middleware (408 `request_timeout`). Both come from
`HERALD_HTTP_READ_TIMEOUT_SECONDS`.

The protocol is the httptools one uvicorn picks by default (`uvicorn[standard]`); headers are
capped by its parser too (uvicorn answers 400 to a request whose headers do not parse).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT: Final = 15.0
MAX_HEADER_BYTES: Final = 64 * 1024
"""The most a request's line and headers may take together; more is answered 431 and closed."""


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` closing connections whose request headers arrive too slowly."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        reading_headers = self._deadline is not None
        super().data_received(data)
        if reading_headers and self._deadline is not None:
            # The headers are still not complete: count them, so none can be endless.
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self._cancel_deadline()
                self._refuse_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._header_bytes = 0
            self._start_deadline()

    def on_headers_complete(self) -> None:
        self._cancel_deadline()
        super().on_headers_complete()

    def _start_deadline(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse_headers(self) -> None:
        message = b"Request header fields too large."
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(message)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + message
        )
        self.transport.close()


def protocol_with(header_timeout: float) -> type[HeaderDeadlineProtocol]:
    """A `HeaderDeadlineProtocol` class whose requests have `header_timeout` seconds."""
    return type(
        "HeaderDeadlineProtocol",
        (HeaderDeadlineProtocol,),
        {"header_timeout": header_timeout, "__module__": __name__},
    )
