"""The HTML pages: sign-in, account (sessions and devices), admin. Server-rendered with
autoescaping under a strict CSP; the small scripts they load send the anti-forgery token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authwise.server.auth import Authenticator
from authwise.server.context import ServerContext
from authwise.server.routes.views import session_json, user_json

__all__ = ["routes"]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def routes(ctx: ServerContext, auth: Authenticator) -> list[Route]:
    service = ctx.service
    pages = ctx.pages

    async def home(request: Request) -> Response:
        return RedirectResponse("/account", status_code=303)

    async def login_page(request: Request) -> Response:
        return pages.render("login.html", {"user": None})

    async def account(request: Request) -> Response:
        caller = await auth.caller(request, bearer=False)
        if caller is None or caller.sid is None:
            return RedirectResponse("/login", status_code=303)
        sessions: list[dict[str, Any]] = []
        for record in await service.list_sessions(caller.user.id):
            view = session_json(record, caller.sid)
            view["created_iso"] = _iso(record.created_at)
            view["last_seen_iso"] = _iso(record.last_seen)
            sessions.append(view)
        context = {
            "user": user_json(caller.user),
            "is_admin": caller.is_admin,
            "sessions": sessions,
            "csrf_token": ctx.csrf.token(caller.sid),
        }
        return pages.render("account.html", context)

    async def admin(request: Request) -> Response:
        caller = await auth.caller(request, bearer=False)
        if caller is None or caller.sid is None:
            return RedirectResponse("/login", status_code=303)
        if not caller.is_admin:
            context = {
                "user": caller.user,
                "title": "Administrators only",
                "message": "Your account has no admin role.",
            }
            return pages.render("error.html", context, 403)
        after = request.query_params.get("after") or None
        users = await service.list_users(after=after[:256] if after else None, limit=100)
        context = {
            "user": caller.user,
            "is_admin": True,
            "users": [user_json(u) for u in users],
            "next": users[-1].username if len(users) == 100 else None,
            "csrf_token": ctx.csrf.token(caller.sid),
        }
        return pages.render("admin.html", context)

    return [
        Route("/", home, methods=["GET"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/account", account, methods=["GET"]),
        Route("/admin", admin, methods=["GET"]),
    ]
