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

- **Changes and their events commit together.** A change other processes must hear of is
  made inside :attr:`Stores.transaction` with :meth:`EventLog.append`: no crash can leave one
  without the other.

:class:`Stores` bundles one store of each kind, all on one backend (memory or one SQL
database), so that a transaction spans them.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

__all__ = [
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
    skeleton: str | None = None
    """The username's confusable skeleton (``authwise.core.accounts.username_skeleton``),
    unique among the users that have one: no two accounts whose names look alike. ``None``
    only for accounts older than the rule whose skeleton another account already held."""


class UserStore(Protocol):
    async def create(self, user: UserRecord) -> None:
        """Insert ``user``. Atomic: :class:`Conflict` ("username" or "user") if the username,
        its skeleton (a look-alike name counts as taken) or the ID is taken, even when two
        creates race."""

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
    previous_digest: bytes | None = field(default=None, repr=False)
    """The digest of the ID the last rotation replaced: for a few seconds after a rotation a
    request still carrying it is let through (the caller decides for how long, from
    ``rotated_at``), so that requests in flight do not fail."""


class SessionStore(Protocol):
    async def create(self, session: SessionRecord) -> None:
        """Insert; :class:`Conflict` ("session") if the digest or the handle exists."""

    async def get(self, digest: bytes) -> SessionRecord | None:
        """The session whose current ID has ``digest``, or whose ID before the last rotation
        had it (then ``previous_digest == digest``)."""

    async def touch(self, digest: bytes, *, last_seen: int, expires_at: int) -> bool:
        """Record activity (the caller throttles these writes). False if the session is gone."""

    async def rotate(
        self, old_digest: bytes, new_digest: bytes, *, now: int, expires_at: int
    ) -> SessionRecord | None:
        """Give the session a new ID: atomically remove ``old_digest`` and store the same
        session (handle, user, metadata) under ``new_digest`` with ``rotated_at = last_seen =
        now`` and ``previous_digest = old_digest``. Of two concurrent rotations of one digest exactly one succeeds; the other, and
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
    CLIENT_REVOKED = "client_revoked"
    CLIENT_SECRET_ROTATED = "client_secret_rotated"  # noqa: S105 - an event name
    KEY_RETIRED = "key_retired"


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

    async def replace_secret(self, client_id: str, secret_digest: bytes) -> ClientRecord | None:
        """Store a new secret digest for the client (the old secret stops working); the
        updated record, or None when there is no such client."""

    async def delete(self, client_id: str) -> bool: ...


# ---------------------------------------------------------------------------------------------
# The event log: every change that must reach other processes, in commit order


class EventKind(StrEnum):
    """What happened. The first eight are delivered to verifiers as Security Event Tokens
    (``authwise.core.secevent``); the others only keep this deployment's processes coherent."""

    SESSION_REVOKED = "session_revoked"
    """One session or refresh family ended (``sid``; ``user_id``): its access tokens too."""
    SESSIONS_REVOKED = "sessions_revoked"
    """"Log out everywhere": every credential of ``user_id`` issued before ``not_before``."""
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an event name
    """One access token: (``issuer``, ``jti``)."""
    CLAIMS_CHANGED = "claims_changed"
    """Roles or tenant changed (``data``: ``roles``, ``tenant``); ``not_before`` moved."""
    CREDENTIAL_CHANGED = "credential_changed"
    """The password changed; ``not_before`` moved."""
    ACCOUNT_DISABLED = "account_disabled"
    """``not_before`` moved; sign-ins refused until enabled."""
    ACCOUNT_ENABLED = "account_enabled"
    KEY_RETIRED = "key_retired"
    """The signing key ``data["kid"]`` is no longer trusted, at once."""
    SESSION_ROTATED = "session_rotated"
    """Internal: the session ``sid`` of ``user_id`` has a new ID (drop cached copies)."""
    KEYS_CHANGED = "keys_changed"
    """Internal: the key ring was saved (rotation, import): reload it."""
    CLIENT_REVOKED = "client_revoked"
    """Internal: the client ``data["client_id"]`` was deleted: close its open streams."""
    CLIENT_SECRET_ROTATED = "client_secret_rotated"  # noqa: S105 - an event name
    """Internal: the client ``data["client_id"]`` has a new secret: close the streams opened
    with the old one."""


DELIVERED_KINDS = frozenset(
    {
        EventKind.SESSION_REVOKED,
        EventKind.SESSIONS_REVOKED,
        EventKind.TOKEN_REVOKED,
        EventKind.CLAIMS_CHANGED,
        EventKind.CREDENTIAL_CHANGED,
        EventKind.ACCOUNT_DISABLED,
        EventKind.ACCOUNT_ENABLED,
        EventKind.KEY_RETIRED,
    }
)
"""The kinds verifiers receive; the rest stay inside the deployment."""


def new_event_id() -> str:
    """A random, unique event ID (128 bits): the ``jti`` of the event's Security Event Token."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One change, as the log keeps it. Values only; never a secret (no session ID, token,
    password, or digest of one)."""

    kind: EventKind
    at: int
    """When the change was made (Unix seconds, the service's clock)."""
    id: str = field(default_factory=new_event_id)
    user_id: str | None = None
    sid: str | None = None
    """A session handle or refresh-family ID (the ``sid`` of access tokens)."""
    jti: str | None = None
    issuer: str = ""
    not_before: int = 0
    """User-wide: credentials of ``user_id`` issued before this are revoked (0: none)."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific JSON values: ``roles``, ``tenant``, ``kid``, ``client_id``, ``reason``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "at": self.at,
            "id": self.id,
            "user_id": self.user_id,
            "sid": self.sid,
            "jti": self.jti,
            "issuer": self.issuer,
            "not_before": self.not_before,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Parse :meth:`to_dict`'s form; ``ValueError``, ``KeyError`` or ``TypeError`` on junk."""
        extra = data.get("data") or {}
        if not isinstance(extra, dict):
            raise TypeError("data must be an object")
        return cls(
            kind=EventKind(data["kind"]),
            at=int(data["at"]),
            id=str(data["id"]),
            user_id=_opt_str(data.get("user_id")),
            sid=_opt_str(data.get("sid")),
            jti=_opt_str(data.get("jti")),
            issuer=str(data.get("issuer") or ""),
            not_before=int(data.get("not_before") or 0),
            data=extra,
        )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """An event at its place in the log."""

    seq: int
    """Its position: 1, 2, 3, ... with no gaps, in commit order."""
    event: Event


class LogWatch(Protocol):
    """Wake-ups for a reader of the log (each backend has its cheapest)."""

    async def wait(self, at_most: float) -> None:
        """Return soon after the log may have grown, or after ``at_most`` seconds."""

    async def close(self) -> None: ...


class EventLog(Protocol):
    """The durable, ordered log of changes (DESIGN: the outbox). A change and its events
    commit together: call :meth:`append` inside :meth:`Stores.transaction` with the store
    calls that make the change. Sequence numbers are dense (no gaps) and follow commit order,
    so a reader that finds a gap knows entries were pruned before it read them."""

    async def append(self, events: Sequence[Event]) -> int:
        """Append ``events`` in order; return the sequence number of the last one."""

    async def read(self, after: int, *, limit: int = 500) -> list[LogEntry]:
        """Entries with ``seq > after``, oldest first, at most ``limit``."""

    async def head(self) -> int:
        """The newest sequence number (0 for a log never written)."""

    async def oldest(self) -> int:
        """The oldest sequence number still kept (``head() + 1`` when none is)."""

    async def prune(self, before: int) -> int:
        """Drop entries with ``at < before``; return how many. Never renumbers."""

    async def watch(self) -> LogWatch:
        """Start watching for appends made by any process."""


@dataclass(frozen=True, slots=True)
class ReceiverCursor:
    """Where a poll receiver (RFC 8936) stands in the log."""

    position: int
    """Every delivered entry up to this sequence number is acknowledged."""
    acked: frozenset[int] = frozenset()
    """Entries after ``position`` acknowledged out of order (never sent again)."""


class ReceiverStore(Protocol):
    """Poll receivers' acknowledgements, shared by every server process."""

    async def get(self, client_id: str) -> ReceiverCursor | None: ...

    async def save(self, client_id: str, cursor: ReceiverCursor, *, now: int) -> None:
        """Replace the client's cursor (a receiver polls one request at a time; the last
        acknowledgement wins)."""


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
    log: EventLog
    receivers: ReceiverStore
    transaction: Callable[[], AbstractAsyncContextManager[None]]
    """One atomic unit of work: every store call of this bundle made inside it (in this task)
    commits together, or not at all."""

    async def aclose(self) -> None:
        """Close every store that has an ``aclose`` (each object once)."""
        seen: set[int] = set()
        for f in fields(self):
            store = getattr(self, f.name)
            if id(store) in seen or not isinstance(store, _Closeable):
                continue
            seen.add(id(store))
            await store.aclose()
