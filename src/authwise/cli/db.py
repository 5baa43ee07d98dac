"""``authwise db``: the SQL database schema."""

from __future__ import annotations

import typer

from authwise.cli import app
from authwise.cli._runtime import (
    ConfigOpt,
    DatabaseOpt,
    DataDirOpt,
    console,
    fail,
    redact,
    run_async,
    settings_from,
)

__all__ = ["db_app"]

db_app = typer.Typer(help="The SQL database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Apply the schema migrations to the SQL database (also done on every server start)."""
    settings = settings_from(config, data_dir, database_url, None)
    if settings.storage.database.startswith("memory:"):
        fail("memory:// has no schema to migrate", 2)
    from authwise.server.stores import migrate

    revision = run_async(migrate(settings))
    console.print(
        f"database {redact(settings.storage.database)} is at revision [bold]{revision}[/]"
    )
