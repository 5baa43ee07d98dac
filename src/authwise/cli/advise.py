"""``authwise advise``: the seed's decision framework as a command.

Every question is also a flag, for scripts. Questions not answered by a flag are asked
interactively (on stderr, so ``--json`` output stays clean) unless ``--no-input`` is given,
in which case their defaults stand: one service, sessions of hours, one backend, same-domain
web clients, no instant revocation, no mid-session permission changes.

Exit codes: 0 advice given, 2 a usage error or an unanswered question.
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.panel import Panel
from rich.prompt import Confirm, IntPrompt, Prompt
from rich.text import Text

from authwise.cli import app
from authwise.core.advise import CLIENTS, SESSION_LENGTHS, Advice, Answers, advise

__all__ = ["advise_command"]

_DEFAULTS = Answers()
_COLOURS = {"sessions": "green", "jwt": "cyan", "hybrid": "magenta"}


def _ask_clients(console: Console) -> list[str]:
    while True:
        raw = Prompt.ask(
            "Which clients do you serve? (comma-separated: web, spa, mobile)",
            default="web",
            console=console,
        )
        clients = [c.strip().lower() for c in raw.split(",") if c.strip()]
        if clients and all(c in CLIENTS for c in clients):
            return clients
        console.print(Text("Answer with web, spa and/or mobile.", style="red"))


def _ask(values: dict[str, Any], console: Console) -> None:
    """Ask every question whose answer is still None."""
    if values["services"] is None:
        values["services"] = IntPrompt.ask(
            "How many independent services must verify a user's identity?",
            default=_DEFAULTS.services,
            console=console,
        )
    if values["session_length"] is None:
        values["session_length"] = Prompt.ask(
            "How long do users stay logged in?",
            choices=list(SESSION_LENGTHS),
            default=_DEFAULTS.session_length,
            console=console,
        )
    if values["backends"] is None:
        values["backends"] = Prompt.ask(
            "Does your app run as one backend, or as many instances or hosts?",
            choices=["one", "many"],
            default=_DEFAULTS.backends,
            console=console,
        )
    if values["cross_domain"] is None:
        values["cross_domain"] = Confirm.ask(
            "Do clients call your API from other domains?", default=False, console=console
        )
    if values["clients"] is None:
        values["clients"] = _ask_clients(console)
    if values["instant_revocation"] is None:
        values["instant_revocation"] = Confirm.ask(
            "Must logging a user out (or banning one) take effect at once?",
            default=False,
            console=console,
        )
    if values["permission_changes"] is None:
        values["permission_changes"] = Confirm.ask(
            "Do roles or permissions change while users are logged in?",
            default=False,
            console=console,
        )


def _print_advice(advice: Advice) -> None:
    console = Console(highlight=False)
    colour = _COLOURS[advice.recommendation]
    console.print(
        Panel(
            Text(advice.decision),
            title=Text(advice.title, style=f"bold {colour}"),
            border_style=colour,
        )
    )
    console.print(Text("Why", style="bold"))
    for reason in advice.reasons:
        line = Text(f"  [{reason.question}] {reason.answer}", style="bold")
        line.append(f" (for {reason.favours}): ", style="dim")
        line.append(reason.text)
        console.print(line)
    console.print(
        Text("Revocation window: ", style="bold").append(advice.revocation_window, style="")
    )
    console.print(Text("authwise configuration (authwise.toml)", style="bold"))
    # Printed verbatim and never wrapped, so it can be copied into authwise.toml as it is.
    console.print(Text(advice.to_dict()["config_toml"]), soft_wrap=True)


@app.command("advise")
def advise_command(
    services: Annotated[
        int | None, typer.Option(help="How many independent services verify identity.", min=1)
    ] = None,
    session_length: Annotated[
        str | None,
        typer.Option(help="How long users stay logged in: minutes, hours, days or weeks."),
    ] = None,
    backends: Annotated[
        str | None, typer.Option(help="one backend, or many instances or hosts.")
    ] = None,
    cross_domain: Annotated[
        bool | None,
        typer.Option("--cross-domain/--same-domain", help="Clients call from other domains."),
    ] = None,
    client: Annotated[
        list[str] | None,
        typer.Option("--client", help="A client you serve: web, spa or mobile (repeatable)."),
    ] = None,
    instant_revocation: Annotated[
        bool | None,
        typer.Option(
            "--instant-revocation/--no-instant-revocation",
            help="Logging out or banning must take effect at once.",
        ),
    ] = None,
    permission_changes: Annotated[
        bool | None,
        typer.Option(
            "--permission-changes/--no-permission-changes",
            help="Roles or permissions change mid-session.",
        ),
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask: unanswered questions take defaults.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Sessions, JWT or the hybrid? Answer the seed's questions and get a configuration."""
    values: dict[str, Any] = {
        "services": services,
        "session_length": session_length,
        "backends": backends,
        "cross_domain": cross_domain,
        "clients": client,
        "instant_revocation": instant_revocation,
        "permission_changes": permission_changes,
    }
    if not no_input:
        try:
            _ask(values, Console(stderr=True, highlight=False))
        except (EOFError, KeyboardInterrupt):
            _usage("a question went unanswered: give it as a flag, or use --no-input", as_json)
    answers = {k: v for k, v in values.items() if v is not None}
    if "clients" in answers:
        answers["clients"] = frozenset(answers["clients"])
    try:
        advice = advise(Answers(**answers))
    except ValueError as exc:
        _usage(str(exc), as_json)
    if as_json:
        typer.echo(orjson.dumps(advice.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_advice(advice)


def _usage(message: str, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(orjson.dumps({"error": {"code": "usage", "message": message}}).decode())
    else:
        typer.echo(f"error (usage): {message}", err=True)
    raise typer.Exit(2)
