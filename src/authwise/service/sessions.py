"""Server-side sessions: login, validation with live roles, logout and device management."""

from __future__ import annotations

from dataclasses import dataclass, field

from authwise.core import sessions as core_sessions
from authwise.core.sessions import (
    SESSION_PREFIX,
    NewSessionId,
    digests_equal,
    is_handle,
    is_well_formed,
    new_handle,
    new_session_id,
    secret_digest,
)
from authwise.errors import InvalidSession
from authwise.service.accounts import AccountsMixin
from authwise.storage.base import AuditKind, Event, EventKind, SessionRecord, UserRecord

__all__ = ["LoginResult", "SessionView", "SessionsMixin"]


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A new session. ``session_id`` goes into the cookie and nowhere else (never a log)."""

    user: UserRecord
    session: SessionRecord
    session_id: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SessionView:
    """A validated session and its live user (roles, tenant read now, not at login)."""

    user: UserRecord
    session: SessionRecord
    new_session_id: str | None = field(default=None, repr=False)
    """Set when the ID was rotated (a privilege change): the server must set the cookie."""


class SessionsMixin(AccountsMixin):
    async def login(
        self,
        username: str,
        password: str,
        *,
        client_addr: str | None = None,
        user_agent: str | None = None,
        current_session_id: str | None = None,
    ) -> LoginResult:
        """Check the password and start a session with a brand-new ID. A session ID the
        browser already carried (``current_session_id``) is ended, never reused (S01)."""
        user = await self.authenticate(username, password, client_addr=client_addr)
        if current_session_id is not None:
            await self.logout(current_session_id)
        return await self.create_session(user, client_addr=client_addr, user_agent=user_agent)

    async def create_session(
        self,
        user: UserRecord,
        *,
        client_addr: str | None = None,
        user_agent: str | None = None,
    ) -> LoginResult:
        """Start a session for an already-authenticated user."""
        now = self.now()
        fresh = new_session_id()
        expires_at, absolute = core_sessions.start_deadlines(now, self.config.sessions)
        session = SessionRecord(
            digest=fresh.digest,
            handle=new_handle(),
            user_id=user.id,
            created_at=now,
            rotated_at=now,
            last_seen=now,
            expires_at=expires_at,
            absolute_expires_at=absolute,
            client_addr=client_addr,
            user_agent=user_agent[:512] if user_agent else user_agent,
        )
        await self.stores.sessions.create(session)
        await self._audit(
            AuditKind.LOGIN_OK,
            user_id=user.id,
            client_addr=client_addr,
            detail={"method": "session", "session": session.handle},
        )
        return LoginResult(user, session, fresh.session_id)

    async def _find_session(self, session_id: str) -> SessionRecord:
        """The session of this ID: its current ID, or the one its last rotation replaced while
        that is in its grace window (then ``session.digest`` is not this ID's digest)."""
        if not is_well_formed(session_id, SESSION_PREFIX):
            raise InvalidSession
        digest = secret_digest(session_id)
        session = await self.stores.sessions.get(digest)
        if session is None:
            raise InvalidSession
        if digests_equal(session.digest, digest):
            return session
        previous = session.previous_digest
        if (
            previous is not None
            and digests_equal(previous, digest)
            and core_sessions.in_rotation_grace(session, self.now(), self.config.sessions)
        ):
            return session
        raise InvalidSession

    def _successor(self, session: SessionRecord, presented: str) -> NewSessionId:
        return core_sessions.successor_id(self._session_key, session.handle, presented)

    async def validate_session(self, session_id: str) -> SessionView:
        """The session this cookie value names and its live user, or :class:`InvalidSession`
        (never issued, ended, expired, or its user gone or disabled).

        Slides the idle deadline (writing at most once per ``touch_interval``) and rotates
        the ID when the user's privileges changed since it was issued."""
        session = await self._find_session(session_id)
        now = self.now()
        if not digests_equal(session.digest, secret_digest(session_id)):
            # A request that left before the rotation it raced: the same new ID again.
            return await self._in_grace(session, session_id)
        user = await self._user_for_use(session.user_id)
        decision = core_sessions.check(
            session, now, self.config.sessions, not_before=0 if user is None else user.not_before
        )
        if not decision.active or user is None:
            await self._drop_session(session)
            raise InvalidSession
        if decision.rotate:
            fresh = self._successor(session, session_id)
            # Stamp the new ID no earlier than not_before (which is one second ahead, see
            # _move_not_before), or a request later in this second would rotate it again.
            stamp = max(now, user.not_before)
            policy = self.config.sessions
            async with self._unit():
                rotated = await self.stores.sessions.rotate(
                    session.digest,
                    fresh.digest,
                    now=stamp,
                    expires_at=min(
                        stamp + policy.idle_timeout, session.created_at + policy.absolute_timeout
                    ),
                )
                if rotated is not None:
                    self._emit(
                        Event(
                            kind=EventKind.SESSION_ROTATED,
                            at=now,
                            user_id=user.id,
                            sid=session.handle,
                        )
                    )
                    await self._audit(
                        AuditKind.SESSION_ROTATED,
                        user_id=user.id,
                        detail={"session": session.handle},
                    )
            if rotated is None:
                return await self._lost_rotation(session, user, fresh)
            return SessionView(user, rotated, fresh.session_id)
        if decision.touch:
            await self.stores.sessions.touch(
                session.digest, last_seen=now, expires_at=decision.expires_at
            )
        return SessionView(user, session)

    async def _lost_rotation(
        self, session: SessionRecord, user: UserRecord, fresh: NewSessionId
    ) -> SessionView:
        # A concurrent request with the same cookie rotated the ID first, to the same new ID
        # (derived from the old one): this answer carries it too. If the session was ended
        # instead, or rotated to something else, it is refused.
        for live in await self.stores.sessions.list_for_user(user.id):
            if live.handle == session.handle and digests_equal(live.digest, fresh.digest):
                return SessionView(user, live, fresh.session_id)
        raise InvalidSession

    async def _in_grace(self, session: SessionRecord, presented: str) -> SessionView:
        fresh = self._successor(session, presented)
        user = await self._user_for_use(session.user_id)
        now = self.now()
        decision = core_sessions.check(
            session, now, self.config.sessions, not_before=0 if user is None else user.not_before
        )
        if user is None or not decision.active or not digests_equal(fresh.digest, session.digest):
            raise InvalidSession
        return SessionView(user, session, fresh.session_id)

    async def _drop_session(self, session: SessionRecord) -> None:
        # Timed out, or its user disabled (whose own event said so already): every process
        # refuses it by itself, so this is tidying up and needs no event.
        await self.stores.sessions.delete(session.digest)

    async def logout(self, session_id: str) -> bool:
        """End the session this cookie value names; False if there was none."""
        try:
            session = await self._find_session(session_id)
        except InvalidSession:
            return False
        async with self._unit():
            deleted = await self.stores.sessions.delete(session.digest)
            if deleted is None:
                return False
            self._sessions_ended([deleted], self.now())
            await self._audit(
                AuditKind.LOGOUT, user_id=deleted.user_id, detail={"session": deleted.handle}
            )
        return True

    async def list_sessions(self, user_id: str) -> list[SessionRecord]:
        """The user's live sessions (device list), oldest first."""
        now = self.now()
        policy = self.config.sessions
        return [
            s
            for s in await self.stores.sessions.list_for_user(user_id)
            if core_sessions.check(s, now, policy).active
        ]

    async def revoke_session(
        self, user_id: str, handle: str, *, actor_id: str | None = None
    ) -> bool:
        """End one of the user's sessions by its public handle; False if it is not theirs."""
        if not is_handle(handle):
            return False
        async with self._unit():
            deleted = await self.stores.sessions.delete_by_handle(user_id, handle)
            if deleted is None:
                return False
            self._sessions_ended([deleted], self.now())
            await self._audit(
                AuditKind.SESSION_REVOKED,
                user_id=user_id,
                actor_id=actor_id,
                detail={"session": handle},
            )
        return True

    async def revoke_sessions(
        self, user_id: str, *, keep_handle: str | None = None
    ) -> list[SessionRecord]:
        """ "Log out everywhere" (``keep_handle`` None) or "log out other devices": ends the
        sessions, the refresh families, and the access tokens minted so far (the kept session
        gets a new ID on its next request)."""
        now = self.now()
        async with self._unit():
            await self._move_not_before(user_id, now, EventKind.SESSIONS_REVOKED)
            ended = await self._end_everything(user_id, now, keep_handle=keep_handle)
            await self._audit(
                AuditKind.SESSION_REVOKED,
                user_id=user_id,
                detail={"scope": "others" if keep_handle else "all"},
            )
        return ended.sessions
