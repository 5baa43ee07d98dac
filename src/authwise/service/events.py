"""Following the event log: every process applies every change, wherever it was made.

:class:`EventTail` keeps a position in the log and hands each new entry, in order, to its
subscribers (the service's revocation set and key ring, the server's caches, open event
streams). It reads when the log's watch says it grew (SQLite ``data_version``, PostgreSQL
``NOTIFY``, a condition in memory) and at least once a second, and the service calls
:meth:`EventTail.catch_up` right after each change it commits, so a process applies its own
events before it answers.

A gap in the sequence means entries were pruned before this process read them (it was
stopped or stalled for longer than the retention): subscribers then get ``None``, meaning
"drop whatever you cached"; nothing that was pruned can still affect a valid token.

With a Redis stream configured, the tail also relays what it read to the stream, in order
(:class:`~authwise.storage.redis.RedisEventStream`); a relay that fails is retried on the
next round from the log, so the stream never skips an entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from authwise.errors import AuthwiseError
from authwise.storage.base import EventLog, LogEntry

__all__ = ["EventHandler", "EventRelay", "EventTail", "Subscription"]

log = logging.getLogger("authwise.service")

EventHandler = Callable[[LogEntry | None], None]
"""Called with each entry in order, or ``None`` after a gap; must not block."""
READ_BATCH = 500
IDLE_READ_INTERVAL = 1.0
"""Seconds between two reads of the log when no wake-up came (a missed wake-up costs this)."""


class EventRelay(Protocol):
    """Where the tail copies the log (a Redis stream)."""

    async def publish(self, entries: list[LogEntry], *, keep_from: int) -> int: ...

    async def last(self) -> int:
        """The newest sequence number relayed (a cheap read: health checks use it)."""


@dataclass(eq=False)
class Subscription:
    tail: EventTail
    handler: EventHandler
    closed: bool = field(default=False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.tail._subscriptions.remove(self)


class EventTail:
    def __init__(self, log_: EventLog, *, relay: EventRelay | None = None) -> None:
        self._log = log_
        self.relay = relay
        self.position = 0
        """The sequence number of the last entry applied here."""
        self._relayed = 0
        self._started = False
        self._subscriptions: list[Subscription] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.gaps = 0
        """How often entries were found pruned before they were read (for metrics, tests)."""

    def subscribe(self, handler: EventHandler) -> Subscription:
        subscription = Subscription(self, handler)
        self._subscriptions.append(subscription)
        return subscription

    async def start_at(self, position: int) -> None:
        """Follow the log from ``position`` on (entries up to it are taken as applied)."""
        self.position = self._relayed = position
        self._started = True

    def _dispatch(self, entry: LogEntry | None) -> None:
        for subscription in list(self._subscriptions):
            try:
                subscription.handler(entry)
            except Exception:
                # One faulty subscriber must not keep the change from the others.
                log.exception("event subscriber failed")

    async def catch_up(self, *, relay: bool = True) -> int:
        """Apply every entry committed so far; return the new position. ``relay=False``
        leaves the copy to the Redis stream to the background task (a request that made a
        change need not wait for Redis)."""
        async with self._lock:
            while True:
                entries = await self._log.read(self.position, limit=READ_BATCH)
                if not entries:
                    break
                if entries[0].seq != self.position + 1 and self._started:
                    self.gaps += 1
                    log.warning(
                        "event log: entries %d..%d were pruned before this process read them",
                        self.position + 1,
                        entries[0].seq - 1,
                    )
                    self._dispatch(None)
                for entry in entries:
                    self._dispatch(entry)
                    self.position = entry.seq
            if relay:
                await self._relay()
            return self.position

    async def _relay(self) -> None:
        if self.relay is None or self._relayed >= self.position:
            return
        try:
            while self._relayed < self.position:
                entries = await self._log.read(self._relayed, limit=READ_BATCH)
                if not entries:
                    break
                await self.relay.publish(entries, keep_from=await self._log.oldest())
                self._relayed = entries[-1].seq
        except AuthwiseError as exc:
            # The stream is a copy: it catches up from the log on a later round.
            log.warning("event relay paused: %s", exc.code)

    def run(self) -> None:
        """Start following in a background task (one per process)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._follow(), name="authwise-tail"
            )

    async def _follow(self) -> None:
        watch = None
        while True:
            try:
                if watch is None:
                    watch = await self._log.watch()
                await watch.wait(IDLE_READ_INTERVAL)
                await self.catch_up()
            except asyncio.CancelledError:
                if watch is not None:
                    await watch.close()
                raise
            except Exception as exc:
                # A store that is down: try again shortly (the next read starts where this
                # one stopped, so nothing is lost).
                if not isinstance(exc, AuthwiseError):
                    log.exception("event tail failed; retrying")
                if watch is not None:
                    with contextlib.suppress(Exception):
                        await watch.close()
                    watch = None
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
