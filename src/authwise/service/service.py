"""The :class:`AuthService` facade: one object the HTTP server, the CLI and the integrations
call for everything stateful."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from authwise.core.keyring import KeyRing, KeyState
from authwise.core.keys import PrivateKey
from authwise.errors import NotFound
from authwise.service._base import log
from authwise.service.tokens import TokensMixin
from authwise.storage.base import (
    AuditKind,
    BusEvent,
    BusEventKind,
    EventHandler,
    RevocationRecord,
    Subscription,
)

__all__ = ["AuthService", "RetiredKey"]


@dataclass(frozen=True, slots=True)
class RetiredKey:
    """What retiring a signing key broke."""

    kid: str
    was: KeyState
    """Its state before: ``active`` (it was signing), ``retiring`` or ``next`` (it never
    signed anything)."""
    tokens_valid_until: int | None
    """When the last access token it signed would have expired (None: it signed none).
    Until then, tokens signed with it existed and are now refused."""


class AuthService(TokensMixin):
    """Accounts, sessions, tokens and revocation over one set of :class:`Stores`.

    Build it with the stores, a :class:`ServiceConfig`, a clock (a callable returning Unix
    seconds as an ``int``), the refresh-token secret (>= 32 random bytes, the same in every
    process) and the key-encryption key for the signing keys at rest; then ``await start()``.
    Every method reads the time through the clock only.
    """

    _subscription: Subscription | None = None

    async def start(self) -> None:
        """Load (or create) the signing keys, load the live revocations, subscribe to the
        event bus, and prepare the password hasher."""
        now = self.now()
        self._use_ring(await self.keys.load(now))
        await self.refresh_revocations(now)
        if self._subscription is None:
            self._subscription = await self.stores.events.subscribe(self._on_event)
        await self.hasher.prepare()

    async def close(self, *, close_stores: bool = False) -> None:
        """Unsubscribe from the event bus; with ``close_stores``, close the stores too
        (otherwise they are the caller's to close)."""
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
        for task in list(self._tasks):
            await task
        if close_stores:
            await self.stores.aclose()

    async def check_health(self) -> None:
        """One cheap read through each kind of store a request depends on (users, sessions):
        returns when they answer, raises :class:`~authwise.errors.StoreUnavailable` when one
        cannot be reached."""
        await self.stores.users.get("health-check")
        await self.stores.sessions.get(bytes(32))

    async def subscribe(self, handler: EventHandler) -> Subscription:
        """Call ``handler`` for every event on the bus from now on (from every process, when
        the bus is Redis) until the subscription is closed. The handler must not block."""
        return await self.stores.events.subscribe(handler)

    async def live_revocations(self, now: int | None = None) -> list[RevocationRecord]:
        """Every stored revocation entry still in force at ``now`` (by default, the clock's
        now): what a verifier needs to start from."""
        return await self.stores.revocations.live(self.now() if now is None else now)

    async def refresh_revocations(self, now: int | None = None) -> None:
        """Apply every live stored revocation entry here: :meth:`start` does, and so should a
        periodic task, for entries made where no event reached this process (the CLI on a
        deployment without Redis)."""
        for record in await self.live_revocations(now):
            self.revocations.apply(record)

    def _on_event(self, event: BusEvent) -> None:
        if event.kind is BusEventKind.REVOKED and event.revocation is not None:
            self.revocations.apply(event.revocation)
        elif event.kind is BusEventKind.KEY_RETIRED:
            self._forget_key(event.key)
            self._reload_in_background()
        elif event.kind is BusEventKind.KEYS_CHANGED:
            self._reload_in_background()

    def _reload_in_background(self) -> None:
        # Handlers must not block: reload in a task (kept referenced until done).
        task = asyncio.get_running_loop().create_task(self._reload_quietly())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget_key(self, kid: str) -> None:
        """Stop trusting ``kid`` in this process now, before the reload from the store lands
        (this process's copy of the ring may not even have seen the rotation yet)."""
        self._distrusted.add(kid)
        if self._verifier is not None and kid in self._verifier.keys:
            self._verifier.update_keys(self._without_distrusted(self._verifier.keys))

    async def _reload_quietly(self) -> None:
        try:
            await self.reload_keys()
        except Exception:
            log.exception("reloading the key ring after a keys_changed event failed")

    async def rotate_keys(self, *, force: bool = False) -> KeyRing:
        """Advance the key ring to now: a rotation when one is due (or at once with ``force``),
        and whatever another process saved. Call it periodically. When this call changed the
        ring, every process is told to reload it."""
        ring, saved = await self.keys.advance(self.now(), force_rotation=force)
        before = self.key_ring.active.kid
        self._use_ring(ring)
        if saved:
            if ring.active.kid != before:
                await self._audit(AuditKind.KEY_ROTATED, detail={"kid": ring.active.kid})
            await self.stores.events.publish(BusEvent(kind=BusEventKind.KEYS_CHANGED))
        return ring

    async def retire_key(self, kid: str) -> RetiredKey:
        """Stop trusting the signing key ``kid`` at once (it is compromised): it leaves the
        JWKS and verification here now and in every process on the event, and every access
        token it signed is refused. An active key hands signing over to the next key first.
        Refresh tokens are opaque and kept server-side, so refresh families live on: their
        next refresh gets an access token from the new active key.
        :class:`~authwise.errors.NotFound` when the ring has no such key."""
        ring = await self.reload_keys()
        entry = ring.find(kid)
        if entry is None or entry.state is KeyState.RETIRED:
            raise NotFound("no such key in use")
        now = self.now()
        # The last token it can have signed: now if it signs, else when it stopped signing.
        signed_until: int | None = now if entry.state is KeyState.ACTIVE else entry.since
        if entry.state is KeyState.NEXT:
            signed_until = None
        if entry.state is KeyState.ACTIVE:
            await self.rotate_keys(force=True)
        self._distrusted.add(kid)
        self._use_ring(await self.keys.retire(kid, now))
        await self._audit(AuditKind.KEY_RETIRED, detail={"kid": kid})
        await self.stores.events.publish(BusEvent(kind=BusEventKind.KEY_RETIRED, key=kid))
        await self.rotate_keys()  # a retired next key is replaced by a new one
        valid_until = None if signed_until is None else signed_until + self.config.max_access_ttl
        return RetiredKey(kid=kid, was=entry.state, tokens_valid_until=valid_until)

    async def import_key(self, key: PrivateKey, *, activate: bool = False) -> KeyRing:
        """Bring an existing signing key into the ring, stored encrypted like the others, and
        tell every process to reload the ring. It replaces the generated ``next`` key, so it is
        the next to sign; with ``activate`` it signs at once (verifiers that cached the JWKS
        learn it on their next fetch). Raises :class:`~authwise.errors.Conflict` when the key
        is already in the ring."""
        await self.keys.add(key, self.now(), activate=activate)
        await self.stores.events.publish(BusEvent(kind=BusEventKind.KEYS_CHANGED))
        return await self.reload_keys()

    async def reload_keys(self) -> KeyRing:
        """Adopt the ring as stored (after a ``keys_changed`` event), advancing it if a
        rotation is due: the same as :meth:`rotate_keys` without ``force``."""
        return await self.rotate_keys()

    async def prune(self) -> int:
        """Drop expired sessions, refresh families and revocation entries everywhere (call
        it periodically; TTL-based stores do most of it themselves)."""
        now = self.now()
        count = await self.stores.sessions.prune(now)
        count += await self.stores.refresh.prune(now)
        count += await self.stores.revocations.prune(now)
        count += self.revocations.prune(now)
        log.debug("pruned %d expired entries", count)
        return count
