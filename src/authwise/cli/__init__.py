"""The ``authwise`` command line. Each command group lives in its own module and registers
itself on :data:`app`."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="authwise",
    help="authwise: sessions by default, short-lived JWTs when you need them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """authwise: sessions by default, short-lived JWTs when you need them."""


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["advise", "app", "clients", "db", "decode", "keys", "main", "serve", "users"]


# Each module registers its commands on ``app`` when imported, in the order ``--help`` lists
# them (the command groups after the commands, in the order below).
# isort: off
from authwise.cli import advise, decode, serve, users, clients, keys, db  # noqa: E402
# isort: on
