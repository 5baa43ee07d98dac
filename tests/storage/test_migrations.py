"""The packaged Alembic migrations: a fresh install gives exactly ``schema.py``, and an
upgrade from the previous revision keeps the data, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, insert, inspect, table
from sqlalchemy.engine import Connection, make_url

from authwise.core.accounts import username_skeleton
from authwise.errors import Conflict
from authwise.storage.base import AuditEvent, AuditKind
from authwise.storage.sql import Database, current_revision, head_revision, open_sql_stores, upgrade
from authwise.storage.sql._engine import SQLITE_BUSY_TIMEOUT_MS
from authwise.storage.sql.migrate import _LOCK
from authwise.storage.sql.schema import metadata

from .backends import POSTGRES_URL
from .records import digest, family, session, user


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, str | None]]:
    """An empty database: ``(url, PostgreSQL schema or None)``."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}", None
        return
    schema = f"aw_test_mig_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        yield POSTGRES_URL, schema
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def inspect_db(url: str, schema: str | None) -> dict[str, Any]:
    def read(conn: Connection) -> dict[str, Any]:
        inspector = inspect(conn)
        return {
            "diff": compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            ),
            "tables": set(inspector.get_table_names()),
            "audit_indexes": {ix["name"] for ix in inspector.get_indexes("audit_events")},
        }

    db = Database(url, schema=schema)
    try:
        async with db.read() as conn:
            return await conn.run_sync(read)
    finally:
        await db.aclose()


def test_the_head_is_the_event_log_revision() -> None:
    assert head_revision() == "0004"


async def test_fresh_install_is_exactly_the_schema(empty: tuple[str, str | None]) -> None:
    url, schema = empty
    assert await current_revision(url, schema=schema) is None
    await upgrade(url, schema=schema)
    assert await current_revision(url, schema=schema) == head_revision()
    found = await inspect_db(url, schema)
    assert found["diff"] == []
    assert found["tables"] == set(metadata.tables) | {"alembic_version"}
    assert "ix_audit_events_user_id_id" in found["audit_indexes"]


async def test_upgrading_twice_changes_nothing(empty: tuple[str, str | None]) -> None:
    url, schema = empty
    await upgrade(url, schema=schema)
    await upgrade(url, schema=schema)
    assert await current_revision(url, schema=schema) == head_revision()
    assert (await inspect_db(url, schema))["diff"] == []


# The users table as revision 0002 left it: no skeleton column, so written by hand.
_USERS_0002 = table(
    "users",
    *(column(name) for name in ("id", "username", "password_hash", "created_at")),
    *(column(name) for name in ("updated_at", "roles", "tenant", "disabled", "not_before")),
)


async def _insert_users_0002(url: str, schema: str | None, *names: str) -> None:
    db = Database(url, schema=schema)
    try:
        for n, name in enumerate(names):
            async with db.write("user") as conn:
                await conn.execute(
                    insert(_USERS_0002).values(
                        id=f"u-{name}",
                        username=name,
                        password_hash=user(name).password_hash,
                        created_at=1000 + n,
                        updated_at=1000 + n,
                        roles='["admin"]' if name == "alice" else "[]",
                        tenant=None,
                        disabled=False,
                        not_before=0,
                    )
                )
    finally:
        await db.aclose()


