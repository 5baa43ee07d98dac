"""R01 over real HTTP: Redis (sessions, revocations, events, rate limits) goes away under a
running server and comes back. Requests fail closed with a clear 503, and the server recovers
by itself. The Redis is a private one on a free port, so the shared server is never touched."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

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
            assert httpx.get(f"{live.url}/health").json() == {"status": "unavailable"}
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
