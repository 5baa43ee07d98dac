"""Opening the stores a :class:`~authwise.config.Settings` names.

- ``memory://``: everything in this process (tests, demos; one worker only);
- ``sqlite:///path`` (the default, in the data directory) or ``postgresql://...``: SQL for
  everything, migrated to the newest schema on start;
- plus ``storage.redis_url``: rate-limit counters shared by every process, and a copy of the
  event log as a Redis stream for verifiers (the log itself stays in SQL).
"""

from __future__ import annotations

from pathlib import Path

from authwise.config import Settings
from authwise.storage.base import Stores
from authwise.storage.memory import memory_stores

__all__ = ["StoresUnsupported", "migrate", "open_stores"]


class StoresUnsupported(RuntimeError):
    """A combination of stores that cannot work (e.g. memory with several workers)."""


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    _, _, path = url.partition(":///")
    return Path(path) if path and path != ":memory:" else None


async def migrate(settings: Settings) -> str | None:
    """Bring the SQL database up to the newest schema; the revision now applied (None for
    ``memory://``)."""
    from authwise.storage.sql import current_revision, upgrade

    url = settings.storage.database
    if url.startswith("memory:"):
        return None
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    await upgrade(url)
    return await current_revision(url)


async def open_stores(settings: Settings, *, upgrade: bool = True) -> Stores:
    """The stores for ``storage.database_url`` and ``storage.redis_url``."""
    url = settings.storage.database
    redis_url = settings.storage.redis_url
    if url.startswith("memory:"):
        if settings.server.workers > 1:
            raise StoresUnsupported("memory:// keeps state in one process: use one worker")
        stores = memory_stores()
    else:
        from authwise.storage.sql import open_sql_stores

        if upgrade:
            await migrate(settings)
        storage = settings.storage
        stores = await open_sql_stores(
            url,
            statement_timeout=storage.statement_timeout,
            queue_timeout=storage.queue_timeout,
            queue_limit=storage.queue_limit,
        )
    if settings.server.workers > 1 and not redis_url:
        raise StoresUnsupported(
            "several workers need Redis (--redis-url) to share the sign-in throttle's counters"
        )
    return stores
