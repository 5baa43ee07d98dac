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


__all__ = ["advise", "app", "decode", "main", "server"]


# Each module registers its commands on ``app`` when imported.
from authwise.cli import advise, decode, server  # noqa: E402
