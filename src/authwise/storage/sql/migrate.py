"""Run the SQL migrations from Python (``authwise db upgrade``, and the server's first start).

The migrations ship inside the package (``migrations/``). Alembic runs on a connection of the
same async engine the stores use, through ``AsyncConnection.run_sync``: no synchronous driver,
and the same connection settings (WAL, foreign keys, the PostgreSQL schema).

Servers starting together may all upgrade at once. A database already at the target revision
is left alone after one read, without taking any lock (every restart does this). Otherwise the
migration runs in one transaction that holds the lock from its first statement: a PostgreSQL
advisory lock, or on SQLite the write lock (``BEGIN IMMEDIATE``, taken through the busy
handler) with a busy timeout long enough for another server's migration to finish; whoever
comes second finds the schema at the target and changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

from authwise.storage.sql._engine import Database

__all__ = ["HEAD", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK = 0x6177_6D69  # "awmi": the advisory lock key held while migrating
HEAD = "head"
MIGRATION_BUSY_TIMEOUT_MS = 300_000
"""On SQLite, how long an upgrade waits for the write lock (another server migrating) before
giving up with StoreUnavailable. A migration holds the lock for as long as it runs (building
an index over a large table takes a while), far longer than a store's 5 s."""


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        rendered = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision this version of authwise ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - the package always ships migrations
    return head


async def upgrade(url: str | URL, *, revision: str = HEAD, schema: str | None = None) -> None:
    """Bring the database at ``url`` (optionally one PostgreSQL ``schema``) up to ``revision``.

    Idempotent: upgrading a database that is already there changes nothing. Raises
    :class:`~authwise.errors.StoreUnavailable` when the database cannot be reached.
    """
    config = alembic_config()
    target = ScriptDirectory.from_config(config).as_revision_number(revision)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    # A migration (and waiting for another server's) may take much longer than a request.
    db = Database(
        url,
        schema=schema,
        busy_timeout_ms=MIGRATION_BUSY_TIMEOUT_MS,
        statement_timeout=MIGRATION_BUSY_TIMEOUT_MS / 1000,
        queue_timeout=MIGRATION_BUSY_TIMEOUT_MS / 1000,
    )
    try:
        async with db.read() as conn:
            if await conn.run_sync(_revision_of) == target:
                return
        async with db.begin() as conn:
            if not db.is_sqlite:
                # Servers starting together would otherwise race to create the same tables;
                # the lock makes the later ones wait and then find the schema at head. (On
                # SQLite, BEGIN IMMEDIATE already serialises them.)
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
            await conn.run_sync(run)
    finally:
        await db.aclose()


async def current_revision(url: str | URL, *, schema: str | None = None) -> str | None:
    """The revision the database is at (None for a database never migrated)."""

    db = Database(url, schema=schema)
    try:
        async with db.read() as conn:
            return await conn.run_sync(_revision_of)
    finally:
        await db.aclose()


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
