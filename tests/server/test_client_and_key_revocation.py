"""Taking back what was handed out (issue 11, items 6 and 7): an OAuth client can be revoked
or given a new secret, and loses introspection and the revocation stream at once (open
streams too, in every process); a signing key can be retired at once, and every token it
signed is refused everywhere."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from authwise.core.jws import decode_unverified

from .conftest import ADMIN, ALICE, Server
from .live import AUTHWISE, LiveServer, free_port, live_server
from .test_oauth import basic
from .test_outage import private_redis

PASSWORD = "correct horse battery staple"


class Stream:
    """``GET /revocations`` as an event stream, driven through the app's ASGI interface
    (httpx's ASGI transport waits for the whole body, which a stream never ends)."""

    def __init__(self, server: Server, headers: dict[str, str]) -> None:
        self.chunks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.disconnect = asyncio.Event()
        raw = [(b"host", b"auth.test"), (b"accept", b"text/event-stream")]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "https",
            "path": "/revocations",
            "raw_path": b"/revocations",
            "query_string": b"",
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 40000),
            "server": ("auth.test", 443),
        }
        self.task = asyncio.create_task(server.app(scope, self._receive, self.chunks.put))

    async def _receive(self) -> dict[str, Any]:
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def next(self, wait: float = 5) -> dict[str, Any]:
        return await asyncio.wait_for(self.chunks.get(), wait)

    async def ended(self, wait: float = 5) -> bool:
        """Whether the body ends (a last message without ``more_body``) within ``wait`` seconds."""
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            try:
                message = await self.next(left)
            except TimeoutError:
                return False
            if message["type"] == "http.response.body" and not message.get("more_body"):
                return True

    async def close(self) -> None:
        self.disconnect.set()
        await asyncio.wait_for(self.task, 5)


async def _client(server: Server) -> tuple[str, str]:
    client, secret = await server.service.create_client("verifier")
    return client.client_id, secret


async def _introspect(server: Server, client_id: str, secret: str) -> int:
    r = await server.client.post(
        "/oauth/introspect", data={"token": "x"}, headers=basic(client_id, secret)
    )
    return r.status_code


async def test_admin_revokes_a_client(server: Server) -> None:
    client_id, secret = await _client(server)
    assert await _introspect(server, client_id, secret) == 200
    alice = await server.login(*ALICE)
    url = f"/admin/clients/{client_id}/revoke"
    assert (await alice.post(url)).status_code == 403
    assert (await server.client.post(url)).status_code == 401
    admin = await server.login(*ADMIN)
    r = await admin.post(url)
    assert r.status_code == 200
    assert r.json() == {"client_id": client_id, "revoked": True}
    assert await _introspect(server, client_id, secret) == 401
    r = await server.client.get("/revocations", headers=basic(client_id, secret))
    assert r.status_code == 401
    assert await server.service.list_clients() == []
    assert (await admin.post(url)).status_code == 404
    assert (await admin.post("/admin/clients/nope/secret")).status_code == 404


async def test_admin_rotates_a_client_secret(server: Server) -> None:
    client_id, old = await _client(server)
    admin = await server.login(*ADMIN)
    r = await admin.post(f"/admin/clients/{client_id}/secret")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    new = r.json()["client_secret"]
    assert r.json()["client_id"] == client_id
    assert new.startswith("aw_cs_")
    assert new != old
    assert await _introspect(server, client_id, old) == 401
    assert await _introspect(server, client_id, new) == 200
    # The audit trail keeps the fact, never the secret.
    audit = await server.service.audit_events()
    assert audit[0].kind == "client_secret_rotated"
    assert new not in str(audit)


@pytest.mark.parametrize("action", ["revoke", "secret"])
async def test_an_open_stream_ends_when_its_client_is_revoked_or_rotated(
    server: Server, action: str
) -> None:
    client_id, secret = await _client(server)
    other_id, other_secret = await _client(server)
    stream = Stream(server, basic(client_id, secret))
    other = Stream(server, basic(other_id, other_secret))
    for s in (stream, other):
        start = await s.next()
        assert start["status"] == 200
        assert b"event: reset" in (await s.next())["body"]
    admin = await server.login(*ADMIN)
    assert (await admin.post(f"/admin/clients/{client_id}/{action}")).status_code == 200
    assert await stream.ended(wait=2)
    # Another client's stream stays open and keeps getting entries.
    tokens = await server.tokens(*ALICE)
    await server.client.post("/oauth/revoke", data={"token": tokens["refresh_token"]})
    # (the retained log comes first: the entries of this test's sign-ins and revocations)
    while b"event: set" not in (await other.next())["body"]:
        pass
    await stream.close()
    await other.close()


