"""The in-memory backend: every storage Protocol in one process, nothing persisted.

For tests, examples and single-process embedding. Each store guards its compound updates with
an :class:`asyncio.Lock`, so the atomicity the contract promises holds however the operations
interleave on the event loop. Records are frozen, so handing them out is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any

from authwise.errors import Conflict
from authwise.storage.base import (
    UNSET,
    AuditEvent,
    ClientRecord,
    Event,
    KeyRecord,
    KeyRingSnapshot,
    LogEntry,
    ReceiverCursor,
    RefreshFamily,
    RevocationRecord,
    SessionRecord,
    Stores,
    Unset,
    UserRecord,
    time_of,
)

__all__ = [
    "MemoryAuditStore",
    "MemoryClientStore",
    "MemoryEventLog",
    "MemoryKeyStore",
    "MemoryReceiverStore",
    "MemoryRefreshStore",
    "MemoryRevocationStore",
    "MemorySessionStore",
    "MemoryUserStore",
    "memory_stores",
]

log = logging.getLogger("authwise.storage")


class MemoryUserStore:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._by_id: dict[str, UserRecord] = {}
        self._by_name: dict[str, str] = {}
        self._skeletons: set[str] = set()

    async def create(self, user: UserRecord) -> None:
        async with self._lock:
            if user.username in self._by_name or user.skeleton in self._skeletons:
                raise Conflict("username")
            if user.id in self._by_id:
                raise Conflict("user")
            self._by_id[user.id] = user
            self._by_name[user.username] = user.id
            if user.skeleton is not None:
                self._skeletons.add(user.skeleton)

    async def get(self, user_id: str) -> UserRecord | None:
        return self._by_id.get(user_id)

    async def get_by_username(self, username: str) -> UserRecord | None:
        user_id = self._by_name.get(username)
        return None if user_id is None else self._by_id[user_id]

    async def update(
        self,
        user_id: str,
        *,
        now: int,
        roles: tuple[str, ...] | Unset = UNSET,
        tenant: str | Unset | None = UNSET,
        disabled: bool | Unset = UNSET,
        password_hash: str | Unset = UNSET,
        not_before: int | Unset = UNSET,
    ) -> UserRecord | None:
        async with self._lock:
            user = self._by_id.get(user_id)
            if user is None:
                return None
            changes: dict[str, Any] = {"updated_at": now}
            if not isinstance(roles, Unset):
                changes["roles"] = tuple(roles)
            if not isinstance(tenant, Unset):
                changes["tenant"] = tenant
            if not isinstance(disabled, Unset):
                changes["disabled"] = disabled
            if not isinstance(password_hash, Unset):
                changes["password_hash"] = password_hash
            if not isinstance(not_before, Unset):
                changes["not_before"] = max(user.not_before, not_before)
            user = replace(user, **changes)
            self._by_id[user_id] = user
            return user

    async def list_users(self, *, after: str | None = None, limit: int = 100) -> list[UserRecord]:
        names = sorted(n for n in self._by_name if after is None or n > after)
        return [self._by_id[self._by_name[n]] for n in names[: max(limit, 0)]]


class MemorySessionStore:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._by_digest: dict[bytes, SessionRecord] = {}
        self._by_handle: dict[str, bytes] = {}
        self._previous: dict[bytes, bytes] = {}

    async def create(self, session: SessionRecord) -> None:
        async with self._lock:
            if session.digest in self._by_digest or session.handle in self._by_handle:
                raise Conflict("session")
            self._by_digest[session.digest] = session
            self._by_handle[session.handle] = session.digest

    async def get(self, digest: bytes) -> SessionRecord | None:
        session = self._by_digest.get(digest)
        if session is None and digest in self._previous:
            session = self._by_digest.get(self._previous[digest])
        return session

    async def touch(self, digest: bytes, *, last_seen: int, expires_at: int) -> bool:
        async with self._lock:
            session = self._by_digest.get(digest)
            if session is None:
                return False
            self._by_digest[digest] = replace(session, last_seen=last_seen, expires_at=expires_at)
            return True

    async def rotate(
        self, old_digest: bytes, new_digest: bytes, *, now: int, expires_at: int
    ) -> SessionRecord | None:
        async with self._lock:
            session = self._by_digest.get(old_digest)
            if session is None or new_digest in self._by_digest:
                return None
            del self._by_digest[old_digest]
            if session.previous_digest is not None:
                self._previous.pop(session.previous_digest, None)
            session = replace(
                session,
                digest=new_digest,
                rotated_at=now,
                last_seen=now,
                expires_at=expires_at,
                previous_digest=old_digest,
            )
            self._by_digest[new_digest] = session
            self._previous[old_digest] = new_digest
            self._by_handle[session.handle] = new_digest
            return session

    def _drop(self, digest: bytes) -> SessionRecord | None:
        session = self._by_digest.pop(digest, None)
        if session is not None:
            self._by_handle.pop(session.handle, None)
            if session.previous_digest is not None:
                self._previous.pop(session.previous_digest, None)
        return session

    async def delete(self, digest: bytes) -> SessionRecord | None:
        async with self._lock:
            return self._drop(digest)

    async def delete_by_handle(self, user_id: str, handle: str) -> SessionRecord | None:
        async with self._lock:
            digest = self._by_handle.get(handle)
            if digest is None or self._by_digest[digest].user_id != user_id:
                return None
            return self._drop(digest)

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        found = [s for s in self._by_digest.values() if s.user_id == user_id]
        return sorted(found, key=lambda s: (s.created_at, s.handle))

    async def delete_for_user(
        self, user_id: str, *, keep_handle: str | None = None
    ) -> list[SessionRecord]:
        async with self._lock:
            doomed = [
                s.digest
                for s in self._by_digest.values()
                if s.user_id == user_id and s.handle != keep_handle
            ]
            deleted = [s for s in map(self._drop, doomed) if s is not None]
            return sorted(deleted, key=lambda s: (s.created_at, s.handle))

    async def prune(self, now: int) -> int:
        async with self._lock:
            doomed = [d for d, s in self._by_digest.items() if s.expires_at <= now]
            for digest in doomed:
                self._drop(digest)
            return len(doomed)


class MemoryRefreshStore:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._families: dict[str, RefreshFamily] = {}
        self._digests: dict[bytes, tuple[str, int]] = {}
        self._family_digests: dict[str, list[bytes]] = {}

    async def create(self, family: RefreshFamily, digest: bytes) -> None:
        async with self._lock:
            if family.family_id in self._families or digest in self._digests:
                raise Conflict("family")
            self._families[family.family_id] = family
            self._digests[digest] = (family.family_id, family.generation)
            self._family_digests[family.family_id] = [digest]

    async def get(self, family_id: str) -> RefreshFamily | None:
        return self._families.get(family_id)

    async def find(self, digest: bytes) -> tuple[RefreshFamily, int] | None:
        entry = self._digests.get(digest)
        if entry is None:
            return None
        return self._families[entry[0]], entry[1]

    async def rotate(
        self,
        family_id: str,
        expected_generation: int,
        new_digest: bytes,
        now: int | Callable[[], int],
    ) -> RefreshFamily | None:
        async with self._lock:
            family = self._families.get(family_id)
            if (
                family is None
                or family.revoked_at is not None
                or family.generation != expected_generation
                or new_digest in self._digests
            ):
                return None
            rotated_at = time_of(now)
            family = replace(family, generation=expected_generation + 1, rotated_at=rotated_at)
            self._families[family_id] = family
            self._digests[new_digest] = (family_id, family.generation)
            self._family_digests[family_id].append(new_digest)
            return family

    def _revoke(self, family_id: str, now: int) -> RefreshFamily | None:
        family = self._families.get(family_id)
        if family is None or family.revoked_at is not None:
            return None
        self._families[family_id] = replace(family, revoked_at=now)
        return family

    async def revoke(self, family_id: str, now: int) -> RefreshFamily | None:
        async with self._lock:
            return self._revoke(family_id, now)

    async def revoke_for_user(self, user_id: str, now: int) -> list[RefreshFamily]:
        async with self._lock:
            ids = [f.family_id for f in self._families.values() if f.user_id == user_id]
            revoked = [f for f in (self._revoke(i, now) for i in ids) if f is not None]
            return sorted(revoked, key=lambda f: (f.created_at, f.family_id))

    async def list_for_user(self, user_id: str) -> list[RefreshFamily]:
        found = [f for f in self._families.values() if f.user_id == user_id]
        return sorted(found, key=lambda f: (f.created_at, f.family_id))

    async def prune(self, now: int, *, revoked_before: int | None = None) -> int:
        def doomed_family(f: RefreshFamily) -> bool:
            if f.expires_at <= now:
                return True
            return (
                revoked_before is not None
                and f.revoked_at is not None
                and (f.revoked_at <= revoked_before)
            )

        async with self._lock:
            doomed = [i for i, f in self._families.items() if doomed_family(f)]
            for family_id in doomed:
                del self._families[family_id]
                for digest in self._family_digests.pop(family_id):
                    del self._digests[digest]
            return len(doomed)


class MemoryRevocationStore:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._entries: dict[tuple[str, str, str], RevocationRecord] = {}

    async def add(self, record: RevocationRecord) -> None:
        async with self._lock:
            key = (record.kind.value, record.issuer, record.key)
            old = self._entries.get(key)
            if old is not None:
                record = replace(
                    record,
                    expires_at=max(old.expires_at, record.expires_at),
                    not_before=max(old.not_before, record.not_before),
                )
            self._entries[key] = record

    async def live(self, now: int) -> list[RevocationRecord]:
        return [r for r in self._entries.values() if r.expires_at > now]

    async def prune(self, now: int) -> int:
        async with self._lock:
            doomed = [k for k, r in self._entries.items() if r.expires_at <= now]
            for key in doomed:
                del self._entries[key]
            return len(doomed)


class MemoryAuditStore:
    """Keeps the newest ``maxlen`` events (a durable backend keeps them per its retention)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._events: deque[AuditEvent] = deque(maxlen=maxlen)

    async def append(self, event: AuditEvent) -> None:
        self._events.append(event)

    async def recent(self, *, limit: int = 100, user_id: str | None = None) -> list[AuditEvent]:
        found: list[AuditEvent] = []
        for event in reversed(self._events):
            if len(found) >= limit:
                break
            if user_id is None or event.user_id == user_id:
                found.append(event)
        return found

    async def prune(self, *, before: int, max_rows: int) -> int:
        count = 0
        while self._events and (self._events[0].at < before or len(self._events) > max_rows):
            self._events.popleft()
            count += 1
        return count


