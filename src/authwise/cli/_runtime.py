"""What the server's commands share: the storage options, reading the settings, opening the
service over them, running it, and reporting failures.

Every command reads the same settings as the server (``AUTHWISE_*`` variables, ``--config``
or ``$AUTHWISE_CONFIG``), and its options override them. Exit codes: 0 on success, 1 when
the operation failed (no such user, a store unreachable), 2 for a usage or configuration
error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from authwise.config import ConfigError, Settings, load_settings
from authwise.errors import AuthwiseError, StoreUnavailable
from authwise.service import AuthService

__all__ = [
    "ConfigOpt",
    "DataDirOpt",
    "DatabaseOpt",
    "RedisOpt",
    "console",
    "errors",
    "fail",
    "open_service",
    "redact",
    "run_async",
    "settings_from",
    "when",
    "with_service",
]

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML settings file (default: $AUTHWISE_CONFIG).", show_default=False
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (SQLite database, key-encryption key) [default: ./data]",
        show_default=False,
    ),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="sqlite:///path, postgresql://... or memory:// [default: SQLite in the data directory]",
        show_default=False,
    ),
]
RedisOpt = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        help="redis://... for sessions, revocations and push (needed for several workers or hosts)",
        show_default=False,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def settings_from(
    config: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    redis_url: str | None,
    **server: Any,
) -> Settings:
    """The settings, with the command's options over the file and the environment."""
    overrides = {
        "storage": {"data_dir": data_dir, "database_url": database_url, "redis_url": redis_url},
        "server": server,
    }
    try:
        return load_settings(config_file=config, overrides=overrides)
    except ConfigError as exc:
        fail(str(exc), 2)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``, turning authwise's errors into a message and exit code 1."""
    try:
        return asyncio.run(coro)
    except StoreUnavailable:
        fail("the database or Redis cannot be reached")
    except (AuthwiseError, ValueError) as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        fail(str(detail))


@asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[AuthService]:
    """A started service over the deployment's stores, closed (stores too) on the way out."""
    if settings.storage.database.startswith("memory:"):
        fail(
            "memory:// lives inside one server process; point --database-url at the server's database",
            2,
        )
    from authwise.server.app import build_service

    service = await build_service(settings)
    try:
        # A command makes its change and exits: the servers apply it from the event log.
        await service.start(follow=False)
        yield service
    finally:
        await service.close(close_stores=True)


def with_service(settings: Settings, action: Callable[[AuthService], Awaitable[T]]) -> T:
    """Run ``action`` on a started service over the deployment's stores, as one command."""

    async def run() -> T:
        async with open_service(settings) as service:
            return await action(service)

    return run_async(run())


def when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def redact(url: str) -> str:
    """``url`` without its credentials, for printing."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else url
