"""The :class:`AuthService` facade: one object the HTTP server, the CLI and the integrations
call for everything stateful."""

from __future__ import annotations

import asyncio

from authwise.core.keyring import KeyRing
from authwise.service._base import log
from authwise.service.tokens import TokensMixin
from authwise.storage.base import AuditKind, BusEvent, BusEventKind, Subscription

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
        for record in await self.stores.revocations.live(now):
            self.revocations.apply(record)
        if self._subscription is None:
            self._subscription = await self.stores.events.subscribe(self._on_event)
        await self.hasher.prepare()

    async def close(self) -> None:
        """Unsubscribe from the event bus (the stores are the caller's to close)."""
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
        for task in list(self._tasks):
            await task

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
