"""The in-process cache that keeps ``GET /me`` off the stores, kept coherent by push.

Two maps: validated sessions by the SHA-256 digest of their ID (and by their public handle),
and users by ID. Every logout, revocation, rotation, role, tenant or password change and every
disabling is an entry of the event log, which every process applies (made by any process: the
CLI, the admin API, another server); the cache drops the matching entries as it applies them,
and everything after a gap in the log. A short TTL (``sessions.cache_ttl``) bounds the damage
of anything else.

A hit is re-decided by the pure session state machine at the current time: an entry whose
session has timed out, must rotate, or is due for its sliding-renewal write goes back to the
service. The cache only ever saves the two store reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from authwise.core import sessions as core_sessions
from authwise.core.sessions import SessionPolicy
from authwise.service import SessionView
from authwise.storage.base import EventKind, LogEntry, UserRecord

_USER_EVENTS = frozenset(
    {
        EventKind.SESSIONS_REVOKED,
        EventKind.CLAIMS_CHANGED,
        EventKind.CREDENTIAL_CHANGED,
        EventKind.ACCOUNT_DISABLED,
        EventKind.ACCOUNT_ENABLED,
    }
)
_SESSION_EVENTS = frozenset({EventKind.SESSION_REVOKED, EventKind.SESSION_ROTATED})

__all__ = ["IdentityCache"]


class IdentityCache:
    __slots__ = (
        "_by_handle",
        "_by_user",
        "_clock",
        "_policy",
        "_sessions",
        "_users",
        "maxsize",
        "ttl",
    )

    def __init__(
        self,
        policy: SessionPolicy,
        clock: Callable[[], int],
        *,
        ttl: float,
        maxsize: int = 50_000,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self.ttl = ttl
        self.maxsize = maxsize
        self._sessions: dict[bytes, tuple[SessionView, float]] = {}
        self._users: dict[str, tuple[UserRecord, float]] = {}
        self._by_user: dict[str, set[bytes]] = {}
        self._by_handle: dict[str, bytes] = {}

    # -- sessions ------------------------------------------------------------------------------

    def session(self, digest: bytes) -> SessionView | None:
        """A cached view still valid now, with no rotation or renewal write due."""
        entry = self._sessions.get(digest)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            self._drop_session(digest)
            return None
        return entry[0]

    def put_session(self, digest: bytes, view: SessionView) -> None:
        """Cache a view the service just validated (and, if it was due, touched)."""
        if self.ttl <= 0:
            return
        now = self._clock()
        policy = self._policy
        decision = core_sessions.check(view.session, now, policy, not_before=view.user.not_before)
        if not decision.active or decision.rotate:
            return
        session = view.session
        if decision.touch:
            # The service wrote last_seen = now but hands back the record it read.
            session = replace(session, last_seen=now)
            view = replace(view, session=session)
        # The state machine's deadlines, computed once: the entry serves until the first of
        # them, when core_sessions.check would ask for a renewal write or end the session.
        until = min(
            now + self.ttl,
            session.last_seen + policy.touch_interval,
            session.last_seen + policy.idle_timeout,
            session.created_at + policy.absolute_timeout,
        )
        if until <= now:
            return
        if len(self._sessions) >= self.maxsize:
            self._drop_session(next(iter(self._sessions)))
        self._sessions[digest] = (view, until)
        self._by_user.setdefault(view.user.id, set()).add(digest)
        self._by_handle[session.handle] = digest

    def _drop_session(self, digest: bytes) -> None:
        entry = self._sessions.pop(digest, None)
        if entry is not None:
            if self._by_handle.get(entry[0].session.handle) == digest:
                del self._by_handle[entry[0].session.handle]
            digests = self._by_user.get(entry[0].user.id)
            if digests is not None:
                digests.discard(digest)
                if not digests:
                    del self._by_user[entry[0].user.id]

    # -- users (for bearer callers) -------------------------------------------------------------

    def user(self, user_id: str) -> UserRecord | None:
        entry = self._users.get(user_id)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            del self._users[user_id]
            return None
        return entry[0]

    def put_user(self, user: UserRecord) -> None:
        if self.ttl <= 0:
            return
        if len(self._users) >= self.maxsize:
            del self._users[next(iter(self._users))]
        self._users[user.id] = (user, self._clock() + self.ttl)

    # -- coherence -------------------------------------------------------------------------------

    def forget_user(self, user_id: str) -> None:
        self._users.pop(user_id, None)
        for digest in list(self._by_user.get(user_id, ())):
            self._drop_session(digest)

    def forget_session(self, handle: str) -> None:
        digest = self._by_handle.get(handle)
        if digest is not None:
            self._drop_session(digest)

    def on_entry(self, entry: LogEntry | None) -> None:
        """The event log's subscriber: drop what an entry makes stale (everything after a
        gap)."""
        if entry is None:
            self.clear()
            return
        event = entry.event
        if event.kind in _SESSION_EVENTS and event.sid is not None:
            self.forget_session(event.sid)
        if event.user_id is not None and (event.kind in _USER_EVENTS or event.not_before):
            self.forget_user(event.user_id)

    def clear(self) -> None:
        self._sessions.clear()
        self._users.clear()
        self._by_user.clear()
        self._by_handle.clear()

    def __len__(self) -> int:
        return len(self._sessions) + len(self._users)
