"""Sessions: sign in and out, the current session, the device list, and ``GET /me``."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from authwise.errors import AuthenticationFailed
from authwise.server.auth import (
    Authenticator,
    Caller,
    clear_cookie,
    cookie_value,
    session_cookie,
    unauthorized,
)
from authwise.server.context import ServerContext
from authwise.server.requests import (
    client_addr,
    read_fields,
    required_text,
    user_agent,
)
from authwise.server.responses import NO_STORE, ApiError, json_response
from authwise.server.routes.views import by_method, session_json, user_json
from authwise.server.throttle import account_key

__all__ = ["routes"]

_NO_STORE_ONLY = {"Cache-Control": "no-store"}
# Signing out tells the browser to drop this origin's cookies, whatever their names.
_CLEAR_COOKIES = {"Clear-Site-Data": '"cookies"'}
_REMEMBER = frozenset({True, "true", "on", "1"})


def _keep_signed_in(fields: dict[str, object]) -> bool:
    """The "keep me signed in" choice: JSON ``"remember": true`` or the form's checkbox."""
    value = fields.get("remember", False)
    return isinstance(value, bool | str) and value in _REMEMBER


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


class MeEndpoint:
    """``GET /me``, the hot path, as a bare ASGI endpoint: the two headers it needs are read
    straight from the scope, with no request or response objects in between. A rotated
    session ID is set by :class:`~authwise.server.auth.SessionRotationMiddleware`, like
    everywhere else."""

    __slots__ = ("_auth",)

    def __init__(self, auth: Authenticator) -> None:
        self._auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = cookie = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"cookie":
                text = value.decode("latin-1")
                cookie = text if cookie is None else f"{cookie}; {text}"
        caller = await self._auth.resolve(scope, authorization, cookie)
        if caller is None:
            raise unauthorized(authorization)
        user = caller.user
        body = orjson.dumps(
            {
                "sub": user.id,
                "username": user.username,
                "roles": caller.roles,
                "tenant": caller.tenant,
                "auth_method": caller.auth_method,
                "sid": caller.sid,
            }
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def routes(ctx: ServerContext, auth: Authenticator) -> list[Route]:
    service = ctx.service
    settings = ctx.settings
    limit = settings.server.max_body_bytes
    trust_proxy = settings.server.trust_proxy_headers
    metrics = ctx.metrics

    def current_session_body(caller: Caller) -> dict[str, object]:
        assert caller.session is not None  # noqa: S101 - session callers only
        assert caller.sid is not None  # noqa: S101
        return {
            "user": user_json(caller.user),
            "session": session_json(caller.session, caller.sid),
            "csrf_token": ctx.csrf.token(caller.sid),
        }

    async def login(request: Request) -> Response:
        if not ctx.csrf.same_origin(request):
            raise ApiError(403, "cross_origin", "Cross-origin sign-in refused.")
        fields = await read_fields(request, limit)
        username = required_text(fields, "username", max_length=256)
        password = required_text(fields, "password", max_length=1024)
        addr = client_addr(request, trust_proxy)
        html = _wants_html(request) and "json" not in request.headers.get("content-type", "")
        devices = ctx.devices
        presented = cookie_value(request.headers.get("cookie"), devices.name)
        device = devices.device(presented, account_key(username))
        try:
            await ctx.throttle.before_login(username, addr, device)
        except ApiError as exc:
            if html and exc.status_code == 429:
                return ctx.pages.render(
                    "login.html",
                    {"error": "Too many attempts. Try again in a minute."},
                    429,
                    exc.headers,
                )
            raise
        try:
            result = await service.login(
                username,
                password,
                client_addr=addr,
                user_agent=user_agent(request),
                current_session_id=auth.session_id(request),
            )
        except AuthenticationFailed:
            await ctx.throttle.login_failed(username, addr, device)
            metrics.logins.labels("failed").inc()
            if html:
                return ctx.pages.render("login.html", {"error": "Wrong username or password."}, 401)
            raise ApiError(401, "invalid_credentials", "Invalid username or password.") from None
        metrics.logins.labels("ok").inc()
        cookie = session_cookie(ctx, result.session_id, persistent=_keep_signed_in(fields))
        if html:
            response: Response = RedirectResponse("/account", status_code=303)
        else:
            caller = Caller(
                user=result.user,
                auth_method="session",
                roles=result.user.roles,
                tenant=result.user.tenant,
                sid=result.session.handle,
                session=result.session,
            )
            response = json_response(current_session_body(caller), headers=NO_STORE)
        response.headers.append("set-cookie", cookie)
        if devices.enabled:
            response.headers.append("set-cookie", devices.issue(result.user.username))
        return response

    async def current(request: Request) -> Response:
        caller = await auth.require(request, bearer=False)
        return json_response(current_session_body(caller), headers=NO_STORE)

    async def logout(request: Request) -> Response:
        caller = await auth.require(request, unsafe=True, bearer=False)
        session_id = caller.new_session_id or auth.session_id(request)
        if session_id is not None:
            await service.logout(session_id)
        return Response(
            status_code=204, headers={"set-cookie": clear_cookie(ctx), **_CLEAR_COOKIES}
        )

    async def list_sessions(request: Request) -> Response:
        caller = await auth.require(request)
        sessions = await service.list_sessions(caller.user.id)
        current_handle = caller.sid if caller.auth_method == "session" else None
        body = {"sessions": [session_json(s, current_handle) for s in sessions]}
        return json_response(body, headers=_NO_STORE_ONLY)

    async def logout_everywhere(request: Request) -> Response:
        caller = await auth.require(request, unsafe=True)
        keep = request.query_params.get("keep_current", "false").lower()
        if keep not in ("true", "false"):
            raise ApiError(400, message="keep_current must be true or false.")
        keep_handle = caller.sid if keep == "true" and caller.auth_method == "session" else None
        ended = await service.revoke_sessions(caller.user.id, keep_handle=keep_handle)
        response = json_response({"sessions": len(ended)})
        if keep_handle is None and caller.auth_method == "session":
            response.headers.append("set-cookie", clear_cookie(ctx))
            response.headers.update(_CLEAR_COOKIES)
        return response

    async def end_session(request: Request) -> Response:
        caller = await auth.require(request, unsafe=True)
        handle = request.path_params["handle"]
        if not 0 < len(handle) <= 64 or not await service.revoke_session(caller.user.id, handle):
            raise ApiError(404, message="No such session.")
        return Response(status_code=204)

    return [
        Route("/me", MeEndpoint(auth), methods=["GET"]),
        by_method("/session", GET=current, POST=login, DELETE=logout),
        by_method("/sessions", GET=list_sessions, DELETE=logout_everywhere),
        Route("/sessions/{handle}", end_session, methods=["DELETE"]),
    ]
