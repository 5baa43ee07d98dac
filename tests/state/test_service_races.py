"""Interleavings the memory backend would otherwise never produce: the service's answers
when it loses a compare-and-set (refresh rotation, the key ring)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from authwise.core.keys import PrivateKey
from authwise.errors import InvalidGrant, InvalidKey, StorageError
from authwise.service import AuthService, KeyManager, TokenResponse
from authwise.storage.base import KeyRecord, KeyRingSnapshot, Stores
from authwise.storage.memory import MemoryKeyStore

from .conftest import PASSWORD

KEK = b"k" * 32


@pytest.fixture
async def tokens(service: AuthService) -> TokenResponse:
    await service.register("alice", PASSWORD)
    return await service.password_grant("alice", PASSWORD)


async def test_losers_of_a_rotation_race_get_the_winners_successor(
    service: AuthService, stores: Stores, tokens: TokenResponse, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find = stores.refresh.find

    async def slow_find(digest: bytes) -> object:
        found = await real_find(digest)
        await asyncio.sleep(0)  # every request reads generation 0 before any rotates
        return found

    monkeypatch.setattr(stores.refresh, "find", slow_find)
    results = await asyncio.gather(*(service.refresh(tokens.refresh_token) for _ in range(20)))
    assert len({r.refresh_token for r in results}) == 1
    family = await stores.refresh.get(tokens.sid)
    assert family is not None
    assert (family.generation, family.revoked_at) == (1, None)


async def test_a_family_that_vanishes_mid_rotation_is_invalid_grant(
    service: AuthService, stores: Stores, tokens: TokenResponse, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost(*args: object) -> None:
        return None

    monkeypatch.setattr(stores.refresh, "rotate", lost)
    monkeypatch.setattr(stores.refresh, "get", lost)
    with pytest.raises(InvalidGrant):
        await service.refresh(tokens.refresh_token)


class InterleavingKeyStore(MemoryKeyStore):
    """Yields after each load, so concurrent first starts all see an empty ring."""

    async def load(self) -> KeyRingSnapshot:
        snapshot = await super().load()
        await asyncio.sleep(0)
        return snapshot


async def test_concurrent_first_starts_agree_on_one_ring() -> None:
    store = InterleavingKeyStore()
    managers = [KeyManager(store, KEK) for _ in range(4)]
    rings = await asyncio.gather(*(m.load(1000) for m in managers))
    assert len({r.active.kid for r in rings}) == 1
    snapshot = await store.load()
    assert snapshot.version == 1
    assert [r.kid for r in snapshot.records] == [e.kid for e in rings[0].entries]


class StubbornKeyStore(MemoryKeyStore):
    async def save(self, records: Sequence[KeyRecord], *, expected_version: int) -> bool:
        return False


async def test_endless_key_ring_conflicts_give_up() -> None:
    with pytest.raises(StorageError):
        await KeyManager(StubbornKeyStore(), KEK).load(1000)
    seeded = MemoryKeyStore()
    ring = await KeyManager(seeded, KEK).load(1000)
    stubborn = StubbornKeyStore()
    await MemoryKeyStore.save(stubborn, (await seeded.load()).records, expected_version=0)
    retiring = ring.entries[-1].kid  # the next key: retiring it needs a save
    with pytest.raises(StorageError):
        await KeyManager(stubborn, KEK).retire(retiring, 1000)


async def test_stored_keys_of_unknown_algorithms_are_refused() -> None:
    store = MemoryKeyStore()
    await KeyManager(store, KEK).load(1000)
    records = [
        KeyRecord(kid=r.kid, alg="HS256", state=r.state, since=r.since, private_pem=r.private_pem)
        for r in (await store.load()).records
    ]
    await store.save(records, expected_version=1)
    with pytest.raises(InvalidKey, match="unsupported algorithm"):
        await KeyManager(store, KEK).load(1000)


async def test_keys_can_be_made_by_the_caller() -> None:
    made: list[PrivateKey] = []

    def make() -> PrivateKey:
        made.append(PrivateKey.generate("Ed25519"))
        return made[-1]

    ring = await KeyManager(MemoryKeyStore(), KEK, make_key=make).load(1000)
    assert ring.active is made[0]
    assert ring.active.alg == "Ed25519"
