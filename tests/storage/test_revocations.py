"""RevocationStore contract."""

from __future__ import annotations

from authwise.storage.base import RevocationKind, RevocationRecord, RevocationStore


def sid(key: str, expires_at: int) -> RevocationRecord:
    return RevocationRecord(kind=RevocationKind.SID, key=key, expires_at=expires_at)


async def test_add_and_list_live(revocations: RevocationStore) -> None:
    a = sid("fam-a", 2000)
    b = RevocationRecord(kind=RevocationKind.JTI, key="j1", issuer="https://as", expires_at=1500)
    c = RevocationRecord(kind=RevocationKind.USER, key="u1", not_before=1001, expires_at=2200)
    for record in (a, b, c):
        await revocations.add(record)
    assert sorted(await revocations.live(1000), key=lambda r: r.key) == [a, b, c]
    assert sorted(await revocations.live(1500), key=lambda r: r.key) == [a, c]
    assert await revocations.live(2200) == []


async def test_add_is_idempotent_and_keeps_the_larger_values(
    revocations: RevocationStore,
) -> None:
    await revocations.add(sid("fam-a", 2000))
    await revocations.add(sid("fam-a", 1800))
    assert await revocations.live(1000) == [sid("fam-a", 2000)]
    user = RevocationRecord(kind=RevocationKind.USER, key="u1", not_before=1500, expires_at=3000)
    await revocations.add(user)
    await revocations.add(
        RevocationRecord(kind=RevocationKind.USER, key="u1", not_before=1200, expires_at=2500)
    )
    users = [r for r in await revocations.live(1000) if r.kind is RevocationKind.USER]
    assert users == [user]
    newer = RevocationRecord(kind=RevocationKind.USER, key="u1", not_before=1600, expires_at=2000)
    await revocations.add(newer)
    users = [r for r in await revocations.live(1000) if r.kind is RevocationKind.USER]
    assert [(r.not_before, r.expires_at) for r in users] == [(1600, 3000)]


async def test_entries_are_keyed_by_kind_issuer_and_key(revocations: RevocationStore) -> None:
    await revocations.add(sid("x", 2000))
    await revocations.add(
        RevocationRecord(kind=RevocationKind.JTI, key="x", issuer="https://a", expires_at=2000)
    )
    await revocations.add(
        RevocationRecord(kind=RevocationKind.JTI, key="x", issuer="https://b", expires_at=2000)
    )
    assert len(await revocations.live(1000)) == 3


async def test_prune_drops_expired_entries(revocations: RevocationStore) -> None:
    await revocations.add(sid("old", 1500))
    await revocations.add(sid("new", 2500))
    await revocations.prune(1500)
    assert await revocations.live(0) == [sid("new", 2500)]


async def test_records_round_trip_through_dicts() -> None:
    record = RevocationRecord(
        kind=RevocationKind.USER, key="u1", issuer="", not_before=5, expires_at=9
    )
    assert RevocationRecord.from_dict(record.to_dict()) == record
