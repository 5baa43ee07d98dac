"""Poll delivery of the event log to outside receivers (RFC 8936), one stream per client.

A receiver is an OAuth client. It polls; the answer holds the Security Event Tokens it has not
acknowledged yet, oldest first, at most ``max_events`` of them; it acknowledges by ``jti`` in
its next poll (``ack``, or ``setErrs`` for one it could not process: not sent again either).
Its cursor lives in the store (``ReceiverStore``), so any server process can answer its next
poll: the position up to which everything is acknowledged, and what was acknowledged out of
order after it. A receiver that was away for longer than the log's retention starts again at
the oldest entry kept (nothing older can still matter to a token).

With nothing to deliver and ``return_immediately`` off, a poll waits up to ``LONG_POLL_MAX``
seconds for the next entry (the long poll of RFC 8936 section 2.4).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authwise.storage.base import DELIVERED_KINDS, LogEntry, ReceiverCursor

if TYPE_CHECKING:
    from authwise.service.service import AuthService

__all__ = ["LONG_POLL_MAX", "POLL_MAX_EVENTS", "PollDelivery", "PollResult"]

log = logging.getLogger("authwise.service")

POLL_MAX_EVENTS = 500
"""The most SETs one answer carries (also the default when the receiver names none)."""
LONG_POLL_MAX = 30.0
_SCAN = 500


@dataclass(frozen=True, slots=True)
class PollResult:
    sets: dict[str, str]
    """``jti`` to the signed SET."""
    more_available: bool


class PollDelivery:
    def __init__(self, service: AuthService) -> None:
        self._service = service

    async def poll(
        self,
        client_id: str,
        *,
        ack: Collection[str] = (),
        errors: Collection[str] = (),
        max_events: int | None = None,
        return_immediately: bool = False,
        wait: float = LONG_POLL_MAX,
    ) -> PollResult:
        """Settle what the receiver acknowledged (``ack``) or reported (``errors``, by jti),
        then answer with what it has not settled yet."""
        limit = POLL_MAX_EVENTS if max_events is None else min(max_events, POLL_MAX_EVENTS)
        if errors:
            log.info("receiver %s could not process %d event(s)", client_id, len(errors))
        cursor = await self._settle(client_id, {*ack, *errors})
        if limit == 0:
            return PollResult({}, await self._pending(cursor, 1) != [])
        woken = asyncio.Event()
        subscription = self._service.subscribe(lambda _entry: woken.set())
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + min(wait, LONG_POLL_MAX)
            while True:
                woken.clear()
                found = await self._pending(cursor, limit + 1)
                if found or return_immediately or loop.time() >= deadline:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(deadline - loop.time()):
                        await woken.wait()
        finally:
            subscription.close()
        sets = {
            entry.event.id: self._service.security_event(entry.event, audience=client_id).decode()
            for entry in found[:limit]
        }
        return PollResult(sets, len(found) > limit)

    async def _entries(self, after: int) -> list[LogEntry]:
        """Every entry after ``after``, oldest first (the log is bounded by its retention)."""
        found: list[LogEntry] = []
        while True:
            batch = await self._service.stores.log.read(after, limit=_SCAN)
            found.extend(batch)
            if len(batch) < _SCAN:
                return found
            after = batch[-1].seq

    async def _start(self, client_id: str) -> ReceiverCursor:
        log_ = self._service.stores.log
        floor = await log_.oldest() - 1
        cursor = await self._service.stores.receivers.get(client_id)
        if cursor is None or cursor.position < floor:
            return ReceiverCursor(floor)  # new, or away past the retention
        return cursor

    async def _settle(self, client_id: str, settled: set[str]) -> ReceiverCursor:
        cursor = await self._start(client_id)
        acked = set(cursor.acked)
        position = cursor.position
        entries = await self._entries(position)
        acked.update(entry.seq for entry in entries if entry.event.id in settled)
        for entry in entries:
            if entry.seq in acked or entry.event.kind not in DELIVERED_KINDS:
                acked.discard(entry.seq)
                position = entry.seq
            else:
                break
        new = ReceiverCursor(position, frozenset(acked))
        if new != cursor:
            await self._service.stores.receivers.save(client_id, new, now=self._service.now())
        return new

    async def _pending(self, cursor: ReceiverCursor, limit: int) -> list[LogEntry]:
        found = []
        for entry in await self._entries(cursor.position):
            if entry.event.kind in DELIVERED_KINDS and entry.seq not in cursor.acked:
                found.append(entry)
                if len(found) >= limit:
                    break
        return found
