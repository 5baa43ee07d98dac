"""The log's copy as a Redis Stream (see the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from redis.exceptions import ResponseError

from authwise.storage.base import Event, LogEntry
from authwise.storage.redis._client import RedisStore, unavailable

__all__ = ["RedisEventStream"]


def _seq(stream_id: bytes) -> int:
    return int(stream_id.split(b"-", 1)[0])


class RedisEventStream(RedisStore):
    async def publish(self, entries: Sequence[LogEntry], *, keep_from: int) -> int:
        """Relay ``entries`` (in order) and trim what is older than the entry ``keep_from``;
        return how many were new to the stream. Entries already there are skipped."""
        added = 0
        async with unavailable():
            for entry in entries:
                try:
                    await self._redis.xadd(
                        self._keys.events,
                        {b"event": orjson.dumps(entry.event.to_dict())},
                        id=f"{entry.seq}-0",
                        minid=f"{keep_from}-0",
                        approximate=True,
                    )
                except ResponseError as exc:
                    if "equal or smaller" not in str(exc):
                        raise
                    continue  # another process relayed it first
                added += 1
        return added

    async def last(self) -> int:
        """The newest sequence number in the stream (0 when it is empty)."""
        async with unavailable():
            newest: Any = await self._redis.xrevrange(self._keys.events, count=1)
        return _seq(newest[0][0]) if newest else 0

    async def read(
        self, after: int, *, block_ms: int | None = None, count: int = 500
    ) -> list[LogEntry]:
        """Entries after ``after``, oldest first; with ``block_ms``, wait that long for one."""
        async with unavailable():
            reply: Any = await self._redis.xread(
                {self._keys.events: f"{after}-0"}, count=count, block=block_ms
            )
        found: list[LogEntry] = []
        for _key, items in reply or ():
            for stream_id, fields in items:
                found.append(
                    LogEntry(_seq(stream_id), Event.from_dict(orjson.loads(fields[b"event"])))
                )
        return found
