"""AuthService sessions: login, validation, timeouts, logout, devices (S01, S05, S06, S14)."""

from __future__ import annotations

import asyncio

import pytest

from authwise.core.sessions import SESSION_PREFIX, secret_digest
from authwise.errors import AuthenticationFailed, InvalidSession
from authwise.service import AuthService
from authwise.storage.base import AuditKind, EventKind, LogEntry, Stores, UserRecord

from .conftest import PASSWORD, Clock


@pytest.fixture
async def alice(service: AuthService) -> UserRecord:
    return await service.register("Alice", PASSWORD, roles=["staff"])


async def login(service: AuthService, **kw: object) -> tuple[str, str]:
    result = await service.login("alice", PASSWORD, **kw)  # type: ignore[arg-type]
    return result.session_id, result.session.handle


async def test_login_starts_a_session_kept_only_as_a_digest(
    service: AuthService, stores: Stores, alice: UserRecord
) -> None:
    result = await service.login(
        "ALICE", PASSWORD, client_addr="192.0.2.7", user_agent="Firefox/130"
    )
    assert result.session_id.startswith(SESSION_PREFIX)
    assert result.session_id not in repr(result)
    assert result.user.id == alice.id
    stored = await stores.sessions.get(secret_digest(result.session_id))
    assert stored == result.session
    assert (stored.client_addr, stored.user_agent) == ("192.0.2.7", "Firefox/130")
    view = await service.validate_session(result.session_id)
    assert view.user.id == alice.id
    assert view.new_session_id is None
    kinds = [e.kind for e in await service.audit_events()]
    assert kinds[0] is AuditKind.LOGIN_OK


async def test_s01_a_planted_session_is_not_kept(service: AuthService, alice: UserRecord) -> None:
    planted, _ = await login(service)
    mine, _ = await login(service, current_session_id=planted)
    assert mine != planted
    with pytest.raises(InvalidSession):
        await service.validate_session(planted)
    assert (await service.validate_session(mine)).user.id == alice.id


async def test_s01_ids_never_issued_are_refused(service: AuthService, alice: UserRecord) -> None:
    sid, _ = await login(service)
    forged = SESSION_PREFIX + ("A" if sid[5] != "A" else "B") + sid[6:]
    for value in (forged, "", "aw_s_", "x" * 5000, sid + "A", sid.upper()):
        with pytest.raises(InvalidSession):
            await service.validate_session(value)
    assert not await service.logout(forged)


async def test_failed_login_is_one_generic_error(service: AuthService, alice: UserRecord) -> None:
    with pytest.raises(AuthenticationFailed) as wrong:
        await service.login("alice", "not the password")
    with pytest.raises(AuthenticationFailed) as unknown:
        await service.login("nobody", "not the password")
    assert str(wrong.value) == str(unknown.value) == "invalid username or password"
    assert wrong.value.code == unknown.value.code == "invalid_credentials"


async def test_last_seen_writes_are_throttled(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    sid, _ = await login(service)
    digest = secret_digest(sid)
    start = clock.now
    clock.advance(30)
    await service.validate_session(sid)
    assert (await stores.sessions.get(digest)).last_seen == start  # type: ignore[union-attr]
    clock.advance(30)
    await service.validate_session(sid)
    record = await stores.sessions.get(digest)
    assert record is not None
    assert record.last_seen == start + 60
    assert record.expires_at == start + 60 + 1800


async def test_s06_idle_timeout_ends_the_session(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    sid, _ = await login(service)
    clock.advance(1799)
    await service.validate_session(sid)
    clock.advance(1800)
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)
    assert await stores.sessions.get(secret_digest(sid)) is None


async def test_s06_absolute_timeout_despite_activity(
    service: AuthService, clock: Clock, alice: UserRecord
) -> None:
    sid, _ = await login(service)
    for _ in range(8 * 60 // 20 - 1):
        clock.advance(20 * 60)
        await service.validate_session(sid)
    clock.advance(20 * 60)
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)


async def test_s05_logout_ends_the_session_at_once(
    service: AuthService, stores: Stores, alice: UserRecord
) -> None:
    seen: list[LogEntry | None] = []
    service.subscribe(seen.append)
    sid, handle = await login(service)
    assert await service.logout(sid)
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)
    assert not await service.logout(sid)
    # The event names the session by its public handle (never its ID or the ID's digest).
    ended = [e.event for e in seen if e is not None and e.event.kind is EventKind.SESSION_REVOKED]
    assert [(e.sid, e.user_id) for e in ended] == [(handle, alice.id)]
    assert secret_digest(sid).hex() not in repr(seen)
    assert (await service.audit_events())[0].kind is AuditKind.LOGOUT


async def test_s14_device_list_and_ending_one_device(
    service: AuthService, clock: Clock, alice: UserRecord
) -> None:
    laptop, laptop_handle = await login(service, client_addr="192.0.2.1", user_agent="Laptop")
    clock.advance(5)
    phone, phone_handle = await login(service, client_addr="198.51.100.2", user_agent="Phone")
    devices = await service.list_sessions(alice.id)
    assert [(d.handle, d.user_agent, d.client_addr) for d in devices] == [
        (laptop_handle, "Laptop", "192.0.2.1"),
        (phone_handle, "Phone", "198.51.100.2"),
    ]
    assert [d.created_at for d in devices] == [clock.now - 5, clock.now]
    assert await service.revoke_session(alice.id, phone_handle)
    assert not await service.revoke_session(alice.id, phone_handle)
    with pytest.raises(InvalidSession):
        await service.validate_session(phone)
    await service.validate_session(laptop)


