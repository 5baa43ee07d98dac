"""A bounded soak: ``authwise serve`` under a steady mixed load, sampled every minute.

The load is open-loop at a fixed rate of "visits", each one a short story a real client
tells: a browser signs in, reads ``/me`` a few times and signs out (with its anti-forgery
token); a token client takes the password grant, calls ``/me`` with the bearer token,
refreshes twice and revokes its refresh token. Sign-ins come from many client addresses
(``X-Forwarded-For`` behind ``server.trust_proxy_headers``), as they would in production, so
the throttle keeps its limits and its memory is part of what is measured.

Every ``--sample`` seconds it prints one JSON line: the server's resident memory (all its
processes), the row count of every table, and the answers so far by status. Whether memory
and tables level off is what the run is for: sessions end on logout, revoked refresh
families go once their access tokens cannot be valid any more (15 min + leeway), revocation
entries expire, and the audit trail stays under ``--audit-max-rows``.

    .venv/bin/python bench/soak.py                          # 30 min, SQLite, 4 visits/s
    .venv/bin/python bench/soak.py --minutes 5 --rate 2     # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import httpx

PASSWORD = "correct horse battery staple"
AUTHWISE = Path(sys.executable).with_name("authwise")
USERS = 20
ADDRESSES = 250


def _rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its children (uvicorn's workers), in KiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_")
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608 - names from sqlite_master


class Load:
    def __init__(self, url: str, origin: str) -> None:
        self.url = url
        self.origin = origin
        self.statuses: collections.Counter[str] = collections.Counter()
        self.failures: collections.Counter[str] = collections.Counter()

    def _note(self, what: str, response: httpx.Response, *expected: int) -> bool:
        self.statuses[str(response.status_code)] += 1
        if response.status_code not in expected:
            self.failures[f"{what} {response.status_code}"] += 1
            return False
        return True

    def _who(self) -> tuple[str, dict[str, str]]:
        address = f"198.51.100.{random.randrange(ADDRESSES) + 1}"
        return f"user{random.randrange(USERS)}", {"X-Forwarded-For": address}

    async def browser(self, client: httpx.AsyncClient) -> None:
        name, headers = self._who()
        r = await client.post(
            f"{self.url}/session", json={"username": name, "password": PASSWORD}, headers=headers
        )
        if not self._note("sign-in", r, 200):
            return
        cookie = r.headers["set-cookie"].split(";")[0]
        session = {**headers, "Cookie": cookie}
        for _ in range(3):
            self._note("me", await client.get(f"{self.url}/me", headers=session), 200)
        logout = {**session, "Origin": self.origin, "X-CSRF-Token": r.json()["csrf_token"]}
        self._note("logout", await client.delete(f"{self.url}/session", headers=logout), 200, 204)

    async def token_client(self, client: httpx.AsyncClient) -> None:
        name, headers = self._who()
        grant = {"grant_type": "password", "username": name, "password": PASSWORD}
        r = await client.post(f"{self.url}/oauth/token", data=grant, headers=headers)
        if not self._note("password grant", r, 200):
            return
        tokens = r.json()
        bearer = {**headers, "Authorization": f"Bearer {tokens['access_token']}"}
        self._note("me (bearer)", await client.get(f"{self.url}/me", headers=bearer), 200)
        for _ in range(2):
            refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            r = await client.post(f"{self.url}/oauth/token", data=refresh, headers=headers)
            if not self._note("refresh", r, 200):
                return
            tokens = r.json()
        revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
        self._note(
            "revoke",
            await client.post(f"{self.url}/oauth/revoke", data=revoke, headers=headers),
            200,
        )

    async def run(self, rate: float, seconds: float) -> None:
        """Start a visit every ``1 / rate`` seconds on schedule, whether or not the ones before
        have finished (open loop), alternating the two kinds."""
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            # No shared cookie jar: each visit is its own browser. (A shared jar would send
            # one visit's cookie with another's sign-in, which ends that session: S01.)
            client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            loop = asyncio.get_running_loop()
            start = loop.time()
            tasks: set[asyncio.Task[None]] = set()
            n = 0
            while (due := start + n / rate) < start + seconds:
                await asyncio.sleep(max(0.0, due - loop.time()))
                visit = self.browser if n % 2 == 0 else self.token_client
                task = asyncio.create_task(self._guarded(visit, client))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.gather(*tasks)

    async def _guarded(self, visit: object, client: httpx.AsyncClient) -> None:
        try:
            await visit(client)  # type: ignore[operator]
        except httpx.HTTPError as exc:
            self.failures[type(exc).__name__] += 1


async def sample(pid: int, db: Path, load: Load, every: float, seconds: float) -> None:
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        line = {
            "minute": round(elapsed / 60, 1),
            "rss_mib": round(_rss_kib(pid) / 1024, 1),
            "rows": _rows(db),
            "statuses": dict(load.statuses),
            "failures": dict(load.failures),
        }
        print(json.dumps(line), flush=True)
        if elapsed >= seconds:
            return
        await asyncio.sleep(min(every, seconds - elapsed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=4.0, help="visits started per second")
    parser.add_argument("--sample", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--audit-max-rows", type=int, default=5_000)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="authwise-soak-"))
    origin = f"http://localhost:{args.port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTHWISE_")},
        "AUTHWISE_DATA_DIR": str(data),
        "AUTHWISE_SERVER_TRUST_PROXY_HEADERS": "true",
        "AUTHWISE_STORAGE_AUDIT_MAX_ROWS": str(args.audit_max_rows),
    }
    for i in range(USERS):
        subprocess.run(
            [str(AUTHWISE), "users", "create", f"user{i}", "--password-stdin"],
            input=PASSWORD + "\n",
            env=env,
            text=True,
            check=True,
            capture_output=True,
        )
    log = (data / "server.log").open("wb")
    server = subprocess.Popen(
        [str(AUTHWISE), "serve", "--dev", "--port", str(args.port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{args.port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        load = Load(f"http://127.0.0.1:{args.port}", origin)
        seconds = args.minutes * 60

        async def both() -> None:
            await asyncio.gather(
                load.run(args.rate, seconds),
                sample(server.pid, data / "authwise.db", load, args.sample, seconds),
            )

        asyncio.run(both())
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    print(json.dumps({"data_dir": str(data), "done": True}), flush=True)


if __name__ == "__main__":
    main()
