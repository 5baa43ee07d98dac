"""The Redis stream that copies the event log for verifiers: in order, once, trimmed to the
log's retention, relayed by every process's tail, and caught up after Redis comes back."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from authwise.errors import StoreUnavailable
from authwise.service.events import EventTail
from authwise.storage.base import Event, EventKind, LogEntry
from authwise.storage.memory import MemoryEventLog
from authwise.storage.redis import RedisConnection, RedisEventStream

from .backends import REDIS_URL, redis_cluster_url
from .faults import RedisServer


def entry(seq: int) -> LogEntry:
    """The same entry for the same seq (its event id included), as a log would give back."""
    event = Event(
        kind=EventKind.SESSION_REVOKED, at=100 + seq, id=f"e{seq}", user_id="u1", sid=f"s{seq}"
    )
    return LogEntry(seq, event)


@pytest.fixture(params=["redis", "redis-cluster"])
async def stream(request: pytest.FixtureRequest) -> AsyncIterator[RedisEventStream]:
    url = REDIS_URL if request.param == "redis" else redis_cluster_url()
    conn = RedisConnection(
        url, prefix=f"awt{secrets.token_hex(6)}", cluster=request.param == "redis-cluster"
    )
    stream = RedisEventStream(conn)
    try:
        yield stream
    finally:
        await conn.client.delete(conn.keys.events)
        await conn.aclose()


async def test_entries_land_once_in_order(stream: RedisEventStream) -> None:
    assert await stream.last() == 0
    assert await stream.publish([entry(1), entry(2)], keep_from=1) == 2
    # A second relay of the same entries (another process) adds nothing.
    assert await stream.publish([entry(1), entry(2), entry(3)], keep_from=1) == 1
    read = await stream.read(0)
    assert [e.seq for e in read] == [1, 2, 3]
    assert read[0] == entry(1)
    assert [e.seq for e in await stream.read(2)] == [3]
    assert await stream.last() == 3


async def test_trimmed_to_the_logs_retention(stream: RedisEventStream) -> None:
    await stream.publish([entry(n) for n in range(1, 201)], keep_from=1)
    await stream.publish([entry(201)], keep_from=150)
    kept = [e.seq for e in await stream.read(0, count=1000)]
    # MINID trimming is approximate (whole macro nodes): what stays is a tail of the log.
    assert kept[-1] == 201
    assert kept == list(range(kept[0], 202))
    assert kept[0] <= 150


async def test_a_blocking_read_waits_for_the_next_entry(stream: RedisEventStream) -> None:
    assert await stream.read(0, block_ms=50) == []
    await stream.publish([entry(1)], keep_from=1)
    assert [e.seq for e in await stream.read(0, block_ms=1000)] == [1]


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


async def test_the_tail_relays_and_catches_up_after_an_outage(own_redis: RedisServer) -> None:
    log = MemoryEventLog()
    conn = RedisConnection(own_redis.url, prefix="aw")
    relay = RedisEventStream(conn)
    tail = EventTail(log, relay=relay)
    try:
        await log.append([entry(1).event, entry(2).event])
        await tail.catch_up()
        assert [e.seq for e in await relay.read(0)] == [1, 2]
        own_redis.stop()
        await log.append([entry(3).event])
        # The log is the truth: the tail applies the entry; the copy waits for Redis.
        assert await tail.catch_up() == 3
        with pytest.raises(StoreUnavailable):
            await relay.last()
        own_redis.start()  # an empty Redis (no persistence): the stream starts again
        await log.append([entry(4).event])
        await tail.catch_up()
        # Nothing skipped: the entry relayed during the outage came first.
        assert [e.seq for e in await relay.read(0)] == [3, 4]
    finally:
        await conn.aclose()
