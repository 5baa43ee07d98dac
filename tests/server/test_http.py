"""Over real HTTP: ``authwise serve`` as a subprocess on the embedded SQLite default.

PyJWT verifies the server's tokens given only its JWKS URL; the quickstart in
the README quickstart runs as written; the first start creates the data directory and keys.
"""

from __future__ import annotations

import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from authwise import KeySet
from authwise.core.secevent import decode_security_event

from .live import AUTHWISE, REPO, LiveServer, inherited_environ, live_server
from .sse import messages, open_stream

PASSWORD = "correct horse battery staple"
METRICS_TOKEN = "metrics-" + "0123456789abcdef"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("live") / "data"
    with live_server(
        data, "--dev", "--registration", env={"AUTHWISE_SERVER_METRICS_TOKEN": METRICS_TOKEN}
    ) as server:
        yield server


def cli(live: LiveServer, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AUTHWISE), *args],
        input=stdin,
        env=dict(live.env),
        capture_output=True,
        text=True,
        check=False,
    )


def test_first_start_creates_data_dir_database_and_keys(live: LiveServer) -> None:
    kek = live.data_dir / "key-encryption-key"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert (live.data_dir / "authwise.db").exists()
    log = live.log.read_text()
    assert "created a new key-encryption key" in log
    assert kek.read_text().strip() not in log
    keys = httpx.get(f"{live.url}/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 2


def test_pyjwt_verifies_our_access_tokens_from_the_jwks_url_alone(live: LiveServer) -> None:
    r = httpx.post(f"{live.url}/users", json={"username": "pyjwt-user", "password": PASSWORD})
    assert r.status_code == 202
    r = httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "password", "username": "pyjwt-user", "password": PASSWORD},
    )
    assert r.status_code == 200
    access = r.json()["access_token"]
    metadata = httpx.get(f"{live.url}/.well-known/oauth-authorization-server").json()
    jwks_url = metadata["jwks_uri"].replace(metadata["issuer"], live.url)
    signing_key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(access)
    claims = jwt.decode(
        access,
        signing_key.key,
        algorithms=["ES256"],
        audience=metadata["issuer"],
        issuer=metadata["issuer"],
        options={"require": ["exp", "iat", "sub", "aud", "iss"]},
    )
    me = httpx.get(f"{live.url}/me", headers={"Authorization": f"Bearer {access}"}).json()
    assert claims["sub"] == me["sub"]
    assert claims["sid"] == me["sid"]
    assert jwt.get_unverified_header(access)["typ"] == "at+jwt"


def _quickstart_block() -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh quickstart\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1
    return blocks[0]


def test_quickstart_runs_as_written(live: LiveServer, tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(REPO / ".venv")  # the commands name .venv/bin/authwise
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _quickstart_block()],
        cwd=tmp_path,
        env={**live.env, "AUTHWISE_URL": live.url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2:] == ["401", "204"]
    assert '"auth_method":"session"' in result.stdout
    assert '"auth_method":"bearer"' in result.stdout
    assert '"current":true' in result.stdout


