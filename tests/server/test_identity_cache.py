"""The in-process identity cache: a hit exactly when the session state machine would let the
request through without the service, and coherence through the event log."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from authwise.core import sessions as core_sessions
from authwise.core.sessions import SessionPolicy
from authwise.server.identity_cache import IdentityCache
from authwise.service import SessionView
from authwise.storage.base import Event, EventKind, LogEntry, SessionRecord, UserRecord

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
    handle: str = "h",
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
        handle=handle,
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


def entry(kind: EventKind, **fields: object) -> LogEntry:
    return LogEntry(1, Event(kind=kind, at=T0, **fields))  # type: ignore[arg-type]


def test_log_entries_drop_what_they_make_stale() -> None:
    clock = Clock()
    cache = IdentityCache(POLICY, clock, ttl=30)
    cache.put_session(b"a" * 32, view(user_id="u1", handle="ha"))
    cache.put_session(b"b" * 32, view(user_id="u1", handle="hb"))
    cache.put_session(b"c" * 32, view(user_id="u2", handle="hc"))
    cache.put_session(b"d" * 32, view(user_id="u3", handle="hd"))
    cache.put_user(view(user_id="u2").user)
    cache.on_entry(entry(EventKind.SESSION_REVOKED, user_id="u1", sid="ha"))
    assert cache.session(b"a" * 32) is None
    assert cache.session(b"b" * 32) is not None
    cache.on_entry(entry(EventKind.SESSION_ROTATED, user_id="u1", sid="hb"))
    assert cache.session(b"b" * 32) is None
    assert cache.session(b"c" * 32) is not None
    cache.on_entry(entry(EventKind.CLAIMS_CHANGED, user_id="u2", not_before=T0 + 1))
    assert cache.session(b"c" * 32) is None
    assert cache.user("u2") is None
    # An entry about something not cached, or about nobody, changes nothing.
    cache.on_entry(entry(EventKind.SESSION_REVOKED, user_id="u9", sid="unknown"))
    cache.on_entry(entry(EventKind.KEYS_CHANGED))
    assert cache.session(b"d" * 32) is not None
    # A gap in the log: everything goes.
    cache.on_entry(None)
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
