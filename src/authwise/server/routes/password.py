"""Changing one's own password: ``POST /account/password`` (JSON) and the page that sends it.

The current password is required and checked like a sign-in, throttled the same way (a
stolen session must not become a password oracle). A change ends every other session and
refresh family and revokes earlier access tokens; the session that made it stays (its ID is
rotated on its next request, like after any privilege change).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authwise.errors import AuthenticationFailed
from authwise.server.auth import Authenticator
from authwise.server.context import ServerContext
from authwise.server.requests import client_addr, read_json_object, required_text
from authwise.server.responses import ApiError, json_response
from authwise.server.routes.views import by_method, ended_json, user_json

__all__ = ["routes"]

MAX_PASSWORD = 1024


def routes(ctx: ServerContext, auth: Authenticator) -> list[Route]:
    service = ctx.service
    settings = ctx.settings

    async def change(request: Request) -> Response:
        caller = await auth.require(request, unsafe=True)
        body = await read_json_object(request, settings.server.max_body_bytes)
        current = required_text(body, "current_password", max_length=MAX_PASSWORD)
        new = required_text(body, "new_password", max_length=MAX_PASSWORD)
        username = caller.user.username
        addr = client_addr(request, settings.server.trust_proxy_headers)
        await ctx.throttle.before_login(username, addr)
        keep = caller.sid if caller.auth_method == "session" else None
        try:
            ended = await service.change_password(
                caller.user.id,
                new,
                current_password=current,
                keep_session=keep,
                actor_id=caller.user.id,
            )
        except AuthenticationFailed:
            await ctx.throttle.login_failed(username, addr)
            raise ApiError(403, "wrong_password", "The current password is wrong.") from None
        return json_response(ended_json(ended))

    async def page(request: Request) -> Response:
        caller = await auth.caller(request, bearer=False)
        if caller is None or caller.sid is None:
            return RedirectResponse("/login", status_code=303)
        context = {
            "user": user_json(caller.user),
            "is_admin": caller.is_admin,
            "csrf_token": ctx.csrf.token(caller.sid),
        }
        return ctx.pages.render("password.html", context)

    return [by_method("/account/password", GET=page, POST=change)]
