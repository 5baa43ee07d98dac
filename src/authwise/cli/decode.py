"""``authwise decode`` and ``authwise lint``: what is in a token, and whether it is safe.

Both read the token from stdin when it is ``-`` or absent, so it stays out of shell history.
Neither ever prints the token itself, in output or in errors.

Exit codes (both commands):

- ``0``: decoded, no error findings (and, with ``--key``/``--jwks``, the signature verified);
- ``1``: error findings, or the signature did not verify;
- ``2``: a usage error, an unreadable key or file, or input with nothing decodable in it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import orjson
import typer
from rich.console import Console, Group
from rich.json import JSON
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from authwise.cli import app
from authwise.core._json import loads_object
from authwise.core.inspection import Verification, describe_time, verify_signature
from authwise.core.jwks import MAX_JWKS_BYTES, KeySet
from authwise.core.keys import PublicKey
from authwise.core.lint import MAX_INPUT_BYTES, Report, lint_claims, lint_token
from authwise.errors import AuthwiseError

__all__ = ["decode", "lint"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_FETCH_TIMEOUT = 5.0
_REASONS = {
    "verified": "signature verified",
    "malformed": "not a strict compact JWS: nothing to verify",
    "alg_refused": "alg none and HMAC are never accepted",
    "unknown_key": "no trusted key has this kid",
    "alg_mismatch": "the token's alg is not the key's algorithm",
    "bad_signature": "the signature does not match: tampered with, or another key",
}
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_LATEST_DATE = 253402300799  # 9999-12-31T23:59:59Z


class CliError(Exception):
    """A usage or input problem: a machine code and a message that names no secret."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


