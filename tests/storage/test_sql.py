"""SQL backend specifics: URLs, SQLite settings, races across connections, binary digests,
and failing closed when the database goes away (then recovering by itself)."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import inspect, text

from authwise.errors import StoreUnavailable
from authwise.storage.base import Stores
from authwise.storage.sql import Database, normalize_url, open_sql_stores, sql_stores, upgrade

from .backends import POSTGRES_URL, pg_schema, pg_truncate
from .faults import TcpProxy, free_port, until_ok
from .records import digest, family, session, user

CONTENDERS = 4
"""Separate engines (own connections), standing in for separate server processes."""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/a.db", "sqlite+aiosqlite:///var/a.db"),
        ("sqlite+aiosqlite:///a.db", "sqlite+aiosqlite:///a.db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_are_normalised_to_the_async_drivers(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql+psycopg2://u@h/db", "redis://h"])
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        normalize_url(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, str | None]]:
    """A migrated, empty database: ``(url, PostgreSQL schema or None)``."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'authwise.db'}"
        await upgrade(url)
        yield url, None
    else:
        schema = await pg_schema()
        await pg_truncate(schema)
        yield POSTGRES_URL, schema


@pytest.fixture
async def bundles(sql_url: tuple[str, str | None]) -> AsyncIterator[list[Stores]]:
    url, schema = sql_url
    opened = [await open_sql_stores(url, schema=schema) for _ in range(CONTENDERS)]
    yield opened
    for stores in opened:
        await stores.aclose()


async def test_sqlite_runs_wal_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with db.read() as conn:
            pragmas = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
    finally:
        await db.aclose()
    # synchronous: 1 is NORMAL
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "foreign_keys": 1,
        "synchronous": 1,
    }


