"""Storage faults over HTTP, against real stores: every way a store can fail to serve is a 503
with ``Retry-After`` (never a 400 a client would take for "token dead", never a 500), /health
names the store, and service comes back by itself.

The app runs in process (httpx's ASGI transport) over a real SQLite file or PostgreSQL schema;
Redis, where a test needs one, is a private ``redis-server`` on a free port, used for what
needs Redis in every deployment: the rate limits on sign-in and on both grants.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import struct
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event

from authwise.config import RateLimitSettings, StorageSettings
from authwise.server.app import create_app
from authwise.service import AuthService, ServiceConfig
from authwise.storage.base import Stores
from authwise.storage.sql import open_sql_stores, upgrade

from ..storage.backends import POSTGRES_URL, pg_schema, pg_truncate
from ..storage.faults import RedisServer, TcpProxy
from .conftest import ALICE, BASE, Clock, make_settings

LIMITS = RateLimitSettings(
    login_per_account="1000/minute",
    login_per_account_global="1000/minute",
    login_per_address="1000/minute",
    refresh_per_address="1000/minute",
)


@dataclass
class App:
    client: httpx.AsyncClient
    service: AuthService
    ctx: Any

    async def sign_in(self) -> httpx.Response:
        return await self.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})

    async def password_grant(self) -> httpx.Response:
        form = {"grant_type": "password", "username": ALICE[0], "password": ALICE[1]}
        return await self.client.post("/oauth/token", data=form)

    async def refresh_grant(self, token: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": token}
        return await self.client.post("/oauth/token", data=form)

    async def me(self, cookie: str) -> httpx.Response:
        self.ctx.cache.clear()  # the store, not the in-process cache, must answer
        return await self.client.get("/me", headers={"Cookie": cookie})

    async def health(self) -> httpx.Response:
        return await self.client.get("/health")


@contextlib.asynccontextmanager
async def app_over(stores: Stores, *, redis_url: str = "") -> AsyncIterator[App]:
    settings = make_settings(
        storage=StorageSettings(redis_url=redis_url),
        rate_limits=LIMITS if redis_url else RateLimitSettings(enabled=False),
    )
    service = AuthService(
        stores,
        config=ServiceConfig.from_settings(settings),
        clock=Clock(),
        refresh_secret=b"r" * 32,
        key_encryption_key=b"k" * 32,
    )
    app = create_app(settings, service, secret=b"s" * 32, close_stores=True)
    async with app.router.lifespan_context(app):
        await service.register(*ALICE)
        transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield App(client, service, app.state.context)


def assert_unavailable(response: httpx.Response, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.text)
    assert response.headers["retry-after"] == "1", what
    assert "Traceback" not in response.text


async def assert_all_unavailable(app: App, cookie: str, refresh_token: str) -> None:
    for what, response in (
        ("/health", await app.health()),
        ("/me", await app.me(cookie)),
        ("POST /session", await app.sign_in()),
        ("password grant", await app.password_grant()),
        ("refresh grant", await app.refresh_grant(refresh_token)),
    ):
        assert_unavailable(response, what)


async def until_healthy(app: App, *, attempts: int = 200) -> httpx.Response:
    for _ in range(attempts):
        response = await app.health()
        if response.status_code == 200:
            return response
        await asyncio.sleep(0.05)
    raise AssertionError("never recovered")


async def signed_in(app: App) -> tuple[str, str]:
    """A session cookie and a refresh token, made while the stores are up."""
    r = await app.sign_in()
    assert r.status_code == 200, r.text
    tokens = await app.password_grant()
    assert tokens.status_code == 200, tokens.text
    return r.headers["set-cookie"].split(";")[0], tokens.json()["refresh_token"]


async def assert_works_again(app: App, cookie: str) -> None:
    assert (await app.me(cookie)).status_code == 200
    assert (await app.sign_in()).status_code == 200
    tokens = await app.password_grant()
    assert tokens.status_code == 200
    assert (await app.refresh_grant(tokens.json()["refresh_token"])).status_code == 200


# -- SQLite ----------------------------------------------------------------------------------


async def test_sqlite_locked_by_another_process_is_503_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "authwise.db"
    await upgrade(f"sqlite:///{path}")
    stores = await open_sql_stores(f"sqlite:///{path}", statement_timeout=0.3)
    async with app_over(stores) as app:
        cookie, refresh_token = await signed_in(app)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock, held past the busy timeout
        try:
            for what, response in (
                ("POST /session", await app.sign_in()),
                ("password grant", await app.password_grant()),
                ("refresh grant", await app.refresh_grant(refresh_token)),
            ):
                assert_unavailable(response, what)
            # WAL readers never wait for the writer: what only reads still works.
            health = await app.health()
            assert health.json() == {"status": "ok", "stores": {"database": "ok"}}
            assert (await app.me(cookie)).status_code == 200
        finally:
            other.execute("ROLLBACK")
            other.close()
        await assert_works_again(app, cookie)


# -- PostgreSQL ------------------------------------------------------------------------------


class RefusingPostgres:
    """Speaks just enough of the PostgreSQL protocol to refuse every connection the way a real
    server does: an ErrorResponse with ``sqlstate`` to the startup message."""

    def __init__(self, sqlstate: str, message: str) -> None:
        fields = [(b"S", b"FATAL"), (b"V", b"FATAL"), (b"C", sqlstate.encode())]
        fields.append((b"M", message.encode()))
        body = b"".join(code + value + b"\0" for code, value in fields) + b"\0"
        self._error = b"E" + struct.pack("!I", len(body) + 4) + body
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RefusingPostgres:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                (length,) = struct.unpack("!I", await reader.readexactly(4))
                (code,) = struct.unpack("!I", (await reader.readexactly(length - 4))[:4])
                if code == 80877103:  # SSLRequest: no TLS here
                    writer.write(b"N")
                    await writer.drain()
                    continue
                writer.write(self._error)
                await writer.drain()
                break
        writer.close()


@pytest.fixture
async def pg_stores_via_proxy() -> AsyncIterator[tuple[Stores, TcpProxy]]:
    schema = await pg_schema()
    await pg_truncate(schema)
    proxy = TcpProxy("127.0.0.1", asyncpg_port())
    await proxy.start()
    url = POSTGRES_URL.replace(f":{asyncpg_port()}/", f":{proxy.port}/")
    stores = await open_sql_stores(url, schema=schema, statement_timeout=2)
    yield stores, proxy
    await proxy.stop()


def asyncpg_port() -> int:
    return int(POSTGRES_URL.rsplit(":", 1)[1].split("/", 1)[0])


@pytest.mark.parametrize(
    ("sqlstate", "message"),
    [
        ("57P03", "the database system is starting up"),
        ("57P03", "the database system is shutting down"),
        ("53300", "sorry, too many clients already"),
    ],
)
async def test_postgresql_refusing_connections_is_503_not_400(
    pg_stores_via_proxy: tuple[Stores, TcpProxy], sqlstate: str, message: str
) -> None:
    stores, proxy = pg_stores_via_proxy
    async with app_over(stores) as app, RefusingPostgres(sqlstate, message) as refusing:
        cookie, refresh_token = await signed_in(app)
        await proxy.stop()
        proxy.target = ("127.0.0.1", refusing.port)
        await proxy.start()
        await assert_all_unavailable(app, cookie, refresh_token)
        body = (await app.health()).json()
        assert body == {"status": "unavailable", "stores": {"database": "unavailable"}}
        await proxy.stop()
        proxy.target = ("127.0.0.1", asyncpg_port())
        await proxy.start()
        await until_healthy(app)
        await assert_works_again(app, cookie)
        # The refresh token that met the outage is still good: it was never "invalid".
        assert (await app.refresh_grant(refresh_token)).status_code == 200


async def test_postgresql_closed_port_is_503(pg_stores_via_proxy: tuple[Stores, TcpProxy]) -> None:
    stores, proxy = pg_stores_via_proxy
    async with app_over(stores) as app:
        cookie, refresh_token = await signed_in(app)
        await proxy.stop()  # nothing listens: connections are refused
        await assert_all_unavailable(app, cookie, refresh_token)
        await proxy.start()
        await until_healthy(app)
        await assert_works_again(app, cookie)


async def test_postgresql_connections_terminated_are_503_then_recover() -> None:
    schema = await pg_schema()
    await pg_truncate(schema)
    stores = await open_sql_stores(POSTGRES_URL, schema=schema)
    backends: set[int] = set()

    def remember_pid(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        backends.add(cursor.fetchone()[0])
        cursor.close()

    engine = stores.users._db.engine  # type: ignore[attr-defined]
    event.listen(engine.sync_engine, "connect", remember_pid)
    async with app_over(stores) as app:
        cookie, refresh_token = await signed_in(app)
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            for what, call in (
                ("/health", app.health),
                ("/me", lambda: app.me(cookie)),
                ("POST /session", app.sign_in),
                ("password grant", app.password_grant),
                ("refresh grant", lambda: app.refresh_grant(refresh_token)),
            ):
                await until_healthy(app)
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", list(backends)
                )
                backends.clear()
                # Every pooled connection is dead now: the call that meets one is a 503.
                assert_unavailable(await call(), what)
        finally:
            await admin.close()
        await until_healthy(app)
        await assert_works_again(app, cookie)


async def test_postgresql_table_lock_health_answers_503_within_the_statement_timeout(
    pg_stores_via_proxy: tuple[Stores, TcpProxy],
) -> None:
    stores, _ = pg_stores_via_proxy
    schema = await pg_schema()
    async with app_over(stores) as app:
        assert (await app.health()).status_code == 200
        holder = await asyncpg.connect(POSTGRES_URL)
        try:
            lock = holder.transaction()
            await lock.start()
            await holder.execute(f"LOCK TABLE {schema}.users IN ACCESS EXCLUSIVE MODE")
            # Held 15 s unless the answer comes first; without a statement timeout it would not.
            async with asyncio.timeout(15):
                response = await app.health()
            assert_unavailable(response, "/health")
            assert response.json()["stores"] == {"database": "unavailable"}
            await lock.rollback()
        finally:
            await holder.close()
        await until_healthy(app)


# -- Redis (the rate limits) -----------------------------------------------------------------


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def redis_cli(server: RedisServer, *args: str) -> None:
    subprocess.run(["redis-cli", "-p", str(server.port), *args], capture_output=True, check=False)


async def rate_limited_app(
    tmp_path: Path, redis: RedisServer
) -> contextlib.AbstractAsyncContextManager[App]:
    path = tmp_path / f"{secrets.token_hex(4)}.db"
    await upgrade(f"sqlite:///{path}")
    return app_over(await open_sql_stores(f"sqlite:///{path}"), redis_url=redis.url)


async def test_redis_down_is_503_for_what_is_rate_limited(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    async with await rate_limited_app(tmp_path, redis_server) as app:
        cookie, refresh_token = await signed_in(app)
        redis_server.stop()
        for what, response in (
            ("POST /session", await app.sign_in()),
            ("password grant", await app.password_grant()),
            ("refresh grant", await app.refresh_grant(refresh_token)),
            ("/health", await app.health()),
        ):
            assert_unavailable(response, what)
        body = (await app.health()).json()
        assert body == {
            "status": "unavailable",
            "stores": {"database": "ok", "redis": "unavailable"},
        }
        redis_server.start()
        await until_healthy(app)
        await assert_works_again(app, cookie)


async def test_redis_paused_is_503_before_it_resumes(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    async with await rate_limited_app(tmp_path, redis_server) as app:
        cookie, refresh_token = await signed_in(app)
        redis_cli(redis_server, "CLIENT", "PAUSE", "60000", "ALL")
        try:
            # Each answer arrives while Redis is still paused (it is paused for a minute and
            # unpaused only afterwards), so none of them waited for it.
            for what, call in (
                ("POST /session", app.sign_in),
                ("password grant", app.password_grant),
                ("refresh grant", lambda: app.refresh_grant(refresh_token)),
                ("/health", app.health),
            ):
                async with asyncio.timeout(30):
                    assert_unavailable(await call(), what)
        finally:
            redis_cli(redis_server, "CLIENT", "UNPAUSE")
        await until_healthy(app)
        await assert_works_again(app, cookie)
