"""The storage contract: record types and small async Protocols every backend implements.

Rules every backend follows (the contract suite in ``tests/storage/`` checks them):

- **No clock.** Every time is an ``int`` of Unix seconds passed in by the caller (``now``,
  ``expires_at``). A store never reads the time itself; it may drop a record once its
  ``expires_at`` is reached (``expires_at <= now``), but it need not: callers re-check.
- **No secrets in plain.** Session IDs and refresh tokens reach storage only as their SHA-256
  digests (32 bytes); client secrets likewise; private keys only encrypted. A backend never
  sees, and so can never leak, a bearer secret (S12).
- **No decisions.** Stores hold state and perform the atomic steps named below; what a state
  means (expired? reused? allowed?) is decided by ``authwise.core``.
- **Errors.** A duplicate unique value raises :class:`~authwise.errors.Conflict`; a store that
  cannot be reached raises :class:`~authwise.errors.StoreUnavailable` (the server answers 503;
  nothing may be half-written). "Not found" is ``None``/``False``, never an exception.
- **Records are values.** Every record is a frozen dataclass; a store returns fresh records and
  never hands out something the caller could mutate behind its back.

A deployment may mix backends (users, refresh families, keys, audit and clients in SQL;
sessions, revocations and events in Redis): :class:`Stores` bundles one of each.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import orjson

__all__ = [
    "UNSET",
    "AuditEvent",
    "AuditKind",
    "AuditStore",
    "BusEvent",
    "BusEventKind",
    "ClientRecord",
    "ClientStore",
    "EventBus",
    "EventHandler",
    "KeyRecord",
    "KeyRingSnapshot",
    "KeyStore",
    "RefreshFamily",
    "RefreshStore",
    "RevocationKind",
    "RevocationRecord",
    "RevocationStore",
    "SessionRecord",
    "SessionStore",
    "Stores",
    "Subscription",
    "Unset",
    "UserRecord",
    "UserStore",
]

DIGEST_SIZE = 32
"""Length of every stored secret digest (SHA-256)."""


class Unset(enum.Enum):
    """Marks an :meth:`UserStore.update` argument the caller leaves unchanged."""

    UNSET = 0


UNSET = Unset.UNSET


# ---------------------------------------------------------------------------------------------
# Users


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    id: str
    """Opaque, stable user ID (the ``sub`` of access tokens)."""
    username: str
    """Normalized username (``authwise.core.accounts.normalize_username``); unique."""
    password_hash: str = field(repr=False)
    """An argon2id PHC string; never a password. Left out of ``repr``, so a record in a log
    line or a traceback does not hand out something to crack offline."""
    created_at: int
    updated_at: int
    roles: tuple[str, ...] = ()
    tenant: str | None = None
    disabled: bool = False
    not_before: int = 0
    """Credentials issued before this time (sessions rotated before it, tokens with an earlier
    ``iat``) no longer carry the user's current privileges."""


class UserStore(Protocol):
    async def create(self, user: UserRecord) -> None:
        """Insert ``user``. Atomic: :class:`Conflict` ("username" or "user") if the username or
        the ID is taken, even when two creates race."""

    async def get(self, user_id: str) -> UserRecord | None: ...

    async def get_by_username(self, username: str) -> UserRecord | None:
        """Exact match on the already-normalized username."""

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
        """Change the given fields and set ``updated_at = now``; return the new record, or None
        for an unknown user. One atomic write. ``not_before`` never moves backwards: the store
        keeps the larger of the stored and the given value."""

    async def list_users(self, *, after: str | None = None, limit: int = 100) -> list[UserRecord]:
        """Users ordered by username, starting after the username ``after`` (keyset paging)."""


# ---------------------------------------------------------------------------------------------
# Sessions


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    digest: bytes
    """SHA-256 of the session ID (the cookie value). The ID itself is never stored."""
    handle: str
    """Public, non-secret name of the session: device lists, ``DELETE /sessions/{handle}``,
    and the ``sid`` of tokens minted for it. Stable across ID rotations."""
    user_id: str
    created_at: int
    rotated_at: int
    """When the current ID was issued (creation, or the last rotation)."""
    last_seen: int
    expires_at: int
    """When the store may drop the record: the idle deadline, capped by the absolute one."""
    absolute_expires_at: int
    client_addr: str | None = None
    user_agent: str | None = None


