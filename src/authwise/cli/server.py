"""``authwise serve``, ``users``, ``clients``, ``keys`` and ``db``: running the auth server.

Every command reads the same settings as the server (``AUTHWISE_*`` variables, ``--config``
or ``$AUTHWISE_CONFIG``), and the options below override them. Exit codes: 0 on success, 1
when the operation failed (no such user, a store unreachable), 2 for a usage or
configuration error.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from authwise.cli import app
from authwise.config import ConfigError, Settings, env_name, load_key_encryption_key, load_settings
from authwise.core.keys import PrivateKey
from authwise.errors import AuthwiseError, Conflict, StoreUnavailable
from authwise.service import AuthService

__all__ = ["clients_app", "db_app", "keys_app", "users_app"]

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

users_app = typer.Typer(help="Create, list and administer user accounts.", no_args_is_help=True)
clients_app = typer.Typer(
    help="OAuth clients: credentials for introspection and the revocation list.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="The signing key ring: list, rotate, import.", no_args_is_help=True)
db_app = typer.Typer(help="The SQL database schema.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")

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


def _fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _settings(
    config: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    redis_url: str | None,
    **server: Any,
) -> Settings:
    overrides = {
        "storage": {"data_dir": data_dir, "database_url": database_url, "redis_url": redis_url},
        "server": server,
    }
    try:
        return load_settings(config_file=config, overrides=overrides)
    except ConfigError as exc:
        _fail(str(exc), 2)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except StoreUnavailable:
        _fail("the database or Redis cannot be reached")
    except (AuthwiseError, ValueError) as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        _fail(str(detail))


@asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[AuthService]:
    if settings.storage.database.startswith("memory:"):
        _fail(
            "memory:// lives inside one server process; point --database-url at the server's database",
            2,
        )
    from authwise.server.app import build_service

    service = await build_service(settings)
    try:
        await service.start()
        yield service
    finally:
        await service.close(close_stores=True)


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- serve ------------------------------------------------------------------------------------


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
        _fail("--server must be uvicorn or granian", 2)
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
    settings = _settings(None, None, None, None)
    _prepare(settings)
    s = settings.server
    console.print(
        f"[bold]authwise[/] on [cyan]http://{s.host}:{s.port}[/] ({s.server}, {s.workers} worker(s)); "
        f"issuer {settings.issuer}; database {_redact(settings.storage.database)}",
        soft_wrap=True,
    )
    if s.server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        Granian(
            "authwise.server.asgi:application",
            address=s.host,
            port=s.port,
            interface=Interfaces.ASGI,
            workers=s.workers,
            factory=True,
        ).serve()
    else:
        import uvicorn

        uvicorn.run(
            "authwise.server.asgi:application",
            factory=True,
            host=s.host,
            port=s.port,
            workers=s.workers,
            proxy_headers=s.trust_proxy_headers,
            server_header=False,
            log_level="info",
        )


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else url


def _prepare(settings: Settings) -> None:
    """Things to do once before the workers start: the key-encryption key and migrations."""
    try:
        load_key_encryption_key(settings.storage)
    except (OSError, ValueError) as exc:
        _fail(str(exc), 2)
    if settings.storage.database.startswith("memory:"):
        if settings.server.workers > 1:
            _fail("memory:// keeps state in one process: use one worker", 2)
        return
    if settings.server.workers > 1 and not settings.storage.redis_url:
        _fail("several workers need --redis-url to share sessions and push revocations", 2)
    from authwise.server.stores import migrate

    _run(migrate(settings))


# -- users ------------------------------------------------------------------------------------


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        _fail("the passwords differ", 2)
    return first


async def _user_id(service: AuthService, username: str) -> str:
    user = await service.get_user_by_username(username)
    if user is None:
        _fail(f"no user named {username!r}")
    return user.id


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="The new account's username.")],
    role: Annotated[
        list[str] | None, typer.Option("--role", help="A role (repeatable), e.g. --role admin.")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="The account's tenant.")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of stdin instead of prompting.",
        ),
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Create a user account (the password is prompted for, never an argument)."""
    settings = _settings(config, data_dir, database_url, redis_url)
    password = _read_password(password_stdin)

    async def run() -> None:
        async with _service(settings) as service:
            try:
                user = await service.register(username, password, roles=role or (), tenant=tenant)
            except Conflict:
                _fail(f"the username {username!r} is taken")
            roles = " ".join(user.roles) or "-"
            console.print(f"created [bold]{user.username}[/] (id {user.id}) roles: {roles}")

    _run(run())