class MemoryKeyStore:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._snapshot = KeyRingSnapshot(0, ())

    async def load(self) -> KeyRingSnapshot:
        return self._snapshot

    async def save(self, records: Sequence[KeyRecord], *, expected_version: int) -> bool:
        async with self._lock:
            if self._snapshot.version != expected_version:
                return False
            self._snapshot = KeyRingSnapshot(expected_version + 1, tuple(records))
            return True


class MemoryClientStore:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._clients: dict[str, ClientRecord] = {}

    async def create(self, client: ClientRecord) -> None:
        async with self._lock:
            if client.client_id in self._clients:
                raise Conflict("client")
            self._clients[client.client_id] = client

    async def get(self, client_id: str) -> ClientRecord | None:
        return self._clients.get(client_id)

    async def list_clients(self) -> list[ClientRecord]:
        return [self._clients[k] for k in sorted(self._clients)]

    async def replace_secret(self, client_id: str, secret_digest: bytes) -> ClientRecord | None:
        async with self._lock:
            client = self._clients.get(client_id)
            if client is None:
                return None
            client = replace(client, secret_digest=secret_digest)
            self._clients[client_id] = client
            return client

    async def delete(self, client_id: str) -> bool:
        async with self._lock:
            return self._clients.pop(client_id, None) is not None


