"""uvicorn's HTTP/1.1 protocol (httptools) with the three limits it lacks (S18).

httptools reads request headers of any size, and uvicorn gives a client unlimited time to
finish its headers and its body: sixty connections that each sent half a request were held
for as long as the clients liked, and an 8 MB header was read whole before the app saw it.
This protocol, which ``authwise serve`` hands to uvicorn, adds:

- a header deadline: a connection whose request headers are not complete within
  ``server.header_timeout`` seconds of its opening (or of its request's first byte) gets 408
  and is closed;
- a header size cap: more than ``server.max_header_bytes`` received before the headers end
  gets 431 and the connection is closed, before any authentication work;
- a body deadline: a body not received in full within ``server.body_timeout`` seconds of its
  headers ends the connection (the app sees the client disconnect and answers nothing).

The limits come from the same settings as the app (``AUTHWISE_*``, set by ``authwise serve``
for every worker process). A deadline is one float per connection, checked by one sweep of
the process's connections every ``SWEEP_INTERVAL`` seconds: a timer per request would cost
about 10 us on the hot path, the sweep a few hundred nanoseconds.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from authwise.config import ServerSettings, load_settings

__all__ = ["SWEEP_INTERVAL", "GuardedHttpToolsProtocol"]

SWEEP_INTERVAL = 0.25
_open: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[GuardedHttpToolsProtocol]] = (
    weakref.WeakKeyDictionary()
)


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    connections = _open.get(loop)
    if not connections:
        _open.pop(loop, None)
        return  # the next connection starts the sweep again
    now = loop.time()
    for protocol in list(connections):
        deadline = protocol.deadline
        if deadline is not None and now >= deadline:
            protocol.expired()
    loop.call_later(SWEEP_INTERVAL, _sweep, loop)


def _watch(protocol: GuardedHttpToolsProtocol) -> None:
    loop = protocol.loop
    connections = _open.get(loop)
    if connections is None:
        connections = _open[loop] = set()
        loop.call_later(SWEEP_INTERVAL, _sweep, loop)
    connections.add(protocol)


@functools.cache
def _limits() -> ServerSettings:
    return load_settings().server


def _answer(status: int, reason: bytes) -> bytes:
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s"
    ) % (status, reason, len(reason), reason)


_TIMEOUT = _answer(408, b"Request Timeout")
_TOO_LARGE = _answer(431, b"Request Header Fields Too Large")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: ServerSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = limits or _limits()
        self._header_timeout = limits.header_timeout
        self._body_timeout = limits.body_timeout
        self._max_header_bytes = limits.max_header_bytes
        self._header_bytes = 0
        self._in_headers = True
        self.deadline: float | None = None
        """When this connection's current deadline passes (the loop's clock), or None."""

    def _arm(self, seconds: float) -> None:
        self.deadline = self.loop.time() + seconds

    def _disarm(self) -> None:
        self.deadline = None

    def expired(self) -> None:
        """Called by the sweep once :attr:`deadline` has passed."""
        self.deadline = None
        if self.transport.is_closing():
            return
        if self._in_headers:
            self.transport.write(_TIMEOUT)
        # A body that stalls: close, and the app's receive() tells it the client went away.
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout)
        _watch(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        connections = _open.get(self.loop)
        if connections is not None:
            connections.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_headers and not self.transport.is_closing():
            # Counted after parsing: a chunk that also finished the headers is not refused.
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._disarm()
                self.transport.write(_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        if self.deadline is None:
            self._arm(self._header_timeout)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._arm(self._body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()
