"""The :class:`AuthService` facade: one object the HTTP server, the CLI and the integrations
call for everything stateful."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass

from authwise.core.keyring import KeyRing, KeyState
from authwise.core.keys import PrivateKey
from authwise.core.secevent import encode_security_event
from authwise.errors import AuthwiseError, NotFound, StoreUnavailable
from authwise.service._base import log
from authwise.service.delivery import PollDelivery
from authwise.service.events import EventHandler, Subscription
from authwise.service.tokens import TokensMixin
from authwise.storage.base import (
    AuditKind,
    Event,
    EventKind,
    RevocationRecord,
    backend_of,
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


SET_CACHE_SIZE = 10_000


class AuthService(TokensMixin):
    """Accounts, sessions, tokens and revocation over one set of :class:`Stores`.

    Build it with the stores, a :class:`ServiceConfig`, a clock (a callable returning Unix
    seconds as an ``int``), the refresh-token secret (>= 32 random bytes, the same in every
    process) and the key-encryption key for the signing keys at rest; then ``await start()``.
    Every method reads the time through the clock only.
    """

    async def start(self, *, follow: bool = True) -> None:
        """Load (or create) the signing keys, take up the event log where it stands (the live
        revocations from the store, then every entry from now on), and prepare the password
        hasher. With ``follow`` (the default; a one-shot command may leave it off), a
        background task applies the log's new entries as they commit, made by any process."""
        now = self.now()
        position = await self.stores.log.head()
        self._use_ring(await self.keys.load(now))
        await self.refresh_revocations(now)
        await self.tail.start_at(position)
        # Entries committed while the state above was read are applied again: harmless, as
        # applying an entry twice changes nothing.
        await self.tail.catch_up()
        if follow:
            self.tail.run()
        await self.hasher.prepare()

    async def close(self, *, close_stores: bool = False) -> None:
        """Apply what the log holds by now, stop following it; with ``close_stores``, close the
        stores too (otherwise they are the caller's to close)."""
        with contextlib.suppress(AuthwiseError):
            await self.tail.catch_up(relay=False)
        await self.tail.stop()
        for task in list(self._tasks):
            await task
        if close_stores:
            await self.stores.aclose()
            relay_close = getattr(self.tail.relay, "aclose", None)
            if relay_close is not None:
                await relay_close()

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

    def subscribe(self, handler: EventHandler) -> Subscription:
        """Call ``handler`` with every entry of the event log applied in this process from now
        on (made by any process), or ``None`` after entries were lost to pruning, until the
        subscription is closed. The handler must not block."""
        return self.tail.subscribe(handler)

    @functools.cached_property
    def delivery(self) -> PollDelivery:
        """Poll delivery of the log to outside receivers (RFC 8936)."""
        return PollDelivery(self)

    def security_event(self, event: Event, *, audience: str | None) -> bytes:
        """``event`` as a Security Event Token signed by the active key (its ``kid`` is in the
        JWKS), for the receiver ``audience``; the encoding is cached per receiver, so a
        stream replayed to many verifiers signs each entry once per receiver."""
        cache_key = (event.id, audience)
        token = self._set_cache.get(cache_key)
        if token is None:
            token = encode_security_event(
                event, issuer=self.config.issuer, audience=audience, key=self.key_ring.active
            ).encode()
            if len(self._set_cache) >= SET_CACHE_SIZE:
                del self._set_cache[next(iter(self._set_cache))]
            self._set_cache[cache_key] = token
        return token

    async def live_revocations(self, now: int | None = None) -> list[RevocationRecord]:
        """Every stored revocation entry still in force at ``now`` (by default, the clock's
        now): what a verifier needs to start from."""
        return await self.stores.revocations.live(self.now() if now is None else now)

    async def refresh_revocations(self, now: int | None = None) -> None:
        """Apply every live stored revocation entry here (:meth:`start` does)."""
        for record in await self.live_revocations(now):
            self.revocations.apply(record)

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
        async with self._unit():
            self._use_ring(await self.keys.retire(kid, now))
            await self._audit(AuditKind.KEY_RETIRED, detail={"kid": kid})
            self._emit(Event(kind=EventKind.KEY_RETIRED, at=now, data={"kid": kid}))
        await self.rotate_keys()  # a retired next key is replaced by a new one
        valid_until = None if signed_until is None else signed_until + self.config.max_access_ttl
        return RetiredKey(kid=kid, was=entry.state, tokens_valid_until=valid_until)

    async def import_key(self, key: PrivateKey, *, activate: bool = False) -> KeyRing:
        """Bring an existing signing key into the ring, stored encrypted like the others, and
        tell every process to reload the ring. It replaces the generated ``next`` key, so it is
        the next to sign; with ``activate`` it signs at once (verifiers that cached the JWKS
        learn it on their next fetch). Raises :class:`~authwise.errors.Conflict` when the key
        is already in the ring."""
        async with self._unit():
            await self.keys.add(key, self.now(), activate=activate)
            self._emit(Event(kind=EventKind.KEYS_CHANGED, at=self.now()))
        return await self.reload_keys()

    async def prune(self) -> int:
        """Drop what no longer matters, everywhere (call it periodically; TTL-based stores do
        most of it themselves): expired sessions, refresh families and revocation entries;
        revoked families once no access token minted from them can still be valid; audit
        events past the retention (``audit_retention`` seconds, ``audit_max_rows`` rows); entries
        of the event log older than ``event_retention``."""
        now, config = self.now(), self.config
        count = await self.stores.log.prune(now - config.event_retention)
        count += await self.stores.sessions.prune(now)
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
