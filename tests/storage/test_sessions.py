"""SessionStore contract."""

from __future__ import annotations

import asyncio

import pytest

from authwise.errors import Conflict
from authwise.storage.base import SessionStore

from .records import digest, session


async def test_create_and_get(sessions: SessionStore) -> None:
    record = session("s1")
    await sessions.create(record)
    assert await sessions.get(digest("s1")) == record
    assert await sessions.get(digest("unknown")) is None


async def test_duplicate_digest_or_handle_conflicts(sessions: SessionStore) -> None:
    await sessions.create(session("s1"))
    with pytest.raises(Conflict):
        await sessions.create(session("s1", handle="h-other"))
    with pytest.raises(Conflict):
        await sessions.create(session("s2", handle="h-s1"))
    assert await sessions.get(digest("s2")) is None


async def test_touch_updates_last_seen_and_deadline(sessions: SessionStore) -> None:
    await sessions.create(session("s1"))
    assert await sessions.touch(digest("s1"), last_seen=1100, expires_at=2900)
    got = await sessions.get(digest("s1"))
    assert got is not None
    assert (got.last_seen, got.expires_at) == (1100, 2900)
    assert got.created_at == 1000
    assert not await sessions.touch(digest("gone"), last_seen=1, expires_at=2)


async def test_rotate_moves_the_session_to_the_new_digest(sessions: SessionStore) -> None:
    await sessions.create(session("old"))
    rotated = await sessions.rotate(digest("old"), digest("new"), now=1500, expires_at=3300)
    assert rotated is not None
    assert rotated.digest == digest("new")
    assert rotated.handle == "h-old"
    assert (rotated.rotated_at, rotated.last_seen, rotated.expires_at) == (1500, 1500, 3300)
    assert (rotated.created_at, rotated.user_agent) == (1000, "Firefox")
    assert rotated.previous_digest == digest("old")
    # The replaced digest still finds the session (the caller decides for how long)...
    assert await sessions.get(digest("old")) == rotated
    assert await sessions.get(digest("new")) == rotated
    # ...until the next rotation replaces it.
    again = await sessions.rotate(digest("new"), digest("newer"), now=1600, expires_at=3400)
    assert again is not None
    assert again.previous_digest == digest("new")
    assert await sessions.get(digest("old")) is None
    assert await sessions.get(digest("new")) == again
    assert await sessions.rotate(digest("old"), digest("x"), now=1700, expires_at=3500) is None
    assert [s.digest for s in await sessions.list_for_user("u-alice")] == [digest("newer")]


async def test_rotate_of_unknown_digest_is_none(sessions: SessionStore) -> None:
    assert await sessions.rotate(digest("x"), digest("y"), now=1, expires_at=2) is None
    assert await sessions.get(digest("y")) is None


async def test_concurrent_rotations_have_one_winner(sessions: SessionStore) -> None:
    await sessions.create(session("old"))
    results = await asyncio.gather(
        *(
            sessions.rotate(digest("old"), digest(f"new{i}"), now=1500, expires_at=3300)
            for i in range(20)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    live = await sessions.list_for_user("u-alice")
    assert [s.digest for s in live] == [winners[0].digest]


async def test_delete_returns_what_it_deleted(sessions: SessionStore) -> None:
    await sessions.create(session("s1"))
    deleted = await sessions.delete(digest("s1"))
    assert deleted is not None
    assert deleted.handle == "h-s1"
    assert await sessions.get(digest("s1")) is None
    assert await sessions.delete(digest("s1")) is None


async def test_delete_by_handle_only_for_the_owner(sessions: SessionStore) -> None:
    await sessions.create(session("s1"))
    assert await sessions.delete_by_handle("u-mallory", "h-s1") is None
    assert await sessions.get(digest("s1")) is not None
    deleted = await sessions.delete_by_handle("u-alice", "h-s1")
    assert deleted is not None
    assert deleted.digest == digest("s1")
    assert await sessions.get(digest("s1")) is None
    assert await sessions.delete_by_handle("u-alice", "h-s1") is None


async def test_handle_survives_rotation_for_delete_by_handle(sessions: SessionStore) -> None:
    await sessions.create(session("old"))
    await sessions.rotate(digest("old"), digest("new"), now=1500, expires_at=3300)
    deleted = await sessions.delete_by_handle("u-alice", "h-old")
    assert deleted is not None
    assert await sessions.get(digest("new")) is None


async def test_list_for_user_oldest_first(sessions: SessionStore) -> None:
    await sessions.create(session("b", created_at=1200))
    await sessions.create(session("a", created_at=1100))
    await sessions.create(session("other", user_id="u-bob"))
    listed = await sessions.list_for_user("u-alice")
    assert [s.handle for s in listed] == ["h-a", "h-b"]
    assert await sessions.list_for_user("u-nobody") == []


async def test_delete_for_user_keeps_one_and_returns_the_rest(sessions: SessionStore) -> None:
    for label in ("a", "b", "c"):
        await sessions.create(session(label))
    await sessions.create(session("bob", user_id="u-bob"))
    deleted = await sessions.delete_for_user("u-alice", keep_handle="h-b")
    assert sorted(s.handle for s in deleted) == ["h-a", "h-c"]
    assert [s.handle for s in await sessions.list_for_user("u-alice")] == ["h-b"]
    assert len(await sessions.list_for_user("u-bob")) == 1
    rest = await sessions.delete_for_user("u-alice")
    assert [s.handle for s in rest] == ["h-b"]
    assert await sessions.list_for_user("u-alice") == []


async def test_prune_drops_only_expired(sessions: SessionStore) -> None:
    await sessions.create(session("old", expires_at=1500))
    await sessions.create(session("new", expires_at=2500))
    await sessions.prune(1500)
    assert await sessions.get(digest("old")) is None
    assert await sessions.get(digest("new")) is not None
