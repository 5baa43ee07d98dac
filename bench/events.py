"""How fast a change reaches the rest of a deployment through the event log.

Two ``authwise serve`` processes (A and B), started as the README starts the server, on the
embedded SQLite default and on PostgreSQL + Redis. For each of ``--events`` changes, a client
revokes an access token through A (``POST /oauth/revoke``); from the moment A's answer arrives
the bench measures

- (a) when the change's Security Event Token arrives at an SSE subscriber of B's
  ``/revocations`` stream (0 when it came before A's answer reached the client), and
- (b) when B first refuses the revoked token on ``GET /me`` (a prober asking in a loop),

then prints p50/p99 of both, and the CPU that B spends following the log while idle (its CPU
time over ``--idle`` seconds with no request at all, as a share of one core).

    .venv/bin/python bench/events.py                     # SQLite, then PostgreSQL + Redis
    .venv/bin/python bench/events.py --events 200 --markdown

PostgreSQL and Redis come from AUTHWISE_TEST_POSTGRES_URL / AUTHWISE_TEST_REDIS_URL (the local
servers by default); the bench makes its own database (dropped afterwards) and starts the
Redis stream (``aw:events``) empty. The login throttle is off, so that the bench can mint its
tokens quickly; nothing else differs from ``authwise serve --dev``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import asyncpg
import httpx
import orjson
import redis
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.live import AUTHWISE, LiveServer, live_server
from tests.server.sse import messages, open_stream

PASSWORD = "correct horse battery staple"
POSTGRES_URL = os.environ.get(
    "AUTHWISE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AUTHWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BENCH_ENV = {"AUTHWISE_RATE_LIMITS_ENABLED": "false", "AUTHWISE_SESSIONS_CACHE_TTL": "60"}


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [str(AUTHWISE), *args], input=stdin, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"]) if "jti" in claims else str(claims["sub_id"]["jti"])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Subscriber(threading.Thread):
    """Reads B's stream and notes when each revoked token's SET arrives (by the token's jti)."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.auth = url, auth
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop = False

    def run(self) -> None:
        client, stream = open_stream(self.url, self.auth, timeout=120)
        try:
            for message in messages(stream.iter_lines()):
                if message.event in ("reset", "heartbeat"):
                    self.ready.set()
                elif message.event == "set":
                    self.ready.set()
                    payload = message.data.split(".")[1]
                    claims = orjson.loads(
                        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
                    )
                    subject = claims["sub_id"]
                    if subject.get("format") == "jwt_id":
                        self.arrived[subject["jti"]] = time.perf_counter()
                if self.stop:
                    return
        finally:
            stream.close()
            client.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(a: LiveServer, b: LiveServer, events: int, idle: float) -> dict[str, float]:
    env = dict(a.env)
    _cli(env, "users", "create", "bench", "--password-stdin", stdin=PASSWORD)
    out = _cli(env, "clients", "create", "bench-verifier")
    fields = dict(line.split(":", 1) for line in out.splitlines() if line.startswith("client_"))
    auth = (fields["client_id"].strip(), fields["client_secret"].strip())
    tokens = []
    with httpx.Client() as http:
        for _ in range(events):
            r = http.post(
                f"{a.url}/oauth/token",
                data={"grant_type": "password", "username": "bench", "password": PASSWORD},
            )
            r.raise_for_status()
            tokens.append(r.json()["access_token"])
    subscriber = Subscriber(b.url, auth)
    subscriber.start()
    subscriber.ready.wait(30)
    to_stream: list[float] = []
    to_enforced: list[float] = []
    with httpx.Client() as actor, httpx.Client() as prober:
        for token in tokens:
            bearer = {"Authorization": f"Bearer {token}"}
            assert prober.get(f"{b.url}/me", headers=bearer).status_code == 200  # B cached it
            r = actor.post(f"{a.url}/oauth/revoke", data={"token": token})
            answered = time.perf_counter()
            r.raise_for_status()
            while prober.get(f"{b.url}/me", headers=bearer).status_code != 401:
                pass
            to_enforced.append(time.perf_counter() - answered)
            jti = _jti(token)
            deadline = time.perf_counter() + 10
            while jti not in subscriber.arrived:
                assert time.perf_counter() < deadline, "the SET never arrived"
                time.sleep(0.0005)
            # A SET that came before A's answer reached the client counts as 0.
            to_stream.append(max(0.0, subscriber.arrived[jti] - answered))
    subscriber.stop = True
    assert b.process is not None
    before = _cpu_seconds(b.process.pid)
    time.sleep(idle)
    idle_share = (_cpu_seconds(b.process.pid) - before) / idle
    ms = 1000.0
    return {
        "sse_p50": _percentile(to_stream, 0.5) * ms,
        "sse_p99": _percentile(to_stream, 0.99) * ms,
        "enforced_p50": _percentile(to_enforced, 0.5) * ms,
        "enforced_p99": _percentile(to_enforced, 0.99) * ms,
        "mean_enforced": statistics.fmean(to_enforced) * ms,
        "idle_cpu": idle_share * 100,
        "events": float(events),
    }


@contextmanager
def deployment(kind: str, root: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = dict(BENCH_ENV)
    database = None
    if kind == "postgresql+redis":
        database = f"aw_bench_{secrets.token_hex(6)}"
        asyncio.run(_pg(f"CREATE DATABASE {database}"))
        env["AUTHWISE_DATABASE_URL"] = (
            make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)
        )
        env["AUTHWISE_REDIS_URL"] = REDIS_URL
        with redis.Redis.from_url(REDIS_URL) as conn:
            conn.delete("aw:events")  # a stream left by an earlier run would hide this one's
    # One deployment: one public URL (the issuer), whichever process answers.
    env["AUTHWISE_SERVER_PUBLIC_URL"] = "http://localhost:8000"
    try:
        with ExitStack() as stack:
            a = stack.enter_context(live_server(root / "data", "--dev", env=env))
            b = stack.enter_context(live_server(root / "data", "--dev", env=env))
            yield a, b
    finally:
        if database is not None:
            asyncio.run(_pg(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


async def _pg(statement: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--only", choices=["sqlite", "postgresql+redis"])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["sqlite", "postgresql+redis"]
    rows = []
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp, deployment(kind, Path(tmp)) as (a, b):
            result = measure(a, b, args.events, args.idle)
        rows.append((kind, result))
        print(f"{kind}: {result}", file=sys.stderr)
    header = (
        "| deployment | events | to SSE subscriber p50 / p99 ms | "
        "to enforcement in B p50 / p99 ms | B idle CPU |"
    )
    print(header)
    print("|---|---|---|---|---|")
    for kind, r in rows:
        print(
            f"| {kind} | {r['events']:.0f} | {r['sse_p50']:.1f} / {r['sse_p99']:.1f} | "
            f"{r['enforced_p50']:.1f} / {r['enforced_p99']:.1f} | {r['idle_cpu']:.2f}% |"
        )


if __name__ == "__main__":
    main()