class _MemoryWatch:
    def __init__(self, log: MemoryEventLog) -> None:
        self._log = log
        self._seen = log._head

    async def wait(self, at_most: float) -> None:
        if self._log._head == self._seen:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(at_most):
                    async with self._log._grown:
                        await self._log._grown.wait_for(lambda: self._log._head != self._seen)
        self._seen = self._log._head

    async def close(self) -> None:
        return None


class MemoryEventLog:
    """The log in a list: one process only, so every reader is in this one."""

    def __init__(self) -> None:
        self._entries: list[LogEntry] = []
        self._head = 0
        self._grown = asyncio.Condition()

    async def append(self, events: Sequence[Event]) -> int:
        for event in events:
            self._head += 1
            self._entries.append(LogEntry(self._head, event))
        if events:
            async with self._grown:
                self._grown.notify_all()
        return self._head

    async def read(self, after: int, *, limit: int = 500) -> list[LogEntry]:
        return [e for e in self._entries if e.seq > after][: max(limit, 0)]

    async def head(self) -> int:
        return self._head

    async def oldest(self) -> int:
        return self._entries[0].seq if self._entries else self._head + 1

    async def prune(self, before: int) -> int:
        kept = [e for e in self._entries if e.event.at >= before]
        pruned = len(self._entries) - len(kept)
        self._entries = kept
        return pruned

    async def watch(self) -> _MemoryWatch:
        return _MemoryWatch(self)


class MemoryReceiverStore:
    def __init__(self) -> None:
        self._cursors: dict[str, ReceiverCursor] = {}

    async def get(self, client_id: str) -> ReceiverCursor | None:
        return self._cursors.get(client_id)

    async def save(self, client_id: str, cursor: ReceiverCursor, *, now: int) -> None:
        self._cursors[client_id] = cursor


@contextlib.asynccontextmanager
async def _no_transaction() -> AsyncIterator[None]:
    # One process and no crash to survive: each store call is atomic on its own, and a unit
    # of work needs nothing more.
    yield


def memory_stores() -> Stores:
    """A fresh set of in-memory stores."""
    return Stores(
        users=MemoryUserStore(),
        sessions=MemorySessionStore(),
        refresh=MemoryRefreshStore(),
        revocations=MemoryRevocationStore(),
        audit=MemoryAuditStore(),
        keys=MemoryKeyStore(),
        clients=MemoryClientStore(),
        log=MemoryEventLog(),
        receivers=MemoryReceiverStore(),
        transaction=_no_transaction,
    )