class SessionStore(Protocol):
    async def create(self, session: SessionRecord) -> None:
        """Insert; :class:`Conflict` ("session") if the digest or the handle exists."""

    async def get(self, digest: bytes) -> SessionRecord | None: ...

    async def touch(self, digest: bytes, *, last_seen: int, expires_at: int) -> bool:
        """Record activity (the caller throttles these writes). False if the session is gone."""

    async def rotate(
        self, old_digest: bytes, new_digest: bytes, *, now: int, expires_at: int
    ) -> SessionRecord | None:
        """Give the session a new ID: atomically remove ``old_digest`` and store the same
        session (handle, user, metadata) under ``new_digest`` with ``rotated_at = last_seen =
        now``. Of two concurrent rotations of one digest exactly one succeeds; the other, and
        a rotation of an unknown digest, return None. Never leaves both digests or neither."""

    async def delete(self, digest: bytes) -> SessionRecord | None:
        """Delete one session; return what was deleted (None if nothing was)."""

    async def delete_by_handle(self, user_id: str, handle: str) -> SessionRecord | None:
        """Delete the session ``handle`` only if it belongs to ``user_id``."""

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        """The user's sessions, oldest first (expired ones may still be listed)."""

    async def delete_for_user(
        self, user_id: str, *, keep_handle: str | None = None
    ) -> list[SessionRecord]:
        """Delete every session of the user except ``keep_handle``; return the deleted ones.
        A session created concurrently may survive; one listed here is gone."""

    async def prune(self, now: int) -> int:
        """Delete sessions with ``expires_at <= now``; return how many (TTL stores: 0)."""


# ---------------------------------------------------------------------------------------------
# Refresh-token families


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshFamily:
    family_id: str
    """One per login; also the ``sid`` claim of every access token minted from the family."""
    user_id: str
    generation: int
    """Generation of the one live token (0 for the first, +1 per rotation)."""
    created_at: int
    rotated_at: int
    """When the live generation was issued (idle expiry and the grace window count from it)."""
    expires_at: int
    """Absolute end of the family, however often it is used."""
    revoked_at: int | None = None
    client_addr: str | None = None
    user_agent: str | None = None


class RefreshStore(Protocol):
    async def create(self, family: RefreshFamily, digest: bytes) -> None:
        """Insert a family with its first token's digest (generation ``family.generation``).
        :class:`Conflict` ("family") if the family ID or the digest exists."""

    async def get(self, family_id: str) -> RefreshFamily | None: ...

    async def find(self, digest: bytes) -> tuple[RefreshFamily, int] | None:
        """The family a token digest belongs to and that token's generation (live, rotated or
        revoked alike), or None for a digest never stored (or pruned)."""

    async def rotate(
        self,
        family_id: str,
        expected_generation: int,
        new_digest: bytes,
        now: int | Callable[[], int],
    ) -> RefreshFamily | None:
        """Compare-and-set: if the family is not revoked and its generation is still
        ``expected_generation``, store ``new_digest`` as generation ``expected_generation + 1``,
        set ``rotated_at = now`` and return the updated family; otherwise change nothing and
        return None. Of any number of concurrent rotations with one expected generation,
        exactly one wins, on every backend.

        ``now`` may be a clock, read once the store holds what it waited for (its lock, the
        connection, SQLite's write lock) right before the write: then ``rotated_at`` is when
        the rotation was written, however long the call waited, and the grace window that
        counts from it is not used up by the wait."""

    async def revoke(self, family_id: str, now: int) -> RefreshFamily | None:
        """Mark the family revoked at ``now``; return it if it was live (None if it was unknown
        or already revoked). A revoked family never rotates again."""

    async def revoke_for_user(self, user_id: str, now: int) -> list[RefreshFamily]:
        """Revoke every live family of the user; return those this call revoked."""

    async def list_for_user(self, user_id: str) -> list[RefreshFamily]:
        """The user's families (live and revoked, until pruned), oldest first."""

    async def prune(self, now: int, *, revoked_before: int | None = None) -> int:
        """Delete families (and all their digests) with ``expires_at <= now`` and, with
        ``revoked_before``, revoked ones with ``revoked_at <= revoked_before``; return how
        many. (Once no access token of a revoked family can still be valid, its tokens need
        not be recognised: presented again, they are unknown, which is ``invalid_grant``
        too.)"""


