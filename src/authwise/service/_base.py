"""State and helpers shared by every part of the service: the clock, stores, audit, events,
and the revocation steps several operations end with."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from authwise.core.claims import ClaimsPolicy
from authwise.core.jwks import KeySet
from authwise.core.keyring import KeyRing
from authwise.core.revocation import RevocationSet, entry_expiry
from authwise.core.tokens import AccessTokenIssuer, AccessTokenVerifier, MintPolicy
from authwise.errors import InvalidKey, NotFound
from authwise.service.config import ServiceConfig
from authwise.service.keys import KeyManager, same_shape
from authwise.service.passwords import PasswordHasher
from authwise.storage.base import (
    AuditEvent,
    AuditKind,
    BusEvent,
    BusEventKind,
    RefreshFamily,
    RevocationKind,
    RevocationRecord,
    SessionRecord,
    Stores,
    UserRecord,
)

log = logging.getLogger("authwise.service")

Clock = Callable[[], int]


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
        self._tasks: set[asyncio.Task[None]] = set()
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

    async def _revoke(self, record: RevocationRecord) -> None:
        """Store a revocation entry, apply it here at once, and push it to every process."""
        await self.stores.revocations.add(record)
        self.revocations.apply(record)
        await self.stores.events.publish(
            BusEvent(kind=BusEventKind.REVOKED, key=record.key, revocation=record)
        )

    def _expiry(self, at: int) -> int:
        return entry_expiry(at, self.config.max_access_ttl, self.config.leeway)

    async def _revoke_sid(self, sid: str, now: int) -> None:
        await self._revoke(
            RevocationRecord(kind=RevocationKind.SID, key=sid, expires_at=self._expiry(now))
        )

    async def _sessions_ended(self, sessions: list[SessionRecord]) -> None:
        for session in sessions:
            await self.stores.events.publish(
                BusEvent(kind=BusEventKind.SESSION_ENDED, key=session.digest.hex())
            )

    async def _revoke_families(self, families: list[RefreshFamily], now: int) -> None:
        for family in families:
            await self._revoke_sid(family.family_id, now)

    async def _move_not_before(self, user_id: str, now: int) -> UserRecord:
        """Revoke every credential of the user issued up to this second.

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
        await self.stores.events.publish(BusEvent(kind=BusEventKind.USER_CHANGED, key=user_id))
        return user

    async def _end_everything(
        self, user_id: str, now: int, *, keep_handle: str | None = None
    ) -> Ended:
        """End the user's sessions (but ``keep_handle``) and refresh families, and revoke
        their access tokens (by ``sid``: the families'; by not-before: all others)."""
        sessions = await self.stores.sessions.delete_for_user(user_id, keep_handle=keep_handle)
        families = await self.stores.refresh.revoke_for_user(user_id, now)
        await self._sessions_ended(sessions)
        await self._revoke_families(families, now)
        return Ended(sessions, families)

    async def _require_user(self, user_id: str) -> UserRecord:
        user = await self.stores.users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        return user
