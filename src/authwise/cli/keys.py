"""``authwise keys``: the signing key ring: list, rotate, import."""

from __future__ import annotations

import getpass
from pathlib import Path
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
    fail,
    settings_from,
    when,
    with_service,
)
from authwise.core.keys import PrivateKey
from authwise.errors import AuthwiseError
from authwise.service import AuthService

__all__ = ["keys_app"]

keys_app = typer.Typer(help="The signing key ring: list, rotate, import.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _print_ring(service: AuthService) -> None:
    table = Table("kid", "alg", "state", "since")
    for entry in service.key_ring.entries:
        table.add_row(entry.kid, entry.key.alg, entry.state.value, when(entry.since))
    console.print(table)


@keys_app.command("list")
def keys_list(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """List the signing keys and their states (next, active, retiring, retired)."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        _print_ring(service)

    with_service(settings, run)


@keys_app.command("rotate")
def keys_rotate(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Hand signing over to the next key now; the old one keeps verifying until its tokens
    have expired."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        await service.rotate_keys(force=True)
        _print_ring(service)

    with_service(settings, run)


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
    settings = settings_from(config, data_dir, database_url, redis_url)
    data = pem_file.read_bytes()
    password = None
    if b"ENCRYPTED" in data:
        password = getpass.getpass("PEM password: ").encode()
    try:
        key = PrivateKey.from_pem(data, password)
    except AuthwiseError as exc:
        fail(str(exc.detail or exc.message), 2)

    async def run(service: AuthService) -> None:
        await service.import_key(key, activate=activate)
        _print_ring(service)

    with_service(settings, run)
