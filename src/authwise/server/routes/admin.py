"""Registration and administration: create an account, list users, change roles, tenant or
the disabled flag, reset a password, revoke everything; revoke an OAuth client or give it a
new secret; retire a signing key at once. Admin is a role (``admin``), read live for
sessions."""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.errors import Conflict, NotFound
from authwise.server.auth import Authenticator, Caller
from authwise.server.context import ServerContext
from authwise.server.requests import (
    ascii_int,
    client_addr,
    read_fields,
    read_json_object,
    required_text,
)
from authwise.server.responses import NO_STORE, ApiError, json_response
from authwise.server.routes.views import ended_json, user_json

__all__ = ["routes"]

_UPDATABLE = frozenset({"roles", "tenant", "disabled"})


def _parse_update(body: dict[str, Any]) -> dict[str, Any]:
    if not body or not set(body) <= _UPDATABLE:
        raise ApiError(400, message="Send one or more of: roles, tenant, disabled.")
    roles = body.get("roles")
    if "roles" in body and (
        not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)
    ):
        raise ApiError(400, message="roles must be a list of strings.")
    if "tenant" in body and body["tenant"] is not None and not isinstance(body["tenant"], str):
        raise ApiError(400, message="tenant must be a string or null.")
    if "disabled" in body and not isinstance(body["disabled"], bool):
        raise ApiError(400, message="disabled must be true or false.")
    return body


def routes(ctx: ServerContext, auth: Authenticator) -> list[Route]:
    service = ctx.service
    settings = ctx.settings
    limit = settings.server.max_body_bytes

    async def admin(request: Request, *, unsafe: bool) -> Caller:
        caller = await auth.require(request, unsafe=unsafe)
        if not caller.is_admin:
            raise ApiError(403, "forbidden", "Administrators only.")
        return caller

    async def register(request: Request) -> Response:
        if not settings.server.registration:
            raise ApiError(404, message="Registration is disabled on this server.")
        if not ctx.csrf.same_origin(request):
            raise ApiError(403, "cross_origin", "Cross-origin registration refused.")
        fields = await read_fields(request, limit)
        username = required_text(fields, "username", max_length=256)
        password = required_text(fields, "password", max_length=1024)
        await ctx.throttle.before_registration(
            client_addr(request, settings.server.trust_proxy_headers)
        )
        # A taken name gets the same answer as a new account (S10); the hash cost was paid
        # before the store said so, so the timing is the same too.
        with contextlib.suppress(Conflict):
            await service.register(username, password)
        return json_response({"status": "accepted"}, 202)

    async def list_users(request: Request) -> Response:
        await admin(request, unsafe=False)
        after = request.query_params.get("after") or None
        page_size = ascii_int(request.query_params.get("limit", "100"))
        if page_size is None or not 1 <= page_size <= 500:
            raise ApiError(400, message="limit must be an integer from 1 to 500.")
        if after is not None and len(after) > 256:
            raise ApiError(400, message="after is too long.")
        users = await service.list_users(after=after, limit=page_size)
        next_after = users[-1].username if len(users) == page_size else None
        body = {"users": [user_json(u) for u in users], "next": next_after}
        return json_response(body)

    async def update_user(request: Request) -> Response:
        caller = await admin(request, unsafe=True)
        user_id = request.path_params["user_id"]
        changes = _parse_update(await read_json_object(request, limit))
        actor = caller.user.id
        try:
            user = await service.get_user(user_id)
            if user is None:
                raise NotFound
            if "roles" in changes and tuple(sorted(set(changes["roles"]))) != user.roles:
                user = await service.set_roles(user_id, changes["roles"], actor_id=actor)
            if "tenant" in changes and changes["tenant"] != user.tenant:
                user = await service.set_tenant(user_id, changes["tenant"], actor_id=actor)
            if "disabled" in changes and changes["disabled"] != user.disabled:
                if changes["disabled"]:
                    await service.disable_user(user_id, actor_id=actor)
                else:
                    await service.enable_user(user_id, actor_id=actor)
            user = await service.get_user(user_id)
        except NotFound:
            raise ApiError(404, message="No such user.") from None
        if user is None:
            raise ApiError(404, message="No such user.")
        return json_response(user_json(user))

    async def revoke_user(request: Request) -> Response:
        caller = await admin(request, unsafe=True)
        try:
            ended = await service.revoke_everything(
                request.path_params["user_id"], actor_id=caller.user.id
            )
        except NotFound:
            raise ApiError(404, message="No such user.") from None
        return json_response(ended_json(ended))

    async def reset_password(request: Request) -> Response:
        caller = await admin(request, unsafe=True)
        body = await read_json_object(request, limit)
        new = required_text(body, "password", max_length=1024)
        try:
            ended = await service.change_password(
                request.path_params["user_id"], new, actor_id=caller.user.id
            )
        except NotFound:
            raise ApiError(404, message="No such user.") from None
        return json_response(ended_json(ended))

    async def revoke_client(request: Request) -> Response:
        caller = await admin(request, unsafe=True)
        client_id = request.path_params["client_id"]
        try:
            await service.revoke_client(client_id, actor_id=caller.user.id)
        except NotFound:
            raise ApiError(404, message="No such client.") from None
        return json_response({"client_id": client_id, "revoked": True})

    async def rotate_client_secret(request: Request) -> Response:
        caller = await admin(request, unsafe=True)
        try:
            client, secret = await service.rotate_client_secret(
                request.path_params["client_id"], actor_id=caller.user.id
            )
        except NotFound:
            raise ApiError(404, message="No such client.") from None
        # The secret is shown once, here: no cache may keep it.
        return json_response(
            {"client_id": client.client_id, "client_secret": secret}, headers=NO_STORE
        )

    async def retire_key(request: Request) -> Response:
        await admin(request, unsafe=True)
        try:
            retired = await service.retire_key(request.path_params["kid"])
        except NotFound:
            raise ApiError(404, message="No such key in use.") from None
        body = {
            "kid": retired.kid,
            "was": retired.was.value,
            "tokens_valid_until": retired.tokens_valid_until,
            "active": service.key_ring.active.kid,
        }
        return json_response(body)

    return [
        Route("/users", register, methods=["POST"]),
        Route("/admin/users", list_users, methods=["GET"]),
        Route("/admin/users/{user_id}", update_user, methods=["PATCH"]),
        Route("/admin/users/{user_id}/revoke", revoke_user, methods=["POST"]),
        Route("/admin/users/{user_id}/password", reset_password, methods=["POST"]),
        Route("/admin/clients/{client_id}/revoke", revoke_client, methods=["POST"]),
        Route("/admin/clients/{client_id}/secret", rotate_client_secret, methods=["POST"]),
        Route("/admin/keys/{kid}/retire", retire_key, methods=["POST"]),
    ]