# ---------------------------------------------------------------------------------------------
# Revocation state


class RevocationKind(StrEnum):
    SID = "sid"
    """A session or refresh family: every access token whose ``sid`` is ``key``."""
    JTI = "jti"
    """One access token: ``(issuer, key)`` is its (``iss``, ``jti``)."""
    USER = "user"
    """Every access token of user ``key`` with ``iat < not_before``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RevocationRecord:
    kind: RevocationKind
    key: str
    expires_at: int
    """When no token the entry could affect can still be valid (then it is dropped)."""
    issuer: str = ""
    not_before: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "expires_at": self.expires_at,
            "issuer": self.issuer,
            "not_before": self.not_before,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RevocationRecord:
        return cls(
            kind=RevocationKind(data["kind"]),
            key=str(data["key"]),
            expires_at=int(data["expires_at"]),
            issuer=str(data.get("issuer", "")),
            not_before=int(data.get("not_before", 0)),
        )


class RevocationStore(Protocol):
    async def add(self, record: RevocationRecord) -> None:
        """Store an entry; idempotent. Entries are keyed by (kind, issuer, key): adding one that
        exists keeps the larger ``expires_at`` and the larger ``not_before`` (atomically)."""

    async def live(self, now: int) -> list[RevocationRecord]:
        """Every entry with ``expires_at > now``."""

    async def prune(self, now: int) -> int:
        """Delete entries with ``expires_at <= now``; return how many (TTL stores: 0)."""


# ---------------------------------------------------------------------------------------------
# Audit trail


class AuditKind(StrEnum):
    USER_CREATED = "user_created"
    LOGIN_OK = "login_ok"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    SESSION_REVOKED = "session_revoked"
    SESSION_ROTATED = "session_rotated"
    TOKEN_ISSUED = "token_issued"  # noqa: S105 - an event name
    REFRESH_ROTATED = "refresh_rotated"
    REFRESH_REUSE = "refresh_reuse_detected"
    REVOKED = "revoked"
    ROLE_CHANGED = "role_changed"
    TENANT_CHANGED = "tenant_changed"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
    KEY_ROTATED = "key_rotated"
    CLIENT_CREATED = "client_created"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    at: int
    kind: AuditKind
    user_id: str | None = None
    actor_id: str | None = None
    """Who did it, when not the user themself (an admin)."""
    client_addr: str | None = None
    detail: Mapping[str, str] = field(default_factory=dict)
    """Non-secret context: a session handle, a family ID, a role list. Never a secret."""


class AuditStore(Protocol):
    async def append(self, event: AuditEvent) -> None:
        """Append; events are never updated. Durable once this returns."""

    async def recent(self, *, limit: int = 100, user_id: str | None = None) -> list[AuditEvent]:
        """The newest events first (events of one ``at`` in reverse order of appending)."""

    async def prune(self, *, before: int, max_rows: int) -> int:
        """Delete the oldest events: those appended before the first one with ``at >= before``,
        then as many more as it takes to keep at most ``max_rows``; return how many."""


# ---------------------------------------------------------------------------------------------
# Signing keys


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    kid: str
    alg: str
    state: str
    """A :class:`authwise.core.keyring.KeyState` value."""
    since: int
    private_pem: bytes = field(repr=False)
    """PKCS#8 PEM encrypted under the deployment's key-encryption key; never plain. Left out
    of ``repr`` all the same (S12: private keys never in logs)."""


@dataclass(frozen=True, slots=True)
class KeyRingSnapshot:
    version: int
    """Bumped by every successful save; 0 for an empty store."""
    records: tuple[KeyRecord, ...] = ()


class KeyStore(Protocol):
    async def load(self) -> KeyRingSnapshot: ...

    async def save(self, records: Sequence[KeyRecord], *, expected_version: int) -> bool:
        """Compare-and-set: replace the whole ring with ``records`` (in order) if the stored
        version is still ``expected_version``, bump the version and return True; otherwise
        change nothing and return False (another process rotated first: reload)."""


# ---------------------------------------------------------------------------------------------
# OAuth clients (introspection, the revocation stream)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientRecord:
    client_id: str
    secret_digest: bytes
    """SHA-256 of the 256-bit client secret ("aw_cs_..."); the secret is never stored."""
    name: str
    created_at: int


class ClientStore(Protocol):
    async def create(self, client: ClientRecord) -> None:
        """Insert; :class:`Conflict` ("client") if the ID exists."""

    async def get(self, client_id: str) -> ClientRecord | None: ...

    async def list_clients(self) -> list[ClientRecord]:
        """Clients ordered by ID."""

    async def delete(self, client_id: str) -> bool: ...


# ---------------------------------------------------------------------------------------------
# Event bus: push revocations and cache invalidations to every process


class BusEventKind(StrEnum):
    REVOKED = "revoked"
    """``revocation`` carries the new entry."""
    SESSION_ENDED = "session_ended"
    """``key`` is the hex digest of an ended or rotated session ID: drop it from caches."""
    USER_CHANGED = "user_changed"
    """``key`` is a user ID whose record changed: drop it from caches."""
    KEYS_CHANGED = "keys_changed"
    """The signing key ring was saved by some process: reload it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusEvent:
    kind: BusEventKind
    key: str = ""
    revocation: RevocationRecord | None = None

    def to_json(self) -> bytes:
        """The wire form for buses that cross processes."""
        data: dict[str, Any] = {"kind": self.kind.value, "key": self.key}
        if self.revocation is not None:
            data["revocation"] = self.revocation.to_dict()
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes) -> BusEvent:
        """Parse the wire form; raises ``ValueError``, ``KeyError`` or ``TypeError`` on junk."""
        data = orjson.loads(raw)
        revocation = data.get("revocation")
        return cls(
            kind=BusEventKind(data["kind"]),
            key=str(data.get("key", "")),
            revocation=None if revocation is None else RevocationRecord.from_dict(revocation),
        )


