"""The OAuth endpoints: RFC 8414 metadata, the JWKS, token (RFC 6749), revocation (RFC 7009),
introspection (RFC 7662), and the revocation list for verifiers."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.errors import AuthenticationFailed, InvalidClient, InvalidGrant
from authwise.server.context import ServerContext
from authwise.server.requests import (
    client_addr,
    optional_text,
    read_fields,
    required_text,
    user_agent,
)
from authwise.server.responses import NO_STORE, ApiError, json_response
from authwise.server.routes.revocations import revocation_stream
from authwise.storage.base import ClientRecord

__all__ = ["routes"]

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="authwise"'}
_TOKEN_HINTS = frozenset({"access_token", "refresh_token"})
JWKS_MAX_AGE = 300


def _oauth_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> ApiError:
    return ApiError(status, code, message, headers)


async def _client(ctx: ServerContext, request: Request, *, required: bool) -> ClientRecord | None:
    """HTTP Basic client authentication (RFC 6749 section 2.3.1: form-encoded id and secret)."""
    header = request.headers.get("authorization")
    if header is None:
        if required:
            raise _oauth_error(
                401, "invalid_client", "Client authentication required.", _BASIC_CHALLENGE
            )
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" and not required:
        return None  # another scheme (a bearer token) is no client authentication
    try:
        if scheme.lower() != "basic":
            raise ValueError
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise ValueError
        return await ctx.service.authenticate_client(unquote(client_id), unquote(secret))
    except (ValueError, binascii.Error, UnicodeDecodeError, InvalidClient):
        raise _oauth_error(
            401, "invalid_client", "Client authentication failed.", _BASIC_CHALLENGE
        ) from None


def routes(ctx: ServerContext) -> list[Route]:
    settings = ctx.settings
    service = ctx.service
    issuer = settings.issuer
    base = settings.server.public_url
    limit = settings.server.max_body_bytes
    metrics = ctx.metrics
    trust_proxy = settings.server.trust_proxy_headers

    metadata = {
        "issuer": issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": ["password", "refresh_token"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
    }

    async def get_metadata(request: Request) -> Response:
        return json_response(metadata, headers={"Cache-Control": "public, max-age=3600"})

    async def get_jwks(request: Request) -> Response:
        return json_response(
            service.jwks().to_jwks(),
            headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"},
        )

    async def token(request: Request) -> Response:
        try:
            fields = await read_fields(request, limit, json=False)
            grant_type = fields.get("grant_type")
            if not grant_type:
                raise _oauth_error(400, "invalid_request", "grant_type is required.")
            audience = optional_text(fields, "audience", max_length=256)
            addr = client_addr(request, trust_proxy)
            if grant_type == "password":
                return await _password_grant(fields, audience, addr, request)
            if grant_type == "refresh_token":
                refresh_token = required_text(fields, "refresh_token", max_length=512)
                await ctx.throttle.before_refresh(addr)
                try:
                    result = await service.refresh(
                        refresh_token, audience=audience, client_addr=addr
                    )
                except InvalidGrant:
                    metrics.tokens.labels("refresh_token", "refused").inc()
                    raise _oauth_error(
                        400, "invalid_grant", "The refresh token is invalid, expired or revoked."
                    ) from None
                metrics.tokens.labels("refresh_token", "ok").inc()
                return json_response(result.to_dict(), headers=NO_STORE)
            raise _oauth_error(400, "unsupported_grant_type", "Supported: password, refresh_token.")
        except ApiError as exc:
            exc.headers.update(NO_STORE)
            raise

    async def _password_grant(
        fields: dict[str, object], audience: str | None, addr: str, request: Request
    ) -> Response:
        username = required_text(fields, "username", max_length=256)
        password = required_text(fields, "password", max_length=1024)
        await ctx.throttle.before_login(username, addr)
        try:
            result = await service.password_grant(
                username,
                password,
                audience=audience,
                client_addr=addr,
                user_agent=user_agent(request),
            )
        except AuthenticationFailed:
            await ctx.throttle.login_failed(username, addr)
            metrics.tokens.labels("password", "refused").inc()
            raise _oauth_error(400, "invalid_grant", "Invalid username or password.") from None
        except InvalidGrant:
            raise _oauth_error(
                400, "invalid_grant", "The requested audience is not served here."
            ) from None
        metrics.tokens.labels("password", "ok").inc()
        return json_response(result.to_dict(), headers=NO_STORE)

    def _token_field(fields: dict[str, object]) -> str:
        token = required_text(fields, "token", max_length=8192)
        hint = fields.get("token_type_hint")
        if hint is not None and hint not in _TOKEN_HINTS:
            raise _oauth_error(400, "unsupported_token_type", "token_type_hint is not supported.")
        return token

    async def revoke(request: Request) -> Response:
        await _client(ctx, request, required=False)
        fields = await read_fields(request, limit, json=False)
        await service.revoke_token(_token_field(fields))
        return Response(status_code=200, headers=NO_STORE)

    async def introspect(request: Request) -> Response:
        await _client(ctx, request, required=True)
        fields = await read_fields(request, limit, json=False)
        result = await service.introspect(_token_field(fields))
        return json_response(result, headers=NO_STORE)

    async def revocations(request: Request) -> Response:
        client = await _client(ctx, request, required=True)
        if client is not None and "text/event-stream" in request.headers.get("accept", ""):
            return await revocation_stream(ctx, client)
        now = service.now()
        entries = await service.live_revocations(now)
        body = {"now": now, "entries": [entry.to_dict() for entry in entries]}
        return json_response(body, headers={"Cache-Control": "no-store"})

    return [
        Route("/.well-known/oauth-authorization-server", get_metadata, methods=["GET"]),
        Route("/.well-known/jwks.json", get_jwks, methods=["GET"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
        Route("/oauth/introspect", introspect, methods=["POST"]),
        Route("/revocations", revocations, methods=["GET"]),
    ]
