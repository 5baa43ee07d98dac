"""Alembic environment for authwise's SQL schema.

Normally driven from Python (:func:`authwise.storage.sql.migrate.upgrade`), which hands over
a connection of the async engine through ``config.attributes["connection"]`` (inside
``AsyncConnection.run_sync``), so no synchronous driver is needed. Run from the ``alembic``
command line, it opens its own async engine from ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from authwise.storage.sql._engine import Database
from authwise.storage.sql.schema import metadata

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    db = Database(config.get_main_option("sqlalchemy.url") or "")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(run_with)
    finally:
        await db.aclose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    run_with(given)
else:
    asyncio.run(run_online())
