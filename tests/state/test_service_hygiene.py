"""What the service never does: log a secret, swallow a store outage, or export by accident
(S12, S13, R01 at this level)."""

from __future__ import annotations

import asyncio
import logging

import pytest

import authwise.service
import authwise.storage
import authwise.storage.base
from authwise.errors import (
    AuthenticationFailed,
    InvalidClient,
    InvalidGrant,
    InvalidInput,
    InvalidSession,
    StoreUnavailable,
)
from authwise.service import AuthService
from authwise.storage.base import AuditKind, Stores, UserRecord

from .conftest import PASSWORD, Clock


async def test_no_secret_reaches_a_log_or_the_audit_trail(
    service: AuthService, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [PASSWORD]
    user = await service.register("alice", PASSWORD)
    session = await service.login("alice", PASSWORD)
    secrets.append(session.session_id)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
        await service.login("alice", "a wrong password")
    tokens = await service.password_grant("alice", PASSWORD)
    secrets += [tokens.access_token, tokens.refresh_token]
    first = await service.refresh(tokens.refresh_token)
    secrets += [first.access_token, first.refresh_token]
    clock.advance(60)
    with pytest.raises(Exception):  # noqa: B017, PT011 - reuse: the family is revoked
        await service.refresh(tokens.refresh_token)
    await service.revoke_token(first.access_token)
    _, client_secret = await service.create_client("billing")
    secrets.append(client_secret)
    await service.set_roles(user.id, ["admin"])
    await service.disable_user(user.id)
    await service.prune()

    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert "refresh token reuse" in logged  # the workload did log
    audit = repr(await service.audit_events(limit=1000))
    assert AuditKind.REFRESH_REUSE.value in audit
    for secret in secrets:
        assert secret not in logged
        assert secret not in audit


async def test_a_store_outage_surfaces_as_store_unavailable(
    service: AuthService, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    await service.register("alice", PASSWORD)
    session = await service.login("alice", PASSWORD)

    async def down(*args: object, **kw: object) -> None:
        raise StoreUnavailable("sessions: connection refused")

    monkeypatch.setattr(stores.sessions, "get", down)
    monkeypatch.setattr(stores.sessions, "create", down)
    with pytest.raises(StoreUnavailable) as info:
        await service.validate_session(session.session_id)
    assert info.value.code == "store_unavailable"
    with pytest.raises(StoreUnavailable):
        await service.login("alice", PASSWORD)
    ok = [e for e in await service.audit_events() if e.kind is AuditKind.LOGIN_OK]
    assert len(ok) == 1  # the failed login left no trace of success


def test_public_surfaces_are_what_we_mean_to_publish() -> None:
    assert authwise.service.__all__ == [
        "AuthService",
        "Ended",
        "KeyManager",
        "LoginResult",
        "PasswordHasher",
        "RetiredKey",
        "ServiceConfig",
        "SessionView",
        "TokenResponse",
        "system_clock",
    ]
    assert authwise.storage.__all__ == [
        "DELIVERED_KINDS",
        "UNSET",
        "AuditEvent",
        "AuditKind",
        "AuditStore",
        "ClientRecord",
        "ClientStore",
        "Event",
        "EventKind",
        "EventLog",
        "KeyRecord",
        "KeyRingSnapshot",
        "KeyStore",
        "LogEntry",
        "LogWatch",
        "ReceiverCursor",
        "ReceiverStore",
        "RefreshFamily",
        "RefreshStore",
        "RevocationKind",
        "RevocationRecord",
        "RevocationStore",
        "SessionRecord",
        "SessionStore",
        "Stores",
        "Unset",
        "UserRecord",
        "UserStore",
        "new_event_id",
    ]
    for name in authwise.storage.__all__:
        assert getattr(authwise.storage, name) is getattr(authwise.storage.base, name)


def test_the_system_clock_is_whole_seconds() -> None:
    now = authwise.service.system_clock()
    assert isinstance(now, int)
    assert now > 1_700_000_000


HOSTILE = [
    "\ud800",
    "a\x00b",
    "\u202e" * 3,
    "x" * 100_000,
    "",
    " ",
    "../../etc/passwd",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_input_is_refused_never_crashes(service: AuthService, value: str) -> None:
    user = await service.register("alice", PASSWORD)
    client, secret = await service.create_client("billing")
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(value, PASSWORD)
    with pytest.raises(AuthenticationFailed):
        await service.authenticate("alice", value)
    with pytest.raises(InvalidInput):
        await service.register(value, PASSWORD)
    # As a password it may be fine (NUL, quotes...): refused or taken, never a crash.
    outcome = await asyncio.gather(service.register("bob", value * 8), return_exceptions=True)
    assert isinstance(outcome[0], UserRecord | InvalidInput)
    with pytest.raises(InvalidSession):
        await service.validate_session(value)
    with pytest.raises(InvalidGrant):
        await service.refresh(value)
    with pytest.raises(InvalidClient):
        await service.authenticate_client(value, secret)
    with pytest.raises(InvalidClient):
        await service.authenticate_client(client.client_id, value)
    assert not await service.revoke_session(user.id, value)
    assert not await service.logout(value)
    await service.revoke_token(value)
    assert await service.introspect(value) == {"active": False}


async def test_passwords_that_are_not_unicode_text_are_refused(service: AuthService) -> None:
    with pytest.raises(InvalidInput, match="Unicode"):
        await service.register("bob", "p\ud800ssword-long-enough")
