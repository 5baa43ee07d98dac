"""``authwise serve``: run the auth server, after the one-time preparations (the
key-encryption key, the migrations) every worker relies on."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from authwise.cli import app
from authwise.cli._runtime import (
    ConfigOpt,
    DatabaseOpt,
    DataDirOpt,
    RedisOpt,
    console,
    errors,
    fail,
    redact,
    run_async,
    settings_from,
)
from authwise.config import (
    Settings,
    env_name,
    load_key_encryption_key,
    looser_than_private,
    prepare_data_dir,
)

__all__ = ["serve"]


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind [default: 127.0.0.1]", show_default=False)
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to bind [default: 8000]", show_default=False)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (more than one needs --redis-url) [default: 1]",
            show_default=False,
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="uvicorn or granian [default: uvicorn]", show_default=False),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="The origin clients use, e.g. https://auth.example.com (the issuer by default) [default: http://localhost:8000]",
            show_default=False,
        ),
    ] = None,
    registration: Annotated[
        bool | None,
        typer.Option(
            "--registration/--no-registration",
            help="Let anyone create an account with POST /users [default: off]",
            show_default=False,
        ),
    ] = None,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Development on http://localhost: the session cookie drops Secure and the __Host- prefix so browsers and curl send it over plain HTTP.",
        ),
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Run the auth server. On first start it creates the data directory, the database, a
    key-encryption key file (0600) and the signing keys."""
    if server is not None and server not in ("uvicorn", "granian"):
        fail("--server must be uvicorn or granian", 2)
    options = {
        ("server", "host"): host,
        ("server", "port"): port,
        ("server", "workers"): workers,
        ("server", "server"): server,
        ("server", "public_url"): public_url,
        ("server", "registration"): registration,
        ("storage", "data_dir"): data_dir.resolve() if data_dir else None,
        ("storage", "database_url"): database_url,
        ("storage", "redis_url"): redis_url,
        ("cookie", "secure"): False if dev else None,
    }
    # Workers are separate processes: they read the same settings from the environment.
    for (part, name), value in options.items():
        if value is not None:
            os.environ[env_name(part, name)] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    if config is not None:
        os.environ["AUTHWISE_CONFIG"] = str(config.resolve())
    settings = settings_from(None, None, None, None)
    _prepare(settings)
    s = settings.server
    # The public URL is the one that works in a browser (sign-in accepts only the server's own
    # origins); the bind address is what the socket listens on.
    console.print(
        f"[bold]authwise[/] at [cyan]{s.public_url}[/] (listening on {s.host}:{s.port}, "
        f"{s.server}, {s.workers} worker(s)); issuer {settings.issuer}; "
        f"database {redact(settings.storage.database)}",
        soft_wrap=True,
    )
    if s.server == "granian":
        from granian import Granian
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings

        Granian(
            "authwise.server.asgi:application",
            address=s.host,
            port=s.port,
            interface=Interfaces.ASGI,
            workers=s.workers,
            factory=True,
            # Its read buffer bounds the request head (431 beyond it); the body deadline is
            # authwise.server.guards.BodyDeadlineMiddleware.
            http1_settings=HTTP1Settings(
                header_read_timeout=int(s.header_timeout * 1000),
                max_buffer_size=max(s.max_header_bytes, 8192),
            ),
        ).serve()
    else:
        import uvicorn

        from authwise.server.uvicorn_guard import GuardedHttpToolsProtocol

        uvicorn.run(
            "authwise.server.asgi:application",
            factory=True,
            # httptools with a header deadline, a header size cap and a body deadline.
            http=GuardedHttpToolsProtocol,
            host=s.host,
            port=s.port,
            workers=s.workers,
            proxy_headers=s.trust_proxy_headers,
            server_header=False,
            log_level="info",
        )


def _prepare(settings: Settings) -> None:
    """Things to do once before the workers start: the data directory, the key-encryption
    key and migrations."""
    try:
        prepare_data_dir(settings.storage)
        load_key_encryption_key(settings.storage)
    except (OSError, ValueError) as exc:
        fail(str(exc), 2)
    for path, mode in looser_than_private(settings.storage):
        fix = "chmod 700" if path.is_dir() else "chmod 600"
        errors.print(
            f"[yellow]warning:[/] {path} is open to other users (mode {mode:o}); it holds "
            f"password hashes or keys: {fix} it",
            soft_wrap=True,
        )
    if settings.storage.database.startswith("memory:"):
        if settings.server.workers > 1:
            fail("memory:// keeps state in one process: use one worker", 2)
        return
    if settings.server.workers > 1 and not settings.storage.redis_url:
        fail("several workers need --redis-url to share sessions and push revocations", 2)
    from authwise.server.stores import migrate

    run_async(migrate(settings))
