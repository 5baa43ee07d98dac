"""E01 and E02 over real processes: a change made by any process (the CLI above all) is
enforced by every running server on its next request, and a verifier that was away gets
every entry it missed, in order, once.

The CLI commits its change with its event and exits; a server applies the event from the log
(SQLite: ``data_version``; PostgreSQL: ``NOTIFY``) before the test's next request reaches it.
Nothing here waits for a cache to expire: the session caches of these servers live 60 s.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from authwise import KeySet
from authwise.core.jws import decode_unverified
from authwise.core.secevent import decode_security_event

from .live import AUTHWISE, LiveServer, live_server
from .sse import messages, open_stream
from .test_durability import scale_out  # noqa: F401 - a fixture

PASSWORD = "correct horse battery staple"
LONG_CACHE = {"AUTHWISE_SESSIONS_CACHE_TTL": "60"}


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(AUTHWISE), *args], input=stdin, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


class Person:
    """One user as a browser (cookie) and as an API client (a token minted before a change)."""

    def __init__(self, url: str, username: str) -> None:
        self.browser = httpx.Client(base_url=url)
        signed_in = self.browser.post("/session", json={"username": username, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        self.browser.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
        tokens = httpx.post(
            f"{url}/oauth/token",
            data={"grant_type": "password", "username": username, "password": PASSWORD},
        )
        assert tokens.status_code == 200, tokens.text
        self.token = tokens.json()["access_token"]
        self.sub = self.browser.get("/me").json()["sub"]

    def me_by_cookie(self, url: str) -> httpx.Response:
        return self.browser.get(f"{url}/me")

    def me_by_token(self, url: str) -> httpx.Response:
        return httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {self.token}"})


def client_credentials(env: dict[str, str]) -> tuple[str, str]:
    out = cli(env, "clients", "create", "verifier").stdout
    client_id = re.search(r"client_id:\s+(\S+)", out)
    secret = re.search(r"client_secret:\s+(aw_cs_\S+)", out)
    assert client_id is not None
    assert secret is not None
    return client_id.group(1), secret.group(1)


def introspect(url: str, auth: tuple[str, str], token: str) -> dict[str, object]:
    r = httpx.post(f"{url}/oauth/introspect", data={"token": token}, auth=auth)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def check_cli_changes_reach(servers: list[LiveServer]) -> None:
    env = dict(servers[0].env)
    cli(env, "users", "create", "alice", "--role", "reader", "--password-stdin", stdin=PASSWORD)
    cli(env, "users", "create", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    cli(env, "users", "create", "carol", "--password-stdin", stdin=PASSWORD)
    auth = client_credentials(env)
    first = servers[0].url
    alice, boss, carol = Person(first, "alice"), Person(first, "boss"), Person(first, "carol")
    carol_id = carol.sub
    for live in servers:  # every server has both of them cached
        assert alice.me_by_cookie(live.url).json()["roles"] == ["reader"]
        assert alice.me_by_token(live.url).json()["roles"] == ["reader"]
        assert introspect(live.url, auth, alice.token)["active"] is True
        assert boss.browser.get(f"{live.url}/admin/users").status_code == 200

    cli(env, "users", "set-roles", "alice", "auditor")
    for live in servers:
        assert alice.me_by_cookie(live.url).json()["roles"] == ["auditor"]
        assert alice.me_by_token(live.url).status_code == 401
        assert introspect(live.url, auth, alice.token) == {"active": False}

    # An admin demoted from the CLI loses the admin API at once, by cookie and by token.
    cli(env, "users", "set-roles", "boss", "viewer")
    for live in servers:
        assert boss.browser.get(f"{live.url}/admin/users").status_code == 403
        r = httpx.patch(
            f"{live.url}/admin/users/{carol_id}",
            json={"disabled": True},
            headers={"Authorization": f"Bearer {boss.token}"},
        )
        assert r.status_code == 401

    cli(env, "users", "disable", "alice")
    for live in servers:
        assert alice.me_by_cookie(live.url).status_code == 401
        assert introspect(live.url, auth, alice.token) == {"active": False}
    # A signing key retired from the CLI: its tokens are refused and it leaves every JWKS.
    kid = decode_unverified(carol.token).header["kid"]
    assert carol.me_by_token(first).status_code == 200
    cli(env, "keys", "retire", kid, "--now")
    for live in servers:
        assert carol.me_by_token(live.url).status_code == 401
        jwks = httpx.get(f"{live.url}/.well-known/jwks.json").json()
        assert kid not in [k["kid"] for k in jwks["keys"]]
    for person in (alice, boss, carol):
        person.browser.close()


def test_e01_cli_changes_reach_the_running_server_at_once(tmp_path: Path) -> None:
    with live_server(tmp_path / "data", "--dev", env=LONG_CACHE) as live:
        check_cli_changes_reach([live])


def test_e01_two_servers_on_postgresql_and_redis_and_the_cli(
    tmp_path: Path,
    scale_out: dict[str, str],  # noqa: F811 - the fixture
) -> None:
    env = {**scale_out, **LONG_CACHE, "AUTHWISE_SERVER_PUBLIC_URL": "http://localhost:8000"}
    with ExitStack() as stack:
        servers = [
            stack.enter_context(live_server(tmp_path / "data", "--dev", env=env)) for _ in range(2)
        ]
        check_cli_changes_reach(servers)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", "--dev", "--registration") as live:
        yield live


def revoke_everything(live: LiveServer, usernames: list[str]) -> None:
    """One event per user (log out everywhere, through the admin API)."""
    admin = Person(live.url, "root")
    users = {u["username"]: u["id"] for u in admin.browser.get("/admin/users").json()["users"]}
    for name in usernames:
        assert admin.browser.post(f"/admin/users/{users[name]}/revoke").status_code == 200
    admin.browser.close()


def set_events(live: LiveServer, auth: tuple[str, str], **kw: int) -> list[tuple[int, object]]:
    """Every SET the stream sends until its first heartbeat: (seq, decoded event)."""
    keys = KeySet.from_jwks(httpx.get(f"{live.url}/.well-known/jwks.json").json())
    issuer = live.url.replace("127.0.0.1", "localhost")
    client, stream = open_stream(live.url, auth, **kw)
    found: list[tuple[int, object]] = []
    try:
        assert stream.status_code == 200
        for message in messages(stream.iter_lines()):
            if message.event == "heartbeat":
                break
            if message.event == "reset":
                found.append((0, "reset"))
            elif message.event == "set":
                assert message.id is not None
                event = decode_security_event(
                    message.data, keys=keys, issuer=issuer, audience=auth[0]
                )
                found.append((int(message.id), event))
    finally:
        stream.close()
        client.close()
    return found


def test_e02_a_reconnecting_verifier_gets_what_it_missed_in_order_once(live: LiveServer) -> None:
    env = dict(live.env)
    cli(env, "users", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    names = [f"user{i}" for i in range(6)]
    for name in names:
        cli(env, "users", "create", name, "--password-stdin", stdin=PASSWORD)
    auth = client_credentials(env)
    revoke_everything(live, names[:3])
    seen = set_events(live, auth)
    assert seen[0] == (0, "reset")  # a first connection: the whole retained log
    position = seen[-1][0]
    # Away while three more changes happen; back with Last-Event-ID.
    revoke_everything(live, names[3:])
    missed = set_events(live, auth, last_event_id=position)
    assert [seq for seq, _ in missed] == sorted(seq for seq, _ in missed)
    assert all(seq > position for seq, _ in missed)
    users = {getattr(e, "user_id", None) for _, e in missed}
    root = Person(live.url, "root")
    mine = {u["username"]: u["id"] for u in root.browser.get("/admin/users").json()["users"]}
    root.browser.close()
    assert {mine[n] for n in names[3:]} <= users
    assert not {mine[n] for n in names[:3]} & users  # nothing sent twice
    kinds = [getattr(e, "kind", None) for _, e in missed]
    assert kinds.count("sessions_revoked") == 3


def test_e02_a_verifier_past_the_retention_starts_over(live: LiveServer) -> None:
    env = dict(live.env)
    cli(env, "users", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    for name in ("dora", "egon"):
        cli(env, "users", "create", name, "--password-stdin", stdin=PASSWORD)
    auth = client_credentials(env)
    revoke_everything(live, ["dora"])
    position = set_events(live, auth)[-1][0]
    revoke_everything(live, ["egon"])
    revoke_everything(live, ["egon"])
    # The retention passes: the entries up to and just past the verifier's position go.
    with sqlite3.connect(live.data_dir / "authwise.db") as db:
        db.execute("DELETE FROM events WHERE seq <= ?", (position + 1,))
    again = set_events(live, auth, last_event_id=position)
    assert again[0] == (0, "reset")
    seqs = [seq for seq, _ in again[1:]]
    assert seqs == sorted(seqs)
    assert position + 2 in seqs
    assert min(seqs) > position + 1


def test_e04_sigkill_never_leaves_a_change_without_its_event(tmp_path: Path) -> None:
    """Role changes through the admin API while the server is killed (SIGKILL): afterwards
    every acknowledged change has its entry in the log, every entry's change is in the users
    table, and the last entry says what the table says."""
    data = tmp_path / "data"
    with live_server(data, "--dev") as live:
        env = dict(live.env)
        cli(env, "users", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
        cli(env, "users", "create", "alice", "--password-stdin", stdin=PASSWORD)
        admin = Person(live.url, "root")
        users = admin.browser.get("/admin/users").json()["users"]
        alice_id = next(u["id"] for u in users if u["username"] == "alice")
        acknowledged: list[str] = []
        sent: list[str] = []

        def hammer() -> None:
            for i in range(100_000):
                role = f"r{i}"
                sent.append(role)
                try:
                    r = admin.browser.patch(f"/admin/users/{alice_id}", json={"roles": [role]})
                except httpx.TransportError:
                    return
                if r.status_code != 200:
                    return
                acknowledged.append(role)

        worker = threading.Thread(target=hammer)
        worker.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 20:
            assert time.monotonic() < deadline, "the server did not keep up"
            time.sleep(0.01)
        assert live.process is not None
        live.process.send_signal(signal.SIGKILL)
        worker.join(30)
        admin.browser.close()
    with sqlite3.connect(data / "authwise.db") as db:
        (roles_json,) = db.execute("SELECT roles FROM users WHERE id = ?", (alice_id,)).fetchone()
        logged = [
            json.loads(row[0])["roles"]
            for row in db.execute(
                "SELECT data FROM events WHERE kind = 'claims_changed' AND user_id = ? "
                "ORDER BY seq",
                (alice_id,),
            )
        ]
    logged_roles = [roles[0] for roles in logged]
    assert set(acknowledged) <= set(logged_roles)
    # At most the one change in flight when the server died committed without an answer.
    assert set(logged_roles) - set(acknowledged) <= set(sent[len(acknowledged) :][:1])
    assert logged[-1] == json.loads(roles_json)
