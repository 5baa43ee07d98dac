"""The SQL and Redis backends for the contract suite, each test on a clean, isolated store.

- ``sqlite``: a fresh database file per test, copied from one migrated template.
- ``postgresql``: one schema per test session (``aw_test_<random>``), migrated once, every
  table truncated before each test, dropped at the end.

Redis holds no store of the bundle (its event stream is tested on its own, test_redis.py).

The servers come from ``AUTHWISE_TEST_POSTGRES_URL`` / ``AUTHWISE_TEST_REDIS_URL`` (the local
ones by default, as in ``tests/conftest.py``); a server that is missing fails the test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from authwise.storage.sql import open_sql_stores, upgrade
from authwise.storage.sql.schema import metadata

from .faults import RedisClusterServers

POSTGRES_URL = os.environ.get(
    "AUTHWISE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AUTHWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = [t.name for t in metadata.sorted_tables]

_state: dict[str, Any] = {}


def _tmpdir() -> Path:
    if "tmp" not in _state:
        _state["tmp"] = Path(tempfile.mkdtemp(prefix="authwise-storage-"))
    return Path(_state["tmp"])


async def _sqlite_template() -> Path:
    if "sqlite_template" not in _state:
        path = _tmpdir() / "template.db"
        await upgrade(f"sqlite:///{path}")
        _state["sqlite_template"] = path
    return Path(_state["sqlite_template"])


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


async def dump_sqlite(path: Path) -> bytes:
    """The database file and its WAL, raw: freed pages and all."""
    chunks = [p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()]
    return b"".join(chunks)


async def pg_schema() -> str:
    """This test session's PostgreSQL schema, created and migrated on first use."""
    if "pg_schema" not in _state:
        schema = f"aw_test_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()
        await upgrade(POSTGRES_URL, schema=schema)
        _state["pg_schema"] = schema
    return str(_state["pg_schema"])


async def pg_truncate(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        names = ", ".join(f"{schema}.{t}" for t in TABLES)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def dump_pg(schema: str) -> bytes:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = [repr(await conn.fetch(f"SELECT * FROM {schema}.{t}")) for t in TABLES]
    finally:
        await conn.close()
    return "\n".join(rows).encode()


async def dump_redis(client: Any, prefix: str) -> bytes:
    """Every key under ``prefix`` and its whole value, read by type (never DUMP's
    possibly-compressed form)."""
    out: list[bytes] = []
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        kind = (await client.type(key)).decode()
        if kind == "string":
            value: Any = await client.get(key)
        elif kind == "hash":
            value = await client.hgetall(key)
        elif kind == "zset":
            value = await client.zrange(key, 0, -1, withscores=True)
        else:
            value = kind
        out += [key, repr(value).encode()]
    return b"\n".join(out)


async def redis_cleanup(client: Any, prefix: str) -> None:
    # One key per DEL: on a Cluster the keys live in many slots.
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for key in keys:
        await client.delete(key)


def redis_cluster_url() -> str:
    """This test session's throwaway Redis Cluster, started on first use."""
    if "cluster" not in _state:
        servers = RedisClusterServers()
        try:
            servers.start()
        except BaseException:
            servers.cleanup()
            raise
        _state["cluster"] = servers
    return str(_state["cluster"].url)


def drop_everything() -> None:
    """End of session: drop the PostgreSQL schema, stop the Redis Cluster, remove the SQLite
    files."""
    schema = _state.pop("pg_schema", None)
    if schema is not None:

        async def drop() -> None:
            conn = await asyncpg.connect(POSTGRES_URL)
            try:
                await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            finally:
                await conn.close()

        asyncio.run(drop())
    cluster = _state.pop("cluster", None)
    if cluster is not None:
        cluster.cleanup()
    tmp = _state.pop("tmp", None)
    _state.pop("sqlite_template", None)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


def make_backends(backend_type: Any) -> dict[str, Callable[[], AbstractAsyncContextManager[Any]]]:
    """The factories to add to the contract suite's ``BACKENDS`` (``backend_type`` is its
    ``Backend`` class)."""

    @asynccontextmanager
    async def sqlite_backend() -> AsyncIterator[Any]:
        path = _tmpdir() / f"{secrets.token_hex(8)}.db"
        shutil.copyfile(await _sqlite_template(), path)
        stores = await open_sql_stores(sqlite_url(path))
        try:
            yield backend_type("sqlite", stores, lambda: dump_sqlite(path))
        finally:
            await stores.aclose()
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)

    @asynccontextmanager
    async def postgresql_backend() -> AsyncIterator[Any]:
        schema = await pg_schema()
        await pg_truncate(schema)
        stores = await open_sql_stores(POSTGRES_URL, schema=schema)
        try:
            yield backend_type("postgresql", stores, lambda: dump_pg(schema))
        finally:
            await stores.aclose()

    return {
        "sqlite": sqlite_backend,
        "postgresql": postgresql_backend,
    }


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    drop_everything()
