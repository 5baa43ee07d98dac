"""``GET /revocations`` as a Server-Sent Events stream, for verifiers that subscribe.

The stream opens with a ``snapshot`` event (every live entry, as the JSON list answers), then
sends a ``revoked`` event for each new entry the moment the service's event bus delivers it
in this process (from every process, when the bus is Redis), and a comment every
``KEEPALIVE`` seconds so proxies keep the connection open. A verifier that loses the stream
reconnects and starts again from a snapshot, so nothing is missed.

The stream ends the moment its client is revoked or given a new secret (the event reaches
every process); where no event could come (the CLI on a deployment without Redis), each
keepalive checks the client against the store, so it ends within ``KEEPALIVE`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from starlette.responses import StreamingResponse

from authwise.server.context import ServerContext
from authwise.storage.base import BusEvent, BusEventKind, ClientRecord

__all__ = ["KEEPALIVE", "revocation_stream"]

KEEPALIVE = 15.0
_QUEUE_LIMIT = 10_000
_CLIENT_ENDED = frozenset({BusEventKind.CLIENT_REVOKED, BusEventKind.CLIENT_SECRET_ROTATED})


def _event(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def revocation_stream(ctx: ServerContext, client: ClientRecord) -> StreamingResponse:
    """The stream for ``client`` (authenticated by the caller)."""
    service = ctx.service
    queue: asyncio.Queue[BusEvent] = asyncio.Queue(_QUEUE_LIMIT)
    overflowed = asyncio.Event()

    client_ended = asyncio.Event()

    def on_event(event: BusEvent) -> None:
        if event.kind in _CLIENT_ENDED and event.key == client.client_id:
            client_ended.set()
            if not queue.full():
                queue.put_nowait(event)  # wakes the stream up; it ends at once
        elif event.kind is BusEventKind.REVOKED and event.revocation is not None:
            if queue.full():
                overflowed.set()
            else:
                queue.put_nowait(event)

    # Subscribe before reading the snapshot, so nothing falls between the two.
    subscription = await service.subscribe(on_event)
    now = service.now()
    entries = await service.live_revocations(now)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield _event("snapshot", {"now": now, "entries": [e.to_dict() for e in entries]})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    if not await service.client_is_current(client):
                        return
                    yield b": keepalive\n\n"
                    continue
                if client_ended.is_set():
                    return  # the client was revoked or its secret replaced
                if overflowed.is_set():
                    return  # fell too far behind: the verifier reconnects for a fresh snapshot
                if event.revocation is not None:
                    yield _event("revoked", event.revocation.to_dict())
        finally:
            await subscription.close()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
