"""Redis backend specifics: the Cluster key layout, TTLs on every key, rotation that a crash
cannot fork, races across connections, failing closed, and recovering after a restart."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from authwise.errors import StoreUnavailable
from authwise.storage.base import (
    BusEvent,
    BusEventKind,
    RevocationKind,
    RevocationRecord,
    Stores,
)
from authwise.storage.memory import memory_stores
from authwise.storage.redis import Keys, RedisEventBus, RedisSubscription, open_redis_stores

from .backends import REDIS_URL, redis_cleanup
from .conftest import eventually
from .faults import RedisServer, free_port, until_ok
from .records import digest, session

CONTENDERS = 4


@pytest.fixture
def prefix() -> str:
    return f"awt{secrets.token_hex(6)}"


@pytest.fixture
async def raw(prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    yield client
    await redis_cleanup(client, prefix)
    await client.aclose()


@pytest.fixture
async def bundles(prefix: str, raw: aioredis.Redis) -> AsyncIterator[list[Stores]]:
    """Separate connection pools on one prefix: separate server processes, in effect."""
    opened = [
        await open_redis_stores(REDIS_URL, memory_stores(), prefix=prefix)
        for _ in range(CONTENDERS)
    ]
    yield opened
    for stores in opened:
        await stores.aclose()


async def keys_of(raw: aioredis.Redis, prefix: str) -> list[bytes]:
    return [k async for k in raw.scan_iter(match=f"{prefix}:*", count=1000)]


def test_every_multi_key_step_stays_in_one_cluster_slot() -> None:
    keys = Keys("aw")
    user_slot = {
        key_slot(keys.session("user-1", "handle-a")),
        key_slot(keys.session("user-1", "handle-b")),
        key_slot(keys.user_sessions("user-1")),
    }
    assert len(user_slot) == 1
    assert key_slot(keys.revocations) == key_slot(keys.revocation_expiry)
    # ...while users and digests spread over the cluster.
    assert len({key_slot(keys.user_sessions(f"user-{i}")) for i in range(50)}) > 40
    assert len({key_slot(keys.digest(digest(str(i)))) for i in range(50)}) > 40


async def test_session_keys_carry_ttls_from_the_records_times(
    bundles: list[Stores], raw: aioredis.Redis, prefix: str
) -> None:
    sessions = bundles[0].sessions
    await sessions.create(session("a", last_seen=1000, expires_at=2800))
    await sessions.create(session("b", last_seen=1000, expires_at=1600))
    assert await sessions.touch(digest("b"), last_seen=1200, expires_at=3000)
    await sessions.rotate(digest("a"), digest("a2"), now=1500, expires_at=2000)
    keys = Keys(prefix)
    ttls = {
        "a": await raw.ttl(keys.session("u-alice", "h-a")),
        "a-pointer": await raw.ttl(keys.digest(digest("a2"))),
        "b": await raw.ttl(keys.session("u-alice", "h-b")),
        "b-pointer": await raw.ttl(keys.digest(digest("b"))),
        "index": await raw.ttl(keys.user_sessions("u-alice")),
    }
    # 500 s after the rotation at 1500, 1800 s after the touch at 1200 (give or take the
    # second that may tick while the test runs).
    assert 490 <= ttls["a"] <= 500
    assert 490 <= ttls["a-pointer"] <= 500
    assert 1790 <= ttls["b"] <= 1800
    assert 1790 <= ttls["b-pointer"] <= 1800
    assert ttls["index"] >= ttls["b"]
    assert await raw.exists(keys.digest(digest("a"))) == 0


async def test_no_key_lives_forever(
    bundles: list[Stores], raw: aioredis.Redis, prefix: str
) -> None:
    stores = bundles[0]
    for n in range(5):
        await stores.sessions.create(session(f"s{n}", user_id=f"u-{n % 2}"))
    await stores.sessions.rotate(digest("s0"), digest("s0b"), now=1100, expires_at=2900)
    await stores.sessions.delete(digest("s1"))
    await stores.sessions.delete_for_user("u-1", keep_handle="h-s3")
    for n in range(3):
        await stores.revocations.add(
            RevocationRecord(kind=RevocationKind.SID, key=f"f{n}", expires_at=1500 + n)
        )
    await stores.revocations.prune(1000)
    keys = await keys_of(raw, prefix)
    assert keys
    assert {k: await raw.ttl(k) for k in keys if await raw.ttl(k) < 0} == {}


async def test_a_revocation_added_after_a_prune_outlives_the_prunes_ttl(
    bundles: list[Stores], raw: aioredis.Redis, prefix: str
) -> None:
    revocations = bundles[0].revocations
    keys = Keys(prefix)
    await revocations.add(RevocationRecord(kind=RevocationKind.SID, key="a", expires_at=1500))
    await revocations.prune(1000)
    assert 490 <= await raw.ttl(keys.revocations) <= 500
    late = RevocationRecord(kind=RevocationKind.SID, key="b", expires_at=9000)
    await revocations.add(late)
    # The keys no longer expire with "a": "b" must stay until 9000.
    assert await raw.ttl(keys.revocations) == -1
    assert await raw.ttl(keys.revocation_expiry) == -1
    await revocations.prune(1600)
    assert await revocations.live(1600) == [late]
    assert 7390 <= await raw.ttl(keys.revocations) <= 7400


async def test_prune_sweeps_what_a_clock_ahead_of_redis_left(
    bundles: list[Stores], raw: aioredis.Redis, prefix: str
) -> None:
    sessions = bundles[0].sessions
    keys = Keys(prefix)
    for n in range(3):
        await sessions.create(session(f"a{n}", expires_at=1500 + 1000 * n))
    await sessions.create(session("b", user_id="u-bob", expires_at=1200))
    # A handle whose hash the TTL already took: the index still names it.
    await raw.zadd(keys.user_sessions("u-bob"), {"h-gone": 1000})
    assert await sessions.prune(1500) == 2
    assert [s.handle for s in await sessions.list_for_user("u-alice")] == ["h-a1", "h-a2"]
    assert await raw.exists(keys.digest(digest("a0")), keys.digest(digest("b"))) == 0
    assert await raw.zrange(keys.user_sessions("u-bob"), 0, -1) == []
    assert await sessions.get(digest("a1")) is not None


async def test_a_stale_pointer_finds_nothing(
    bundles: list[Stores], raw: aioredis.Redis, prefix: str
) -> None:
    """A process that died between the steps of a rotation leaves a pointer behind: the
    session's own digest field still decides, so neither a stale old ID nor a dangling new one
    leads anywhere."""
    sessions = bundles[0].sessions
    keys = Keys(prefix)
    await sessions.create(session("old"))
    pointer = await raw.get(keys.digest(digest("old")))
    assert await sessions.rotate(digest("old"), digest("new"), now=1500, expires_at=3300)
    await raw.set(keys.digest(digest("old")), pointer, ex=600)  # the DEL that never ran
    await raw.set(keys.digest(digest("ghost")), pointer, ex=600)  # a SET before a lost CAS
    assert await sessions.get(digest("old")) is None
    assert await sessions.get(digest("ghost")) is None
    assert await sessions.rotate(digest("old"), digest("x"), now=1600, expires_at=3400) is None
    assert not await sessions.touch(digest("old"), last_seen=1600, expires_at=3400)
    assert await sessions.delete(digest("old")) is None
    live = await sessions.get(digest("new"))
    assert live is not None
    assert live.handle == "h-old"


async def test_session_rotation_race_across_connections(bundles: list[Stores]) -> None:
    await bundles[0].sessions.create(session("old"))
    results = await asyncio.gather(
        *(
            bundles[i % CONTENDERS].sessions.rotate(
                digest("old"), digest(f"new{i}"), now=1500, expires_at=3300
            )
            for i in range(20)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    for i in range(20):
        found = await bundles[1].sessions.get(digest(f"new{i}"))
        assert (found is not None) == (winners[0].digest == digest(f"new{i}"))
    assert [s.digest for s in await bundles[2].sessions.list_for_user("u-alice")] == [
        winners[0].digest
    ]


async def test_rotation_chains_advance_one_step_per_round(bundles: list[Stores]) -> None:
    await bundles[0].sessions.create(session("g0"))
    current = digest("g0")
    for round_ in range(10):
        results = await asyncio.gather(
            *(
                bundles[i % CONTENDERS].sessions.rotate(
                    current, digest(f"g{round_ + 1}-{i}"), now=1100 + round_, expires_at=3300
                )
                for i in range(5)
            )
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        current = winners[0].digest
    assert len(await bundles[0].sessions.list_for_user("u-alice")) == 1


async def test_log_out_everywhere_racing_rotations_leaves_nothing(bundles: list[Stores]) -> None:
    for n in range(6):
        await bundles[0].sessions.create(session(f"s{n}"))
    rotations = [
        bundles[n % CONTENDERS].sessions.rotate(
            digest(f"s{n}"), digest(f"s{n}-new"), now=1100, expires_at=2900
        )
        for n in range(6)
    ]
    _, *rotated = await asyncio.gather(bundles[1].sessions.delete_for_user("u-alice"), *rotations)
    # The sweep works on the sessions (handles), not their IDs: a rotation that ran first moved
    # a session the sweep then deleted, one that ran after found nothing. No ID leads anywhere.
    assert await bundles[0].sessions.list_for_user("u-alice") == []
    for n in range(6):
        assert await bundles[3].sessions.get(digest(f"s{n}")) is None
        assert await bundles[2].sessions.get(digest(f"s{n}-new")) is None
    assert len(rotated) == 6


async def test_closed_port_is_unavailable() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    stores = await open_redis_stores(url, memory_stores(), prefix="awt-closed")
    try:
        with pytest.raises(StoreUnavailable):
            await stores.sessions.get(digest("s1"))
        with pytest.raises(StoreUnavailable):
            await stores.sessions.create(session("s1"))
        with pytest.raises(StoreUnavailable):
            await stores.revocations.live(0)
        with pytest.raises(StoreUnavailable):
            await stores.events.publish(BusEvent(kind=BusEventKind.USER_CHANGED, key="u"))
        with pytest.raises(StoreUnavailable):
            await stores.events.subscribe(lambda event: None)
    finally:
        await stores.aclose()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


async def test_restart_fails_closed_then_recovers_and_resubscribes(own_redis: RedisServer) -> None:
    stores = await open_redis_stores(own_redis.url, memory_stores(), prefix="aw")
    got: list[BusEvent] = []
    subscription = await stores.events.subscribe(got.append)
    assert isinstance(stores.events, RedisEventBus)
    assert isinstance(subscription, RedisSubscription)
    first = BusEvent(kind=BusEventKind.USER_CHANGED, key="before")
    after = BusEvent(kind=BusEventKind.USER_CHANGED, key="after")
    try:
        await stores.sessions.create(session("s1"))
        await stores.events.publish(first)
        await eventually(lambda: got == [first])

        own_redis.stop()
        with pytest.raises(StoreUnavailable):
            await stores.sessions.get(digest("s1"))
        with pytest.raises(StoreUnavailable):
            await stores.sessions.create(session("s2"))
        with pytest.raises(StoreUnavailable):
            await stores.events.publish(after)

        own_redis.start()  # an empty Redis (no persistence): the sessions are gone
        assert await until_ok(lambda: stores.sessions.get(digest("s1"))) is None
        await stores.sessions.create(session("s2"))
        assert await stores.sessions.get(digest("s2")) is not None
        # The subscriber found its way back on its own: keep publishing until it hears one
        # (events sent while it was still reconnecting are lost, as pub/sub never stores them).
        deadline = asyncio.get_running_loop().time() + 10
        while after not in got:
            assert asyncio.get_running_loop().time() < deadline, "subscriber never came back"
            await stores.events.publish(after)
            await asyncio.sleep(0.05)
        assert subscription.reconnects >= 1
        assert got[0] == first
    finally:
        await stores.aclose()
