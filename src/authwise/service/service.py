"""The :class:`AuthService` facade: one object the HTTP server, the CLI and the integrations
call for everything stateful."""

from __future__ import annotations

import asyncio

from authwise.core.keyring import KeyRing
from authwise.core.keys import PrivateKey
from authwise.errors import StoreUnavailable
from authwise.service._base import log
from authwise.service.tokens import TokensMixin
from authwise.storage.base import (
    AuditKind,
    BusEvent,
    BusEventKind,
    EventHandler,
    RevocationRecord,
    Subscription,
    backend_of,
)

__all__ = ["AuthService"]


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

    async def check_health(self) -> dict[str, bool]:
        """Whether each backend a request depends on answers: one cheap read through the
        users store and one through the sessions store, at once, keyed by their backend
        (``database``, or ``redis`` for a store in Redis). A backend is healthy when every
        read through it answered; a read that fails with anything but
        :class:`~authwise.errors.StoreUnavailable` raises."""
        probes = [
            (backend_of(self.stores.users), self.stores.users.get("health-check")),
            (backend_of(self.stores.sessions), self.stores.sessions.get(bytes(32))),
        ]
        results = await asyncio.gather(*(probe for _, probe in probes), return_exceptions=True)
        health: dict[str, bool] = {}
        for (name, _), result in zip(probes, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, StoreUnavailable):
                raise result
            health[name] = health.get(name, True) and not isinstance(result, StoreUnavailable)
        return health

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
        elif event.kind is BusEventKind.KEYS_CHANGED:
            # Handlers must not block: reload in a task (kept referenced until done).
            task = asyncio.get_running_loop().create_task(self._reload_quietly())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

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
        """Drop what no longer matters, everywhere (call it periodically; TTL-based stores do
        most of it themselves): expired sessions, refresh families and revocation entries;
        revoked families once no access token minted from them can still be valid; audit
        events past the retention (``audit_retention`` seconds, ``audit_max_rows`` rows)."""
        now, config = self.now(), self.config
        count = await self.stores.sessions.prune(now)
        # A revoked family's access tokens carry its sid: past their longest lifetime (and the
        # leeway) none is valid, and the family's sid entry has expired too.
        revoked_before = now - config.max_access_ttl - config.leeway
        count += await self.stores.refresh.prune(now, revoked_before=revoked_before)
        count += await self.stores.revocations.prune(now)
        count += self.revocations.prune(now)
        audit = await self.stores.audit.prune(
            before=now - config.audit_retention, max_rows=config.audit_max_rows
        )
        log.debug("pruned %d expired entries and %d audit events", count, audit)
        return count + audit
