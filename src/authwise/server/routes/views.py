"""JSON shapes of records, as the OpenAPI document describes them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.service import Ended
from authwise.storage.base import SessionRecord, UserRecord

__all__ = ["by_method", "ended_json", "session_json", "user_json"]

Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(path: str, **endpoints: Endpoint) -> Route:
    """One route serving several methods, so a 405 names all of them in ``Allow``."""
    if "GET" in endpoints:
        endpoints.setdefault("HEAD", endpoints["GET"])

    async def dispatch(request: Request) -> Response:
        return await endpoints[request.method](request)

    return Route(path, dispatch, methods=list(endpoints))


def user_json(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "roles": list(user.roles),
        "tenant": user.tenant,
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


def session_json(session: SessionRecord, current_handle: str | None) -> dict[str, Any]:
    return {
        "handle": session.handle,
        "created_at": session.created_at,
        "last_seen": session.last_seen,
        "expires_at": session.expires_at,
        "absolute_expires_at": session.absolute_expires_at,
        "client_addr": session.client_addr,
        "user_agent": session.user_agent,
        "current": session.handle == current_handle,
    }


def ended_json(ended: Ended) -> dict[str, int]:
    """How many sessions and refresh families a change ended (``RevokedCount``)."""
    return {"sessions": len(ended.sessions), "refresh_families": len(ended.families)}
