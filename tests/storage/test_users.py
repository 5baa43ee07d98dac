"""UserStore contract."""

from __future__ import annotations

import asyncio

import pytest

from authwise.errors import Conflict
from authwise.storage.base import UserStore

from .records import user


async def test_create_then_get_by_id_and_username(users: UserStore) -> None:
    alice = user("alice", roles=("admin", "staff"), tenant="acme")
    await users.create(alice)
    assert await users.get("u-alice") == alice
    assert await users.get_by_username("alice") == alice
    assert await users.get("u-nobody") is None
    assert await users.get_by_username("nobody") is None


async def test_usernames_match_exactly(users: UserStore) -> None:
    await users.create(user("alice"))
    assert await users.get_by_username("Alice") is None
    assert await users.get_by_username("alic") is None


async def test_duplicate_username_conflicts(users: UserStore) -> None:
    await users.create(user("alice"))
    with pytest.raises(Conflict) as info:
        await users.create(user("alice", id="u-other"))
    assert info.value.what == "username"
    assert info.value.code == "conflict"
    assert (await users.get_by_username("alice")).id == "u-alice"  # type: ignore[union-attr]


async def test_a_taken_skeleton_conflicts_as_a_taken_username(users: UserStore) -> None:
    """S17: a name that looks like an existing one (the same confusable skeleton) is taken,
    atomically, as the name itself would be; accounts without a skeleton do not collide."""
    await users.create(user("admin", skeleton="adrnin"))
    with pytest.raises(Conflict) as info:
        await users.create(user("\u0430dmin", skeleton="adrnin"))
    assert info.value.what == "username"
    assert await users.get_by_username("\u0430dmin") is None
    await users.create(user("old1"))
    await users.create(user("old2"))
    stored = await users.get_by_username("admin")
    assert stored is not None
    assert stored.skeleton == "adrnin"


async def test_racing_look_alikes_make_one_account(users: UserStore) -> None:
    names = ["\u0430dmin", "\u0251dmin", "adm\u0456n", "admin"]
    results = await asyncio.gather(
        *(users.create(user(name, skeleton="adrnin")) for name in names), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)


async def test_duplicate_id_conflicts(users: UserStore) -> None:
    await users.create(user("alice"))
    with pytest.raises(Conflict):
        await users.create(user("bob", id="u-alice"))
    assert await users.get_by_username("bob") is None


async def test_parallel_creates_of_one_username_have_one_winner(users: UserStore) -> None:
    results = await asyncio.gather(
        *(users.create(user("carol", id=f"u-{i}")) for i in range(10)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)


async def test_update_changes_only_given_fields(users: UserStore) -> None:
    await users.create(user("alice", roles=("staff",), tenant="acme"))
    updated = await users.update("u-alice", now=2000, roles=("admin",))
    assert updated is not None
    assert updated.roles == ("admin",)
    assert updated.tenant == "acme"
    assert updated.updated_at == 2000
    assert updated.password_hash == user().password_hash
    assert await users.get("u-alice") == updated


async def test_update_every_field(users: UserStore) -> None:
    await users.create(user("alice", tenant="acme"))
    updated = await users.update(
        "u-alice",
        now=3000,
        roles=("a", "b"),
        tenant=None,
        disabled=True,
        password_hash="$argon2id$new",
        not_before=2999,
    )
    assert updated == user(
        "alice",
        roles=("a", "b"),
        tenant=None,
        disabled=True,
        password_hash="$argon2id$new",
        not_before=2999,
        updated_at=3000,
    )
    assert await users.get("u-alice") == updated


async def test_not_before_never_moves_backwards(users: UserStore) -> None:
    await users.create(user("alice"))
    await users.update("u-alice", now=2000, not_before=2001)
    updated = await users.update("u-alice", now=2100, not_before=1500)
    assert updated is not None
    assert updated.not_before == 2001


async def test_update_of_unknown_user_is_none(users: UserStore) -> None:
    assert await users.update("u-ghost", now=1, disabled=True) is None
    assert await users.get("u-ghost") is None


async def test_list_pages_by_username(users: UserStore) -> None:
    for name in ("dave", "alice", "carol", "bob", "erin"):
        await users.create(user(name))
    first = await users.list_users(limit=2)
    assert [u.username for u in first] == ["alice", "bob"]
    second = await users.list_users(after=first[-1].username, limit=2)
    assert [u.username for u in second] == ["carol", "dave"]
    third = await users.list_users(after="dave", limit=2)
    assert [u.username for u in third] == ["erin"]
    assert await users.list_users(after="erin") == []
    assert len(await users.list_users()) == 5
