"""The in-process identity cache: a hit exactly when the session state machine would let the
request through without the service, and coherence through the event bus."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from authwise.core import sessions as core_sessions
from authwise.core.sessions import SessionPolicy
from authwise.server.identity_cache import IdentityCache
from authwise.service import SessionView
from authwise.storage.base import (
    BusEvent,
    BusEventKind,
    RevocationKind,
    RevocationRecord,
    SessionRecord,
    UserRecord,
)

POLICY = SessionPolicy(idle_timeout=1800, absolute_timeout=8 * 3600, touch_interval=60)
T0 = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def view(
    created_at: int = T0,
    last_seen: int = T0,
    rotated_at: int = T0,
    not_before: int = 0,
    user_id: str = "u1",
) -> SessionView:
    user = UserRecord(
        id=user_id,
        username="alice",
        password_hash="x",
        created_at=T0,
        updated_at=T0,
        not_before=not_before,
    )
    session = SessionRecord(
        digest=b"d" * 32,
        handle="h",
        user_id=user_id,
        created_at=created_at,
        rotated_at=rotated_at,
        last_seen=last_seen,
        expires_at=last_seen + 1800,
        absolute_expires_at=created_at + 8 * 3600,
    )
    return SessionView(user, session)


@settings(max_examples=300)
@given(
    age=st.integers(0, 9 * 3600),
    idle=st.integers(0, 2000),
    later=st.integers(0, 120),
    rotate=st.booleans(),
)
def test_hit_exactly_when_the_state_machine_needs_no_service(
    age: int, idle: int, later: int, rotate: bool
) -> None:
    clock = Clock()
    cache = IdentityCache(POLICY, clock, ttl=30)
    v = view(created_at=T0 - age, last_seen=T0 - min(idle, age), not_before=T0 + 1 if rotate else 0)
    cache.put_session(b"k", v)
    clock.now = T0 + later
    hit = cache.session(b"k") is not None
    at_put = core_sessions.check(v.session, T0, POLICY, not_before=v.user.not_before)
    cached_session = v.session
    if at_put.touch:
        from dataclasses import replace

        cached_session = replace(v.session, last_seen=T0)
    at_hit = core_sessions.check(cached_session, T0 + later, POLICY, not_before=v.user.not_before)
    expected = (
        at_put.active
        and not at_put.rotate
        and at_hit.active
        and not at_hit.touch
        and not at_hit.rotate
        and later < 30
    )
    assert hit == expected


def test_events_drop_entries() -> None:
    clock = Clock()
    cache = IdentityCache(POLICY, clock, ttl=30)
    cache.put_session(b"a" * 32, view(user_id="u1"))
    cache.put_session(b"b" * 32, view(user_id="u1"))
    cache.put_session(b"c" * 32, view(user_id="u2"))
    cache.put_user(view(user_id="u2").user)
    cache.on_event(BusEvent(kind=BusEventKind.SESSION_ENDED, key=(b"a" * 32).hex()))
    assert cache.session(b"a" * 32) is None
    assert cache.session(b"b" * 32) is not None
    cache.on_event(BusEvent(kind=BusEventKind.USER_CHANGED, key="u1"))
    assert cache.session(b"b" * 32) is None
    assert cache.session(b"c" * 32) is not None
    record = RevocationRecord(
        kind=RevocationKind.USER, key="u2", expires_at=T0 + 900, not_before=T0
    )
    cache.on_event(BusEvent(kind=BusEventKind.REVOKED, key="u2", revocation=record))
    assert cache.session(b"c" * 32) is None
    assert cache.user("u2") is None
    cache.on_event(BusEvent(kind=BusEventKind.SESSION_ENDED, key="not hex"))
    assert len(cache) == 0


def test_bounded_and_off_when_ttl_is_zero() -> None:
    clock = Clock()
    cache = IdentityCache(POLICY, clock, ttl=30, maxsize=2)
    for i in range(5):
        cache.put_session(bytes([i]) * 32, view())
    assert len(cache) == 2
    off = IdentityCache(POLICY, clock, ttl=0)
    off.put_session(b"k", view())
    off.put_user(view().user)
    assert len(off) == 0
