"""The Starlette application: ``create_app(settings, service=...)``.

The routes translate HTTP to the service and back; this module wires them with the
middleware (metrics, security headers, CORS for bearer clients), the error mapping (generic
JSON errors, 503 when a store is unreachable, never a traceback), and the lifespan that
opens the stores, loads the keys and keeps the in-process caches coherent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

from limits.errors import StorageError as LimiterStorageError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from authwise.config import Settings, load_key_encryption_key
from authwise.core.sessions import SessionPolicy
from authwise.errors import (
    AuthenticationFailed,
    AuthwiseError,
    InvalidClient,
    InvalidGrant,
    InvalidInput,
    InvalidSession,
    NotFound,
    StoreUnavailable,
    TokenError,
)
from authwise.server import decoder
from authwise.server.auth import Authenticator, SessionRotationMiddleware, rotated_cookie
from authwise.server.context import ServerContext, derive_key
from authwise.server.csrf import CsrfGuard
from authwise.server.headers import (
    SecurityHeadersMiddleware,
    add_security_headers,
    security_headers,
)
from authwise.server.identity_cache import IdentityCache
from authwise.server.metrics import Metrics, MetricsMiddleware
from authwise.server.pages import Pages
from authwise.server.responses import ApiError, error_response
from authwise.server.routes import admin, oauth, ops, pages, sessions
from authwise.server.stores import open_stores
from authwise.server.throttle import Throttle
from authwise.service import AuthService, ServiceConfig, system_clock

__all__ = ["build_service", "create_app"]

log = logging.getLogger("authwise.server")
MAINTENANCE_INTERVAL = 30.0


async def build_service(settings: Settings) -> AuthService:
    """Open the configured stores and build (not start) the service over them."""
    kek = load_key_encryption_key(settings.storage)
    stores = await open_stores(settings)
    return AuthService(
        stores,
        config=ServiceConfig.from_settings(settings),
        clock=system_clock,
        refresh_secret=derive_key(kek, "refresh-secret"),
        key_encryption_key=kek,
    )


def _error_handlers(ctx: ServerContext) -> dict[type[Exception] | int, object]:
    ctx_metrics = ctx.metrics
    # The 500 answer is sent from outside the middleware stack: it adds these itself.
    error_headers = security_headers(hsts=ctx.settings.server.public_url.startswith("https:"))

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)  # noqa: S101
        if exc.status_code == 429:
            ctx_metrics.throttled.inc()
        return exc.response()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # noqa: S101
        return error_response(exc.status_code, headers=exc.headers)

    async def authwise_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthwiseError)  # noqa: S101
        if isinstance(exc, StoreUnavailable):
            ctx_metrics.store_unavailable.inc()
            log.warning("store unavailable: %s", exc.detail or exc.code)
            return error_response(503, headers={"Retry-After": "1"})
        if isinstance(exc, InvalidInput):
            return error_response(400, "invalid_input", str(exc.detail or exc.message))
        if isinstance(exc, NotFound):
            return error_response(404)
        if isinstance(exc, AuthenticationFailed | InvalidSession | TokenError):
            return error_response(401)
        if isinstance(exc, InvalidClient):
            return error_response(401, "invalid_client")
        if isinstance(exc, InvalidGrant):
            return error_response(400, "invalid_grant", "The grant is invalid.")
        log.warning("request refused: %s (%s)", exc.code, type(exc).__name__)
        return error_response(400, exc.code, exc.message)

    async def limiter_down(request: Request, exc: Exception) -> Response:
        # The rate limiter's store (Redis) is unreachable: fail closed, like any store.
        ctx_metrics.store_unavailable.inc()
        log.warning("rate-limit store unavailable: %s", type(exc).__name__)
        return error_response(503, headers={"Retry-After": "1"})

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        response = error_response(500)
        # This answer is sent from outside the middleware stack, so it adds a rotated
        # session's cookie itself (the session's old ID no longer works).
        header = rotated_cookie(ctx, request.scope, response.raw_headers)
        if header is not None:
            response.raw_headers.append(header)
        add_security_headers(response.raw_headers, error_headers)
        return response

    return {
        ApiError: api_error,
        HTTPException: http_error,
        AuthwiseError: authwise_error,
        LimiterStorageError: limiter_down,
        Exception: server_error,
    }


def _routes(ctx: ServerContext) -> list[BaseRoute]:
    auth = Authenticator(ctx)
    # GET /me first: the router tries routes in order, and this is the hot path.
    routes: list[BaseRoute] = [
        *sessions.routes(ctx, auth),
        *oauth.routes(ctx),
        *admin.routes(ctx, auth),
        *ops.routes(ctx),
        *pages.routes(ctx, auth),
    ]
    routes.extend(decoder.routes)
    routes.append(
        Mount("/static", StaticFiles(packages=[("authwise.server", "static")]), name="static")
    )
    return routes


def _context(
    settings: Settings, service: AuthService, metrics: Metrics, secret: bytes
) -> ServerContext:
    return ServerContext(
        settings=settings,
        service=service,
        csrf=CsrfGuard(derive_key(secret, "csrf"), settings.server.origins),
        throttle=Throttle(settings.rate_limits, settings.storage.redis_url),
        metrics=metrics,
        pages=Pages(),
        cache=IdentityCache(
            SessionPolicy(
                idle_timeout=settings.sessions.idle_timeout,
                absolute_timeout=settings.sessions.absolute_timeout,
                touch_interval=settings.sessions.touch_interval,
            ),
            service.now,
            ttl=settings.sessions.cache_ttl,
        ),
    )


async def _maintenance(service: AuthService) -> None:
    """Every half minute: advance the key ring when a rotation is due (and adopt one another
    process made), pick up revocations made where no event could reach us (the CLI on a
    deployment without Redis), and prune expired state."""
    while True:
        await asyncio.sleep(MAINTENANCE_INTERVAL)
        try:
            await service.reload_keys()
            await service.refresh_revocations()
            await service.prune()
        except AuthwiseError as exc:
            log.warning("maintenance skipped: %s", exc.code)
        except Exception:  # keep the loop alive; the next round may succeed
            log.exception("maintenance failed")


def create_app(
    settings: Settings,
    service: AuthService,
    *,
    secret: bytes | None = None,
    close_stores: bool = False,
) -> Starlette:
    """The ASGI app over ``service`` (see :func:`build_service`).

    ``secret`` keys the anti-forgery tokens and must be the same in every process of a
    deployment (the server derives it from the key-encryption key); by default a random one
    serves a single process. The lifespan starts the service (generating signing keys on
    first start), subscribes the in-process caches to the event bus and, with
    ``close_stores``, closes the stores on shutdown.
    """
    metrics = Metrics()
    ctx = _context(settings, service, metrics, secret or secrets.token_bytes(32))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        ctx.subscription = await service.subscribe(ctx.cache.on_event)
        task = asyncio.create_task(_maintenance(service))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await ctx.subscription.close()
            await ctx.throttle.aclose()
            await service.close(close_stores=close_stores)

    middleware = [
        Middleware(MetricsMiddleware, metrics=metrics),
        Middleware(SecurityHeadersMiddleware, hsts=settings.server.public_url.startswith("https:")),
        Middleware(SessionRotationMiddleware, ctx=ctx),
    ]
    if settings.cors.allow_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors.allow_origins),
                allow_methods=["GET", "POST", "DELETE", "PATCH"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,  # bearer tokens only: cookies never cross origins
                max_age=settings.cors.max_age,
            )
        )
    app = Starlette(
        routes=_routes(ctx),
        middleware=middleware,
        exception_handlers=_error_handlers(ctx),  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.context = ctx
    return app
