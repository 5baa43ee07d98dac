"""EventLog contract, and the unit of work a change commits its events in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from authwise.storage.base import Event, EventKind, EventLog, Stores

from .conftest import BACKENDS
from .records import user


def revoked(sid: str, at: int = 100) -> Event:
    return Event(kind=EventKind.SESSION_REVOKED, at=at, user_id="u1", sid=sid)


async def test_an_empty_log(log: EventLog) -> None:
    assert await log.head() == 0
    assert await log.oldest() == 1
    assert await log.read(0) == []


async def test_appends_are_numbered_densely_and_read_back_in_order(log: EventLog) -> None:
    first = revoked("a")
    claims = Event(
        kind=EventKind.CLAIMS_CHANGED,
        at=101,
        user_id="u1",
        not_before=102,
        data={"roles": ["admin"], "tenant": None},
    )
    assert await log.append([first]) == 1
    assert await log.append([claims, revoked("b")]) == 3
    assert await log.append([]) == 3
    entries = await log.read(0)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].event == first
    assert entries[1].event == claims
    assert [e.seq for e in await log.read(1, limit=1)] == [2]
    assert await log.head() == 3
    assert await log.oldest() == 1


async def test_prune_drops_old_entries_and_never_renumbers(log: EventLog) -> None:
    await log.append([revoked("a", at=100), revoked("b", at=200), revoked("c", at=300)])
    assert await log.prune(250) == 2
    assert [e.seq for e in await log.read(0)] == [3]
    assert await log.oldest() == 3
    assert await log.append([revoked("d", at=400)]) == 4
    assert await log.prune(1000) == 2
    assert await log.read(0) == []
    assert await log.head() == 4
    assert await log.oldest() == 5


async def test_concurrent_writers_get_distinct_dense_numbers(log: EventLog) -> None:
    results = await asyncio.gather(*(log.append([revoked(f"s{i}")]) for i in range(20)))
    assert sorted(results) == list(range(1, 21))
    entries = await log.read(0)
    assert [e.seq for e in entries] == list(range(1, 21))
    assert sorted(e.event.sid or "" for e in entries) == sorted(f"s{i}" for i in range(20))


async def test_a_watch_wakes_on_append(log: EventLog) -> None:
    watch = await log.watch()
    try:
        loop = asyncio.get_running_loop()
        waiter = asyncio.create_task(watch.wait(30))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        started = loop.time()
        await log.append([revoked("a")])
        await asyncio.wait_for(waiter, 10)
        # Woken by the append, not by the 30 s bound.
        assert loop.time() - started < 10
        # With nothing new, a wait lasts its bound.
        await watch.wait(0.05)
    finally:
        await watch.close()


async def test_a_unit_commits_the_change_and_its_event_together(stores: Stores) -> None:
    await stores.users.create(user("ann"))
    async with stores.transaction():
        await stores.users.update("u-ann", now=5, roles=("admin",))
        await stores.log.append([revoked("a")])
    changed = await stores.users.get("u-ann")
    assert changed is not None
    assert changed.roles == ("admin",)
    assert [e.event.sid for e in await stores.log.read(0)] == ["a"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def durable(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    """The backends with transactions (memory has no crash to survive, and keeps none)."""
    async with BACKENDS[request.param]() as backend:
        yield backend.stores


async def test_a_failed_unit_leaves_neither(durable: Stores) -> None:
    stores = durable
    await stores.users.create(user("ann"))

    async def crash_before_commit() -> None:
        async with stores.transaction():
            await stores.users.update("u-ann", now=5, roles=("admin",))
            await stores.log.append([revoked("a")])
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await crash_before_commit()
    unchanged = await stores.users.get("u-ann")
    assert unchanged is not None
    assert unchanged.roles == ()
    assert await stores.log.read(0) == []
    assert await stores.log.head() == 0