async def test_upgrade_from_the_previous_revision_keeps_the_data(
    empty: tuple[str, str | None],
) -> None:
    url, schema = empty
    await upgrade(url, revision="0002", schema=schema)
    assert await current_revision(url, schema=schema) == "0002"
    before = await inspect_db(url, schema)
    assert "ix_audit_events_user_id_id" in before["audit_indexes"]

    # The diff at 0002 is exactly what the later revisions add: the usernames' skeletons
    # (0003); the event log, its counter, the poll receivers' cursors and the sessions'
    # replaced IDs (0004).
    def named(d: tuple[Any, ...]) -> tuple[str, str]:
        if d[0] == "add_table":
            return d[0], d[1].name
        if d[0] == "add_column":
            return d[0], f"{d[2]}.{d[3].name}"
        return d[0], d[1].name

    assert sorted(named(d) for d in before["diff"]) == [
        ("add_column", "sessions.previous_digest"),
        ("add_column", "users.skeleton"),
        ("add_index", "ix_events_at"),
        ("add_index", "ix_sessions_previous_digest"),
        ("add_index", "uq_users_skeleton"),
        ("add_table", "event_counter"),
        ("add_table", "events"),
        ("add_table", "receivers"),
    ]

    await _insert_users_0002(url, schema, "alice")
    stores = await open_sql_stores(url, schema=schema)
    try:
        await stores.sessions.create(session("s1"))
        await stores.refresh.create(family("f1"), digest("t0"))
        await stores.refresh.rotate("f1", 0, digest("t1"), 1100)
        for n in range(3):
            await stores.audit.append(
                AuditEvent(at=1000 + n, kind=AuditKind.LOGIN_OK, user_id="u-alice")
            )
    finally:
        await stores.aclose()

    await upgrade(url, schema=schema)
    after = await inspect_db(url, schema)
    assert after["diff"] == []

    stores = await open_sql_stores(url, schema=schema)
    try:
        assert await stores.users.get("u-alice") == user(
            "alice", roles=("admin",), skeleton="alice"
        )
        assert await stores.sessions.get(digest("s1")) == session("s1")
        found = await stores.refresh.find(digest("t0"))
        assert found is not None
        assert (found[0].generation, found[1]) == (1, 0)
        assert [e.at for e in await stores.audit.recent(user_id="u-alice")] == [1002, 1001, 1000]
    finally:
        await stores.aclose()


async def test_the_skeleton_upgrade_keeps_older_look_alikes_and_refuses_new_ones(
    empty: tuple[str, str | None],
) -> None:
    """Accounts made before the rule may already look alike (``admin``, then a Cyrillic
    ``\u0430dmin``): the older keeps the skeleton, the younger none, both stay, and a new
    look-alike of either is refused."""
    url, schema = empty
    await upgrade(url, revision="0002", schema=schema)
    await _insert_users_0002(url, schema, "admin", "\u0430dmin", "bob")
    await upgrade(url, schema=schema)
    stores = await open_sql_stores(url, schema=schema)
    try:
        admin = await stores.users.get("u-admin")
        twin = await stores.users.get("u-\u0430dmin")
        bob = await stores.users.get("u-bob")
        assert admin is not None
        assert twin is not None
        assert bob is not None
        assert (admin.skeleton, twin.skeleton, bob.skeleton) == (
            username_skeleton("admin"),
            None,
            "bob",
        )
        with pytest.raises(Conflict) as info:
            await stores.users.create(user("\u0251dmin", skeleton=username_skeleton("\u0251dmin")))
        assert info.value.what == "username"
        await stores.users.create(user("carol", skeleton="carol"))
    finally:
        await stores.aclose()


async def test_servers_starting_together_all_reach_head(empty: tuple[str, str | None]) -> None:
    url, schema = empty
    await asyncio.gather(*(upgrade(url, schema=schema) for _ in range(4)))
    assert await current_revision(url, schema=schema) == head_revision()
    assert (await inspect_db(url, schema))["diff"] == []


async def test_upgrading_a_database_at_head_waits_for_no_lock(
    empty: tuple[str, str | None],
) -> None:
    """Every server start calls upgrade: on a database at head that is one read, done even
    while another server holds the migration lock (on SQLite, the write lock)."""
    url, schema = empty
    await upgrade(url, schema=schema)
    if schema is None:
        holder = sqlite3.connect(str(make_url(url).database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        # Let go eventually: an upgrade waiting for the lock then fails the assertion below
        # instead of hanging.
        release = asyncio.get_running_loop().call_later(10, holder.rollback)
        try:
            await upgrade(url)
            assert holder.in_transaction
        finally:
            release.cancel()
            holder.close()
    else:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _LOCK)
            await asyncio.wait_for(upgrade(url, schema=schema), 10)
        finally:
            await conn.close()
    assert await current_revision(url, schema=schema) == head_revision()


@pytest.mark.slow
async def test_sqlite_upgrade_outwaits_a_migration_longer_than_the_busy_timeout(
    tmp_path: Path,
) -> None:
    """A server starting while another one migrates waits for the write lock as long as a
    migration may take (an index over a large table), not just a store's busy timeout."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN IMMEDIATE")
    release = asyncio.get_running_loop().call_later(
        SQLITE_BUSY_TIMEOUT_MS / 1000 + 1, holder.rollback
    )
    try:
        await upgrade(f"sqlite:///{path}")
    finally:
        release.cancel()
        holder.close()
    assert await current_revision(f"sqlite:///{path}") == head_revision()
