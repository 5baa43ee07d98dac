"""Operations: health, Prometheus metrics, and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.errors import StoreUnavailable
from authwise.server.context import ServerContext
from authwise.server.responses import json_response
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

    async def metrics(request: Request) -> Response:
        return Response(ctx.metrics.render(), headers={"Content-Type": _PROMETHEUS})

    async def openapi(request: Request) -> Response:
        return Response(openapi_bytes(), media_type="application/json")

    return [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