@users_app.command("list")
def users_list(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """List user accounts."""
    settings = _settings(config, data_dir, database_url, redis_url)

    async def run() -> None:
        async with _service(settings) as service:
            table = Table("username", "id", "roles", "tenant", "status", "created")
            after = None
            while True:
                page = await service.list_users(after=after, limit=500)
                for u in page:
                    table.add_row(
                        u.username,
                        u.id,
                        " ".join(u.roles),
                        u.tenant or "",
                        "disabled" if u.disabled else "active",
                        _when(u.created_at),
                    )
                if len(page) < 500:
                    break
                after = page[-1].username
            console.print(table)

    _run(run())


@users_app.command("set-roles")
def users_set_roles(
    username: Annotated[str, typer.Argument(help="The account.")],
    roles: Annotated[
        list[str] | None,
        typer.Argument(help="The complete new role list (none: remove every role)."),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Replace a user's roles. Sessions see them on their next request; older access tokens
    stop verifying and the next refresh carries the new roles."""
    settings = _settings(config, data_dir, database_url, redis_url)

    async def run() -> None:
        async with _service(settings) as service:
            user = await service.set_roles(await _user_id(service, username), roles or ())
            console.print(f"[bold]{user.username}[/] roles: {' '.join(user.roles) or '-'}")

    _run(run())


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="The account.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Disable a user: every session and refresh family ends and sign-ins fail."""
    settings = _settings(config, data_dir, database_url, redis_url)

    async def run() -> None:
        async with _service(settings) as service:
            ended = await service.disable_user(await _user_id(service, username))
            console.print(
                f"disabled [bold]{username}[/]: {len(ended.sessions)} session(s) and {len(ended.families)} refresh famil(ies) ended"
            )

    _run(run())


# -- clients ----------------------------------------------------------------------------------


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Argument(help="A name for the client, e.g. the service using it.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Create a client for /oauth/introspect and /revocations; prints its secret once."""
    settings = _settings(config, data_dir, database_url, redis_url)

    async def run() -> None:
        async with _service(settings) as service:
            client, secret = await service.create_client(name)
            console.print(f"client_id:     [bold]{client.client_id}[/]")
            console.print(f"client_secret: [bold]{secret}[/]")
            errors.print("[yellow]The secret is shown only now; only its digest is stored.[/]")

    _run(run())


@clients_app.command("list")
def clients_list(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """List clients (never their secrets)."""
    settings = _settings(config, data_dir, database_url, redis_url)

    async def run() -> None:
        async with _service(settings) as service:
            table = Table("client_id", "name", "created")
            for c in await service.list_clients():
                table.add_row(c.client_id, c.name, _when(c.created_at))
            console.print(table)

    _run(run())


# -- keys -------------------------------------------------------------------------------------


def _print_ring(service: AuthService) -> None:
    table = Table("kid", "alg", "state", "since")
    for entry in service.key_ring.entries:
        table.add_row(entry.kid, entry.key.alg, entry.state.value, _when(entry.since))
    console.print(table)


@keys_app.command("list")
def keys_list(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """List the signing keys and their states (next, active, retiring, retired)."""
    settings = _settings(config, data_dir, database_url, redis_url)

    async def run() -> None:
        async with _service(settings) as service:
            _print_ring(service)

    _run(run())


@keys_app.command("rotate")
def keys_rotate(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Hand signing over to the next key now; the old one keeps verifying until its tokens
    have expired."""
    settings = _settings(config, data_dir, database_url, redis_url)

    async def run() -> None:
        async with _service(settings) as service:
            await service.rotate_keys(force=True)
            _print_ring(service)

    _run(run())


@keys_app.command("import")
def keys_import(
    pem_file: Annotated[
        Path,
        typer.Argument(
            help="A PKCS#8 (or traditional) PEM private key: P-256, Ed25519 or RSA >= 2048.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    activate: Annotated[
        bool,
        typer.Option(
            "--activate", help="Sign with it at once (otherwise it is published as the next key)."
        ),
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Bring an existing signing key into the ring, stored encrypted like the others."""
    settings = _settings(config, data_dir, database_url, redis_url)
    data = pem_file.read_bytes()
    password = None
    if b"ENCRYPTED" in data:
        password = getpass.getpass("PEM password: ").encode()
    try:
        key = PrivateKey.from_pem(data, password)
    except AuthwiseError as exc:
        _fail(str(exc.detail or exc.message), 2)

    async def run() -> None:
        async with _service(settings) as service:
            await service.import_key(key, activate=activate)
            _print_ring(service)

    _run(run())


# -- db ---------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Apply the schema migrations to the SQL database (also done on every server start)."""
    settings = _settings(config, data_dir, database_url, None)
    if settings.storage.database.startswith("memory:"):
        _fail("memory:// has no schema to migrate", 2)
    from authwise.server.stores import migrate

    revision = _run(migrate(settings))
    console.print(
        f"database {_redact(settings.storage.database)} is at revision [bold]{revision}[/]"
    )
