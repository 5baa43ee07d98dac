"""The service methods that keep the server and the CLI off the stores: revocations, the event
bus, health, clients, users by name, key import, and closing."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from authwise.core.keyring import KeyState
from authwise.core.keys import PrivateKey
from authwise.errors import Conflict, RevokedToken, StorageError, StoreUnavailable
from authwise.service import AuthService, KeyManager
from authwise.storage.base import (
    Event,
    EventKind,
    KeyRecord,
    LogEntry,
    RevocationKind,
    RevocationRecord,
    Stores,
    UserRecord,
)
from authwise.storage.memory import MemoryKeyStore

from .conftest import PASSWORD, Clock, make_service


@pytest.fixture
async def alice(service: AuthService) -> UserRecord:
    return await service.register("alice", PASSWORD)


async def test_live_revocations_are_the_entries_still_in_force(
    service: AuthService, clock: Clock, alice: UserRecord
) -> None:
    assert await service.live_revocations() == []
    await service.revoke_everything(alice.id)
    [entry] = await service.live_revocations()
    assert (entry.kind, entry.key) == (RevocationKind.USER, alice.id)
    assert entry.not_before == clock.now + 1
    assert await service.live_revocations(entry.expires_at) == []  # explicit now
    assert await service.live_revocations(entry.expires_at - 1) == [entry]
    clock.now = entry.expires_at
    assert await service.live_revocations() == []


async def test_refresh_revocations_applies_stored_entries(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    tokens = await service.password_grant("alice", PASSWORD)
    # Stored without an event (what start() reads before following the log).
    record = RevocationRecord(kind=RevocationKind.SID, key=tokens.sid, expires_at=clock.now + 3600)
    await stores.revocations.add(record)
    service.verify_access_token(tokens.access_token)
    await service.refresh_revocations()
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)


async def test_subscribe_delivers_log_entries_until_closed(
    service: AuthService, alice: UserRecord
) -> None:
    events: list[LogEntry | None] = []
    subscription = service.subscribe(events.append)
    tokens = await service.password_grant("alice", PASSWORD)
    await service.revoke_token(tokens.refresh_token)
    revoked = [e for e in events if e is not None and e.event.kind is EventKind.SESSION_REVOKED]
    assert [(e.event.sid, e.event.user_id) for e in revoked] == [(tokens.sid, alice.id)]
    subscription.close()
    subscription.close()  # closing twice is harmless
    seen = len(events)
    await service.revoke_everything(alice.id)
    assert len(events) == seen


async def test_check_health_reads_the_users_and_sessions_stores(
    service: AuthService, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await service.check_health() == {"database": True}

    async def down(*args: object) -> None:
        raise StoreUnavailable("sessions: connection refused")

    monkeypatch.setattr(stores.sessions, "get", down)
    assert await service.check_health() == {"database": False}
    monkeypatch.setattr(stores.sessions, "backend", "redis", raising=False)
    assert await service.check_health() == {"database": True, "redis": False}

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(stores.users, "get", broken)
    with pytest.raises(RuntimeError):
        await service.check_health()


async def test_list_clients_shows_digests_never_secrets(service: AuthService) -> None:
    assert await service.list_clients() == []
    billing, billing_secret = await service.create_client("billing")
    reports, reports_secret = await service.create_client("reports")
    listed = await service.list_clients()
    assert [c.client_id for c in listed] == sorted([billing.client_id, reports.client_id])
    assert {c.name for c in listed} == {"billing", "reports"}
    assert all(
        c.secret_digest != s.encode() for c in listed for s in (billing_secret, reports_secret)
    )
    assert billing_secret not in repr(listed)


async def test_get_user_by_username_normalizes_like_registration(
    service: AuthService, alice: UserRecord
) -> None:
    found = await service.get_user_by_username("ALICE")
    assert found is not None
    assert found.id == alice.id
    assert await service.get_user_by_username("bob") is None
    assert await service.get_user_by_username("!no such name") is None  # no account could have it


async def test_import_key_stores_it_encrypted_and_tells_everyone(
    service: AuthService, stores: Stores, clock: Clock
) -> None:
    other = make_service(stores, clock)
    await other.start()
    events: list[LogEntry | None] = []
    service.subscribe(events.append)
    active = service.key_ring.active.kid
    generated_next = [e.kid for e in service.key_ring.entries if e.state is KeyState.NEXT]
    key = PrivateKey.generate("Ed25519")
    ring = await service.import_key(key)
    entry = ring.find(key.kid)
    assert entry is not None
    assert (entry.state, entry.since, entry.key.alg) == (KeyState.NEXT, clock.now, "Ed25519")
    assert ring.active.kid == active  # published ahead, not signing yet
    # It takes the generated next key's place, so it is the one the next rotation activates.
    assert [e.kid for e in ring.entries if e.state is KeyState.NEXT] == [key.kid]
    assert all(ring.find(kid) is None for kid in generated_next)
    assert [e.event.kind for e in events if e is not None] == [EventKind.KEYS_CHANGED]
    [stored] = [r for r in (await stores.keys.load()).records if r.kid == key.kid]
    assert b"ENCRYPTED" in stored.private_pem
    await other.close()  # lets other's reload (from the event) finish
    assert other.key_ring.find(key.kid) is not None
    assert key.kid in other.jwks()
    assert (await service.rotate_keys(force=True)).active.kid == key.kid


async def test_import_key_with_activate_rotates_at_once(
    service: AuthService, stores: Stores
) -> None:
    events: list[LogEntry | None] = []
    service.subscribe(events.append)
    old = service.key_ring.active.kid
    key = PrivateKey.generate("Ed25519")
    ring = await service.import_key(key, activate=True)
    assert ring.active.kid == key.kid  # the imported key signs from now on
    assert ring.find(old).state is KeyState.RETIRING  # type: ignore[union-attr]
    assert service.key_ring is ring
    assert service.issuer.key.kid == key.kid
    assert [e.event.kind for e in events if e is not None] == [EventKind.KEYS_CHANGED]


async def test_import_key_refuses_a_key_already_in_the_ring(
    service: AuthService, stores: Stores
) -> None:
    key = PrivateKey.generate("ES256")
    await service.import_key(key)
    version = (await stores.keys.load()).version
    with pytest.raises(Conflict, match=f"the key {key.kid} is already in the ring"):
        await service.import_key(key)
    assert (await stores.keys.load()).version == version


class StubbornKeyStore(MemoryKeyStore):
    async def save(self, records: Sequence[KeyRecord], *, expected_version: int) -> bool:
        return False


async def test_adding_a_key_gives_up_on_endless_conflicts() -> None:
    with pytest.raises(StorageError, match="kept changing"):
        await KeyManager(StubbornKeyStore(), b"k" * 32).add(PrivateKey.generate("ES256"), 1000)


async def test_close_can_close_the_stores(
    stores: Stores, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[Stores] = []

    async def aclose(self: Stores) -> None:
        closed.append(self)

    monkeypatch.setattr(Stores, "aclose", aclose)
    service = make_service(stores, clock)
    await service.start()
    await service.close()
    assert closed == []
    await service.start()
    await service.close(close_stores=True)
    assert closed == [stores]


async def test_the_log_stays_bounded_under_a_long_run(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    """Two simulated hours of changes, pruned every half minute as the server's maintenance
    does: the log never holds more than the retention's worth, and its numbers go on."""
    most = 0
    for _ in range(240):
        await service.revoke_everything(alice.id)
        clock.advance(30)
        await service.prune()
        kept = await stores.log.read(0, limit=10_000)
        most = max(most, len(kept))
        assert all(e.event.at >= clock.now - service.config.event_retention for e in kept)
    assert most <= service.config.event_retention // 30 + 1
    assert await stores.log.head() == 240


async def test_a_process_that_finds_a_gap_reloads_the_state_from_the_stores(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    """A process that slept past the retention missed entries that the log no longer has: it
    reloads the key ring and the revocation entries, as at start."""
    other = make_service(stores, clock)
    await other.start(follow=False)
    tokens = await service.password_grant("alice", PASSWORD)
    other.verify_access_token(tokens.access_token)
    await service.rotate_keys(force=True)
    await service.revoke_token(tokens.refresh_token)
    # Entries the other process never read are pruned (as after a long stall) ...
    await stores.log.append([Event(kind=EventKind.ACCOUNT_ENABLED, at=clock.now, user_id="x")])
    assert await stores.log.prune(clock.now + 1) > 1
    await stores.log.append([Event(kind=EventKind.ACCOUNT_ENABLED, at=clock.now, user_id="y")])
    assert other.tail.gaps == 0
    await other.tail.catch_up()
    assert other.tail.gaps == 1
    await other.close()  # waits for the reload the gap started
    assert other.key_ring.active.kid == service.key_ring.active.kid
    with pytest.raises(RevokedToken):
        other.verify_access_token(tokens.access_token)
