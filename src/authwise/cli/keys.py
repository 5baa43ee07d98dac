"""``authwise keys``: the signing key ring: list, rotate, import, retire."""

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
    errors,
    fail,
    settings_from,
    when,
    with_service,
)
from authwise.core.keys import PrivateKey
from authwise.errors import AuthwiseError
from authwise.service import AuthService

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="The signing key ring: list, rotate, import, retire.", no_args_is_help=True
)
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


@keys_app.command("retire")
def keys_retire(
    kid: Annotated[str, typer.Argument(help="The key's kid (from `keys list`).")],
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Required: stop trusting the key at once (every token it signed is refused).",
        ),
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Stop trusting a compromised signing key at once: it leaves the JWKS and verification
    in every process, and every access token it signed is refused. An active key hands
    signing over to the next key first. (`keys rotate` is the graceful way.)"""
    if not now:
        fail(
            "retiring refuses every token the key signed; say --now to do it "
            "(or use `keys rotate` to let its tokens expire)",
            2,
        )
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        retired = await service.retire_key(kid)
        console.print(f"retired [bold]{kid}[/] (it was {retired.was.value})")
        if retired.tokens_valid_until is None:
            console.print("It never signed a token: nothing is broken.")
        else:
            console.print(
                f"Every access token signed with it is refused from now on: those it "
                f"signed would have lived until {when(retired.tokens_valid_until)}. Their "
                "holders get 401 and refresh; refresh families are not affected (refresh "
                "tokens are not signed) and their next access token comes from the new key.",
                soft_wrap=True,
            )
        if not settings.storage.redis_url:
            errors.print(
                "[yellow]Without Redis, running servers stop trusting it at their next key "
                "reload (within 30 s).[/]"
            )
        _print_ring(service)

    with_service(settings, run)
