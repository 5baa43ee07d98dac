"""One async SQLAlchemy engine per deployment, with authwise's connection rules.

- URLs are normalised to the async drivers: ``sqlite:///p`` becomes ``sqlite+aiosqlite:///p``,
  ``postgresql://`` (and ``postgres://``) becomes ``postgresql+asyncpg://``.
- SQLite runs in WAL mode with ``busy_timeout``, foreign keys and ``synchronous=NORMAL``, over
  a single pooled connection: every statement of this process is serialised through it, and
  multi-statement write transactions start with ``BEGIN IMMEDIATE`` so that a second process
  on the same file waits for the write lock instead of failing half-way through. (A write
  that starts out as a read would fail at once: SQLite does not wait on the busy handler when a
  transaction already holding a read lock asks for the write lock. Switching a file to WAL is
  such an escalation, so the switch is retried instead; see ``_enter_wal``.)
- PostgreSQL runs multi-statement writes at READ COMMITTED: every compare-and-set is one
  ``UPDATE ... WHERE`` whose condition PostgreSQL re-checks on the newest row version, so
  concurrent writers serialise on the row and exactly one of them matches.
- A single statement (most reads and writes: get, touch, a session rotation, a revocation
  upsert) runs without BEGIN/COMMIT around it: it is atomic on its own, and the round trips
  saved are most of its cost. Reads of several statements take a snapshot (REPEATABLE READ).
- Every wait is bounded. PostgreSQL statements run under a ``statement_timeout`` (and the
  driver gives up on a server that stops answering a moment later); SQLite statements wait for
  another process's lock at most the busy timeout. A call waits for a pooled connection at
  most ``queue_timeout``, and when ``queue_limit`` calls are waiting already, a new one is
  refused at once: under overload the answer is an early 503, not a late one.
- Errors leave as the contract's: a unique violation is :class:`Conflict`; a server that cannot
  be reached, refuses connections (starting up, shutting down, out of connections), drops
  them, or does not answer in time is :class:`StoreUnavailable`, whichever layer (socket,
  driver, server) noticed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, func
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import ColumnElement

from authwise.errors import Conflict, StorageError, StoreUnavailable

__all__ = ["Database", "SqlStore", "normalize_url"]

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_MODE = "authwise_mode"
# One statement needs no transaction around it (autocommit: one round trip, not three); a
# snapshot of several reads needs REPEATABLE READ (READ COMMITTED snapshots per statement).
_PG_ISOLATION = {"write": "READ COMMITTED", "single": "AUTOCOMMIT", "snapshot": "REPEATABLE READ"}
SQLITE_BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT_S = 5.0
QUEUE_TIMEOUT_S = 1.5
QUEUE_LIMIT = 64
# How much longer than the server's statement timeout the driver waits for an answer: the
# server cancels first and says so; the driver's own timeout is for a server that went silent.
_DRIVER_MARGIN_S = 1.0
_PG_POOL_SIZE, _PG_OVERFLOW = 10, 10
# SQLSTATEs that mean "the server cannot serve this now", not "this request is wrong":
# classes 08 (connection exception), 53 (insufficient resources: too many connections, disk
# full), 57 (operator intervention: starting up, shutting down, terminated, statement timeout)
# and 58 (system error: I/O), and a lock that could not be had in time. asyncpg reports most
# of them as a plain PostgresError, which SQLAlchemy passes on as a plain DBAPIError.
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_UNAVAILABLE_STATES = frozenset({"55P03", "40P01"})
_WAL_RETRY_FIRST_S = 0.001
_WAL_RETRY_MAX_S = 0.1


def normalize_url(url: str | URL) -> URL:
    """The async-driver form of a SQLite or PostgreSQL URL; ``ValueError`` for anything else."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername!r}")
    return parsed.set(drivername=driver)


