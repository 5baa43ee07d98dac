"""The ASGI entry point servers import: ``authwise.server.asgi:application`` (a factory).

Settings come from ``AUTHWISE_*`` variables and ``AUTHWISE_CONFIG`` (``authwise serve`` puts
its options there for every worker). Opening the stores is asynchronous, so the real app is
built during the server's lifespan startup; requests are forwarded to it afterwards.
"""

from __future__ import annotations

import contextlib
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from authwise.config import load_key_encryption_key, load_settings
from authwise.server import accesslog
from authwise.server.app import build_service, create_app
from authwise.server.supervision import exit_with_parent

__all__ = ["DeferredApp", "application"]

log = logging.getLogger("authwise.server")


class DeferredApp:
    """Builds the app on lifespan startup, then forwards every request to it."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if app is not None and scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        raise RuntimeError("the server has not finished starting")

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"  # noqa: S101
        stack = contextlib.AsyncExitStack()
        try:
            settings = load_settings()
            kek = load_key_encryption_key(settings.storage)
            service = await build_service(settings)
            app = create_app(settings, service, secret=kek, close_stores=True)
            await stack.enter_async_context(app.router.lifespan_context(app))
        except Exception as exc:
            log.error("startup failed: %s", exc)
            await stack.aclose()
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        self.app = app
        log.info(
            "authwise serving %s (issuer %s, database %s)",
            settings.server.public_url,
            settings.issuer,
            settings.storage.database.split("@")[-1],
        )
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        await stack.aclose()
        await send({"type": "lifespan.shutdown.complete"})


def application() -> DeferredApp:
    """The factory ``uvicorn --factory`` and granian call (once per worker process)."""
    accesslog.install()
    root = logging.getLogger("authwise")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    _exit_with_supervisor()
    return DeferredApp()


def _exit_with_supervisor() -> None:
    # uvicorn starts every worker from its main thread, which lives as long as the parent:
    # the death signal means what it says. (granian may start workers from other threads,
    # whose end would look like the parent's.) A configuration that does not load is left
    # to the lifespan startup, which reports it.
    try:
        kind = load_settings().server.server
    except Exception:
        return
    if kind == "uvicorn":
        exit_with_parent()