EventHandler = Callable[[BusEvent], None]
"""Called once per event, in the subscriber's process and event loop; must not block."""


class Subscription(Protocol):
    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, event: BusEvent) -> None:
        """Deliver ``event`` to every subscriber in every process (this one included).
        :class:`StoreUnavailable` if it cannot be sent: the caller must not assume it was."""

    async def subscribe(self, handler: EventHandler) -> Subscription:
        """Call ``handler`` for every event published from now on, until closed."""


# ---------------------------------------------------------------------------------------------


def time_of(now: int | Callable[[], int]) -> int:
    """``now``, or what the clock ``now`` says at this moment."""
    return now() if callable(now) else now


def backend_of(store: object) -> str:
    """The name of the backend a store keeps its state in, as ``/health`` reports it:
    ``redis``, or ``database`` for SQL (and memory, which stands in for it)."""
    return str(getattr(store, "backend", "database"))


@runtime_checkable
class _Closeable(Protocol):
    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Stores:
    """One store of each kind; backends may be mixed freely."""

    users: UserStore
    sessions: SessionStore
    refresh: RefreshStore
    revocations: RevocationStore
    audit: AuditStore
    keys: KeyStore
    clients: ClientStore
    events: EventBus

    async def aclose(self) -> None:
        """Close every store that has an ``aclose`` (each object once)."""
        seen: set[int] = set()
        for f in fields(self):
            store = getattr(self, f.name)
            if id(store) in seen or not isinstance(store, _Closeable):
                continue
            seen.add(id(store))
            await store.aclose()
