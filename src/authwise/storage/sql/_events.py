"""The event log in SQL: the ``events`` table, numbered from ``event_counter``, and the
cheapest way each database has to tell a reader that it grew.

- Appending takes the counter row's lock (an upsert ``... RETURNING``) and holds it until the
  writing transaction commits, so numbers are dense and follow commit order. Writers of events
  serialise on that row for the few statements that remain of their transaction: the service
  appends last.
- SQLite wakes readers through ``PRAGMA data_version`` on a connection of their own, which
  changes whenever another connection (in this process or another) commits. On Linux it is
  asked when inotify says a file of the database's directory was written (the WAL, on every
  commit), so an idle reader costs nothing; elsewhere it is polled every few milliseconds.
- PostgreSQL wakes them with ``NOTIFY`` (sent by the writing transaction, delivered at commit)
  on a ``LISTEN`` connection of their own; the table stays the truth, so a lost notification
  costs at most one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping

from authwise.storage.base import Event, EventKind, LogEntry, ReceiverCursor
from authwise.storage.sql._engine import SqlStore
from authwise.storage.sql.schema import event_counter, events, receivers

__all__ = ["SqlEventLog", "SqlReceiverStore"]

log = logging.getLogger("authwise.storage")

SQLITE_POLL_INTERVAL = 0.005
"""Seconds between two ``PRAGMA data_version`` checks on SQLite."""
_AFTER_WRITE_POLL = 0.1
"""Seconds SQLite's watch polls data_version after inotify reported a write."""
PG_SAFETY_POLL = 1.0
"""On PostgreSQL, readers look at the table at least this often even without a NOTIFY."""


def _entry(row: RowMapping) -> LogEntry:
    return LogEntry(
        row["seq"],
        Event(
            kind=EventKind(row["kind"]),
            at=row["at"],
            id=row["id"],
            user_id=row["user_id"],
            sid=row["sid"],
            jti=row["jti"],
            issuer=row["issuer"],
            not_before=row["not_before"],
            data=orjson.loads(row["data"]),
        ),
    )


class _DirectoryNotify:
    """Linux inotify on the database's directory: a file in it was written (the WAL on every
    commit). The watch costs nothing while nothing happens; ``None`` where inotify is missing."""

    _MASK = 0x00000002 | 0x00000100 | 0x00000080  # IN_MODIFY | IN_CREATE | IN_MOVED_TO

    def __init__(self, directory: str) -> None:
        self.fd = -1
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return
        if libc.inotify_add_watch(fd, os.fsencode(directory), self._MASK) < 0:
            os.close(fd)
            return
        self.fd = fd

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 65536):
                pass

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _SqliteWatch:
    """Wakes on ``PRAGMA data_version``, which changes whenever another connection commits.
    Where inotify works it is asked only when a file of the directory was written; elsewhere
    it is polled every ``interval`` seconds."""

    def __init__(self, path: str, interval: float) -> None:
        # A connection of its own: data_version only changes for commits made elsewhere.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._interval = interval
        self._version = self._read()
        self._notify = _DirectoryNotify(os.path.dirname(os.path.abspath(path)))
        self._written = asyncio.Event()
        if self._notify.fd >= 0:
            asyncio.get_running_loop().add_reader(self._notify.fd, self._on_write)

    def _on_write(self) -> None:
        self._notify.drain()
        self._written.set()

    def _read(self) -> int:
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def _changed(self) -> bool:
        version = self._read()
        if version == self._version:
            return False
        self._version = version
        return True

    async def wait(self, at_most: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + at_most
        polling_until = 0.0
        while not self._changed():
            now = loop.time()
            remaining = deadline - now
            if remaining <= 0:
                return
            if self._notify.fd < 0 or now < polling_until:
                await asyncio.sleep(min(self._interval, remaining))
                continue
            self._written.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._written.wait()
            # A write may come before its commit shows in data_version (the commit's last
            # step goes to the mmapped -shm file, which inotify does not see): poll a moment.
            polling_until = loop.time() + _AFTER_WRITE_POLL

    async def close(self) -> None:
        if self._notify.fd >= 0:
            asyncio.get_running_loop().remove_reader(self._notify.fd)
            self._notify.close()
        self._conn.close()


class _PgWatch:
    def __init__(self, dsn: str, channel: str, safety_poll: float) -> None:
        self._dsn = dsn
        self._channel = channel
        self._safety_poll = safety_poll
        self._conn: Any = None
        self._woken = asyncio.Event()

    def _notified(self, *_args: Any) -> None:
        self._woken.set()

    def _lost(self, *_args: Any) -> None:
        self._conn = None
        self._woken.set()  # notifications may have been missed: read the table

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=5)
        try:
            await conn.add_listener(self._channel, self._notified)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._lost)
        self._conn = conn

    async def wait(self, at_most: float) -> None:
        if self._conn is None or self._conn.is_closed():
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("event log: cannot LISTEN (%s); polling", type(exc).__name__)
                await asyncio.sleep(min(at_most, self._safety_poll))
                return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(at_most, self._safety_poll)):
                await self._woken.wait()
        self._woken.clear()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


