"""Who is calling: a session cookie or a bearer token, resolved for the routes.

The hot path (``GET /me``) runs through :meth:`Authenticator.caller`: for a cookie, a shape
check, one SHA-256 and a dict lookup when the session is cached; for a bearer token, the
strict verifier with its verified-token cache and the live revocation set, then the cached
user. Everything else falls through to the service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authwise.core.sessions import SESSION_PREFIX, is_well_formed, secret_digest
from authwise.errors import InvalidSession, TokenError
from authwise.server.context import ServerContext
from authwise.server.responses import ApiError
from authwise.service import SessionView
from authwise.storage.base import SessionRecord, UserRecord

__all__ = [
    "ADMIN_ROLE",
    "BEARER_CHALLENGE",
    "INVALID_TOKEN_CHALLENGE",
    "ROTATED_SESSION",
    "Authenticator",
    "Caller",
    "SessionRotationMiddleware",
    "clear_cookie",
    "rotated_cookie",
    "session_cookie",
    "unauthorized",
]

ADMIN_ROLE = "admin"
ROTATED_SESSION = "authwise.rotated_session_id"
"""Scope key: the new ID the caller's session was given during this request, recorded where
the session is validated, so :class:`SessionRotationMiddleware` sets it on the response."""
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="authwise"'}
"""The 401 challenge when no credentials came (RFC 6750 section 3: no error code)."""
INVALID_TOKEN_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="authwise", error="invalid_token"'}
"""The 401 challenge when an ``Authorization`` header came and did not name a caller."""


def unauthorized(authorization: str | None) -> ApiError:
    """The 401 for a request with this ``Authorization`` header (or none)."""
    challenge = BEARER_CHALLENGE if authorization is None else INVALID_TOKEN_CHALLENGE
    return ApiError(401, "unauthorized", headers=challenge)


@dataclass(slots=True)
class Caller:
    user: UserRecord
    auth_method: Literal["session", "bearer"]
    roles: tuple[str, ...]
    tenant: str | None
    sid: str | None
    session: SessionRecord | None = None
    new_session_id: str | None = None
    """The session's new ID when it was rotated during this request (also recorded in the
    scope under :data:`ROTATED_SESSION`; the middleware sets the cookie)."""

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


def session_cookie(ctx: ServerContext, session_id: str, *, persistent: bool = False) -> str:
    """The ``Set-Cookie`` value: ``__Host-`` prefixed, Secure, HttpOnly, SameSite, Path=/,
    no Domain (S03). A browser-session cookie (gone when the browser closes) unless
    ``persistent`` ("keep me signed in"): then it lives as long as the session's absolute
    timeout."""
    cookie = ctx.settings.cookie
    parts = [f"{cookie.cookie_name}={session_id}", "Path=/"]
    if persistent:
        parts.append(f"Max-Age={ctx.settings.sessions.absolute_timeout}")
    parts += ["HttpOnly", f"SameSite={cookie.same_site.capitalize()}"]
    if cookie.secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie(ctx: ServerContext) -> str:
    cookie = ctx.settings.cookie
    value = f"{cookie.cookie_name}=; Path=/; Max-Age=0; HttpOnly; SameSite={cookie.same_site.capitalize()}"
    return value + "; Secure" if cookie.secure else value


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of the cookie ``name`` in a ``Cookie`` header (RFC 6265 section 5.4), the
    first if there are several."""
    if not header:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


