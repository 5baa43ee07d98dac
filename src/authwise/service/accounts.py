"""Accounts: registration, password authentication, and user administration."""

from __future__ import annotations

from collections.abc import Iterable

from authwise.core.accounts import (
    check_password,
    new_user_id,
    normalize_roles,
    normalize_tenant,
    normalize_username,
)
from authwise.errors import AuthenticationFailed, InvalidInput, NotFound
from authwise.service._base import Ended, ServiceBase, log
from authwise.storage.base import AuditEvent, AuditKind, BusEvent, BusEventKind, UserRecord

__all__ = ["AccountsMixin"]


class AccountsMixin(ServiceBase):
    async def register(
        self,
        username: str,
        password: str,
        *,
        roles: Iterable[str] = (),
        tenant: str | None = None,
        actor_id: str | None = None,
    ) -> UserRecord:
        """Create a user. :class:`InvalidInput` for a name, password, role or tenant the
        policies refuse; :class:`~authwise.errors.Conflict` when the username is taken (the
        hash is computed first, so both answers cost the same)."""
        name = normalize_username(username)
        check_password(password, self.config.passwords, username=name)
        role_tuple = normalize_roles(roles)
        tenant = normalize_tenant(tenant)
        password_hash = await self.hasher.hash(password)
        now = self.now()
        user = UserRecord(
            id=new_user_id(),
            username=name,
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
            roles=role_tuple,
            tenant=tenant,
        )
        await self.stores.users.create(user)
        await self._audit(AuditKind.USER_CREATED, user_id=user.id, actor_id=actor_id)
        return user

    async def authenticate(
        self, username: str, password: str, *, client_addr: str | None = None
    ) -> UserRecord:
        """The user these credentials name, or :class:`AuthenticationFailed`: one error, one
        message and one argon2 verification whether the account is missing, disabled or the
        password wrong (S09, S10). Upgrades the stored hash when its parameters are stale."""
        user: UserRecord | None = None
        try:
            name = normalize_username(username)
        except InvalidInput:
            name = None
        if name is not None:
            user = await self.stores.users.get_by_username(name)
        usable = isinstance(password, str) and len(password) <= self.config.passwords.max_length
        ok, rehash = await self.hasher.verify(
            user.password_hash if user is not None and usable else None,
            password if usable else "",
        )
        if not ok or user is None or user.disabled:
            await self._audit(
                AuditKind.LOGIN_FAILED,
                user_id=None if user is None else user.id,
                client_addr=client_addr,
            )
            raise AuthenticationFailed
        if rehash:
            new_hash = await self.hasher.hash(password)
            user = (
                await self.stores.users.update(user.id, now=self.now(), password_hash=new_hash)
                or user
            )
        return user

    async def get_user(self, user_id: str) -> UserRecord | None:
        return await self.stores.users.get(user_id)

    async def get_user_by_username(self, username: str) -> UserRecord | None:
        """The user registered under ``username`` (normalized as at registration), or
        ``None``, also for a name no account could have."""
        try:
            name = normalize_username(username)
        except InvalidInput:
            return None
        return await self.stores.users.get_by_username(name)

    async def list_users(self, *, after: str | None = None, limit: int = 100) -> list[UserRecord]:
        return await self.stores.users.list_users(after=after, limit=min(max(limit, 1), 1000))

    async def set_roles(
        self, user_id: str, roles: Iterable[str], *, actor_id: str | None = None
    ) -> UserRecord:
        """Change a user's roles. Tokens minted before the change are revoked (not-before);
        sessions read roles live, and get a new ID on their next request."""
        role_tuple = normalize_roles(roles)
        now = self.now()
        user = await self.stores.users.update(user_id, now=now, roles=role_tuple)
        if user is None:
            raise NotFound("no such user")
        user = await self._move_not_before(user_id, now)
        await self._audit(
            AuditKind.ROLE_CHANGED,
            user_id=user_id,
            actor_id=actor_id,
            detail={"roles": " ".join(role_tuple)},
        )
        return user

    async def set_tenant(
        self, user_id: str, tenant: str | None, *, actor_id: str | None = None
    ) -> UserRecord:
        """Change a user's tenant; takes effect like a role change."""
        tenant = normalize_tenant(tenant)
        now = self.now()
        user = await self.stores.users.update(user_id, now=now, tenant=tenant)
        if user is None:
            raise NotFound("no such user")
        user = await self._move_not_before(user_id, now)
        await self._audit(
            AuditKind.TENANT_CHANGED,
            user_id=user_id,
            actor_id=actor_id,
            detail={"tenant": tenant or ""},
        )
        return user

    async def disable_user(self, user_id: str, *, actor_id: str | None = None) -> Ended:
        """Disable a user: every session and refresh family ends, every access token is
        revoked, and logins fail (with the usual generic answer)."""
        now = self.now()
        if await self.stores.users.update(user_id, now=now, disabled=True) is None:
            raise NotFound("no such user")
        await self._move_not_before(user_id, now)
        ended = await self._end_everything(user_id, now)
        await self._audit(AuditKind.USER_DISABLED, user_id=user_id, actor_id=actor_id)
        log.info("user disabled: %s (%d sessions ended)", user_id, len(ended.sessions))
        return ended

    async def enable_user(self, user_id: str, *, actor_id: str | None = None) -> UserRecord:
        user = await self.stores.users.update(user_id, now=self.now(), disabled=False)
        if user is None:
            raise NotFound("no such user")
        await self._audit(AuditKind.USER_ENABLED, user_id=user_id, actor_id=actor_id)
        return user

    async def change_password(
        self,
        user_id: str,
        new_password: str,
        *,
        current_password: str | None = None,
        keep_session: str | None = None,
        actor_id: str | None = None,
    ) -> Ended:
        """Set a new password. Self-service passes ``current_password`` (checked like a login)
        and may keep its own session (by handle); an admin passes neither. Every other session
        and every refresh family ends, and earlier access tokens are revoked."""
        user = await self._require_user(user_id)
        if current_password is not None:
            ok, _ = await self.hasher.verify(user.password_hash, current_password)
            if not ok:
                raise AuthenticationFailed
        check_password(new_password, self.config.passwords, username=user.username)
        new_hash = await self.hasher.hash(new_password)
        now = self.now()
        await self.stores.users.update(user_id, now=now, password_hash=new_hash)
        await self._move_not_before(user_id, now)
        ended = await self._end_everything(user_id, now, keep_handle=keep_session)
        await self._audit(AuditKind.PASSWORD_CHANGED, user_id=user_id, actor_id=actor_id)
        await self.stores.events.publish(
            BusEvent(kind=BusEventKind.CREDENTIAL_CHANGED, key=user_id)
        )
        return ended

    async def revoke_everything(self, user_id: str, *, actor_id: str | None = None) -> Ended:
        """Log the user out everywhere: sessions, refresh families, access tokens."""
        await self._require_user(user_id)
        now = self.now()
        await self._move_not_before(user_id, now)
        ended = await self._end_everything(user_id, now)
        await self._audit(
            AuditKind.REVOKED, user_id=user_id, actor_id=actor_id, detail={"scope": "all"}
        )
        return ended

    async def audit_events(
        self, *, limit: int = 100, user_id: str | None = None
    ) -> list[AuditEvent]:
        return await self.stores.audit.recent(limit=min(max(limit, 1), 1000), user_id=user_id)

    async def _user_for_use(self, user_id: str) -> UserRecord | None:
        """The user if it exists and is not disabled."""
        user = await self.stores.users.get(user_id)
        return None if user is None or user.disabled else user