async def test_a_user_cannot_end_another_users_session(
    service: AuthService, alice: UserRecord
) -> None:
    bob = await service.register("bob", PASSWORD)
    sid, handle = await login(service)
    assert not await service.revoke_session(bob.id, handle)
    await service.validate_session(sid)


async def test_expired_sessions_leave_the_device_list(
    service: AuthService, clock: Clock, alice: UserRecord
) -> None:
    await login(service)
    clock.advance(1800)
    assert await service.list_sessions(alice.id) == []


async def test_s05_log_out_other_devices(
    service: AuthService, clock: Clock, alice: UserRecord
) -> None:
    here, here_handle = await login(service)
    other, _ = await login(service)
    third, _ = await login(service)
    ended = await service.revoke_sessions(alice.id, keep_handle=here_handle)
    assert len(ended) == 2
    for sid in (other, third):
        with pytest.raises(InvalidSession):
            await service.validate_session(sid)
    view = await service.validate_session(here)
    assert view.new_session_id is not None  # the kept session gets a new ID
    clock.advance(1)
    assert (await service.validate_session(view.new_session_id)).new_session_id is None
    clock.advance(service.config.sessions.rotation_grace)
    with pytest.raises(InvalidSession):
        await service.validate_session(here)


async def test_s05_log_out_everywhere(service: AuthService, alice: UserRecord) -> None:
    sessions = [(await login(service))[0] for _ in range(3)]
    assert len(await service.revoke_sessions(alice.id)) == 3
    for sid in sessions:
        with pytest.raises(InvalidSession):
            await service.validate_session(sid)
    assert await service.list_sessions(alice.id) == []


async def test_roles_are_read_live_and_a_privilege_change_rotates_the_id(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    sid, handle = await login(service)
    clock.advance(10)
    await service.set_roles(alice.id, ["admin", "staff"])
    view = await service.validate_session(sid)
    assert view.user.roles == ("admin", "staff")
    assert view.new_session_id is not None
    assert view.session.handle == handle
    # The new ID is stamped at the not-before (one second ahead), its deadline with it.
    assert view.session.rotated_at == view.session.last_seen == clock.now + 1
    assert view.session.expires_at == view.session.last_seen + 1800
    # The old ID still reaches the session for the grace window, and is handed the same new
    # ID again (a page's requests in flight); the new ID itself needs no new rotation.
    assert (await stores.sessions.get(secret_digest(sid))) == view.session
    assert (await service.validate_session(sid)).new_session_id == view.new_session_id
    again = await service.validate_session(view.new_session_id)
    assert again.new_session_id is None
    clock.now = view.session.rotated_at + service.config.sessions.rotation_grace
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)
    assert (await service.validate_session(view.new_session_id)).new_session_id is None
    kinds = [e.kind for e in await service.audit_events()]
    assert AuditKind.SESSION_ROTATED in kinds
    assert AuditKind.ROLE_CHANGED in kinds


async def test_requests_in_flight_during_a_rotation_all_succeed(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    sid, _ = await login(service)
    clock.advance(10)
    await service.set_roles(alice.id, ["admin"])
    real_get = stores.sessions.get

    async def slow_get(digest: bytes) -> object:
        record = await real_get(digest)
        await asyncio.sleep(0)  # every request reads the session before any rotates it
        return record

    stores.sessions.get = slow_get  # type: ignore[method-assign,assignment]
    views = await asyncio.gather(*(service.validate_session(sid) for _ in range(5)))
    # One rotation won; every request, the losers too, answers with the same new ID.
    new_ids = {v.new_session_id for v in views}
    assert len(new_ids) == 1
    assert None not in new_ids
    [new_id] = new_ids
    assert {v.session.handle for v in views} == {views[0].session.handle}
    assert new_id is not None
    assert (await service.validate_session(new_id)).user.roles == ("admin",)
    # A request that starts after the rotation with the old ID gets the same new ID while
    # the grace window lasts, and is refused after it.
    assert (await service.validate_session(sid)).new_session_id == new_id
    clock.advance(service.config.sessions.rotation_grace + 1)
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)


async def test_a_rotation_racing_a_logout_is_refused(
    service: AuthService, stores: Stores, clock: Clock, alice: UserRecord
) -> None:
    sid, _ = await login(service)
    clock.advance(10)
    await service.set_roles(alice.id, ["admin"])
    real_rotate = stores.sessions.rotate

    async def rotate_after_logout(*args: object, **kw: object) -> object:
        await service.logout(sid)
        return await real_rotate(*args, **kw)  # type: ignore[arg-type]

    stores.sessions.rotate = rotate_after_logout  # type: ignore[method-assign,assignment]
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)


async def test_s05_disabling_the_user_ends_the_session(
    service: AuthService, alice: UserRecord
) -> None:
    sid, _ = await login(service)
    ended = await service.disable_user(alice.id)
    assert len(ended.sessions) == 1
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)
    with pytest.raises(AuthenticationFailed):
        await login(service)


async def test_a_session_of_a_vanished_or_disabled_user_is_refused(
    service: AuthService, stores: Stores, alice: UserRecord
) -> None:
    sid, _ = await login(service)
    # Disabled by a write that did not get as far as ending the sessions (R01).
    await stores.users.update(alice.id, now=service.now(), disabled=True)
    with pytest.raises(InvalidSession):
        await service.validate_session(sid)
    assert await stores.sessions.get(secret_digest(sid)) is None
