"""The event bus over Redis pub/sub: every process subscribes to one channel.

A subscriber owns one connection and a reader task. When the connection drops (Redis
restarted, a network blip) the task reconnects by itself with a capped backoff and subscribes
again; events published while it was away are lost, as pub/sub never stores them, so a
subscriber that caches state should reload it after a gap (the revocation list is small).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from authwise.storage.base import BusEvent, EventHandler
from authwise.storage.redis._client import UNREACHABLE, RedisStore, unavailable

__all__ = ["RedisEventBus", "RedisSubscription"]

log = logging.getLogger("authwise.storage")
_BACKOFF_START_S = 0.05
_BACKOFF_MAX_S = 2.0


class RedisSubscription:
    def __init__(self, bus: RedisEventBus, handler: EventHandler) -> None:
        self._bus = bus
        self._handler = handler
        self._task: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._client: Any = None
        self.reconnects = 0
        """How often the subscriber had to reconnect (for metrics and tests)."""

    async def _connect(self) -> None:
        await self._disconnect()
        self._client = self._bus._conn.pubsub_client()
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        # SUBSCRIBE's confirmation is waited for: an event published once this returns is ours.
        await self._pubsub.subscribe(self._bus._keys.events)
        while await self._pubsub.get_message(timeout=1.0) is None and not self._pubsub.subscribed:
            pass

    async def _disconnect(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        with contextlib.suppress(*UNREACHABLE):
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()

    def _deliver(self, data: bytes) -> None:
        try:
            event = BusEvent.from_json(data)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event on the bus")
            return
        try:
            self._handler(event)
        except Exception:
            log.exception("event handler failed on a %s event", event.kind.value)

    async def _run(self) -> None:
        backoff = _BACKOFF_START_S
        while True:
            try:
                if self._pubsub is None:
                    await self._connect()
                    backoff = _BACKOFF_START_S
                message = await self._pubsub.get_message(timeout=5.0)
                if message is not None and message.get("type") == "message":
                    self._deliver(message["data"])
            except Exception as exc:
                # Whatever went wrong (the connection above all), the subscriber must not die
                # quietly: a process without its bus would miss every revocation push.
                if not isinstance(exc, UNREACHABLE):
                    log.exception("event subscriber failed; reconnecting")
                await self._disconnect()
                self.reconnects += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    async def start(self) -> None:
        async with unavailable():
            await self._connect()
        self._task = asyncio.create_task(self._run(), name="authwise-redis-subscriber")

    async def close(self) -> None:
        self._bus._subscriptions.discard(self)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._disconnect()


class RedisEventBus(RedisStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subscriptions: set[RedisSubscription] = set()

    async def aclose(self) -> None:
        """Close every subscription still open, then the shared connection."""
        for subscription in list(self._subscriptions):
            await subscription.close()
        await super().aclose()

    async def publish(self, event: BusEvent) -> None:
        async with unavailable():
            await self._redis.publish(self._keys.events, event.to_json())

    async def subscribe(self, handler: EventHandler) -> RedisSubscription:
        subscription = RedisSubscription(self, handler)
        self._subscriptions.add(subscription)
        try:
            await subscription.start()
        except BaseException:
            await subscription.close()
            raise
        return subscription