async def test_admin_retires_the_active_key(server: Server) -> None:
    tokens = await server.tokens(*ALICE)
    kid = decode_unverified(tokens["access_token"]).header["kid"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 200
    alice = await server.login(*ALICE)
    assert (await alice.post(f"/admin/keys/{kid}/retire")).status_code == 403
    admin = await server.login(*ADMIN)
    r = await admin.post(f"/admin/keys/{kid}/retire")
    assert r.status_code == 200
    body = r.json()
    assert body["kid"] == kid
    assert body["was"] == "active"
    assert body["active"] != kid
    assert body["tokens_valid_until"] == server.clock.now + server.service.config.max_access_ttl
    jwks = (await server.client.get("/.well-known/jwks.json")).json()
    assert kid not in [k["kid"] for k in jwks["keys"]]
    r = await server.client.get("/me", headers=bearer)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    # The refresh family lives on, with an access token from the new key.
    refreshed = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200
    fresh = refreshed.json()["access_token"]
    assert decode_unverified(fresh).header["kid"] == body["active"]
    me = await server.client.get("/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200
    assert (await admin.post(f"/admin/keys/{kid}/retire")).status_code == 404
    assert (await admin.post("/admin/keys/unknown/retire")).status_code == 404


# -- every process, over Redis ------------------------------------------------------------------


def _cli(
    live: LiveServer, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AUTHWISE), *args],
        input=stdin,
        env=dict(live.env),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    port = free_port()
    with private_redis(port):
        env = {
            "AUTHWISE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "AUTHWISE_SERVER_PUBLIC_URL": "http://localhost:8000",
        }
        data = tmp_path / "data"
        with live_server(data, "--dev", env=env) as a, live_server(data, "--dev", env=env) as b:
            yield a, b


def test_cli_revocations_reach_every_process(two_servers: tuple[LiveServer, LiveServer]) -> None:
    a, b = two_servers
    assert (
        _cli(a, "users", "create", "ops", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    )
    created = _cli(a, "clients", "create", "verifier").stdout
    client_id = re.search(r"client_id:\s+(\S+)", created).group(1)  # type: ignore[union-attr]
    secret = re.search(r"client_secret:\s+(aw_cs_\S+)", created).group(1)  # type: ignore[union-attr]
    headers = {"Accept": "text/event-stream"}
    with httpx.stream(
        "GET", f"{b.url}/revocations", auth=(client_id, secret), headers=headers, timeout=10
    ) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "event: reset"
        revoked = _cli(a, "clients", "revoke", client_id)
        done = time.monotonic()
        assert revoked.returncode == 0, revoked.stderr
        assert client_id in revoked.stdout
        assert "Without Redis" not in revoked.stderr
        for _ in lines:
            pass  # the stream ends: the loop finishes
        # At once, through the event log: the event closed it.
        assert time.monotonic() - done < 3
    r = httpx.post(f"{b.url}/oauth/introspect", data={"token": "x"}, auth=(client_id, secret))
    assert r.status_code == 401

    tokens = httpx.post(
        f"{a.url}/oauth/token",
        data={"grant_type": "password", "username": "ops", "password": PASSWORD},
    ).json()
    kid = decode_unverified(tokens["access_token"]).header["kid"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(f"{b.url}/me", headers=bearer).status_code == 200  # B verified it
    assert _cli(a, "keys", "retire", kid).returncode == 2  # --now is required
    retired = _cli(a, "keys", "retire", kid, "--now")
    assert retired.returncode == 0, retired.stderr
    assert "Every access token signed with it is refused" in retired.stdout
    assert "Without Redis" not in retired.stderr
    deadline = time.monotonic() + 2
    while httpx.get(f"{b.url}/me", headers=bearer).status_code != 401:
        assert time.monotonic() < deadline, "B still trusts the retired key"
        time.sleep(0.02)
    for server in (a, b):
        keys = httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]
        assert kid not in [k["kid"] for k in keys]