async def test_sqlite_switching_a_new_file_to_wal_waits_for_another_connection(
    tmp_path: Path,
) -> None:
    """Switching a new file to WAL takes the write lock after reading the header: SQLite fails
    that escalation at once ("database is locked", no busy handler) while another connection
    holds the write lock, as when servers start together on one new file and another one is
    switching it too. The switch waits instead."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")  # a file in the default (rollback) journal mode
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")  # holds the write lock until COMMIT
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    db = Database(f"sqlite:///{path}")
    started = time.monotonic()
    try:
        async with db.read() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    finally:
        await db.aclose()
        other.close()
    assert time.monotonic() - started >= 0.25


async def test_refresh_rotation_race_across_connections(bundles: list[Stores]) -> None:
    await bundles[0].refresh.create(family("f1"), digest("t0"))
    results = await asyncio.gather(
        *(
            bundles[i % CONTENDERS].refresh.rotate("f1", 0, digest(f"t1-{i}"), 1100)
            for i in range(20)
        )
    )
    winners = [i for i, r in enumerate(results) if r is not None]
    assert len(winners) == 1
    for i in range(20):
        found = await bundles[0].refresh.find(digest(f"t1-{i}"))
        assert (found is not None) == (i == winners[0])
    current = await bundles[1].refresh.get("f1")
    assert current is not None
    assert current.generation == 1


async def test_every_generation_is_won_once_under_contention(bundles: list[Stores]) -> None:
    """Ten rounds of five contenders each: the chain advances one generation per round."""
    await bundles[0].refresh.create(family("f1"), digest("g0"))
    for generation in range(10):
        results = await asyncio.gather(
            *(
                bundles[i % CONTENDERS].refresh.rotate(
                    "f1", generation, digest(f"g{generation + 1}-{i}"), 1100 + generation
                )
                for i in range(5)
            )
        )
        assert sum(r is not None for r in results) == 1
    final = await bundles[2].refresh.get("f1")
    assert final is not None
    assert final.generation == 10


async def test_session_rotation_race_across_connections(bundles: list[Stores]) -> None:
    await bundles[0].sessions.create(session("old"))
    results = await asyncio.gather(
        *(
            bundles[i % CONTENDERS].sessions.rotate(
                digest("old"), digest(f"new{i}"), now=1500, expires_at=3300
            )
            for i in range(20)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    listed = await bundles[3].sessions.list_for_user("u-alice")
    assert [s.digest for s in listed] == [winners[0].digest]


async def test_revoke_and_rotate_race_never_leaves_a_live_successor(bundles: list[Stores]) -> None:
    for n in range(10):
        await bundles[0].refresh.create(family(f"f{n}"), digest(f"f{n}-0"))
    revoke = [bundles[i % CONTENDERS].refresh.revoke(f"f{i}", 1050) for i in range(10)]
    rotate = [
        bundles[(i + 1) % CONTENDERS].refresh.rotate(f"f{i}", 0, digest(f"f{i}-1"), 1100)
        for i in range(10)
    ]
    await asyncio.gather(*revoke, *rotate)
    for n in range(10):
        current = await bundles[0].refresh.get(f"f{n}")
        assert current is not None
        assert current.revoked_at == 1050
        # Whichever ran first, nothing can rotate the family any more.
        assert (
            await bundles[0].refresh.rotate(f"f{n}", current.generation, digest("x"), 1200) is None
        )


async def test_secrets_are_stored_as_32_byte_binary_digests(
    bundles: list[Stores], sql_url: tuple[str, str | None]
) -> None:
    stores = bundles[0]
    await stores.sessions.create(session("s1"))
    await stores.refresh.create(family("f1"), digest("t0"))
    db = Database(sql_url[0], schema=sql_url[1])
    try:
        async with db.read() as conn:

            def column_types(sync_conn: object) -> dict[str, str]:
                inspector = inspect(sync_conn)
                return {
                    f"{table}.{col['name']}": str(col["type"])
                    for table, name in (
                        ("sessions", "digest"),
                        ("refresh_tokens", "digest"),
                        ("clients", "secret_digest"),
                    )
                    for col in inspector.get_columns(table)
                    if col["name"] == name
                }

            types = await conn.run_sync(column_types)
            lengths = [
                (await conn.execute(text(f"SELECT length({column}) FROM {table}"))).scalar()
                for table, column in (("sessions", "digest"), ("refresh_tokens", "digest"))
            ]
    finally:
        await db.aclose()
    assert set(types.values()) <= {"BLOB", "BYTEA"}
    assert len(types) == 3
    assert lengths == [32, 32]


async def test_an_unmigrated_database_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    stores = await open_sql_stores(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StoreUnavailable):
            await stores.users.get("u-alice")
    finally:
        await stores.aclose()


async def test_sqlite_in_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    stores = await open_sql_stores(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    try:
        with pytest.raises(StoreUnavailable):
            await stores.sessions.get(digest("s1"))
    finally:
        await stores.aclose()


async def test_postgresql_on_a_closed_port_is_unavailable() -> None:
    stores = await open_sql_stores(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    try:
        with pytest.raises(StoreUnavailable):
            await stores.users.get("u-alice")
        with pytest.raises(StoreUnavailable):
            await stores.refresh.create(family("f1"), digest("t0"))
    finally:
        await stores.aclose()


async def test_postgresql_outage_fails_closed_and_recovers_by_itself() -> None:
    schema = await pg_schema()
    await pg_truncate(schema)
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
    stores = await open_sql_stores(url, schema=schema)
    try:
        await stores.users.create(user("alice"))
        await proxy.stop()
        with pytest.raises(StoreUnavailable):
            await stores.users.get("u-alice")
        with pytest.raises(StoreUnavailable):
            await stores.refresh.create(family("f1"), digest("t0"))
        await proxy.start()
        # The pool notices its dead connections and reconnects without outside help.
        assert await until_ok(lambda: stores.users.get("u-alice")) == user("alice")
        # Nothing of the write that failed during the outage was kept.
        assert await stores.refresh.find(digest("t0")) is None
        await stores.refresh.create(family("f1"), digest("t0"))
        assert await stores.refresh.find(digest("t0")) is not None
    finally:
        await stores.aclose()
        await proxy.stop()


async def test_schema_isolates_deployments_on_one_postgresql() -> None:
    schema = await pg_schema()
    await pg_truncate(schema)
    other = f"aw_test_other_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f"CREATE SCHEMA {other}")
        await upgrade(POSTGRES_URL, schema=other)
        a = await open_sql_stores(POSTGRES_URL, schema=schema)
        b = await open_sql_stores(POSTGRES_URL, schema=other)
        try:
            await a.users.create(user("alice"))
            assert await b.users.get("u-alice") is None
            await b.users.create(user("alice"))
        finally:
            await a.aclose()
            await b.aclose()
    finally:
        await conn.execute(f"DROP SCHEMA {other} CASCADE")
        await conn.close()


_WORKER = """
import asyncio, hashlib, os, sys
from authwise.storage.sql import open_sql_stores

