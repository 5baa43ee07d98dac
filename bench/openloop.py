"""An open-loop load on ``GET /me``: requests are sent at a fixed rate whatever the server
does, and each is timed from the moment it was *scheduled*, so time spent waiting for a
connection counts (closed-loop tools such as wrk slow down with the server and report
only the requests they managed to send; past their timeout their numbers are wrong).

Every ``/me`` reads the database (the in-process session cache is off), which on SQLite is
one connection per process: above the server's capacity, requests queue for it. What the
queue does is the point: unbounded (the old 30 s pool timeout) every request gets slower
until they time out; bounded (``storage.queue_timeout``, ``storage.queue_limit``) the excess
is refused early with 503 and the requests that are served stay fast.

    .venv/bin/python bench/openloop.py --rate 1500 --seconds 20
    .venv/bin/python bench/openloop.py --rate 1500 --seconds 20 --env AUTHWISE_STORAGE_QUEUE_TIMEOUT=30 --env AUTHWISE_STORAGE_QUEUE_LIMIT=10000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PASSWORD = "correct horse battery staple"
AUTHWISE = Path(sys.executable).with_name("authwise")


class Pool:
    """Keep-alive HTTP/1.1 connections, opened on demand up to ``limit``."""

    def __init__(self, port: int, limit: int) -> None:
        self.port = port
        self.limit = limit
        self.opened = 0
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle.empty() and self.opened < self.limit:
            self.opened += 1
            return await asyncio.open_connection("127.0.0.1", self.port)
        return await self.idle.get()

    async def request(self, raw: bytes) -> int:
        reader, writer = await self.get()
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            self.opened -= 1
            raise
        self.idle.put_nowait((reader, writer))
        return status


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def load(port: int, cookies: list[str], rate: float, seconds: float, conns: int) -> dict:
    pool = Pool(port, conns)
    latencies: list[float] = []
    ok_latencies: list[float] = []
    statuses: collections.Counter[str] = collections.Counter()
    requests = [
        f"GET /me HTTP/1.1\r\nHost: localhost:{port}\r\nCookie: {c}\r\n\r\n".encode()
        for c in cookies
    ]
    loop = asyncio.get_running_loop()

    async def one(raw: bytes, scheduled: float) -> None:
        try:
            async with asyncio.timeout(60):
                status = await pool.request(raw)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            statuses[type(exc).__name__] += 1
            latencies.append(loop.time() - scheduled)
            return
        elapsed = loop.time() - scheduled
        statuses[str(status)] += 1
        latencies.append(elapsed)
        if status == 200:
            ok_latencies.append(elapsed)

    start = loop.time() + 0.1
    tasks = []
    n = 0
    while (due := start + n / rate) < start + seconds:
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(one(requests[n % len(requests)], due)))
        n += 1
    await asyncio.gather(*tasks)

    def summary(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {f"p{p}_ms": round(percentile(values, p) * 1000, 1) for p in (50, 90, 99, 99.9)} | {
            "max_ms": round(max(values) * 1000, 1)
        }

    return {
        "sent": n,
        "rate": rate,
        "statuses": dict(statuses),
        "all": summary(latencies),
        "ok_200": summary(ok_latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1500.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=512)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="authwise-openloop-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTHWISE_")},
        "AUTHWISE_DATA_DIR": str(data),
        "AUTHWISE_SESSIONS_CACHE_TTL": "0",
        "AUTHWISE_RATE_LIMITS_ENABLED": "false",
        **dict(e.split("=", 1) for e in args.env),
    }
    subprocess.run(
        [str(AUTHWISE), "users", "create", "bench", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        text=True,
        check=True,
        capture_output=True,
    )
    log = (data / "server.log").open("wb")
    # As shipped (access log included).
    server = subprocess.Popen(
        [str(AUTHWISE), "serve", "--dev", "--port", str(args.port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{args.port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        cookies = []
        for _ in range(args.sessions):
            r = httpx.post(f"{url}/session", json={"username": "bench", "password": PASSWORD})
            r.raise_for_status()
            cookies.append(r.headers["set-cookie"].split(";")[0])
        result = asyncio.run(load(args.port, cookies, args.rate, args.seconds, args.connections))
        result["server_env"] = args.env
        print(json.dumps(result), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
