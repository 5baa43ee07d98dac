"""JWT access tokens with rotating refresh tokens: the password and refresh_token grants,
revocation (RFC 7009), introspection (RFC 7662) and the clients that may introspect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authwise.core import refresh as core_refresh
from authwise.core.accounts import new_client_secret
from authwise.core.refresh import REFRESH_PREFIX, RefreshOutcome, derive_successor
from authwise.core.revocation import entry_expiry
from authwise.core.sessions import (
    digests_equal,
    is_handle,
    is_well_formed,
    new_handle,
    secret_digest,
)
from authwise.core.tokens import AccessToken
from authwise.errors import (
    AuthenticationFailed,
    InvalidClient,
    InvalidGrant,
    InvalidTarget,
    NotFound,
    TokenError,
)
from authwise.service._base import log
from authwise.service.sessions import SessionsMixin
from authwise.storage.base import (
    AuditKind,
    ClientRecord,
    Event,
    EventKind,
    RefreshFamily,
    RevocationKind,
    RevocationRecord,
    UserRecord,
)

__all__ = ["TokenResponse", "TokensMixin"]

_DUMMY_DIGEST = bytes(32)


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token response (RFC 6749 section 5.1). ``repr`` hides both tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    sid: str
    """The refresh family, also the ``sid`` claim of the access token."""
    user: UserRecord
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 scheme name

    def to_dict(self) -> dict[str, Any]:
        """The JSON body; serve it with ``Cache-Control: no-store``."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


