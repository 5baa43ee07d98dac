"""Fixtures for the server tests: an app over in-memory stores, driven in process through
httpx's ASGI transport (the lifespan runs, so keys are generated as on a first start)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from authwise.config import RateLimitSettings, ServerSettings, Settings
from authwise.server.app import create_app
from authwise.service import AuthService, ServiceConfig
from authwise.storage.memory import memory_stores

BASE = "https://auth.test"
ADMIN = ("admin-user", "correct horse battery admin")
ALICE = ("alice", "correct horse battery staple")


class Clock:
    """A settable clock, so timeouts are tested without waiting."""

    def __init__(self, now: int = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@dataclass
class Server:
    app: Starlette
    service: AuthService
    client: httpx.AsyncClient
    clock: Clock
    settings: Settings

    def new_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE, **kwargs
        )

    def client_at(self, address: str) -> httpx.AsyncClient:
        """A client whose requests come from ``address`` (the socket peer the app sees)."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url=BASE)

    async def login(self, username: str, password: str) -> httpx.AsyncClient:
        """A client signed in with a session cookie, with its CSRF token as a default header."""
        client = self.new_client()
        response = await client.post("/session", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    async def tokens(self, username: str, password: str) -> dict[str, Any]:
        response = await self.client.post(
            "/oauth/token",
            data={"grant_type": "password", "username": username, "password": password},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def make_settings(**parts: Any) -> Settings:
    base = Settings(
        server=ServerSettings(public_url=BASE, registration=True),
        rate_limits=RateLimitSettings(enabled=False),
    )
    return replace(base, **parts)


ServerFactory = Callable[..., AbstractAsyncContextManager[Server]]


@pytest.fixture
def make_server() -> ServerFactory:
    @asynccontextmanager
    async def factory(
        settings: Settings | None = None, users: bool = True
    ) -> AsyncIterator[Server]:
        settings = settings or make_settings()
        clock = Clock()
        service = AuthService(
            memory_stores(),
            config=ServiceConfig.from_settings(settings),
            clock=clock,
            refresh_secret=b"r" * 32,
            key_encryption_key=b"k" * 32,
        )
        app = create_app(settings, service, secret=b"s" * 32)
        async with app.router.lifespan_context(app):
            if users:
                admin = await service.register(*ADMIN)
                await service.set_roles(admin.id, ["admin"])
                await service.register(*ALICE)
                clock.advance(1)  # past the not-before the role change set
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=BASE
            ) as client:
                yield Server(app, service, client, clock, settings)

    return factory


@pytest.fixture
async def server(make_server: ServerFactory) -> AsyncIterator[Server]:
    async with make_server() as s:
        yield s