class SqlEventLog(SqlStore):
    poll_interval: float = SQLITE_POLL_INTERVAL

    @property
    def channel(self) -> str:
        """The NOTIFY channel: one per schema, so deployments sharing a database stay apart."""
        return f"authwise_events_{self._db.schema or 'public'}"

    async def append(self, events_: Sequence[Event]) -> int:
        if not events_:
            return await self.head()
        async with self._db.begin("event") as conn:
            upsert: Any = sqlite_insert if self._db.is_sqlite else pg_insert
            bump = upsert(event_counter).values(id=1, seq=len(events_))
            bump = bump.on_conflict_do_update(
                index_elements=[event_counter.c.id],
                set_={"seq": event_counter.c.seq + bump.excluded.seq},
            ).returning(event_counter.c.seq)
            last = (await conn.execute(bump)).scalar_one()
            first = last - len(events_) + 1
            await conn.execute(
                insert(events),
                [
                    {
                        "seq": first + i,
                        "id": e.id,
                        "at": e.at,
                        "kind": e.kind.value,
                        "user_id": e.user_id,
                        "sid": e.sid,
                        "jti": e.jti,
                        "issuer": e.issuer,
                        "not_before": e.not_before,
                        "data": orjson.dumps(dict(e.data)).decode(),
                    }
                    for i, e in enumerate(events_)
                ],
            )
            if not self._db.is_sqlite:
                await conn.execute(
                    text("SELECT pg_notify(:channel, :seq)"),
                    {"channel": self.channel, "seq": str(last)},
                )
        return int(last)

    async def read(self, after: int, *, limit: int = 500) -> list[LogEntry]:
        query = select(events).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
        async with self._db.read() as conn:
            return [_entry(row) for row in (await conn.execute(query)).mappings()]

    async def head(self) -> int:
        async with self._db.read() as conn:
            query = select(event_counter.c.seq).where(event_counter.c.id == 1)
            return int((await conn.execute(query)).scalar_one_or_none() or 0)

    async def oldest(self) -> int:
        async with self._db.read(snapshot=True) as conn:
            first = (await conn.execute(select(func.min(events.c.seq)))).scalar_one_or_none()
            if first is not None:
                return int(first)
            query = select(event_counter.c.seq).where(event_counter.c.id == 1)
            return int((await conn.execute(query)).scalar_one_or_none() or 0) + 1

    async def prune(self, before: int) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(delete(events).where(events.c.at < before))
        return int(result.rowcount)

    async def watch(self) -> _SqliteWatch | _PgWatch:
        url = self._db.url
        if self._db.is_sqlite:
            path = url.database
            if not path or path == ":memory:":
                raise ValueError("an in-memory SQLite database cannot be watched")
            return _SqliteWatch(path, self.poll_interval)
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return _PgWatch(dsn, self.channel, PG_SAFETY_POLL)


class SqlReceiverStore(SqlStore):
    async def get(self, client_id: str) -> ReceiverCursor | None:
        query = select(receivers).where(receivers.c.client_id == client_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        return ReceiverCursor(row["position"], frozenset(orjson.loads(row["acked"])))

    async def save(self, client_id: str, cursor: ReceiverCursor, *, now: int) -> None:
        upsert: Any = sqlite_insert if self._db.is_sqlite else pg_insert
        values = {
            "position": cursor.position,
            "acked": orjson.dumps(sorted(cursor.acked)).decode(),
            "updated_at": now,
        }
        statement = upsert(receivers).values(client_id=client_id, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[receivers.c.client_id], set_=values
        )
        async with self._db.write() as conn:
            await conn.execute(statement)
