"""The Shared Signals Framework transmitter: its metadata, each receiver's stream
configuration (read-only), and RFC 8936 poll delivery. The SSE stream at ``/revocations``
carries the same SETs for authwise's own verifiers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.core.secevent import (
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    CREDENTIAL_CHANGE,
    KEY_RETIRED,
    SESSION_REVOKED,
    TOKEN_CLAIMS_CHANGE,
    TOKEN_REVOKED,
)
from authwise.server.context import ServerContext
from authwise.server.requests import read_json_object
from authwise.server.responses import NO_STORE, ApiError, json_response
from authwise.server.routes.oauth import client_from_basic
from authwise.storage.base import ClientRecord

__all__ = ["EVENTS_DELIVERED", "routes"]

POLL_METHOD = "urn:ietf:rfc:8936"
EVENTS_DELIVERED = [
    SESSION_REVOKED,
    TOKEN_REVOKED,
    TOKEN_CLAIMS_CHANGE,
    CREDENTIAL_CHANGE,
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    KEY_RETIRED,
]
_MAX_ACKS = 1000
_MAX_ID = 255


def _jtis(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > _MAX_ACKS:
        raise ApiError(400, "invalid_request", f"{name} must be a list of at most {_MAX_ACKS}.")
    if not all(isinstance(v, str) and 0 < len(v) <= _MAX_ID for v in value):
        raise ApiError(400, "invalid_request", f"{name} must hold SET identifiers (jti).")
    return value


def _poll_request(body: dict[str, Any]) -> tuple[list[str], list[str], int | None, bool]:
    unknown = set(body) - {"ack", "setErrs", "maxEvents", "returnImmediately"}
    if unknown:
        raise ApiError(400, "invalid_request", f"Unknown member: {sorted(unknown)[0]}.")
    ack = _jtis(body.get("ack", []), "ack")
    errors = body.get("setErrs", {})
    if not isinstance(errors, dict):
        raise ApiError(400, "invalid_request", "setErrs must be an object.")
    max_events = body.get("maxEvents")
    if max_events is not None and (type(max_events) is not int or not 0 <= max_events <= 10_000):
        raise ApiError(400, "invalid_request", "maxEvents must be an integer from 0 to 10000.")
    immediately = body.get("returnImmediately", False)
    if type(immediately) is not bool:
        raise ApiError(400, "invalid_request", "returnImmediately must be true or false.")
    return ack, _jtis(list(errors), "setErrs"), max_events, immediately


def routes(ctx: ServerContext) -> list[Route]:
    service = ctx.service
    base = ctx.settings.server.public_url
    limit = ctx.settings.server.max_body_bytes
    metadata = {
        "spec_version": "1_0",
        "issuer": ctx.settings.issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "delivery_methods_supported": [POLL_METHOD],
        "configuration_endpoint": f"{base}/ssf/stream",
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
        "default_subjects": "ALL",
    }

    async def get_metadata(request: Request) -> Response:
        return json_response(metadata, headers={"Cache-Control": "public, max-age=3600"})

    async def authenticated(request: Request) -> ClientRecord:
        client = await client_from_basic(ctx, request, required=True)
        assert client is not None  # noqa: S101 - required=True raises instead
        return client

    async def stream(request: Request) -> Response:
        client = await authenticated(request)
        body = {
            "stream_id": client.client_id,
            "iss": ctx.settings.issuer,
            "aud": client.client_id,
            "events_supported": EVENTS_DELIVERED,
            "events_requested": EVENTS_DELIVERED,
            "events_delivered": EVENTS_DELIVERED,
            "delivery": {"method": POLL_METHOD, "endpoint_url": f"{base}/ssf/poll"},
        }
        return json_response(body, headers={"Cache-Control": "no-store"})

    async def poll(request: Request) -> Response:
        client = await authenticated(request)
        ack, errors, max_events, immediately = _poll_request(await read_json_object(request, limit))
        result = await service.delivery.poll(
            client.client_id,
            ack=ack,
            errors=errors,
            max_events=max_events,
            return_immediately=immediately,
        )
        body = {"sets": result.sets, "moreAvailable": result.more_available}
        return json_response(body, headers=NO_STORE)

    return [
        Route("/.well-known/ssf-configuration", get_metadata, methods=["GET"]),
        Route("/ssf/stream", stream, methods=["GET"]),
        Route("/ssf/poll", poll, methods=["POST"]),
    ]
