"""Operations: health, Prometheus metrics (behind ``server.metrics_token``), and the OpenAPI
document."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.errors import StoreUnavailable
from authwise.server.context import ServerContext
from authwise.server.responses import ApiError, json_response
from authwise.server.spec import openapi_bytes

__all__ = ["routes"]

_PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def routes(ctx: ServerContext) -> list[Route]:
    service = ctx.service

    async def health(request: Request) -> Response:
        try:
            await service.check_health()
        except StoreUnavailable:
            ctx.metrics.store_unavailable.inc()
            return json_response({"status": "unavailable"}, 503, {"Retry-After": "1"})
        return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})

    token = ctx.settings.server.metrics_token
    expected = f"Bearer {token.reveal()}".encode() if token is not None else None

    async def metrics(request: Request) -> Response:
        # The counters tell sign-in successes from failures: an oracle when public, so
        # /metrics exists only for whoever holds server.metrics_token.
        if expected is None:
            raise ApiError(404)
        presented = request.headers.get("authorization", "").encode("latin-1")
        if not hmac.compare_digest(presented, expected):
            raise ApiError(
                401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
            )
        return Response(ctx.metrics.render(), headers={"Content-Type": _PROMETHEUS})

    async def openapi(request: Request) -> Response:
        return Response(openapi_bytes(), media_type="application/json")

    return [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
