"""Credentials that can be taken back (issue 11, items 3, 6, 7): a password change ends
every other session and token and says so in the event log; a client can be revoked or given a new
secret; a compromised signing key can be retired at once, in every process."""

from __future__ import annotations

import pytest

from authwise.core.keyring import KeyState
from authwise.errors import InvalidClient, NotFound, UnknownKey
from authwise.service import AuthService
from authwise.storage.base import AuditKind, Event, EventKind, LogEntry, Stores
from tests.storage.conftest import eventually

from .conftest import PASSWORD, Clock, make_service


def logged(entries: list[LogEntry | None]) -> list[Event]:
    return [e.event for e in entries if e is not None]


def retired_entry(kid: str, now: int) -> LogEntry:
    return LogEntry(10_000, Event(kind=EventKind.KEY_RETIRED, at=now, data={"kid": kid}))


async def test_password_change_emits_one_credential_change_event(
    service: AuthService, stores: Stores
) -> None:
    user = await service.register("alice", PASSWORD)
    events: list[LogEntry | None] = []
    service.subscribe(events.append)
    await service.change_password(user.id, "a brand new password", actor_id="admin-1")
    changes = [e for e in logged(events) if e.kind is EventKind.CREDENTIAL_CHANGED]
    assert [e.user_id for e in changes] == [user.id]
    audit = [e for e in await service.audit_events() if e.kind is AuditKind.PASSWORD_CHANGED]
    assert audit[0].actor_id == "admin-1"


async def test_revoked_client_fails_authentication_at_once(
    service: AuthService, stores: Stores
) -> None:
    client, secret = await service.create_client("billing")
    events: list[LogEntry | None] = []
    service.subscribe(events.append)
    assert (await service.authenticate_client(client.client_id, secret)) == client
    assert (await service.revoke_client(client.client_id, actor_id="admin-1")) == client
    with pytest.raises(InvalidClient):
        await service.authenticate_client(client.client_id, secret)
    assert await service.list_clients() == []
    assert [(e.kind, e.data) for e in logged(events)] == [
        (EventKind.CLIENT_REVOKED, {"client_id": client.client_id})
    ]
    audit = await service.audit_events()
    assert audit[0].kind is AuditKind.CLIENT_REVOKED
    assert audit[0].detail == {"client": client.client_id}
    for missing in (client.client_id, "not a handle", ""):
        with pytest.raises(NotFound):
            await service.revoke_client(missing)


async def test_rotated_client_secret_replaces_the_old_one(
    service: AuthService, stores: Stores
) -> None:
    client, old = await service.create_client("billing")
    other, other_secret = await service.create_client("search")
    events: list[LogEntry | None] = []
    service.subscribe(events.append)
    rotated, new = await service.rotate_client_secret(client.client_id)
    assert new != old
    assert new.startswith("aw_cs_")
    assert rotated.client_id == client.client_id
    assert rotated.secret_digest != client.secret_digest
    with pytest.raises(InvalidClient):
        await service.authenticate_client(client.client_id, old)
    assert (await service.authenticate_client(client.client_id, new)) == rotated
    assert (await service.authenticate_client(other.client_id, other_secret)) == other
    assert [(e.kind, e.data) for e in logged(events)] == [
        (EventKind.CLIENT_SECRET_ROTATED, {"client_id": client.client_id})
    ]
    assert (await service.audit_events())[0].kind is AuditKind.CLIENT_SECRET_ROTATED
    for missing in ("aw-nothing", "x" * 300):
        with pytest.raises(NotFound):
            await service.rotate_client_secret(missing)


async def test_retiring_the_active_key_refuses_its_tokens_in_every_process(
    service: AuthService, stores: Stores, clock: Clock
) -> None:
    other = make_service(stores, clock)
    await other.start()
    user = await service.register("alice", PASSWORD)
    tokens = await service.issue_tokens(user)
    kid = service.key_ring.active.kid
    other.verify_access_token(tokens.access_token)  # cached as verified there
    events: list[LogEntry | None] = []
    service.subscribe(events.append)
    retired = await service.retire_key(kid)
    assert retired.kid == kid
    assert retired.was is KeyState.ACTIVE
    assert retired.tokens_valid_until == clock.now + service.config.max_access_ttl
    # The other process applies the entry as its tail reads it (woken by the append).
    await eventually(lambda: kid not in other.jwks())
    for svc in (service, other):
        with pytest.raises(UnknownKey):
            svc.verify_access_token(tokens.access_token)
        assert kid not in svc.jwks()
    assert service.key_ring.active.kid != kid
    # The other process signs with the new key once its reload (started by the event) lands.
    assert (await other.reload_keys()).active.kid == service.key_ring.active.kid
    with pytest.raises(UnknownKey):
        other.verify_access_token(tokens.access_token)  # a reload does not bring it back
    assert EventKind.KEY_RETIRED in [e.kind for e in logged(events)]
    assert AuditKind.KEY_RETIRED in [e.kind for e in await service.audit_events()]
    # The refresh family lives on: its next access token comes from the new active key.
    fresh = await service.refresh(tokens.refresh_token)
    assert other.verify_access_token(fresh.access_token).kid == service.key_ring.active.kid
    with pytest.raises(NotFound):
        await service.retire_key(kid)  # already retired
    await other.close()


async def test_retiring_a_retiring_or_next_key(service: AuthService, clock: Clock) -> None:
    first = service.key_ring.active.kid
    clock.advance(100)
    await service.rotate_keys(force=True)
    clock.advance(50)
    retired = await service.retire_key(first)
    assert retired.was is KeyState.RETIRING
    assert retired.tokens_valid_until == clock.now - 50 + service.config.max_access_ttl
    nxt = next(e.kid for e in service.key_ring.entries if e.state is KeyState.NEXT)
    retired = await service.retire_key(nxt)
    assert retired.was is KeyState.NEXT
    assert retired.tokens_valid_until is None
    ring = service.key_ring
    assert nxt not in ring.published_keys()
    assert any(e.state is KeyState.NEXT for e in ring.entries)  # a new next key
    with pytest.raises(NotFound):
        await service.retire_key("no-such-kid")


async def test_a_retired_key_event_for_a_stale_ring(
    service: AuthService, stores: Stores, clock: Clock
) -> None:
    # A process that has not seen the rotation yet still has the key as active: it stops
    # verifying with it on the event, before its reload lands.
    user = await service.register("alice", PASSWORD)
    tokens = await service.issue_tokens(user)
    kid = service.key_ring.active.kid
    other = make_service(stores, clock)
    await other.start()
    other.verify_access_token(tokens.access_token)
    other._apply(retired_entry(kid, clock.now))
    with pytest.raises(UnknownKey):
        other.verify_access_token(tokens.access_token)
    # A ring reloaded from the store that still holds the key (saved before the retirement)
    # does not bring it back.
    await service.rotate_keys(force=True)
    assert (await other.reload_keys()).find(kid).state is KeyState.RETIRING  # type: ignore[union-attr]
    with pytest.raises(UnknownKey):
        other.verify_access_token(tokens.access_token)
    assert kid not in other.jwks()
    other._apply(retired_entry("unknown-kid", clock.now))
    await other.close()
