"""R01 over real HTTP: Redis (sessions, revocations, events, rate limits) goes away under a
running server and comes back. Requests fail closed with a clear 503, and the server recovers
by itself. The Redis is a private one on a free port, so the shared server is never touched."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import orjson
import redis

from .live import AUTHWISE, free_port, live_server

PASSWORD = "correct horse battery staple"


@contextmanager
def private_redis(port: int) -> Iterator[None]:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _sign_in(url: str) -> httpx.Response:
    return httpx.post(f"{url}/session", json={"username": "ops", "password": PASSWORD}, timeout=10)


def test_r01_redis_outage_fails_closed_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    with private_redis(port):
        data = tmp_path / "data"
        env = {"AUTHWISE_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        with live_server(data, "--dev", env=env) as live:
            created = subprocess.run(
                [str(AUTHWISE), "users", "create", "ops", "--password-stdin"],
                input=PASSWORD + "\n",
                env=dict(live.env),
                capture_output=True,
                text=True,
                check=False,
            )
            assert created.returncode == 0, created.stderr
            assert _sign_in(live.url).status_code == 200
            outage = subprocess.run(
                ["redis-cli", "-p", str(port), "shutdown", "nosave"],
                capture_output=True,
                check=False,
            )
            assert outage.returncode in (0, 1)  # the connection drops as the server exits
            time.sleep(0.2)
            for response in (_sign_in(live.url), httpx.get(f"{live.url}/health", timeout=10)):
                assert response.status_code == 503
                assert response.headers["retry-after"] == "1"
                assert response.headers["content-type"] == "application/json"
                assert "Traceback" not in response.text
            assert httpx.get(f"{live.url}/health").json() == {
                "status": "unavailable",
                "stores": {"database": "ok", "redis": "unavailable"},
            }
            # A change made while Redis is down commits to the log all the same...
            changed = subprocess.run(
                [str(AUTHWISE), "users", "set-roles", "ops", "auditor"],
                env=dict(live.env),
                capture_output=True,
                text=True,
                check=False,
            )
            assert changed.returncode == 0, changed.stderr
            with private_redis(port):
                deadline = time.monotonic() + 10
                while httpx.get(f"{live.url}/health").status_code != 200:
                    assert time.monotonic() < deadline, "did not recover"
                    time.sleep(0.1)
                signed_in = _sign_in(live.url)
                assert signed_in.status_code == 200
                cookie = signed_in.headers["set-cookie"].split(";")[0]
                me = httpx.get(f"{live.url}/me", headers={"Cookie": cookie})
                assert me.status_code == 200
                assert me.json()["username"] == "ops"
                assert me.json()["roles"] == ["auditor"]
                # ...and reaches the stream once Redis is back (an empty one: no persistence),
                # first of what the relay copies, with nothing skipped after it.
                stream: list[tuple[int, str]] = []
                deadline = time.monotonic() + 10
                while not stream:
                    assert time.monotonic() < deadline, "the relay did not catch up"
                    time.sleep(0.1)
                    stream = _stream_kinds(port)
                seqs = [seq for seq, _ in stream]
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
                assert stream[0][1] == "claims_changed"


def _stream_kinds(port: int) -> list[tuple[int, str]]:
    """The Redis stream's entries: (sequence number, event kind)."""
    with redis.Redis(port=port) as conn:
        entries = conn.xrange("aw:events")
    return [
        (int(entry_id.split(b"-")[0]), orjson.loads(fields[b"event"])["kind"])
        for entry_id, fields in entries
    ]


def _eventually(check: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_two_servers_share_stores_and_push_revocations(tmp_path: Path) -> None:
    """Two server processes on one SQLite database and one Redis: a logout, a token revocation
    and a role change made through one are enforced by the other, whose caches had the
    session and the token (R03, through the Redis event bus)."""
    port = free_port()
    with private_redis(port):
        data = tmp_path / "data"
        # One deployment: one public URL (the issuer), whichever process answers.
        env = {
            "AUTHWISE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "AUTHWISE_SERVER_PUBLIC_URL": "http://localhost:8000",
            # Long enough that only the push, not the cache's own expiry, can explain B
            # refusing within the few seconds the test waits.
            "AUTHWISE_SESSIONS_CACHE_TTL": "60",
        }
        with (
            live_server(data, "--dev", env=env) as a,
            live_server(data, "--dev", env=env) as b,
            ExitStack() as stack,
        ):
            for name, roles in (("ops", []), ("boss", ["--role", "admin"])):
                created = subprocess.run(
                    [str(AUTHWISE), "users", "create", name, *roles, "--password-stdin"],
                    input=PASSWORD + "\n",
                    env=dict(a.env),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert created.returncode == 0, created.stderr
            # One browser (one cookie jar: cookies do not keep ports apart) talking to both.
            browser = stack.enter_context(httpx.Client())
            signed_in = browser.post(
                f"{a.url}/session", json={"username": "ops", "password": PASSWORD}
            )
            browser.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
            tokens = httpx.post(
                f"{a.url}/oauth/token",
                data={"grant_type": "password", "username": "ops", "password": PASSWORD},
            ).json()
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert browser.get(f"{b.url}/me").json()["roles"] == []
            assert httpx.get(f"{b.url}/me", headers=bearer).status_code == 200

            admin = stack.enter_context(httpx.Client())
            boss = admin.post(f"{a.url}/session", json={"username": "boss", "password": PASSWORD})
            admin.headers["X-CSRF-Token"] = boss.json()["csrf_token"]
            ops_id = browser.get(f"{b.url}/me").json()["sub"]
            r = admin.patch(f"{a.url}/admin/users/{ops_id}", json={"roles": ["editor"]})
            assert r.status_code == 200
            # B had the session and the token verified in its caches; the push reaches it.
            assert _eventually(lambda: browser.get(f"{b.url}/me").json().get("roles") == ["editor"])
            assert _eventually(lambda: httpx.get(f"{b.url}/me", headers=bearer).status_code == 401)

            session_id = browser.cookies.get("authwise_session")
            assert browser.get(f"{b.url}/me").status_code == 200  # cached by B again
            assert browser.delete(f"{a.url}/session").status_code == 204
            stale = {"Cookie": f"authwise_session={session_id}"}
            assert _eventually(lambda: httpx.get(f"{b.url}/me", headers=stale).status_code == 401)