def _sqlite_connect(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions on its own: _sqlite_begin says how they start.
    # (WAL is switched on in _sqlite_open, where a busy file can be waited for.)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        f"PRAGMA busy_timeout = {busy_timeout_ms}",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    ):
        cursor.execute(pragma)
    cursor.close()


async def _sqlite_open(path: str, busy_timeout_ms: int) -> Any:
    # A missing directory is refused before aiosqlite starts a thread for it (a failed open
    # leaves that thread to finish on its own).
    if not Path(path).parent.is_dir():
        raise sqlite3.OperationalError("unable to open database file: no such directory")
    conn = await aiosqlite.connect(path, timeout=busy_timeout_ms / 1000)
    try:
        await _enter_wal(conn, busy_timeout_ms)
    except BaseException:
        await conn.close()
        raise
    return conn


async def _enter_wal(conn: aiosqlite.Connection, busy_timeout_ms: int) -> None:
    """``PRAGMA journal_mode = WAL``, retried while the file is busy, as long as the busy
    timeout.

    The switch reads the file's header and, if the file is not in WAL mode yet (a new file),
    rewrites it under the exclusive lock: a read lock escalating to a write lock. While another
    connection holds the write lock, SQLite refuses that at once with SQLITE_BUSY ("database is
    locked") instead of calling the busy handler (waiting could deadlock: the other one may be
    waiting for this read lock to go). Servers starting together on a new file race exactly
    there, each switching it. The first one wins; the others, retrying, find WAL mode and have
    nothing to write (on a file in WAL mode already, the pragma is only a read).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + busy_timeout_ms / 1000
    delay = _WAL_RETRY_FIRST_S
    while True:
        try:
            async with conn.execute("PRAGMA journal_mode = WAL"):
                return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or loop.time() >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, _WAL_RETRY_MAX_S)


def _unavailable_sqlstate(sqlstate: str | None) -> bool:
    """True for a PostgreSQL error code that says the server cannot serve now (retry later)."""
    if not sqlstate:
        return False
    return sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_STATES


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_MODE, "write")
    if mode == "write":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif mode == "snapshot":
        conn.exec_driver_sql("BEGIN")
    # "single": one statement, which SQLite runs in a transaction of its own (a round trip to
    # the driver's thread saved on the hot path).


class Database:
    """The engine, its dialect, and transactions that speak the contract's errors."""

    def __init__(
        self,
        url: str | URL,
        *,
        schema: str | None = None,
        echo: bool = False,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        statement_timeout: float = STATEMENT_TIMEOUT_S,
        queue_timeout: float = QUEUE_TIMEOUT_S,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        """``busy_timeout_ms``: on SQLite, how long a statement waits for another process's
        lock before failing with :class:`StoreUnavailable`. ``statement_timeout``: on
        PostgreSQL, the longest a statement may run (seconds). ``queue_timeout``: how long a
        call waits for a pooled connection; ``queue_limit``: how many calls may wait for one
        at once (more are refused at once). Every limit that is hit raises
        :class:`StoreUnavailable`."""
        if statement_timeout <= 0 or queue_timeout <= 0 or queue_limit < 0:
            raise ValueError("timeouts must be positive and queue_limit not negative")
        self.url = normalize_url(url)
        self.schema = schema
        self.busy_timeout_ms = busy_timeout_ms
        self.statement_timeout = statement_timeout
        self.queue_timeout = queue_timeout
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._create_engine(echo)
        self._closed = False
        # The connection of the unit of work (``transaction``) the current task is in.
        self._ambient: contextvars.ContextVar[AsyncConnection | None] = contextvars.ContextVar(
            f"authwise-db-{id(self)}", default=None
        )
        self._capacity = (1 if self.is_sqlite else _PG_POOL_SIZE + _PG_OVERFLOW) + queue_limit
        self._in_flight = 0

    def _create_engine(self, echo: bool) -> AsyncEngine:
        if self.is_sqlite:
            if self.schema is not None:
                raise ValueError("a schema applies to PostgreSQL only")
            options: dict[str, Any] = {}
            path = self.url.database
            if path not in (None, "", ":memory:"):
                # One connection; nothing is left open on it between calls (a transaction
                # always ends in its own context), so returning it needs no ROLLBACK.
                options = {
                    "pool_size": 1,
                    "max_overflow": 0,
                    "pool_timeout": self.queue_timeout,
                    "pool_reset_on_return": None,
                }
                options["async_creator"] = functools.partial(
                    _sqlite_open, str(path), self.busy_timeout_ms
                )
            engine = create_async_engine(self.url, echo=echo, **options)
            event.listen(
                engine.sync_engine,
                "connect",
                functools.partial(_sqlite_connect, self.busy_timeout_ms),
            )
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
            return engine
        server_settings = {"statement_timeout": str(round(self.statement_timeout * 1000))}
        if self.schema is not None:
            server_settings["search_path"] = self.schema
        connect_args: dict[str, Any] = {
            "timeout": CONNECT_TIMEOUT_S,
            "command_timeout": self.statement_timeout + _DRIVER_MARGIN_S,
            "server_settings": server_settings,
        }
        return create_async_engine(
            self.url,
            echo=echo,
            # No ping per checkout (a round trip on every call): a connection found dead
            # fails that one call with StoreUnavailable and invalidates the pool, so the next
            # call connects afresh; recycling bounds how stale an idle connection gets.
            pool_recycle=300,
            pool_size=_PG_POOL_SIZE,
            max_overflow=_PG_OVERFLOW,
            pool_timeout=self.queue_timeout,
            connect_args=connect_args,
        )

    @contextlib.asynccontextmanager
    async def begin(self, what: str = "") -> AsyncIterator[AsyncConnection]:
        """A write transaction of several statements; ``what`` names the unique value a
        conflict would be about."""
        async with self._connection("write", what) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def write(self, what: str = "") -> AsyncIterator[AsyncConnection]:
        """One write statement, atomic on its own: no BEGIN/COMMIT round trips around it
        (inside a unit of work, a savepoint: a failed statement must not abort the unit)."""
        mode = "single" if self._ambient.get() is None else "write"
        async with self._connection(mode, what) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
        """For reads: one statement, or with ``snapshot`` several that must see one state."""
        async with self._connection("snapshot" if snapshot else "single", "") as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One unit of work: every store call on this database made inside it, in this task,
        runs on one connection in one write transaction, committed at the end (or rolled back
        by an exception). Multi-statement steps inside it become savepoints, so a step that
        fails on its own (a lost compare-and-set) does not abort the rest."""
        if self._ambient.get() is not None:
            yield  # already inside one: the outer unit commits
            return
        async with self._connection("write", "") as conn:
            token = self._ambient.set(conn)
            try:
                yield
            finally:
                self._ambient.reset(token)

    @contextlib.asynccontextmanager
    async def _connection(self, mode: str, what: str) -> AsyncIterator[AsyncConnection]:
        ambient = self._ambient.get()
        if ambient is not None:
            async with self._mapped(what):
                if mode == "write":
                    async with ambient.begin_nested():
                        yield ambient
                else:
                    yield ambient
            return
        # Load shedding: past the pool and a bounded queue, waiting would only make the
        # answer later, not better.
        if self._in_flight >= self._capacity:
            raise StoreUnavailable("database busy: too many calls waiting for a connection")
        self._in_flight += 1
        try:
            async with self._transaction(mode, what) as conn:
                yield conn
        finally:
            self._in_flight -= 1

    @contextlib.asynccontextmanager
    async def _transaction(self, mode: str, what: str) -> AsyncIterator[AsyncConnection]:
        async with self._mapped(what), self.engine.connect() as conn:
            if self.is_sqlite:
                await conn.execution_options(**{_MODE: mode})
                if mode == "single":
                    # The driver autocommits the statement: no COMMIT (nor, with the pool's
                    # reset disabled, ROLLBACK) to send to aiosqlite's thread afterwards.
                    yield conn
                    return
            else:
                await conn.execution_options(isolation_level=_PG_ISOLATION[mode])
            async with conn.begin():
                yield conn

    @contextlib.asynccontextmanager
    async def _mapped(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except IntegrityError as exc:
            raise Conflict(what or "record", "unique constraint violated") from exc
        except (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError) as exc:
            raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable("database connection lost") from exc
            cause = exc.orig.__cause__ if exc.orig is not None else None
            if _unavailable_sqlstate(getattr(exc.orig, "sqlstate", None)):
                name = type(cause).__name__ if cause is not None else type(exc.orig).__name__
                raise StoreUnavailable(f"database unavailable: {name}") from exc
            raise StorageError(f"database error: {type(exc.orig).__name__}") from exc

    def greatest(self, a: Any, b: Any) -> ColumnElement[Any]:
        """``max(a, b)`` of two scalars, in this dialect's spelling."""
        return func.max(a, b) if self.is_sqlite else func.greatest(a, b)

    def binary(self, column: Any) -> Any:
        """``column`` compared by code point, as the memory backend sorts, whatever collation
        the PostgreSQL database was created with."""
        return column if self.is_sqlite else column.collate("C")

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self.engine.dispose()


class SqlStore:
    """Base of every SQL store: they share one :class:`Database`, closed once by whichever
    store of a bundle is closed first."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def aclose(self) -> None:
        await self._db.aclose()
