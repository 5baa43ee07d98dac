"""Operations: health, Prometheus metrics (behind ``server.metrics_token``), and the OpenAPI
document."""

from __future__ import annotations

import asyncio
import hmac
import logging

from limits.errors import StorageError as LimiterStorageError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authwise.errors import StoreUnavailable
from authwise.server.context import ServerContext
from authwise.server.responses import ApiError, json_response
from authwise.server.spec import openapi_bytes

__all__ = ["routes"]

_PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
_UNAVAILABLE = (StoreUnavailable, LimiterStorageError)
log = logging.getLogger("authwise.server")


def routes(ctx: ServerContext) -> list[Route]:
    service = ctx.service

    async def health(request: Request) -> Response:
        stores = {name: "ok" if up else "unavailable" for name, up in (await _probe()).items()}
        headers = {"Cache-Control": "no-store"}
        if "unavailable" in stores.values():
            ctx.metrics.store_unavailable.inc()
            down = ", ".join(name for name, state in stores.items() if state != "ok")
            log.warning("health: store unavailable: %s", down)
            body = {"status": "unavailable", "stores": stores}
            return json_response(body, 503, {**headers, "Retry-After": "1"})
        return json_response({"status": "ok", "stores": stores}, headers=headers)

    async def _probe() -> dict[str, bool]:
        # Both at once, so the answer takes as long as the slower check (each bounded by its
        # store's timeouts), not their sum.
        health, limiter = await asyncio.gather(service.check_health(), _limiter_up())
        if limiter is not None:
            health["redis"] = health.get("redis", True) and limiter
        return health

    async def _limiter_up() -> bool | None:
        """Whether the rate limits' Redis answers (None without Redis: they are in memory)."""
        if not ctx.settings.storage.redis_url:
            return None
        try:
            await ctx.throttle.check()
        except _UNAVAILABLE:
            return False
        return True

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
