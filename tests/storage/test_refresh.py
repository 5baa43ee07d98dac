"""RefreshStore contract, the compare-and-set above all."""

from __future__ import annotations

import asyncio

import pytest

from authwise.errors import Conflict
from authwise.storage.base import RefreshStore

from .records import digest, family


async def test_create_find_get(refresh: RefreshStore) -> None:
    fam = family("f1")
    await refresh.create(fam, digest("t0"))
    assert await refresh.find(digest("t0")) == (fam, 0)
    assert await refresh.get("f1") == fam
    assert await refresh.find(digest("nope")) is None
    assert await refresh.get("f-nope") is None


async def test_duplicates_conflict(refresh: RefreshStore) -> None:
    await refresh.create(family("f1"), digest("t0"))
    with pytest.raises(Conflict):
        await refresh.create(family("f1"), digest("other"))
    with pytest.raises(Conflict):
        await refresh.create(family("f2"), digest("t0"))
    assert await refresh.get("f2") is None
    assert await refresh.find(digest("other")) is None


async def test_rotate_advances_and_keeps_old_digests_findable(refresh: RefreshStore) -> None:
    await refresh.create(family("f1"), digest("t0"))
    rotated = await refresh.rotate("f1", 0, digest("t1"), 1100)
    assert rotated is not None
    assert (rotated.generation, rotated.rotated_at) == (1, 1100)
    assert rotated.created_at == 1000
    assert await refresh.get("f1") == rotated
    assert await refresh.find(digest("t1")) == (rotated, 1)
    assert await refresh.find(digest("t0")) == (rotated, 0)


async def test_rotate_with_a_stale_generation_changes_nothing(refresh: RefreshStore) -> None:
    await refresh.create(family("f1"), digest("t0"))
    assert await refresh.rotate("f1", 0, digest("t1"), 1100) is not None
    assert await refresh.rotate("f1", 0, digest("t1b"), 1200) is None
    assert await refresh.find(digest("t1b")) is None
    current = await refresh.get("f1")
    assert current is not None
    assert (current.generation, current.rotated_at) == (1, 1100)


async def test_rotate_of_unknown_or_revoked_family_is_none(refresh: RefreshStore) -> None:
    assert await refresh.rotate("f-nope", 0, digest("x"), 1) is None
    await refresh.create(family("f1"), digest("t0"))
    assert await refresh.revoke("f1", 1050) is not None
    assert await refresh.rotate("f1", 0, digest("t1"), 1100) is None
    assert await refresh.find(digest("t1")) is None


async def test_twenty_concurrent_rotations_one_winner(refresh: RefreshStore) -> None:
    await refresh.create(family("f1"), digest("t0"))
    results = await asyncio.gather(
        *(refresh.rotate("f1", 0, digest(f"t1-{i}"), 1100) for i in range(20))
    )
    winners = [i for i, r in enumerate(results) if r is not None]
    assert len(winners) == 1
    found = [await refresh.find(digest(f"t1-{i}")) for i in range(20)]
    assert sum(f is not None for f in found) == 1
    assert found[winners[0]] is not None
    current = await refresh.get("f1")
    assert current is not None
    assert current.generation == 1


async def test_revoke_returns_the_live_family_once(refresh: RefreshStore) -> None:
    await refresh.create(family("f1"), digest("t0"))
    revoked = await refresh.revoke("f1", 1234)
    assert revoked is not None
    assert revoked.family_id == "f1"
    again = await refresh.get("f1")
    assert again is not None
    assert again.revoked_at == 1234
    assert await refresh.revoke("f1", 1300) is None
    assert await refresh.revoke("f-nope", 1300) is None
    found = await refresh.find(digest("t0"))
    assert found is not None
    assert found[0].revoked_at == 1234


async def test_revoke_for_user_returns_what_it_revoked(refresh: RefreshStore) -> None:
    await refresh.create(family("f1"), digest("a"))
    await refresh.create(family("f2"), digest("b"))
    await refresh.create(family("f3", user_id="u-bob"), digest("c"))
    await refresh.revoke("f2", 1100)
    revoked = await refresh.revoke_for_user("u-alice", 1200)
    assert [f.family_id for f in revoked] == ["f1"]
    listed = await refresh.list_for_user("u-alice")
    assert {f.family_id: f.revoked_at for f in listed} == {"f1": 1200, "f2": 1100}
    bob = await refresh.get("f3")
    assert bob is not None
    assert bob.revoked_at is None
    assert await refresh.revoke_for_user("u-alice", 1300) == []


async def test_list_for_user_oldest_first(refresh: RefreshStore) -> None:
    await refresh.create(family("f-late", created_at=1200), digest("a"))
    await refresh.create(family("f-early", created_at=1100), digest("b"))
    listed = await refresh.list_for_user("u-alice")
    assert [f.family_id for f in listed] == ["f-early", "f-late"]
    assert await refresh.list_for_user("u-nobody") == []


async def test_prune_drops_expired_families_and_their_digests(refresh: RefreshStore) -> None:
    await refresh.create(family("old", expires_at=2000), digest("o0"))
    await refresh.rotate("old", 0, digest("o1"), 1500)
    await refresh.create(family("new", expires_at=9000), digest("n0"))
    assert await refresh.prune(2000) >= 1
    assert await refresh.get("old") is None
    assert await refresh.find(digest("o0")) is None
    assert await refresh.find(digest("o1")) is None
    assert await refresh.get("new") is not None
    assert await refresh.find(digest("n0")) is not None


async def test_prune_drops_revoked_families_once_nothing_they_revoke_is_valid(
    refresh: RefreshStore,
) -> None:
    for name in ("early", "late", "live"):
        await refresh.create(family(name, expires_at=90_000), digest(name))
    await refresh.revoke("early", 1500)
    await refresh.revoke("late", 1600)
    assert await refresh.prune(2000) == 0  # without revoked_before, only expiry counts
    assert await refresh.prune(2000, revoked_before=1500) == 1
    assert await refresh.get("early") is None
    assert await refresh.find(digest("early")) is None
    late = await refresh.get("late")
    assert late is not None
    assert late.revoked_at == 1600
    assert await refresh.get("live") is not None
    assert await refresh.prune(2000, revoked_before=1600) == 1
    assert await refresh.get("late") is None
    assert await refresh.find(digest("live")) is not None


async def test_rotate_reads_a_clock_when_it_writes(refresh: RefreshStore) -> None:
    await refresh.create(family("f1"), digest("t0"))
    readings: list[int] = []

    def clock() -> int:
        readings.append(1234)
        return 1234

    rotated = await refresh.rotate("f1", 0, digest("t1"), clock)
    assert rotated is not None
    assert rotated.rotated_at == 1234
    assert readings == [1234]
    assert await refresh.get("f1") == rotated
    assert await refresh.rotate("f1", 0, digest("t2"), clock) is None  # lost: no write