async def main(url, schema, start, index):
    stores = await open_sql_stores(url, schema=schema or None)
    try:
        await stores.refresh.get("f1")  # connected before the start signal
        print("ready", flush=True)
        while not os.path.exists(start):
            await asyncio.sleep(0.002)
        results = await asyncio.gather(*(
            stores.refresh.rotate("f1", 0, hashlib.sha256(f"p{index}-{i}".encode()).digest(), 1100)
            for i in range(5)
        ))
        print("wins", sum(r is not None for r in results), flush=True)
    finally:
        await stores.aclose()

asyncio.run(main(*sys.argv[1:4], int(sys.argv[4])))
"""


async def test_rotation_race_across_processes(
    sql_url: tuple[str, str | None], tmp_path: Path
) -> None:
    """Four server processes, five rotations each, one generation: one winner in all."""
    url, schema = sql_url
    stores = await open_sql_stores(url, schema=schema)
    try:
        await stores.refresh.create(family("f1"), digest("t0"))
        start = tmp_path / "go"
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _WORKER,
                url,
                schema or "",
                str(start),
                str(n),
                stdout=asyncio.subprocess.PIPE,
            )
            for n in range(4)
        ]
        for worker in workers:
            assert worker.stdout is not None
            assert (await worker.stdout.readline()).strip() == b"ready"
        start.touch()
        outputs = [(await worker.communicate())[0].decode().split() for worker in workers]
        assert all(worker.returncode == 0 for worker in workers)
        assert sum(int(out[1]) for out in outputs) == 1
        current = await stores.refresh.get("f1")
        assert current is not None
        assert current.generation == 1
    finally:
        await stores.aclose()


async def test_sqlite_sheds_load_instead_of_queueing_without_bound(tmp_path: Path) -> None:
    """Another process holds the write lock: the one connection waits in a write for the busy
    timeout, a read queued behind it gives up after ``queue_timeout``, and a call beyond
    ``queue_limit`` waiting ones is refused at once. Every one of them is StoreUnavailable,
    and each is decided while the write still waits (no answer is a late one)."""
    path = tmp_path / "shed.db"
    await upgrade(f"sqlite:///{path}")
    db = Database(f"sqlite:///{path}", busy_timeout_ms=5000, queue_timeout=0.2, queue_limit=1)
    stores = sql_stores(db)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        writer = asyncio.create_task(stores.users.create(user("alice")))
        await asyncio.sleep(0.05)  # the write holds the connection, waiting for the lock
        queued = asyncio.create_task(stores.users.get("u-alice"))
        await asyncio.sleep(0)
        with pytest.raises(StoreUnavailable, match="busy"):
            await stores.users.get("u-bob")  # a third caller: past the queue limit
        with pytest.raises(StoreUnavailable):
            await queued  # gave up waiting for the connection
        assert not writer.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    await writer  # the lock is free: the write goes through after all
    assert await stores.users.get("u-alice") is not None
    await stores.aclose()


async def test_postgresql_statement_timeout_is_unavailable() -> None:
    schema = await pg_schema()
    await pg_truncate(schema)
    db = Database(POSTGRES_URL, schema=schema, statement_timeout=0.2)
    try:
        async with db.read() as conn:
            assert await conn.scalar(text("SHOW statement_timeout")) == "200ms"
        with pytest.raises(StoreUnavailable, match="QueryCanceled"):
            async with db.read() as conn:
                await conn.execute(text("SELECT pg_sleep(5)"))
        async with db.read() as conn:  # the connection is fine afterwards
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await db.aclose()
