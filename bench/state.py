"""Session and refresh-family throughput per storage backend, and what a session costs at rest.

For each backend (memory, SQLite, PostgreSQL) the store operations the service makes:

- session create, validate (get by digest), revoke (delete), and refresh rotations
  (compare-and-set plus the new digest), in ops/s;
- each measured with one caller awaiting each operation in turn (latency-bound: what one
  request pays) and with 16 concurrent callers (what the store sustains);
- bytes per session: SQLite file growth (after a WAL checkpoint), PostgreSQL
  ``pg_total_relation_size`` growth of ``sessions`` (table, TOAST and indexes).

(Sessions lived in Redis in the first release; they moved to SQL with the event log, so that a
change and its event commit together: docs/storage.md.)

The PostgreSQL server is the local one unless ``AUTHWISE_BENCH_POSTGRES_URL`` says otherwise;
the benchmark works in a schema of its own and removes it afterwards.

    .venv/bin/python bench/state.py                 # 2000 ops per measurement
    .venv/bin/python bench/state.py --ops 5000 --markdown
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import asyncpg

from authwise.storage.base import RefreshFamily, SessionRecord, Stores
from authwise.storage.memory import memory_stores
from authwise.storage.sql import open_sql_stores, upgrade

POSTGRES_URL = os.environ.get(
    "AUTHWISE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
NOW = 1_700_000_000
CONCURRENCY = 16


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _session(n: int, run: str) -> SessionRecord:
    return SessionRecord(
        digest=_digest(f"{run}-s{n}"),
        handle=secrets.token_urlsafe(16),
        user_id=f"user-{n % 500}",
        created_at=NOW,
        rotated_at=NOW,
        last_seen=NOW,
        expires_at=NOW + 1800,
        absolute_expires_at=NOW + 8 * 3600,
        client_addr="203.0.113.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    )


async def _rate(calls: list[Callable[[], Awaitable[object]]], concurrency: int) -> float:
    """Operations per second running ``calls`` with ``concurrency`` callers."""
    queue = list(reversed(calls))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(calls) / (time.perf_counter() - start)


async def measure(stores: Stores, ops: int, concurrency: int) -> dict[str, float]:
    run = secrets.token_hex(4)
    records = [_session(n, run) for n in range(ops)]
    rates: dict[str, float] = {}
    rates["create"] = await _rate(
        [partial(stores.sessions.create, r) for r in records],
        concurrency,
    )
    rates["validate"] = await _rate(
        [partial(stores.sessions.get, r.digest) for r in records],
        concurrency,
    )
    rates["revoke"] = await _rate(
        [partial(stores.sessions.delete, r.digest) for r in records],
        concurrency,
    )
    families = max(ops // 10, 1)
    for f in range(families):
        family = RefreshFamily(
            family_id=f"{run}-f{f}",
            user_id=f"user-{f}",
            generation=0,
            created_at=NOW,
            rotated_at=NOW,
            expires_at=NOW + 30 * 86400,
        )
        await stores.refresh.create(family, _digest(f"{run}-f{f}-0"))

    # Ten rotations per family, each chain strictly in order (a rotation needs the previous).
    async def chain(f: int) -> None:
        for g in range(10):
            rotated = await stores.refresh.rotate(
                f"{run}-f{f}", g, _digest(f"{run}-f{f}-{g + 1}"), NOW + g + 1
            )
            assert rotated is not None

    rates["rotate"] = await _rate([partial(chain, f) for f in range(families)], concurrency) * 10
    return rates


# -- backends -------------------------------------------------------------------------------


@asynccontextmanager
async def pg_schema() -> AsyncIterator[str]:
    schema = f"aw_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await upgrade(POSTGRES_URL, schema=schema)
        yield schema
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


@asynccontextmanager
async def backend(name: str, workdir: Path) -> AsyncIterator[Stores]:
    if name == "memory":
        yield memory_stores()
        return
    if name == "sqlite":
        path = workdir / f"{secrets.token_hex(4)}.db"
        await upgrade(f"sqlite:///{path}")
        stores = await open_sql_stores(f"sqlite:///{path}")
        try:
            yield stores
        finally:
            await stores.aclose()
        return
    async with pg_schema() as schema:
        stores = await open_sql_stores(POSTGRES_URL, schema=schema)
        try:
            yield stores
        finally:
            await stores.aclose()


# -- bytes per session ----------------------------------------------------------------------


async def sqlite_bytes(workdir: Path, n: int) -> float:
    path = workdir / "size.db"
    await upgrade(f"sqlite:///{path}")
    stores = await open_sql_stores(f"sqlite:///{path}")
    try:
        before = path.stat().st_size
        for i in range(n):
            await stores.sessions.create(_session(i, "size"))
    finally:
        await stores.aclose()  # the last connection's close checkpoints the WAL
    return (path.stat().st_size - before) / n


async def postgres_bytes(n: int) -> float:
    async with pg_schema() as schema:
        conn = await asyncpg.connect(POSTGRES_URL)
        stores = await open_sql_stores(POSTGRES_URL, schema=schema)
        try:
            size = f"SELECT pg_total_relation_size('{schema}.sessions')"
            before = await conn.fetchval(size)
            for i in range(n):
                await stores.sessions.create(_session(i, "size"))
            await conn.execute(f"VACUUM ANALYZE {schema}.sessions")
            return float(await conn.fetchval(size) - before) / n
        finally:
            await stores.aclose()
            await conn.close()


# -- main -----------------------------------------------------------------------------------

BACKENDS = ("memory", "sqlite", "postgresql")
COLUMNS = ("create", "validate", "revoke", "rotate")
LABELS: dict[str, str] = {}


async def run(ops: int, rounds: int) -> list[tuple[str, int, dict[str, float]]]:
    workdir = Path(tempfile.mkdtemp(prefix="authwise-bench-"))
    rows: list[tuple[str, int, dict[str, float]]] = []
    try:
        for concurrency in (1, CONCURRENCY):
            for name in BACKENDS:
                samples: dict[str, list[float]] = {c: [] for c in COLUMNS}
                for _ in range(rounds):
                    async with backend(name, workdir) as stores:
                        for column, rate in (await measure(stores, ops, concurrency)).items():
                            samples[column].append(rate)
                rows.append(
                    (name, concurrency, {c: statistics.median(v) for c, v in samples.items()})
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


async def sizes(n: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="authwise-bench-"))
    try:
        return {
            "sqlite": await sqlite_bytes(workdir, n),
            "postgresql": await postgres_bytes(n),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def table(rows: list[tuple[str, int, dict[str, float]]], markdown: bool) -> str:
    head = ["backend", "callers", *(f"{c} ops/s" for c in COLUMNS)]
    body = [
        [LABELS.get(name, name), str(c), *(f"{rates[col]:,.0f}" for col in COLUMNS)]
        for name, c, rates in rows
    ]
    return _render(head, body, markdown)


def _render(head: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *body]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=2000, help="operations per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="median over this many rounds")
    parser.add_argument("--sessions", type=int, default=5000, help="sessions for the size test")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = asyncio.run(run(args.ops, args.rounds))
    print(table(rows, args.markdown))
    print()
    size = asyncio.run(sizes(args.sessions))
    print(
        _render(
            ["backend", "bytes per session"],
            [[name, f"{value:,.0f}"] for name, value in size.items()],
            args.markdown,
        )
    )


if __name__ == "__main__":
    main()
