"""``authwise users``: create, list and administer user accounts."""

from __future__ import annotations

import getpass
import sys
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
from authwise.errors import Conflict
from authwise.service import AuthService

__all__ = ["users_app"]

users_app = typer.Typer(help="Create, list and administer user accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        fail("the passwords differ", 2)
    return first


async def _user_id(service: AuthService, username: str) -> str:
    user = await service.get_user_by_username(username)
    if user is None:
        fail(f"no user named {username!r}")
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
    settings = settings_from(config, data_dir, database_url, redis_url)
    password = _read_password(password_stdin)

    async def run(service: AuthService) -> None:
        try:
            user = await service.register(username, password, roles=role or (), tenant=tenant)
        except Conflict:
            fail(f"the username {username!r} is taken")
        roles = " ".join(user.roles) or "-"
        console.print(f"created [bold]{user.username}[/] (id {user.id}) roles: {roles}")

    with_service(settings, run)


@users_app.command("list")
def users_list(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """List user accounts."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
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
                    when(u.created_at),
                )
            if len(page) < 500:
                break
            after = page[-1].username
        console.print(table)

    with_service(settings, run)


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
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        user = await service.set_roles(await _user_id(service, username), roles or ())
        console.print(f"[bold]{user.username}[/] roles: {' '.join(user.roles) or '-'}")

    with_service(settings, run)


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="The account.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Disable a user: every session and refresh family ends and sign-ins fail."""
    settings = settings_from(config, data_dir, database_url, redis_url)

    async def run(service: AuthService) -> None:
        ended = await service.disable_user(await _user_id(service, username))
        console.print(
            f"disabled [bold]{username}[/]: {len(ended.sessions)} session(s) and {len(ended.families)} refresh famil(ies) ended"
        )

    with_service(settings, run)


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="The account.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the new password from the first line of stdin instead of prompting.",
        ),
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseOpt = None,
    redis_url: RedisOpt = None,
) -> None:
    """Set a user's password (a reset: the old one is not asked for). Every session and
    refresh family of the user ends and earlier access tokens stop verifying."""
    settings = settings_from(config, data_dir, database_url, redis_url)
    password = _read_password(password_stdin)

    async def run(service: AuthService) -> None:
        ended = await service.change_password(await _user_id(service, username), password)
        console.print(
            f"password set for [bold]{username}[/]: {len(ended.sessions)} session(s) and {len(ended.families)} refresh famil(ies) ended"
        )

    with_service(settings, run)
