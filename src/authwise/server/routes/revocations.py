"""``GET /revocations`` as a Server-Sent Events stream: the event log, for verifiers.

Each entry a verifier needs is one SSE event: ``id:`` is its sequence number in the log,
``event: set``, and ``data:`` the entry as a signed Security Event Token. A verifier that
reconnects sends ``Last-Event-ID`` and gets every entry after it, in order, once; one that
sends none, or an ID older than the log's retention, first gets ``event: reset`` and then
every entry the log still holds (which is every revocation that can still matter: the log
keeps entries as long as an access token they affect can live). A heartbeat (``event:
heartbeat``, with the position and the server's time) every ``HEARTBEAT`` seconds tells the
verifier the stream is alive; a verifier that hears nothing for longer than its bound treats
the stream as down.

Entries that only keep this deployment's own processes coherent (session rotation, key-ring
reloads, client changes) are not sent. The stream ends the moment its client is revoked or
given a new secret, made by any process (the entry reaches every one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse

from authwise.server.context import ServerContext
from authwise.storage.base import DELIVERED_KINDS, ClientRecord, EventKind, LogEntry

__all__ = ["HEARTBEAT", "revocation_stream"]

HEARTBEAT = 5.0
_QUEUE_LIMIT = 10_000
_BACKLOG_BATCH = 500
_CLIENT_ENDED = frozenset({EventKind.CLIENT_REVOKED, EventKind.CLIENT_SECRET_ROTATED})


def _frame(name: str, data: bytes, event_id: int | None = None) -> bytes:
    head = b"" if event_id is None else b"id: %d\n" % event_id
    return head + b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


def last_event_id(request: Request) -> int | None:
    """The position a reconnecting verifier asks to resume after (strict ASCII digits)."""
    raw = request.headers.get("last-event-id", "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


async def revocation_stream(
    ctx: ServerContext, request: Request, client: ClientRecord
) -> StreamingResponse:
    service = ctx.service
    queue: asyncio.Queue[LogEntry | None] = asyncio.Queue(_QUEUE_LIMIT)
    overflowed = asyncio.Event()
    client_ended = asyncio.Event()

    def on_entry(entry: LogEntry | None) -> None:
        if (
            entry is not None
            and entry.event.kind in _CLIENT_ENDED
            and entry.event.data.get("client_id") == client.client_id
        ):
            client_ended.set()
        if queue.full():
            overflowed.set()
        else:
            queue.put_nowait(entry)

    # Subscribe before reading the backlog, so nothing falls between the two.
    subscription = service.subscribe(on_entry)
    asked = last_event_id(request)
    oldest = await service.stores.log.oldest()
    reset = asked is None or asked < oldest - 1
    position = oldest - 1 if reset or asked is None else asked

    def encode(entry: LogEntry) -> bytes | None:
        if entry.event.kind not in DELIVERED_KINDS:
            return None
        return _frame(
            "set", service.security_event(entry.event, audience=client.client_id), entry.seq
        )

    async def body() -> AsyncIterator[bytes]:
        nonlocal position
        try:
            if reset:
                yield _frame("reset", orjson.dumps({"oldest": oldest}))
            while True:  # the backlog, from the log itself
                entries = await service.stores.log.read(position, limit=_BACKLOG_BATCH)
                for entry in entries:
                    frame = encode(entry)
                    if frame is not None:
                        yield frame
                    position = entry.seq
                if len(entries) < _BACKLOG_BATCH:
                    break
            while True:
                try:
                    async with asyncio.timeout(HEARTBEAT):
                        item = await queue.get()
                except TimeoutError:
                    beat = {"position": position, "now": service.now()}
                    yield _frame("heartbeat", orjson.dumps(beat))
                    continue
                if client_ended.is_set():
                    return  # the client was revoked or its secret replaced
                if overflowed.is_set() or item is None:
                    return  # fell behind, or the log had a gap: reconnecting catches up
                if item.seq <= position:
                    continue  # in the backlog already
                frame = encode(item)
                if frame is not None:
                    yield frame
                position = item.seq
        finally:
            subscription.close()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
