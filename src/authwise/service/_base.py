"""State and helpers shared by every part of the service: the clock, stores, audit, the unit
of work that commits a change with its events, and the revocation steps several operations
end with."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from authwise.core.claims import ClaimsPolicy
from authwise.core.jwks import KeySet
from authwise.core.keyring import KeyRing
from authwise.core.revocation import RevocationSet, entry_expiry
from authwise.core.tokens import AccessTokenIssuer, AccessTokenVerifier, MintPolicy
from authwise.errors import InvalidKey, NotFound
from authwise.service.config import ServiceConfig
from authwise.service.events import EventTail
from authwise.service.keys import KeyManager, same_shape
from authwise.service.passwords import PasswordHasher
from authwise.storage.base import (
    AuditEvent,
    AuditKind,
    Event,
    EventKind,
    LogEntry,
    RefreshFamily,
    RevocationKind,
    RevocationRecord,
    SessionRecord,
    Stores,
    UserRecord,
)

log = logging.getLogger("authwise.service")

Clock = Callable[[], int]


def revocation_records(event: Event, max_access_ttl: int, leeway: int) -> list[RevocationRecord]:
    """The revocation entries an event of the log stands for (in every process)."""
    expires = entry_expiry(event.at, max_access_ttl, leeway)
    records = []
    if event.kind is EventKind.SESSION_REVOKED and event.sid:
        records.append(RevocationRecord(kind=RevocationKind.SID, key=event.sid, expires_at=expires))
    if event.kind is EventKind.TOKEN_REVOKED and event.jti:
        records.append(
            RevocationRecord(
                kind=RevocationKind.JTI, key=event.jti, issuer=event.issuer, expires_at=expires
            )
        )
    if event.not_before and event.user_id:
        records.append(
            RevocationRecord(
                kind=RevocationKind.USER,
                key=event.user_id,
                not_before=event.not_before,
                expires_at=entry_expiry(event.not_before, max_access_ttl, leeway),
            )
        )
    return records


@dataclass(frozen=True, slots=True)
class Ended:
    """What a "revoke everything" step ended."""

    sessions: list[SessionRecord] = field(default_factory=list)
    families: list[RefreshFamily] = field(default_factory=list)


class ServiceBase:
    def __init__(
        self,
        stores: Stores,
        *,
        config: ServiceConfig,
        clock: Clock,
        refresh_secret: bytes,
        key_encryption_key: bytes,
        hasher: PasswordHasher | None = None,
    ) -> None:
        if len(refresh_secret) < 32:
            raise ValueError("refresh_secret must be at least 32 bytes")
        self.stores = stores
        self.config = config
        self.clock = clock
        self._refresh_secret = refresh_secret
        # Session IDs that replace others on a rotation are derived under their own key.
        self._session_key = hmac.new(
            refresh_secret, b"authwise/session-successor-key/v1", hashlib.sha256
        ).digest()
        self.hasher = hasher or PasswordHasher(
            config.hashing, max_concurrency=config.hash_concurrency
        )
        self.keys = KeyManager(
            stores.keys,
            key_encryption_key,
            policy=config.rotation,
            algorithm=config.algorithm,
        )
        self.revocations = RevocationSet()
        self.tail = EventTail(stores.log)
        self.tail.subscribe(self._apply)
        self._pending: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar(
            f"authwise-events-{id(self)}", default=None
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._set_cache: dict[tuple[str, str | None], bytes] = {}
        self._ring: KeyRing | None = None
        self._distrusted: set[str] = set()
        """Kids retired at once (compromised): never trusted again by this process."""
        self._issuer: AccessTokenIssuer | None = None
        self._verifier: AccessTokenVerifier | None = None
        self._claims = ClaimsPolicy.create(config.issuer, config.audiences, leeway=config.leeway)
        self._mint_policy = MintPolicy(
            default_ttl=config.access_ttl,
            max_ttl=config.max_access_ttl,
            allow_long_lived=config.max_access_ttl > 900,
        )

    # -- time, keys ----------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def _use_ring(self, ring: KeyRing) -> None:
        if self._ring is not None and same_shape(ring, self._ring):
            return  # unchanged: keep the issuer and the verifier's cache
        self._ring = ring
        self._issuer = AccessTokenIssuer(ring.active, self.config.issuer, self._mint_policy)
        keys = self._without_distrusted(ring.verification_keys())
        if self._verifier is None:
            self._verifier = AccessTokenVerifier(
                keys=keys, claims=self._claims, revocation=self.revocations
            )
        else:
            self._verifier.update_keys(keys)

    @property
    def key_ring(self) -> KeyRing:
        if self._ring is None:
            raise InvalidKey("the service is not started: call start() first")
        return self._ring

    @property
    def issuer(self) -> AccessTokenIssuer:
        self.key_ring  # noqa: B018 - raises before start()
        assert self._issuer is not None  # noqa: S101
        return self._issuer

    @property
    def verifier(self) -> AccessTokenVerifier:
        """Verifies this server's access tokens, revocations included."""
        self.key_ring  # noqa: B018 - raises before start()
        assert self._verifier is not None  # noqa: S101
        return self._verifier

    def _without_distrusted(self, keys: KeySet) -> KeySet:
        # A ring loaded before a retirement was saved (a reload racing the event) must not
        # bring a retired key back.
        if not self._distrusted:
            return keys
        return KeySet(keys[kid] for kid in keys if kid not in self._distrusted)

    def _forget_key(self, kid: str) -> None:
        """Stop trusting ``kid`` in this process now, before the reload from the store lands
        (this process's copy of the ring may not even have seen the rotation yet)."""
        self._distrusted.add(kid)
        if self._verifier is not None and kid in self._verifier.keys:
            self._verifier.update_keys(self._without_distrusted(self._verifier.keys))

    def jwks(self) -> KeySet:
        """The keys to publish at ``/.well-known/jwks.json``."""
        return self._without_distrusted(self.key_ring.published_keys())

    # -- audit and events ------------------------------------------------------------------------

    async def _audit(
        self,
        kind: AuditKind,
        *,
        user_id: str | None = None,
        actor_id: str | None = None,
        client_addr: str | None = None,
        detail: Mapping[str, str] | None = None,
    ) -> None:
        await self.stores.audit.append(
            AuditEvent(
                at=self.now(),
                kind=kind,
                user_id=user_id,
                actor_id=actor_id,
                client_addr=client_addr,
                detail=dict(detail or {}),
            )
        )

    # -- changes and their events -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _unit(self) -> AsyncIterator[None]:
        """One change: the store calls made inside commit together with the events
        :meth:`_emit` collected (appended last, so the log's counter is held briefly), and
        this process applies them before the caller goes on. Units nest: an inner one joins
        the outer."""
        if self._pending.get() is not None:
            yield
            return
        pending: list[Event] = []
        token = self._pending.set(pending)
        try:
            async with self.stores.transaction():
                yield
                if pending:
                    await self.stores.log.append(pending)
        finally:
            self._pending.reset(token)
        if pending:
            # Apply here before answering; the background tail relays to Redis.
            await self.tail.catch_up(relay=False)

    def _emit(self, event: Event) -> None:
        """Record ``event`` to commit with the change being made (inside :meth:`_unit`)."""
        pending = self._pending.get()
        if pending is None:
            raise RuntimeError("events are emitted inside a unit of work (_unit)")
        pending.append(event)

    def _apply(self, entry: LogEntry | None) -> None:
        """What every process does with an entry of the log (the tail's first subscriber)."""
        if entry is None:
            # Entries were pruned before this process read them: reload what they may have
            # changed from the stores, as at start (the revocation entries, the key ring).
            self._in_background(self._reload_snapshot())
            return
        event = entry.event
        for record in revocation_records(event, self.config.max_access_ttl, self.config.leeway):
            self.revocations.apply(record)
        if event.kind is EventKind.KEY_RETIRED:
            self._forget_key(str(event.data.get("kid", "")))
        if event.kind in (EventKind.KEYS_CHANGED, EventKind.KEY_RETIRED):
            self._in_background(self._reload_quietly())

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        # Handlers must not block: the work runs in a task (kept referenced until done).
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload_quietly(self) -> None:
        try:
            await self.reload_keys()
        except Exception:
            log.exception("reloading the key ring after a keys_changed event failed")

    async def _reload_snapshot(self) -> None:
        try:
            for record in await self.stores.revocations.live(self.now()):
                self.revocations.apply(record)
            await self.reload_keys()
        except Exception:
            log.exception("reloading the state after a gap in the event log failed")

    async def rotate_keys(self, *, force: bool = False) -> KeyRing:
        """Advance the key ring to now: a rotation when one is due (or at once with ``force``),
        and whatever another process saved. Call it periodically. When this call changed the
        ring, every process is told to reload it."""
        ring, saved = await self.keys.advance(self.now(), force_rotation=force)
        before = self.key_ring.active.kid
        self._use_ring(ring)
        if saved:
            # The ring is saved first and announced after: a crash in between leaves no harm,
            # as every process also re-reads the ring every half minute.
            async with self._unit():
                if ring.active.kid != before:
                    await self._audit(AuditKind.KEY_ROTATED, detail={"kid": ring.active.kid})
                self._emit(Event(kind=EventKind.KEYS_CHANGED, at=self.now()))
        return ring

    async def reload_keys(self) -> KeyRing:
        """Adopt the ring as stored (after a ``keys_changed`` event), advancing it if a
        rotation is due: the same as :meth:`rotate_keys` without ``force``."""
        return await self.rotate_keys()

    def _expiry(self, at: int) -> int:
        return entry_expiry(at, self.config.max_access_ttl, self.config.leeway)

    async def _revoke(self, record: RevocationRecord) -> None:
        """Store a revocation entry (its event says the same to every process)."""
        await self.stores.revocations.add(record)

    async def _revoke_sid(self, sid: str, now: int, user_id: str | None) -> None:
        await self._revoke(
            RevocationRecord(kind=RevocationKind.SID, key=sid, expires_at=self._expiry(now))
        )
        self._emit(Event(kind=EventKind.SESSION_REVOKED, at=now, user_id=user_id, sid=sid))

    def _sessions_ended(self, sessions: list[SessionRecord], now: int) -> None:
        for session in sessions:
            self._emit(
                Event(
                    kind=EventKind.SESSION_REVOKED,
                    at=now,
                    user_id=session.user_id,
                    sid=session.handle,
                )
            )

    async def _revoke_families(self, families: list[RefreshFamily], now: int) -> None:
        for family in families:
            await self._revoke_sid(family.family_id, now, family.user_id)

    async def _move_not_before(
        self,
        user_id: str,
        now: int,
        kind: EventKind,
        data: Mapping[str, Any] | None = None,
    ) -> UserRecord:
        """Revoke every credential of the user issued up to this second, and say why (``kind``
        with its ``data``).

        ``not_before`` is ``now + 1``: times are whole seconds, so a token minted earlier in
        this same second must not survive the change. Something minted later in this second
        is refused too, and simply renewed a second later: the safe side of the rounding.
        """
        not_before = now + 1
        user = await self.stores.users.update(user_id, now=now, not_before=not_before)
        if user is None:
            raise NotFound("no such user")
        await self._revoke(
            RevocationRecord(
                kind=RevocationKind.USER,
                key=user_id,
                not_before=not_before,
                expires_at=self._expiry(not_before),
            )
        )
        self._emit(
            Event(kind=kind, at=now, user_id=user_id, not_before=not_before, data=data or {})
        )
        return user

    async def _end_everything(
        self, user_id: str, now: int, *, keep_handle: str | None = None
    ) -> Ended:
        """End the user's sessions (but ``keep_handle``) and refresh families, and revoke
        their access tokens (by ``sid``: the families'; by not-before: all others)."""
        sessions = await self.stores.sessions.delete_for_user(user_id, keep_handle=keep_handle)
        families = await self.stores.refresh.revoke_for_user(user_id, now)
        self._sessions_ended(sessions, now)
        await self._revoke_families(families, now)
        return Ended(sessions, families)

    async def _require_user(self, user_id: str) -> UserRecord:
        user = await self.stores.users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        return user
