"""``authwise clients``: the OAuth clients that may introspect tokens and read the
revocation list."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from authwise.cli import app
from authwise.cli._runtime import (
    ConfigOpt,
    DatabaseOpt,
    DataDirOpt,
    RedisOpt,
    console,
    errors,
    settings_from,
    when,
    with_service,
)
from authwise.service import AuthService

__all__ = ["clients_app"]

clients_app = typer.Typer(
    help="OAuth clients: credentials for introspection and the revocation list.",
    no_args_is_help=True,
)
app.add_typer(clients_app, name="clients")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Argument(help="A name for the client, e.g. the service using it.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Create a client for /oauth/introspect and /revocations; prints its secret once."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        client, secret = await service.create_client(name)
        console.print(f"client_id:     [bold]{client.client_id}[/]")
        console.print(f"client_secret: [bold]{secret}[/]")
        errors.print("[yellow]The secret is shown only now; only its digest is stored.[/]")

    with_service(settings, run)


@clients_app.command("list")
def clients_list(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """List clients (never their secrets)."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        table = Table("client_id", "name", "created")
        for c in await service.list_clients():
            table.add_row(c.client_id, c.name, when(c.created_at))
        console.print(table)

    with_service(settings, run)


@clients_app.command("revoke")
def clients_revoke(
    client_id: Annotated[str, typer.Argument(help="The client's ID (from `clients list`).")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Delete a client: its secret stops working for introspection and the revocation list
    at once, and its open revocation streams close."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        client = await service.revoke_client(client_id)
        console.print(f"revoked client [bold]{client.client_id}[/] ({client.name})")

    with_service(settings, run)


@clients_app.command("rotate-secret")
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The client's ID (from `clients list`).")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Give a client a new secret (printed once); the old one stops working at once."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        client, secret = await service.rotate_client_secret(client_id)
        console.print(f"client_id:     [bold]{client.client_id}[/]")
        console.print(f"client_secret: [bold]{secret}[/]")
        errors.print("[yellow]The secret is shown only now; the old one no longer works.[/]")

    with_service(settings, run)