class TokensMixin(SessionsMixin):
    async def password_grant(
        self,
        username: str,
        password: str,
        *,
        audience: str | None = None,
        client_addr: str | None = None,
        user_agent: str | None = None,
    ) -> TokenResponse:
        """Log in for tokens: a new refresh family and an access token bound to it.
        :class:`InvalidTarget` for an audience not served here, before any credential check:
        otherwise the two answers would tell a right password from a wrong one, unaudited."""
        self._audience(audience)
        user = await self.authenticate(username, password, client_addr=client_addr)
        return await self.issue_tokens(
            user, audience=audience, client_addr=client_addr, user_agent=user_agent
        )

    async def issue_tokens(
        self,
        user: UserRecord,
        *,
        audience: str | None = None,
        client_addr: str | None = None,
        user_agent: str | None = None,
    ) -> TokenResponse:
        """Start a refresh family for an already-authenticated user (a login by password, or
        a cookie session exchanging itself for tokens)."""
        if user.disabled:
            raise AuthenticationFailed
        self._audience(audience)
        now = self.now()
        token, digest = core_refresh.new_refresh_token()
        family = RefreshFamily(
            family_id=core_refresh.new_family_id(),
            user_id=user.id,
            generation=0,
            created_at=now,
            rotated_at=now,
            expires_at=core_refresh.family_deadline(now, self.config.refresh),
            client_addr=client_addr,
            user_agent=user_agent[:512] if user_agent else user_agent,
        )
        await self.stores.refresh.create(family, digest)
        await self._audit(
            AuditKind.LOGIN_OK,
            user_id=user.id,
            client_addr=client_addr,
            detail={"method": "tokens", "family": family.family_id},
        )
        return self._respond(user, family.family_id, token, now, audience)

    def _respond(
        self, user: UserRecord, sid: str, refresh_token: str, now: int, audience: str | None
    ) -> TokenResponse:
        ttl = self.config.access_ttl
        access = self.issuer.mint(
            sub=user.id,
            audience=self._audience(audience),
            now=now,
            ttl=ttl,
            sid=sid,
            roles=user.roles,
            tenant=user.tenant,
        )
        return TokenResponse(access, refresh_token, ttl, sid, user)

    def _audience(self, audience: str | None) -> str:
        if audience is None:
            return self.config.audiences[0]
        if audience not in self.config.audiences:
            raise InvalidTarget
        return audience

    async def refresh(
        self,
        refresh_token: str,
        *,
        audience: str | None = None,
        client_addr: str | None = None,
    ) -> TokenResponse:
        """Exchange a refresh token for its successor and a fresh access token.

        :class:`InvalidGrant` when the token is unknown (nothing else happens), expired,
        revoked, or reused: reuse of a rotated token (other than the immediate predecessor
        within the grace window) revokes the whole family and its access tokens."""
        self._audience(audience)
        if not is_well_formed(refresh_token, REFRESH_PREFIX):
            raise InvalidGrant
        digest = secret_digest(refresh_token)
        found = await self.stores.refresh.find(digest)
        if found is None:
            raise InvalidGrant
        family, generation = found
        for _ in range(2):  # a lost compare-and-set is decided once more, on fresh state
            now = self.now()
            decision = core_refresh.decide(family, generation, now, self.config.refresh)
            if decision.outcome is RefreshOutcome.REUSE:
                await self._reuse_detected(family, generation, now, client_addr)
                raise InvalidGrant
            if not decision.grants:
                raise InvalidGrant
            user = await self._user_for_use(family.user_id)
            if user is None:
                await self._revoke_family(family.family_id, now)
                raise InvalidGrant
            successor = derive_successor(
                self._refresh_secret, family.family_id, decision.generation, refresh_token
            )
            if decision.outcome is RefreshOutcome.GRACE:
                return self._respond(user, family.family_id, successor, now, audience)
            # The store reads the clock when it writes: the grace window counts from the
            # rotation itself, so a client retrying after a slow write gets this successor.
            rotated = await self.stores.refresh.rotate(
                family.family_id, generation, secret_digest(successor), self.now
            )
            if rotated is not None:
                await self._audit(
                    AuditKind.REFRESH_ROTATED,
                    user_id=user.id,
                    client_addr=client_addr,
                    detail={"family": family.family_id, "generation": str(rotated.generation)},
                )
                return self._respond(
                    user, family.family_id, successor, rotated.rotated_at, audience
                )
            fresh = await self.stores.refresh.get(family.family_id)
            if fresh is None:
                raise InvalidGrant
            family = fresh
        raise InvalidGrant  # pragma: no cover - the second pass never rotates from the same state

    async def _reuse_detected(
        self, family: RefreshFamily, generation: int, now: int, client_addr: str | None
    ) -> None:
        log.warning(
            "refresh token reuse: family %s generation %d (live %d) revoked",
            family.family_id,
            generation,
            family.generation,
        )
        await self._audit(
            AuditKind.REFRESH_REUSE,
            user_id=family.user_id,
            client_addr=client_addr,
            detail={
                "family": family.family_id,
                "generation": str(generation),
                "live_generation": str(family.generation),
            },
        )
        await self._revoke_family(family.family_id, now)

    async def _revoke_family(self, family_id: str, now: int) -> bool:
        # One unit: the family, its sid entry and the event commit together. A family some
        # other request revoked first has its event already (the unit applies it here too).
        async with self._unit():
            revoked = await self.stores.refresh.revoke(family_id, now)
            if revoked is not None:
                await self._revoke_sid(family_id, now, revoked.user_id)
                await self._audit(
                    AuditKind.REVOKED, user_id=revoked.user_id, detail={"family": family_id}
                )
        if revoked is None:
            await self.tail.catch_up(relay=False)
        return revoked is not None

    async def list_families(self, user_id: str) -> list[RefreshFamily]:
        """The user's live refresh families (token clients in the device list), oldest first."""
        now, policy = self.now(), self.config.refresh
        return [
            f
            for f in await self.stores.refresh.list_for_user(user_id)
            if core_refresh.decide(f, f.generation, now, policy).grants
        ]

    async def revoke_family(self, user_id: str, family_id: str) -> bool:
        """End one of the user's refresh families (and its access tokens) by its ``sid``;
        False if it is not theirs or already over."""
        family = await self.stores.refresh.get(family_id) if is_handle(family_id) else None
        if family is None or family.user_id != user_id or family.revoked_at is not None:
            return False
        return await self._revoke_family(family_id, self.now())

    async def revoke_token(self, token: str) -> None:
        """RFC 7009: a refresh token ends its family (and the family's access tokens); an
        access token is revoked by (``iss``, ``jti``). Unknown, invalid or expired tokens are
        ignored: the answer is the same either way."""
        now = self.now()
        if is_well_formed(token, REFRESH_PREFIX):
            found = await self.stores.refresh.find(secret_digest(token))
            if found is not None:
                await self._revoke_family(found[0].family_id, now)
            return
        try:
            access = self.verifier.verify(token, now)
        except TokenError:
            return
        jti = access.jti
        if jti is None:  # pragma: no cover - this server always mints a jti
            return
        expires_at = entry_expiry(int(access.exp), 0, self.config.leeway)
        async with self._unit():
            await self._revoke(
                RevocationRecord(
                    kind=RevocationKind.JTI, key=jti, issuer=access.iss, expires_at=expires_at
                )
            )
            self._emit(
                Event(
                    kind=EventKind.TOKEN_REVOKED,
                    at=now,
                    user_id=access.sub,
                    jti=jti,
                    issuer=access.iss,
                )
            )
            await self._audit(AuditKind.REVOKED, user_id=access.sub, detail={"jti": jti})

    def verify_access_token(self, token: str) -> AccessToken:
        """Verify one of this server's access tokens now, revocations included; raises a
        :class:`~authwise.errors.TokenError`."""
        return self.verifier.verify(token, self.now())

    async def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 introspection (the caller has authenticated the client)."""
        now = self.now()
        if is_well_formed(token, REFRESH_PREFIX):
            found = await self.stores.refresh.find(secret_digest(token))
            if found is None:
                return {"active": False}
            family, generation = found
            decision = core_refresh.decide(family, generation, now, self.config.refresh)
            user = await self._user_for_use(family.user_id)
            if decision.outcome is not RefreshOutcome.ROTATE or user is None:
                return {"active": False}
            return {
                "active": True,
                "token_type": "refresh_token",
                "iss": self.config.issuer,
                "sub": family.user_id,
                "sid": family.family_id,
                "iat": family.rotated_at,
                "exp": min(family.expires_at, family.rotated_at + self.config.refresh.idle),
            }
        try:
            access = self.verifier.verify(token, now)
        except TokenError:
            return {"active": False}
        claims = dict(access.claims)
        return {"active": True, "token_type": "access_token", **claims}

    # -- clients ---------------------------------------------------------------------------------

    async def create_client(self, name: str) -> tuple[ClientRecord, str]:
        """A new OAuth client and its secret (shown once: only its digest is stored)."""
        secret, digest = new_client_secret()
        client = ClientRecord(
            client_id=new_handle(), secret_digest=digest, name=name, created_at=self.now()
        )
        await self.stores.clients.create(client)
        await self._audit(AuditKind.CLIENT_CREATED, detail={"client": client.client_id})
        return client, secret

    async def revoke_client(self, client_id: str, *, actor_id: str | None = None) -> ClientRecord:
        """Delete the client: its secret stops working for introspection and the revocation
        list at once, and every process closes the streams it holds open (the audit trail
        keeps the fact). :class:`NotFound` when there is no such client."""
        client = await self.stores.clients.get(client_id) if is_handle(client_id) else None
        if client is None:
            raise NotFound("no such client")
        async with self._unit():
            if not await self.stores.clients.delete(client_id):
                raise NotFound("no such client")
            await self._audit(
                AuditKind.CLIENT_REVOKED, actor_id=actor_id, detail={"client": client_id}
            )
            self._emit(
                Event(kind=EventKind.CLIENT_REVOKED, at=self.now(), data={"client_id": client_id})
            )
        return client

    async def rotate_client_secret(
        self, client_id: str, *, actor_id: str | None = None
    ) -> tuple[ClientRecord, str]:
        """Give the client a new secret (returned once: only its digest is stored); the old
        one stops working at once, streams opened with it included. :class:`NotFound` when
        there is no such client."""
        secret, digest = new_client_secret()
        if not is_handle(client_id):
            raise NotFound("no such client")
        async with self._unit():
            client = await self.stores.clients.replace_secret(client_id, digest)
            if client is None:
                raise NotFound("no such client")
            await self._audit(
                AuditKind.CLIENT_SECRET_ROTATED, actor_id=actor_id, detail={"client": client_id}
            )
            self._emit(
                Event(
                    kind=EventKind.CLIENT_SECRET_ROTATED,
                    at=self.now(),
                    data={"client_id": client_id},
                )
            )
        return client, secret

    async def client_is_current(self, client: ClientRecord) -> bool:
        """Whether ``client`` still exists with the secret it had (a stream opened with it
        may stay open); for processes that no event reached."""
        stored = await self.stores.clients.get(client.client_id)
        return stored is not None and digests_equal(stored.secret_digest, client.secret_digest)

    async def list_clients(self) -> list[ClientRecord]:
        """Every OAuth client, ordered by ID (records hold only the secrets' digests)."""
        return await self.stores.clients.list_clients()

    async def authenticate_client(self, client_id: str, client_secret: str) -> ClientRecord:
        """The client these credentials name, or :class:`InvalidClient` (the same comparison
        is made for an unknown client)."""
        client = None
        if is_handle(client_id):
            client = await self.stores.clients.get(client_id)
        presented = secret_digest(client_secret)
        expected = _DUMMY_DIGEST if client is None else client.secret_digest
        if not digests_equal(presented, expected) or client is None:
            raise InvalidClient
        return client
