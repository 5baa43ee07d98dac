"""The OAuth endpoints: RFC 8414 metadata, the JWKS, token (RFC 6749), revocation (RFC 7009),
introspection (RFC 7662), and the revocation list for verifiers."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.errors import AuthenticationFailed, InvalidClient, InvalidGrant, InvalidTarget
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

__all__ = ["client_from_basic", "routes"]

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="authwise"'}
_TOKEN_HINTS = frozenset({"access_token", "refresh_token"})
JWKS_MAX_AGE = 300


def _oauth_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> ApiError:
    return ApiError(status, code, message, headers)


async def client_from_basic(
    ctx: ServerContext, request: Request, *, required: bool
) -> ClientRecord | None:
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


def _cross_site_browser(request: Request, allowed: frozenset[str]) -> bool:
    """Whether a browser sent ``request`` from a page on an origin not in ``allowed`` (S15).

    A page cannot forge ``Origin`` or ``Sec-Fetch-Site``: an ``Origin`` in ``allowed`` is
    believed whatever the site says (a registered client's page on another origin); short of
    that, ``Sec-Fetch-Site: cross-site`` or ``same-site`` is refused, and so is any other
    ``Origin``, ``null`` included, unless the browser says the request is ``same-origin``
    (what it sends with ``Origin: null`` from our own ``no-referrer`` pages). Clients that
    send neither header (servers, curl, mobile apps) are no browser."""
    headers = request.headers
    origin = headers.get("origin")
    if origin is not None and origin.lower() in allowed:
        return False
    site = headers.get("sec-fetch-site")
    if site in ("cross-site", "same-site"):
        return True
    return origin is not None and not (origin == "null" and site == "same-origin")


def routes(ctx: ServerContext) -> list[Route]:
    settings = ctx.settings
    service = ctx.service
    issuer = settings.issuer
    base = settings.server.public_url
    limit = settings.server.max_body_bytes
    metrics = ctx.metrics
    trust_proxy = settings.server.trust_proxy_headers
    # Origins whose pages may run a credential grant in a browser: ours and the registered
    # client origins (cors.allow_origins, until clients carry their own).
    grant_origins = settings.server.origins | frozenset(settings.cors.allow_origins)

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
        except InvalidTarget:
            # RFC 8707 section 2: the audience (resource) names nothing we mint tokens for.
            raise _oauth_error(
                400, "invalid_target", "The requested audience is not served here.", NO_STORE
            ) from None
        except ApiError as exc:
            exc.headers.update(NO_STORE)
            raise

    async def _password_grant(
        fields: dict[str, object], audience: str | None, addr: str, request: Request
    ) -> Response:
        if _cross_site_browser(request, grant_origins):
            raise _oauth_error(
                403, "cross_origin", "Credential grants from another site's page are refused."
            )
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
        metrics.tokens.labels("password", "ok").inc()
        return json_response(result.to_dict(), headers=NO_STORE)

    def _token_field(fields: dict[str, object]) -> str:
        token = required_text(fields, "token", max_length=8192)
        hint = fields.get("token_type_hint")
        if hint is not None and hint not in _TOKEN_HINTS:
            raise _oauth_error(400, "unsupported_token_type", "token_type_hint is not supported.")
        return token

    async def revoke(request: Request) -> Response:
        await client_from_basic(ctx, request, required=False)
        fields = await read_fields(request, limit, json=False)
        await service.revoke_token(_token_field(fields))
        return Response(status_code=200, headers=NO_STORE)

    async def introspect(request: Request) -> Response:
        await client_from_basic(ctx, request, required=True)
        fields = await read_fields(request, limit, json=False)
        result = await service.introspect(_token_field(fields))
        return json_response(result, headers=NO_STORE)

    async def revocations(request: Request) -> Response:
        client = await client_from_basic(ctx, request, required=True)
        assert client is not None  # noqa: S101 - required=True raises instead
        if "text/event-stream" in request.headers.get("accept", ""):
            return await revocation_stream(ctx, request, client)
        now = service.now()
        position = await service.stores.log.head()
        entries = await service.live_revocations(now)
        body = {
            "now": now,
            "position": position,
            "entries": [entry.to_dict() for entry in entries],
        }
        return json_response(body, headers={"Cache-Control": "no-store"})

    return [
        Route("/.well-known/oauth-authorization-server", get_metadata, methods=["GET"]),
        Route("/.well-known/jwks.json", get_jwks, methods=["GET"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
        Route("/oauth/introspect", introspect, methods=["POST"]),
        Route("/revocations", revocations, methods=["GET"]),
    ]