def test_cli_admin_reaches_the_running_server(live: LiveServer) -> None:
    created = cli(
        live,
        "users",
        "create",
        "cli-admin",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    listed = cli(live, "users", "list")
    assert "cli-admin" in listed.stdout
    client = cli(live, "clients", "create", "resource-server")
    assert client.returncode == 0
    client_id = re.search(r"client_id:\s+(\S+)", client.stdout)
    secret = re.search(r"client_secret:\s+(aw_cs_\S+)", client.stdout)
    assert client_id
    assert secret
    assert cli(live, "clients", "list").stdout.count(client_id.group(1)) == 1
    assert secret.group(1) not in cli(live, "clients", "list").stdout
    r = httpx.get(f"{live.url}/revocations", auth=(client_id.group(1), secret.group(1)))
    assert r.status_code == 200
    assert cli(live, "users", "disable", "nobody").returncode == 1

    # A role change and a disable, each against a session and an access token minted before:
    # the CLI commits each with its event, and the running server (SQLite, no Redis) applies
    # it from the log before the next request, though the cached session would live 5 s more.
    for name in ("cli-promoted", "cli-disabled"):
        made = cli(
            live,
            "users",
            "create",
            name,
            "--role",
            "reader",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=live.url) as promoted, httpx.Client(base_url=live.url) as disabled:
        promoted_bearer = _sign_in(live, promoted, "cli-promoted")
        disabled_bearer = _sign_in(live, disabled, "cli-disabled")
        for client in (promoted, disabled):
            assert client.get("/me").json()["roles"] == ["reader"]
        cookies_before = dict(promoted.cookies)
        changed = cli(live, "users", "set-roles", "cli-promoted", "editor")
        assert changed.returncode == 0, changed.stderr
        assert cli(live, "users", "disable", "cli-disabled").returncode == 0
        arrived = {
            "promoted session": promoted.get("/me").json().get("roles") == ["editor"],
            "promoted bearer": _me_status(live, promoted_bearer) == 401,
            "disabled session": disabled.get("/me").status_code == 401,
            "disabled bearer": _me_status(live, disabled_bearer) == 401,
        }
        assert all(arrived.values()), arrived
        # The promoted session survives its role change, under a new ID (no fixation).
        assert promoted.get("/me").json()["auth_method"] == "session"
        assert dict(promoted.cookies) != cookies_before


def _sign_in(live: LiveServer, client: httpx.Client, username: str) -> str:
    """Give ``client`` a session cookie for ``username``; a separate access token for them."""
    r = client.post("/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    r = httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    access: str = r.json()["access_token"]
    assert _me_status(live, access) == 200
    return access


def _me_status(live: LiveServer, access: str) -> int:
    return httpx.get(f"{live.url}/me", headers={"Authorization": f"Bearer {access}"}).status_code


def test_uvicorn_answers_with_generic_errors(live: LiveServer) -> None:
    r = httpx.post(
        f"{live.url}/session", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    r = httpx.get(f"{live.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200
    assert "authwise_http_requests_total" in r.text


def test_serve_refuses_bad_configuration(tmp_path: Path) -> None:
    env = {**inherited_environ(), "AUTHWISE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [str(AUTHWISE), "serve", "--public-url", "https://auth.example.com", "--dev"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "development setting" in result.stderr
    result = subprocess.run(
        [str(AUTHWISE), "serve", "--workers", "2", "--database-url", "memory://"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "one worker" in result.stderr


def test_revocation_stream_pushes_new_entries(live: LiveServer) -> None:
    client = cli(live, "clients", "create", "stream-verifier")
    client_id = re.search(r"client_id:\s+(\S+)", client.stdout)
    secret = re.search(r"client_secret:\s+(aw_cs_\S+)", client.stdout)
    assert client_id
    assert secret
    auth = (client_id.group(1), secret.group(1))
    r = httpx.post(f"{live.url}/users", json={"username": "streamed", "password": PASSWORD})
    assert r.status_code == 202
    tokens = httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "password", "username": "streamed", "password": PASSWORD},
    ).json()
    sid = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    headers = {"Accept": "text/event-stream"}
    keys = KeySet.from_jwks(httpx.get(f"{live.url}/.well-known/jwks.json").json())
    client, stream = open_stream(live.url, auth)
    try:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = messages(stream.iter_lines())
        assert next(events).event == "reset"  # no Last-Event-ID: the whole retained log
        assert (
            httpx.post(
                f"{live.url}/oauth/revoke", data={"token": tokens["refresh_token"]}
            ).status_code
            == 200
        )
        issuer = live.url.replace("127.0.0.1", "localhost")
        seen = []
        for message in events:
            if message.event != "set":
                continue
            event = decode_security_event(message.data, keys=keys, issuer=issuer, audience=auth[0])
            assert message.id is not None
            seen.append(int(message.id))
            if (event.kind, event.sid) == ("session_revoked", sid):
                break
        # The retained log came first, in order, then the new entry.
        assert seen == sorted(seen)
        assert len(set(seen)) == len(seen)
    finally:
        stream.close()
        client.close()
    unauthenticated = httpx.get(f"{live.url}/revocations", headers=headers)
    assert unauthenticated.status_code == 401


def test_test_servers_ignore_the_developers_authwise_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Variables from the shell that runs the tests (here: registration on, a database the
    test never asked for) do not reach the servers the tests start."""
    monkeypatch.setenv("AUTHWISE_SERVER_REGISTRATION", "true")
    monkeypatch.setenv("AUTHWISE_DATABASE_URL", "postgresql://developer@localhost:1/theirs")
    monkeypatch.setenv("AUTHWISE_CONFIG", str(tmp_path / "developer.toml"))
    with live_server(tmp_path / "data", "--dev") as server:
        assert not {k for k in server.env if k.startswith("AUTHWISE_")} - {"AUTHWISE_DATA_DIR"}
        r = httpx.post(f"{server.url}/users", json={"username": "x1", "password": PASSWORD})
        assert r.status_code == 404  # registration is off by default
    assert (tmp_path / "data" / "authwise.db").exists()  # the default database, not theirs