TokenArg = Annotated[
    str | None,
    typer.Argument(
        help="The token, or - (the default) to read it from stdin and keep it out of history.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
NowOpt = Annotated[
    int | None,
    typer.Option("--now", help="Judge times as of this Unix time (default: now).", min=0),
]


# -- input ------------------------------------------------------------------------------------


def _read_capped(stream: Any, limit: int) -> bytes:
    data = stream.read(limit + 1)
    return data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)


def _read_token(token: str | None) -> str:
    if token is not None and token != "-":  # noqa: S105 - "-" means stdin
        return token
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    if sys.stdin.isatty():
        typer.echo("Paste the token, then press Ctrl-D.", err=True)
    # Read a little past the cap so the linter can say "too large" without reading it all.
    return _read_capped(stream, MAX_INPUT_BYTES * 2).decode("utf-8", "replace")


def _read_file(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise CliError("unreadable_file", f"cannot read the {what} file: {exc.strerror}") from None
    if len(data) > limit:
        raise CliError("too_large", f"the {what} file is over {limit} bytes")
    return data


def _keys_from_bytes(data: bytes) -> KeySet:
    text = data.strip()
    if text.startswith(b"{"):
        try:
            document = loads_object(text)
        except AuthwiseError:
            raise CliError("invalid_key", "the key is not a valid JSON object") from None
        if "keys" in document:
            return KeySet.from_jwks(document, allow_legacy_eddsa=True)
        return KeySet([PublicKey.from_jwk(document, allow_legacy_eddsa=True)])
    if b"PRIVATE KEY-----" in text:
        raise CliError("invalid_key", "this is a private key: give the public key only")
    if text.startswith(b"-----BEGIN"):
        return KeySet([PublicKey.from_pem(text)])
    raise CliError("invalid_key", "expected a PEM public key, a JWK or a JWK Set")


def fetch_jwks(url: str, *, transport: httpx.BaseTransport | None = None) -> bytes:
    """GET a JWK Set over https (or http on localhost), refusing redirects and large bodies."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise CliError("invalid_url", "the JWKS URL is not a valid URL") from None
    if not (parsed.scheme == "https" or (parsed.scheme == "http" and parsed.host in _LOCAL_HOSTS)):
        raise CliError("unsafe_url", "the JWKS URL must be https (or http on localhost)")
    body = bytearray()
    try:
        with (
            httpx.Client(
                timeout=_FETCH_TIMEOUT, follow_redirects=False, transport=transport
            ) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise CliError("jwks_fetch_failed", f"the JWKS URL answered {response.status_code}")
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise CliError("too_large", f"the JWKS is over {MAX_JWKS_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise CliError(
            "jwks_fetch_failed", f"could not fetch the JWKS ({type(exc).__name__})"
        ) from None
    return bytes(body)


def _load_keys(key: Path | None, jwks: str | None) -> KeySet | None:
    if key is not None and jwks is not None:
        raise CliError("usage", "give --key or --jwks, not both")
    if key is not None:
        return _keys_from_bytes(_read_file(key, MAX_JWKS_BYTES, "key"))
    if jwks is None:
        return None
    if jwks.startswith(("http://", "https://")):
        data = fetch_jwks(jwks)
    else:
        data = _read_file(Path(jwks), MAX_JWKS_BYTES, "JWKS")
    return KeySet.from_jwks(data, allow_legacy_eddsa=True)


# -- output -----------------------------------------------------------------------------------


def _times(payload: dict[str, Any] | None, now: int) -> dict[str, dict[str, Any]]:
    times: dict[str, dict[str, Any]] = {}
    for claim in ("iat", "nbf", "exp"):
        value = (payload or {}).get(claim)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if not 0 <= value <= _LATEST_DATE:
            continue
        date = datetime.fromtimestamp(value, tz=UTC).isoformat().replace("+00:00", "Z")
        times[claim] = {"value": value, "date": date, "relative": describe_time(claim, value, now)}
    return times


def _verification_json(verification: Verification | None) -> dict[str, Any]:
    if verification is None:
        return {"status": "unverified", "reason": None, "kid": None}
    status = "verified" if verification.verified else "failed"
    return {"status": status, "reason": verification.reason, "kid": verification.kid}


def _exit_code(report: Report, verification: Verification | None) -> int:
    if not report.decodable:
        return EXIT_UNUSABLE
    if (verification is not None and not verification.verified) or report.count("error"):
        return EXIT_FINDINGS
    return EXIT_OK


def _report_json(
    report: Report, verification: Verification | None, now: int, *, parts: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if parts:
        data.update(
            header=report.header,
            payload=report.payload,
            signature=None if report.signature is None else {"bytes": len(report.signature)},
            sizes=report.sizes,
            times=_times(report.payload, now),
            verification=_verification_json(verification),
        )
    data["findings"] = [
        {
            "id": f.id,
            "severity": f.severity,
            "message": f.message,
            "reason": f.reason,
            "path": f.path,
        }
        for f in report.findings
    ]
    data["summary"] = {s: report.count(s) for s in ("error", "warning", "info")}
    data["exit_code"] = _exit_code(report, verification)
    return data


def _write_json(data: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _findings_table(report: Report) -> Table | Text:
    if not report.findings:
        return Text("No findings.", style="green")
    table = Table(show_header=True, header_style="bold", expand=True, show_lines=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("finding")
    table.add_column("rule", style="dim", no_wrap=True)
    for f in report.findings:
        what = Text(f.message)
        if f.path:
            what.append(f"  [{f.path}]", style="bold")
        what.append("\n" + f.reason, style="dim")
        table.add_row(Text(f.severity, style=_STYLE[f.severity]), what, Text(f.id))
    return table


def _summary(report: Report) -> Text:
    counts = []
    for severity, word in (("error", "error"), ("warning", "warning"), ("info", "note")):
        n = report.count(severity)
        counts.append(f"{n} {word}{'' if n == 1 else 's'}")
    return Text(", ".join(counts), style="bold red" if report.count("error") else "bold")


def _print_report(
    console: Console, report: Report, verification: Verification | None, now: int
) -> None:
    sizes = report.sizes
    if not report.decodable:
        console.print(Text("Nothing in the input could be decoded.", style="bold red"))
        console.print(_findings_table(report))
        console.print(_summary(report))
        return
    if report.header is not None:
        title = f"Header ({sizes.get('header', 0)} bytes encoded)"
        console.print(Panel(JSON.from_data(report.header), title=title, border_style="magenta"))
    if report.payload is not None:
        title = f"Payload ({sizes.get('payload', 0)} bytes encoded, {sizes.get('payload_json', 0)} bytes of JSON)"
        body: list[Any] = [JSON.from_data(report.payload)]
        for claim, info in _times(report.payload, now).items():
            body.append(Text(f"{claim}: {info['date']} ({info['relative']})", style="dim"))
        console.print(Panel(Group(*body), title=title, border_style="cyan"))
    if report.signature is not None:
        console.print(
            Text(f"Signature: {len(report.signature)} bytes ({sizes.get('signature', 0)} encoded)")
        )
    console.print(Text(f"Token: {sizes.get('token', 0)} bytes"))
    if verification is None:
        console.print(
            Text(
                "UNVERIFIED: anyone can write these claims. Verify with --key or --jwks.",
                style="bold yellow",
            )
        )
    elif verification.verified:
        console.print(Text(f"VERIFIED with key {verification.kid}", style="bold green"))
    else:
        console.print(Text(f"FAILED: {_REASONS[verification.reason]}", style="bold red"))
    console.print(_findings_table(report))
    console.print(_summary(report))


def _fail(error: CliError | AuthwiseError, as_json: bool) -> NoReturn:
    if isinstance(error, CliError):
        code, message = error.code, error.message
    else:
        code, message = error.code, error.detail or error.message
    if as_json:
        _write_json({"error": {"code": code, "message": message}, "exit_code": EXIT_UNUSABLE})
    else:
        typer.echo(f"error ({code}): {message}", err=True)
    raise typer.Exit(EXIT_UNUSABLE)


def _guarded(as_json: bool, run: Callable[[], int]) -> None:
    try:
        code = run()
    except (CliError, AuthwiseError) as exc:
        _fail(exc, as_json)
    except Exception as exc:  # never a traceback, and never the token in one
        _fail(CliError("internal", f"unexpected {type(exc).__name__}"), as_json)
    raise typer.Exit(code)


# -- commands ---------------------------------------------------------------------------------


@app.command()
def decode(
    token: TokenArg = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Verify with this public key (PEM, JWK or JWK Set file)."),
    ] = None,
    jwks: Annotated[
        str | None,
        typer.Option(
            "--jwks",
            help="Verify with this JWK Set: a file, an https URL or an http://localhost URL.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Show a token's header, payload, times and sizes, verify it, and lint it.

    UNVERIFIED unless --key or --jwks names a key you trust; keys and URLs named inside the token are never used.

    Exit codes: 0 clean, 1 error findings or failed verification, 2 usage error or nothing decodable.
    """

    def run() -> int:
        at = int(time.time()) if now is None else now
        keys = _load_keys(key, jwks)
        raw = _read_token(token)
        report = lint_token(raw, at)
        verification = verify_signature(raw, keys) if keys is not None else None
        if as_json:
            _write_json(_report_json(report, verification, at, parts=True))
        else:
            _print_report(Console(highlight=False), report, verification, at)
        return _exit_code(report, verification)

    _guarded(as_json, run)


@app.command()
def lint(
    token: TokenArg = None,
    claims: Annotated[
        Path | None,
        typer.Option("--claims", help="Lint a claim set in a JSON file instead of a token."),
    ] = None,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Lint a token (or a claims JSON file) for CI: exit 1 on any error finding.

    Exit codes: 0 no error findings, 1 error findings, 2 usage error or nothing decodable.
    """

    def run() -> int:
        at = int(time.time()) if now is None else now
        if claims is not None:
            if token is not None:
                raise CliError("usage", "give a token or --claims, not both")
            report = lint_claims(_read_file(claims, MAX_INPUT_BYTES, "claims"), at)
        else:
            report = lint_token(_read_token(token), at)
        if as_json:
            _write_json(_report_json(report, None, at, parts=False))
        else:
            console = Console(highlight=False)
            console.print(_findings_table(report))
            console.print(_summary(report))
        return _exit_code(report, None)

    _guarded(as_json, run)
