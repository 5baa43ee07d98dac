"""The SQL backend: SQLAlchemy Core on SQLite (the embedded default) and PostgreSQL.

    stores = await open_sql_stores("sqlite:///var/authwise.db")    # or postgresql://...
    ...
    await stores.aclose()

The schema is :mod:`authwise.storage.sql.schema`; :func:`upgrade` applies the packaged Alembic
migrations (run it before opening the stores: ``authwise db upgrade`` or the first start).
Every store of the bundle shares one :class:`Database`, so ``stores.transaction()`` spans them
all; the event log (:class:`SqlEventLog`) is what carries a change to every other process.
"""

from __future__ import annotations

from sqlalchemy.engine import URL

from authwise.storage.base import Stores
from authwise.storage.sql._accounts import SqlAuditStore, SqlClientStore, SqlKeyStore, SqlUserStore
from authwise.storage.sql._engine import (
    QUEUE_LIMIT,
    QUEUE_TIMEOUT_S,
    STATEMENT_TIMEOUT_S,
    Database,
    normalize_url,
)
from authwise.storage.sql._events import SqlEventLog, SqlReceiverStore
from authwise.storage.sql._state import SqlRefreshStore, SqlRevocationStore, SqlSessionStore
from authwise.storage.sql.migrate import current_revision, head_revision, upgrade

__all__ = [
    "Database",
    "SqlAuditStore",
    "SqlClientStore",
    "SqlEventLog",
    "SqlKeyStore",
    "SqlReceiverStore",
    "SqlRefreshStore",
    "SqlRevocationStore",
    "SqlSessionStore",
    "SqlUserStore",
    "current_revision",
    "head_revision",
    "normalize_url",
    "open_sql_stores",
    "upgrade",
]


def sql_stores(db: Database) -> Stores:
    """Every store over one :class:`Database` (closing the bundle disposes of its engine)."""
    return Stores(
        users=SqlUserStore(db),
        sessions=SqlSessionStore(db),
        refresh=SqlRefreshStore(db),
        revocations=SqlRevocationStore(db),
        audit=SqlAuditStore(db),
        keys=SqlKeyStore(db),
        clients=SqlClientStore(db),
        log=SqlEventLog(db),
        receivers=SqlReceiverStore(db),
        transaction=db.transaction,
    )


async def open_sql_stores(
    url: str | URL,
    *,
    schema: str | None = None,
    statement_timeout: float = STATEMENT_TIMEOUT_S,
    queue_timeout: float = QUEUE_TIMEOUT_S,
    queue_limit: int = QUEUE_LIMIT,
) -> Stores:
    """Open the stores on the database at ``url``: ``sqlite:///path`` (or
    ``sqlite+aiosqlite:///path``) or ``postgresql://user@host/db`` (``postgres://`` and
    ``postgresql+asyncpg://`` too). ``schema`` selects a PostgreSQL schema (its search path).
    The bounds on waiting (``statement_timeout``, ``queue_timeout``, ``queue_limit``) are
    :class:`Database`'s.

    The schema must be migrated (:func:`upgrade`). Nothing connects until the first call, so
    an unreachable database shows as :class:`~authwise.errors.StoreUnavailable` then.
    """
    return sql_stores(
        Database(
            url,
            schema=schema,
            busy_timeout_ms=round(statement_timeout * 1000),
            statement_timeout=statement_timeout,
            queue_timeout=queue_timeout,
            queue_limit=queue_limit,
        )
    )