class Authenticator:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self._cookie = ctx.settings.cookie.cookie_name

    def session_id(self, request: Request) -> str | None:
        return cookie_value(request.headers.get("cookie"), self._cookie)

    async def from_session(self, session_id: str, scope: Scope) -> Caller | None:
        """The session's caller. Validation may rotate the ID (a pending privilege change);
        the new one is recorded in ``scope``, since the old one no longer works."""
        # The digest first: a cached digest was well formed when the service validated it.
        digest = secret_digest(session_id)
        cache = self.ctx.cache
        view = cache.session(digest)
        new_id = None
        if view is None:
            if not is_well_formed(session_id, SESSION_PREFIX):
                return None
            try:
                view = await self.ctx.service.validate_session(session_id)
            except InvalidSession:
                return None
            new_id = view.new_session_id
            if new_id is None:
                cache.put_session(digest, view)
            else:
                scope[ROTATED_SESSION] = new_id
                cache.put_session(secret_digest(new_id), SessionView(view.user, view.session))
        user = view.user
        return Caller(
            user=user,
            auth_method="session",
            roles=user.roles,
            tenant=user.tenant,
            sid=view.session.handle,
            session=view.session,
            new_session_id=new_id,
        )

    async def from_bearer(self, token: str) -> Caller | None:
        service = self.ctx.service
        try:
            access = service.verifier.verify(token, service.now())
        except TokenError:
            return None
        cache = self.ctx.cache
        user = cache.user(access.sub)
        if user is None:
            user = await service.get_user(access.sub)
            if user is None:
                return None
            cache.put_user(user)
        if user.disabled:
            return None
        return Caller(
            user=user,
            auth_method="bearer",
            roles=access.roles,
            tenant=access.tenant,
            sid=access.sid,
        )

    async def resolve(
        self,
        scope: Scope,
        authorization: str | None,
        cookie_header: str | None,
        *,
        bearer: bool = True,
    ) -> Caller | None:
        """The caller these headers of the request ``scope`` name, or None. An
        ``Authorization`` header decides alone: a bad bearer token is not rescued by a
        cookie."""
        if authorization is not None:
            if not bearer:
                return None
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            return await self.from_bearer(token.strip())
        session_id = cookie_value(cookie_header, self._cookie)
        if session_id is None:
            return None
        return await self.from_session(session_id, scope)

    async def caller(self, request: Request, *, bearer: bool = True) -> Caller | None:
        headers = request.headers
        return await self.resolve(
            request.scope, headers.get("authorization"), headers.get("cookie"), bearer=bearer
        )

    async def require(
        self, request: Request, *, unsafe: bool = False, bearer: bool = True
    ) -> Caller:
        """The caller or 401; for an unsafe method by cookie, the CSRF checks or 403."""
        caller = await self.caller(request, bearer=bearer)
        if caller is None:
            raise unauthorized(request.headers.get("authorization"))
        if (
            unsafe
            and caller.auth_method == "session"
            and caller.sid is not None
            and not self.ctx.csrf.check(request, caller.sid)
        ):
            raise ApiError(403, "csrf_failed", "Cross-site request refused.")
        return caller


def rotated_cookie(
    ctx: ServerContext, scope: Scope, headers: Iterable[tuple[bytes, bytes]]
) -> tuple[bytes, bytes] | None:
    """The ``Set-Cookie`` header a response with ``headers`` needs because the session's ID
    was rotated during the request ``scope``, or None: no rotation, or the response sets the
    session cookie itself (sign-in, sign-out) and keeps its own."""
    new_id = scope.get(ROTATED_SESSION)
    if new_id is None:
        return None
    prefix = f"{ctx.cookie_name}=".encode("latin-1")
    for name, value in headers:
        if name.lower() == b"set-cookie" and value.startswith(prefix):
            return None
    return b"set-cookie", session_cookie(ctx, new_id).encode("latin-1")


class SessionRotationMiddleware:
    """Sets the cookie for a session ID rotated during the request on the response it gets,
    whatever it is: a success, an error raised after the caller was known (403, 404, 400),
    a redirect or a page. Without it the browser would keep the old ID, which the rotation
    ended. (The 500 answer, sent from outside the middleware, calls :func:`rotated_cookie`
    itself.)"""

    def __init__(self, app: ASGIApp, *, ctx: ServerContext) -> None:
        self.app = app
        self._ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and ROTATED_SESSION in scope:
                headers = list(message.get("headers", ()))
                header = rotated_cookie(self._ctx, scope, headers)
                if header is not None:
                    headers.append(header)
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)
