"""Issue 16, items 3 and 5: revocations are durable in SQL, so a Redis that loses its data
(or is down) brings no revoked token back, and a revoke never stops half-way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import redis

from .live import create_user, free_port, live_server
from .test_outage import private_redis

PASSWORD = "correct horse battery staple"


def _tokens(url: str) -> dict[str, str]:
    r = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "password", "username": "ops", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


def _me(url: str, access: str) -> int:
    return httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {access}"}).status_code


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        "AUTHWISE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "AUTHWISE_SERVER_PUBLIC_URL": "http://localhost:8000",
    }


def test_16_3_revoked_tokens_stay_revoked_after_redis_loses_its_data(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    with private_redis(port), live_server(data, "--dev", env=_env(tmp_path, port)) as first:
        create_user(first.env, "ops", PASSWORD)
        revoked, kept = _tokens(first.url), _tokens(first.url)
        r = httpx.post(f"{first.url}/oauth/revoke", data={"token": revoked["access_token"]})
        assert r.status_code == 200
        assert _me(first.url, revoked["access_token"]) == 401
        with redis.Redis(port=port) as conn:
            conn.flushall()
        # A server process started after Redis lost everything.
        with live_server(data, "--dev", env=_env(tmp_path, port)) as second:
            assert _me(second.url, revoked["access_token"]) == 401
            assert _me(second.url, kept["access_token"]) == 200
        assert _me(first.url, revoked["access_token"]) == 401


def test_16_5_a_revoke_during_a_redis_outage_completes_everywhere(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    with private_redis(port):
        env = _env(tmp_path, port)
        with live_server(data, "--dev", env=env) as a, live_server(data, "--dev", env=env) as b:
            create_user(a.env, "ops", PASSWORD)
            tokens = _tokens(a.url)
            assert _me(b.url, tokens["access_token"]) == 200
            down = subprocess.run(
                ["redis-cli", "-p", str(port), "shutdown", "nosave"],
                capture_output=True,
                check=False,
            )
            assert down.returncode in (0, 1)
            # Revoking needs no Redis: the family, its sid entry and the event commit in SQL
            # together, and both servers refuse the access token at once.
            r = httpx.post(f"{a.url}/oauth/revoke", data={"token": tokens["refresh_token"]})
            assert r.status_code == 200, r.text
            assert _me(a.url, tokens["access_token"]) == 401
            assert _me(b.url, tokens["access_token"]) == 401
            refreshed = httpx.post(
                f"{b.url}/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            )
            assert refreshed.status_code in (400, 503)  # refused, whatever the throttle says
            assert "access_token" not in refreshed.text
