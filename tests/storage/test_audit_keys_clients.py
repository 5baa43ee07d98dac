"""AuditStore, KeyStore and ClientStore contracts."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from authwise.errors import Conflict
from authwise.storage.base import (
    AuditEvent,
    AuditKind,
    AuditStore,
    ClientRecord,
    ClientStore,
    KeyRecord,
    KeyStore,
)

from .records import digest


async def test_audit_recent_is_newest_first(audit: AuditStore) -> None:
    events = [
        AuditEvent(at=1000, kind=AuditKind.LOGIN_OK, user_id="u1", detail={"method": "session"}),
        AuditEvent(at=1000, kind=AuditKind.LOGOUT, user_id="u1"),
        AuditEvent(at=1001, kind=AuditKind.LOGIN_FAILED, client_addr="192.0.2.9"),
        AuditEvent(at=1002, kind=AuditKind.ROLE_CHANGED, user_id="u2", actor_id="u1"),
    ]
    for event in events:
        await audit.append(event)
    assert await audit.recent() == events[::-1]
    assert await audit.recent(limit=2) == events[:1:-1]
    assert await audit.recent(user_id="u1") == [events[1], events[0]]
    assert await audit.recent(user_id="u-nobody") == []


async def test_audit_prune_drops_the_oldest_by_age_then_by_count(audit: AuditStore) -> None:
    events = [AuditEvent(at=1000 + i, kind=AuditKind.LOGIN_OK, user_id=f"u{i}") for i in range(10)]
    for event in events:
        await audit.append(event)
    assert await audit.prune(before=1000, max_rows=100) == 0
    assert await audit.prune(before=1004, max_rows=100) == 4
    assert await audit.recent() == events[:3:-1]
    assert await audit.prune(before=0, max_rows=2) == 4
    assert await audit.recent() == events[:7:-1]
    assert await audit.prune(before=5000, max_rows=100) == 2
    assert await audit.recent() == []
    assert await audit.prune(before=5000, max_rows=100) == 0
    await audit.append(events[0])
    assert await audit.recent() == [events[0]]


async def test_audit_prune_in_batches_keeps_exactly_the_newest(audit: AuditStore) -> None:
    # More rows than one delete statement takes on SQL (batches of 10,000).
    for i in range(10_050):
        await audit.append(AuditEvent(at=1000, kind=AuditKind.LOGIN_FAILED, detail={"n": str(i)}))
    assert await audit.prune(before=0, max_rows=25) == 10_025
    kept = await audit.recent(limit=100)
    assert [e.detail["n"] for e in kept] == [str(i) for i in range(10_049, 10_024, -1)]


def key(kid: str, state: str = "active") -> KeyRecord:
    return KeyRecord(
        kid=kid, alg="ES256", state=state, since=1000, private_pem=b"enc:" + kid.encode()
    )


async def test_key_store_starts_empty(keys: KeyStore) -> None:
    snapshot = await keys.load()
    assert snapshot.version == 0
    assert snapshot.records == ()


async def test_key_store_compare_and_set(keys: KeyStore) -> None:
    assert await keys.save([key("k1"), key("k2", "next")], expected_version=0)
    snapshot = await keys.load()
    assert snapshot.version == 1
    assert snapshot.records == (key("k1"), key("k2", "next"))
    assert not await keys.save([key("k3")], expected_version=0)
    assert (await keys.load()).records == (key("k1"), key("k2", "next"))
    assert await keys.save([key("k1", "retiring"), key("k2")], expected_version=1)
    snapshot = await keys.load()
    assert snapshot.version == 2
    assert snapshot.records == (key("k1", "retiring"), key("k2"))


async def test_key_store_concurrent_first_saves_have_one_winner(keys: KeyStore) -> None:
    results = await asyncio.gather(
        *(keys.save([key(f"k{i}")], expected_version=0) for i in range(10))
    )
    assert sum(results) == 1
    winner = results.index(True)
    assert (await keys.load()).records == (key(f"k{winner}"),)


def client(client_id: str) -> ClientRecord:
    return ClientRecord(
        client_id=client_id, secret_digest=digest(client_id), name=f"svc {client_id}", created_at=7
    )


async def test_clients(clients: ClientStore) -> None:
    await clients.create(client("c2"))
    await clients.create(client("c1"))
    with pytest.raises(Conflict):
        await clients.create(client("c1"))
    assert await clients.get("c1") == client("c1")
    assert await clients.get("nope") is None
    assert [c.client_id for c in await clients.list_clients()] == ["c1", "c2"]
    assert await clients.delete("c1")
    assert not await clients.delete("c1")
    assert await clients.get("c1") is None


async def test_client_secret_replaced(clients: ClientStore) -> None:
    await clients.create(client("c1"))
    await clients.create(client("c2"))
    updated = await clients.replace_secret("c1", digest("new"))
    assert updated == replace(client("c1"), secret_digest=digest("new"))
    assert await clients.get("c1") == updated
    assert await clients.get("c2") == client("c2")  # the others keep theirs
    assert await clients.replace_secret("nope", digest("new")) is None
    assert await clients.get("nope") is None
