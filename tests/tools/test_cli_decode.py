"""``authwise decode`` and ``authwise lint`` through Typer's runner: exit codes, --json, stdin,
keys and JWKS, and never a traceback or the token in the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from authwise import AccessTokenIssuer, PrivateKey
from authwise.cli import app
from authwise.cli.decode import CliError, fetch_jwks

from .conftest import Site
from .corpus import CORPUS, NOW, b64, good_claims, good_header, make, segment

runner = CliRunner()


def invoke(*args: str, input: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=input)
    # Never a traceback: only clean exits.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def sign(key: PrivateKey, claims: dict[str, Any] | None = None, **header: Any) -> str:
    signing_input = f"{segment(good_header(kid=key.kid, alg=key.alg, **header))}.{segment(claims or good_claims())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def assert_no_token(output: str, token: str) -> None:
    token = token.strip()
    if len(token) >= 16:
        assert token not in output
    for part in token.split("."):
        if len(part) >= 40:
            assert part not in output


@pytest.mark.parametrize(("name", "token", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_every_j_input_gets_structured_json(name: str, token: str, expected: set[str]) -> None:
    result = invoke("decode", "--json", "--now", str(NOW), input=token)
    data = json.loads(result.stdout)
    found = {f["id"] for f in data["findings"]}
    assert expected <= found
    assert data["exit_code"] == result.exit_code
    if data["header"] is None and data["payload"] is None:
        assert result.exit_code == 2
    elif data["summary"]["error"]:
        assert result.exit_code == 1
    else:
        assert result.exit_code == 0
    assert data["verification"]["status"] == "unverified"
    assert_no_token(result.output, token)


def test_decode_human_output(es256: PrivateKey) -> None:
    issuer = AccessTokenIssuer(es256, "https://auth.example.com")
    token = issuer.mint(sub="u1", audience="api", now=NOW)
    result = invoke("decode", "--now", str(NOW + 60), input=token + "\n")
    assert result.exit_code == 0
    out = result.stdout
    assert "UNVERIFIED" in out
    assert "expires in 4 min" in out
    assert "issued 60 s ago" in out
    assert "No findings." in out
    assert '"sub": "u1"' in out
    assert "Header (" in out
    assert "Payload (" in out
    assert f"Token: {len(token)} bytes" in out
    assert_no_token(out, token)


def test_decode_expired_and_findings_table() -> None:
    token = make(payload=good_claims(exp=NOW - 3 * 86400, iat=NOW - 3 * 86400 - 60, password="x"))
    result = invoke("decode", token, "--now", str(NOW))
    assert result.exit_code == 1
    assert "expired 3 days ago" in result.stdout
    assert "secret-claim-name" in result.stdout
    assert "[password]" in result.stdout
    assert "1 error, 1 warning, 0 notes" in result.stdout


def test_decode_reads_stdin_with_dash() -> None:
    result = invoke("decode", "-", "--json", "--now", str(NOW), input=make())
    assert json.loads(result.stdout)["payload"]["sub"] == "user-1"
    assert result.exit_code == 0


def test_nothing_decodable_exits_2() -> None:
    result = invoke("decode", "--now", str(NOW), input="not a token")
    assert result.exit_code == 2
    assert "Nothing in the input could be decoded." in result.stdout
    assert "UNVERIFIED" not in result.stdout


def test_verify_with_jwk_and_pem_files(
    tmp_path: Path, es256: PrivateKey, rs256: PrivateKey
) -> None:
    token = sign(es256)
    jwk = tmp_path / "key.jwk"
    jwk.write_text(json.dumps(es256.public.to_jwk()))
    pem = tmp_path / "key.pem"
    pem.write_bytes(es256.public.to_pem())
    for path in (jwk, pem):
        result = invoke("decode", "--key", str(path), "--json", "--now", str(NOW), input=token)
        data = json.loads(result.stdout)
        assert data["verification"] == {
            "status": "verified",
            "reason": "verified",
            "kid": es256.kid,
        }
        assert result.exit_code == 0
    human = invoke("decode", "--key", str(pem), "--now", str(NOW), input=token)
    assert "VERIFIED with key" in human.stdout
    wrong = tmp_path / "rsa.pem"
    wrong.write_bytes(rs256.public.to_pem())
    result = invoke("decode", "--key", str(wrong), "--now", str(NOW), input=token)
    assert result.exit_code == 1
    assert "FAILED" in result.stdout


def test_verify_with_jwks_file(tmp_path: Path, es256: PrivateKey, ed25519: PrivateKey) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [es256.public.to_jwk(), ed25519.public.to_jwk()]}))
    token = sign(ed25519)
    result = invoke("decode", "--jwks", str(jwks), "--json", "--now", str(NOW), input=token)
    assert json.loads(result.stdout)["verification"]["status"] == "verified"
    # a JWK Set passed to --key works too
    result = invoke("decode", "--key", str(jwks), "--json", "--now", str(NOW), input=token)
    assert json.loads(result.stdout)["verification"]["status"] == "verified"
    forged = (
        token.rsplit(".", 2)[0]
        + "."
        + segment(good_claims(sub="admin"))
        + "."
        + token.rsplit(".", 1)[1]
    )
    result = invoke("decode", "--jwks", str(jwks), "--json", "--now", str(NOW), input=forged)
    assert json.loads(result.stdout)["verification"]["reason"] == "bad_signature"
    assert result.exit_code == 1


def test_verify_with_jwks_url(site: Site, es256: PrivateKey) -> None:
    token = sign(es256)
    url = f"{site.url}/.well-known/jwks.json"
    result = invoke("decode", "--jwks", url, "--json", "--now", str(NOW), input=token)
    assert json.loads(result.stdout)["verification"]["status"] == "verified"
    assert all(token not in path for path in site.requests)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/big-jwks.json", "too_large"),
        ("/redirect-jwks.json", "jwks_fetch_failed"),
        ("/nope", "jwks_fetch_failed"),
    ],
)
def test_jwks_url_failures(site: Site, path: str, code: str) -> None:
    result = invoke("decode", "--jwks", site.url + path, "--json", input=make())
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == code


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://evil.example/jwks.json", "unsafe_url"),
        ("http://[::1", "invalid_url"),
        ("https://127.0.0.1:1/jwks.json", "jwks_fetch_failed"),
    ],
)
def test_jwks_url_refusals(url: str, code: str) -> None:
    result = invoke("decode", "--jwks", url, "--json", input=make())
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == code


def test_fetch_jwks_streams_with_a_cap() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b'{"keys":[]}'))
    assert fetch_jwks("https://auth.example.com/jwks", transport=transport) == b'{"keys":[]}'
    with pytest.raises(CliError):
        fetch_jwks("ftp://auth.example.com/jwks", transport=transport)


def test_token_named_urls_are_never_fetched(
    tmp_path: Path, es256: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # J08: jku/x5u are flagged and no request goes out, even when verifying.
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no outbound request may be made")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    token = sign(es256, jku="https://evil.example/jwks", x5u="http://evil.example/cert")
    key = tmp_path / "key.pem"
    key.write_bytes(es256.public.to_pem())
    result = invoke("decode", "--key", str(key), "--json", "--now", str(NOW), input=token)
    data = json.loads(result.stdout)
    assert [f["path"] for f in data["findings"] if f["id"] == "untrusted-key-header"] == [
        "jku",
        "x5u",
    ]
    assert data["verification"]["status"] == "verified"
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"kty":"oct","k":"c2VjcmV0"}', "invalid_key"),  # J21: symmetric keys
        (b'{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}', "invalid_key"),
        (b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "invalid_key"),
        (b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", "invalid_key"),
        (b"{not json", "invalid_key"),
        (b"ssh-ed25519 AAAA", "invalid_key"),
        (b'{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"small"}]}', "invalid_key"),  # J22
        (b" " * 300_000, "too_large"),
    ],
)
def test_unusable_keys(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    result = invoke("decode", "--key", str(path), "--json", input=make())
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == code
    human = invoke("decode", "--key", str(path), input=make())
    assert human.exit_code == 2
    assert f"error ({code})" in human.stderr


def test_usage_errors(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text("x")
    result = invoke("decode", "--key", str(key), "--jwks", "x.json", "--json", input=make())
    assert json.loads(result.stdout)["error"]["code"] == "usage"
    result = invoke("decode", "--key", str(tmp_path / "missing.pem"), "--json", input=make())
    assert json.loads(result.stdout)["error"]["code"] == "unreadable_file"
    assert result.exit_code == 2


def test_unexpected_errors_are_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    import authwise.cli.decode as module

    def boom(token: str, now: int) -> Any:
        raise RuntimeError("secret detail " + token)

    monkeypatch.setattr(module, "lint_token", boom)
    token = make()
    result = invoke("decode", "--json", input=token)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == {
        "code": "internal",
        "message": "unexpected RuntimeError",
    }
    assert_no_token(result.output, token)


# -- lint ---------------------------------------------------------------------------------------


def test_lint_exit_codes() -> None:
    assert invoke("lint", "--now", str(NOW), input=make()).exit_code == 0
    bad = make(good_header(alg="none"))
    result = invoke("lint", "--now", str(NOW), input=bad)
    assert result.exit_code == 1
    assert "alg-none" in result.stdout
    warning_only = make(good_header(typ="JWT"))
    assert invoke("lint", warning_only, "--now", str(NOW)).exit_code == 0
    assert invoke("lint", "--now", str(NOW), input="a.b.c.d").exit_code == 2


def test_lint_json_has_findings_only() -> None:
    token = make(payload=good_claims(email="ada@example.com"))
    result = invoke("lint", "--json", "--now", str(NOW), input=token)
    data = json.loads(result.stdout)
    assert set(data) == {"findings", "summary", "exit_code"}
    assert data["summary"] == {"error": 0, "warning": 2, "info": 0}
    assert_no_token(result.output, token)


def test_lint_claims_file(tmp_path: Path) -> None:
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(good_claims(roles=[f"r{i}" for i in range(30)])))
    result = invoke("lint", "--claims", str(path), "--json", "--now", str(NOW))
    assert {f["id"] for f in json.loads(result.stdout)["findings"]} == {"many-entries"}
    assert result.exit_code == 0
    path.write_text(json.dumps({"sub": "u", "api_key": "x"}, indent=2))
    result = invoke("lint", "--claims", str(path), "--now", str(NOW))
    assert result.exit_code == 1
    assert "secret-claim-name" in result.stdout
    path.write_text("{")
    assert invoke("lint", "--claims", str(path)).exit_code == 2
    both = invoke("lint", "tok", "--claims", str(path), "--json")
    assert json.loads(both.stdout)["error"]["code"] == "usage"


def test_help_documents_exit_codes() -> None:
    for command in ("decode", "lint"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert "Exit codes" in result.stdout


def test_partly_decodable_tokens_show_what_they_can() -> None:
    h, p, s = make().split(".")
    only_payload = invoke("decode", "--now", str(NOW), input=f"%%%.{p}.{s}")
    assert "Payload (" in only_payload.stdout
    assert "Header (" not in only_payload.stdout
    assert only_payload.exit_code == 1
    only_header = invoke("decode", "--now", str(NOW), input=f"{h}.%%%")
    assert "Header (" in only_header.stdout
    assert "Payload (" not in only_header.stdout
    assert "Signature:" not in only_header.stdout


def test_a_terminal_gets_a_paste_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    from authwise.cli.decode import _read_token

    class Terminal:
        buffer = io.BytesIO(make().encode())

        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    assert _read_token(None) == make()
    assert "Paste the token" in capsys.readouterr().err
