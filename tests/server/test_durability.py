"""R02 over real HTTP: the server is killed (SIGKILL) under write load, and after a restart on
the same data every acknowledged login, logout, rotation and revocation is there.

``authwise serve`` runs as a subprocess, on the embedded SQLite default and on the scale-out
stores (PostgreSQL + Redis). Workers, several per user, each drive their own cookies and
refresh families over loopback: cookie sign-ins, password grants, refresh rotations, sign-outs
and RFC 7009 revocations (of a whole family, or of one access token). Every answer the server
gave is written down with what it implies; the server is then killed with requests in flight
and started again on the same data. Only acknowledged operations are asserted about: an
operation whose answer never came may or may not have happened, and the checks say exactly
which facts it leaves open (the session its sign-out named, the family it rotated or revoked,
the one access token it revoked; the device list's count within the sign-ins and sign-outs in
flight). Introspection (by a client made with ``authwise clients create``) tells rotated and
revoked refresh tokens from live ones without using them up; then each family's newest token is
used, and an older one presented after it must be treated as reuse.

Isolation for the scale-out run: a database of its own on the PostgreSQL server (dropped
afterwards) and a Redis logical database that was empty and that this test claims with a
marker key (the server's key prefix is fixed, so the database number is what keeps it apart;
pub/sub channels span databases, but the events name only this run's random IDs).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import jwt
import pytest
import redis
from sqlalchemy.engine import make_url

from .live import AUTHWISE, LiveServer, live_server

PASSWORD = "correct horse battery staple"
# The issuer of the access tokens: fixed, so the restarted server (on another free port)
# accepts the tokens the first one minted.
PUBLIC_URL = "http://localhost:8000"
USERS = 4
WORKERS_PER_USER = 3
MAX_OPS_PER_WORKER = 150  # a bound on the load; the kill comes long before it
# The kill waits until each kind of operation has been acknowledged this often...
MIN_ACKED = {"login": 6, "logout": 3, "grant": 6, "rotate": 10, "revoke": 3, "revoke_access": 3}
# ... and then for this many acknowledged operations, or this long, whichever comes first.
ENOUGH_ACKED = 250
LOAD_SECONDS = 3.0
REDIS_CLAIM = "authwise-test:r02-claim"


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: every request carries exactly the cookie the test gives it
    (a sign-in that brought a cookie along would end that session, S01)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


@dataclass
class Session:
    user: str
    cookie: str  # the Cookie header: "authwise_session=<id>"
    csrf: str
    handle: str
    logout: str = "no"  # "no", "pending" (in flight at the kill) or "acked"


@dataclass
class Family:
    user: str
    sid: str
    refresh: list[str]  # every acknowledged refresh token, oldest first: [-1] is the newest
    access: list[str]
    revoked: bool = False  # an acknowledged revocation of the family
    revoked_access: set[str] = field(default_factory=set)  # acknowledged, token by token
    pending: str | None = None  # the operation on it in flight at the kill
    pending_access: str | None = None  # the access token a revocation in flight named


@dataclass
class Ledger:
    sessions: list[Session] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    pending_logins: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)  # answers that were not the success expected


def _sid(access_token: str) -> str:
    sid: str = jwt.decode(access_token, options={"verify_signature": False})["sid"]
    return sid


class Worker:
    """One client with its own sessions and families: one request in flight at a time."""

    def __init__(self, http: httpx.AsyncClient, ledger: Ledger, user: str, seed: int) -> None:
        self.http = http
        self.ledger = ledger
        self.user = user
        self.rng = random.Random(seed)
        self.sessions: list[Session] = []
        self.families: list[Family] = []

    def _expect(self, response: httpx.Response, status: int, what: str) -> bool:
        if response.status_code == status:
            self.ledger.acked[what] += 1
            return True
        self.ledger.wrong.append(f"{what}: {response.status_code} {response.text[:200]}")
        return False

    async def run(self, stop: asyncio.Event) -> None:
        ops = {
            "login": self.login,
            "grant": self.grant,
            "logout": self.logout,
            "rotate": self.rotate,
            "revoke": self.revoke,
            "revoke_access": self.revoke_access,
        }
        for _ in range(MAX_OPS_PER_WORKER):
            if stop.is_set():
                return
            choices = {"login": 2, "grant": 2}
            if any(s.logout == "no" for s in self.sessions):
                choices["logout"] = 2
            if any(not f.revoked for f in self.families):
                choices.update(rotate=8, revoke=1, revoke_access=1)
            kind = self.rng.choices(list(choices), weights=list(choices.values()))[0]
            try:
                if not await ops[kind]():
                    return
            except httpx.TransportError:
                return  # the server is gone: this operation is neither known done nor undone

    async def login(self) -> bool:
        self.ledger.pending_logins[self.user] += 1
        r = await self.http.post("/session", json={"username": self.user, "password": PASSWORD})
        if not self._expect(r, 200, "login"):
            return False
        self.ledger.pending_logins[self.user] -= 1
        body = r.json()
        session = Session(
            user=self.user,
            cookie=r.headers["set-cookie"].split(";", 1)[0],
            csrf=body["csrf_token"],
            handle=body["session"]["handle"],
        )
        self.sessions.append(session)
        self.ledger.sessions.append(session)
        return True

    async def logout(self) -> bool:
        session = self.rng.choice([s for s in self.sessions if s.logout == "no"])
        session.logout = "pending"
        r = await self.http.delete(
            "/session", headers={"Cookie": session.cookie, "X-CSRF-Token": session.csrf}
        )
        if not self._expect(r, 204, "logout"):
            return False
        session.logout = "acked"
        return True

    async def grant(self) -> bool:
        r = await self.http.post(
            "/oauth/token",
            data={"grant_type": "password", "username": self.user, "password": PASSWORD},
        )
        if not self._expect(r, 200, "grant"):
            return False
        body = r.json()
        family = Family(
            self.user, _sid(body["access_token"]), [body["refresh_token"]], [body["access_token"]]
        )
        self.families.append(family)
        self.ledger.families.append(family)
        return True

    async def rotate(self) -> bool:
        family = self.rng.choice([f for f in self.families if not f.revoked])
        family.pending = "rotate"
        r = await self.http.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": family.refresh[-1]},
        )
        if not self._expect(r, 200, "rotate"):
            return False
        body = r.json()
        family.refresh.append(body["refresh_token"])
        family.access.append(body["access_token"])
        family.pending = None
        return True

    async def revoke(self) -> bool:
        family = self.rng.choice([f for f in self.families if not f.revoked])
        family.pending = "revoke"
        r = await self.http.post("/oauth/revoke", data={"token": family.refresh[-1]})
        if not self._expect(r, 200, "revoke"):
            return False
        family.revoked = True
        family.pending = None
        return True

    async def revoke_access(self) -> bool:
        family = self.rng.choice([f for f in self.families if not f.revoked])
        token = self.rng.choice(family.access)
        family.pending, family.pending_access = "revoke_access", token
        r = await self.http.post(
            "/oauth/revoke", data={"token": token, "token_type_hint": "access_token"}
        )
        if not self._expect(r, 200, "revoke_access"):
            return False
        family.revoked_access.add(token)
        family.pending = family.pending_access = None
        return True


@dataclass
class Before:
    """What the first server run left to check: the ledger, and per user a family made before
    the load whose access token lists the user's sessions afterwards."""

    ledger: Ledger
    probes: dict[str, Family]
    kids: list[str]
    in_flight: int


async def _load_and_kill(live: LiveServer, users: list[str]) -> Before:
    async with httpx.AsyncClient(base_url=live.url, cookies=_no_cookies(), timeout=30) as http:
        kids = sorted(k["kid"] for k in (await http.get("/.well-known/jwks.json")).json()["keys"])
        probes: dict[str, Family] = {}
        for user in users:
            r = await http.post("/users", json={"username": user, "password": PASSWORD})
            assert r.status_code == 202, r.text
            r = await http.post(
                "/oauth/token",
                data={"grant_type": "password", "username": user, "password": PASSWORD},
            )
            assert r.status_code == 200, r.text
            body = r.json()
            probes[user] = Family(
                user, _sid(body["access_token"]), [body["refresh_token"]], [body["access_token"]]
            )

    ledger = Ledger()
    stop = asyncio.Event()
    clients = [
        httpx.AsyncClient(base_url=live.url, cookies=_no_cookies(), timeout=30)
        for _ in range(len(users) * WORKERS_PER_USER)
    ]
    workers = [
        Worker(http, ledger, users[n % len(users)], seed=n) for n, http in enumerate(clients)
    ]
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        started = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            assert not ledger.wrong, ledger.wrong
            assert not all(t.done() for t in tasks), "the load ended before the kill"
            reached = all(ledger.acked[k] >= n for k, n in MIN_ACKED.items())
            elapsed = time.monotonic() - started
            if reached and (sum(ledger.acked.values()) >= ENOUGH_ACKED or elapsed > LOAD_SECONDS):
                break
            assert elapsed < 30, f"the load never reached {MIN_ACKED}: {dict(ledger.acked)}"
        # Every worker still running has a request under way: the kill lands among them.
        in_flight = sum(not t.done() for t in tasks)
        stop.set()
        assert live.process is not None
        os.kill(live.process.pid, signal.SIGKILL)
        live.process.wait(timeout=10)
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for http in clients:
            await http.aclose()
    return Before(ledger, probes, kids, in_flight)


def _create_client(live: LiveServer) -> tuple[str, str]:
    created = subprocess.run(
        [str(AUTHWISE), "clients", "create", "r02-introspection"],
        env=dict(live.env),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    client_id = re.search(r"client_id:\s+(\S+)", created.stdout)
    secret = re.search(r"client_secret:\s+(aw_cs_\S+)", created.stdout)
    assert client_id
    assert secret
    return client_id.group(1), secret.group(1)


async def _verify(live: LiveServer, before: Before, client: tuple[str, str]) -> None:
    ledger = before.ledger
    async with httpx.AsyncClient(base_url=live.url, cookies=_no_cookies(), timeout=30) as http:

        async def me(headers: dict[str, str]) -> httpx.Response:
            return await http.get("/me", headers=headers)

        async def bearer_me(token: str) -> httpx.Response:
            return await me({"Authorization": f"Bearer {token}"})

        async def active(token: str) -> bool:
            r = await http.post("/oauth/introspect", data={"token": token}, auth=client)
            assert r.status_code == 200, r.text
            result: bool = r.json()["active"]
            return result

        async def refresh(token: str) -> httpx.Response:
            return await http.post(
                "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token}
            )

        assert (await http.get("/health")).status_code == 200
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert sorted(k["kid"] for k in jwks["keys"]) == before.kids

        # Sign-ins and sign-outs: each acknowledged cookie works, each acknowledged sign-out's
        # cookie is refused.
        for s in ledger.sessions:
            if s.logout == "pending":
                continue
            r = await me({"Cookie": s.cookie})
            if s.logout == "acked":
                assert r.status_code == 401, (s.handle, r.text)
            else:
                assert r.status_code == 200, (s.handle, r.text)
                assert r.json()["username"] == s.user
                assert r.json()["auth_method"] == "session"
                assert r.json()["sid"] == s.handle

        # The device lists: the live sessions acknowledged, no ended one, nothing else but
        # what the sign-ins in flight at the kill may have made.
        for user, probe in before.probes.items():
            assert await active(probe.refresh[-1])
            r = await bearer_me(probe.access[-1])
            assert r.status_code == 200, r.text
            r = await http.get("/sessions", headers={"Authorization": f"Bearer {probe.access[-1]}"})
            assert r.status_code == 200, r.text
            listed = [s["handle"] for s in r.json()["sessions"]]
            assert len(listed) == len(set(listed))
            mine = [s for s in ledger.sessions if s.user == user]
            live_handles = {s.handle for s in mine if s.logout == "no"}
            ended = {s.handle for s in mine if s.logout == "acked"}
            maybe = {s.handle for s in mine if s.logout == "pending"}
            in_flight = ledger.pending_logins[user]
            assert live_handles <= set(listed), (user, live_handles - set(listed))
            assert not ended & set(listed), (user, ended & set(listed))
            assert len(set(listed) - live_handles - maybe) <= in_flight, (user, listed)
            logins = len(mine)
            logouts = len(ended)
            if not maybe and not in_flight:
                assert len(listed) == logins - logouts, (user, listed)
            else:
                assert logins - logouts - len(maybe) <= len(listed) <= logins - logouts + in_flight

        # Refresh families: every acknowledged rotation's predecessor is rotated; the newest
        # acknowledged token is live unless an operation on its family was in flight; an
        # acknowledged revocation holds for the refresh tokens and the access tokens alike.
        for f in ledger.families:
            for old in f.refresh[:-1]:
                assert not await active(old), f.sid
            if f.revoked:
                for token in f.refresh:
                    assert not await active(token), f.sid
                r = await refresh(f.refresh[-1])
                assert r.status_code == 400, r.text
                assert r.json()["error"] == "invalid_grant"
                for token in f.access:
                    assert (await bearer_me(token)).status_code == 401, f.sid
                continue
            if f.pending == "revoke":
                continue  # the family may or may not have ended
            if f.pending != "rotate":
                assert await active(f.refresh[-1]), f.sid
            for token in f.access:
                r = await bearer_me(token)
                if token in f.revoked_access:
                    assert r.status_code == 401, f.sid
                elif token != f.pending_access:
                    assert r.status_code == 200, (f.sid, r.text)
                    assert r.json()["sid"] == f.sid
                    assert r.json()["auth_method"] == "bearer"

        # The newest token works, and the history behind it is remembered: presenting an
        # older token after one more rotation is reuse, which ends the family.
        for f in ledger.families:
            if f.revoked or f.pending is not None:
                continue
            r = await refresh(f.refresh[-1])
            assert r.status_code == 200, (f.sid, r.text)
            newest = r.json()
            assert (await bearer_me(newest["access_token"])).status_code == 200
            if len(f.refresh) < 2:
                continue
            r = await refresh(f.refresh[-2])  # two behind the live one: never in the grace
            assert r.status_code == 400, r.text
            assert r.json()["error"] == "invalid_grant"
            assert (await refresh(newest["refresh_token"])).status_code == 400
            assert (await bearer_me(newest["access_token"])).status_code == 401


def _run_r02(data: Path, stores_env: dict[str, str]) -> None:
    env = {
        **stores_env,
        "AUTHWISE_SERVER_PUBLIC_URL": PUBLIC_URL,
        "AUTHWISE_RATE_LIMITS_ENABLED": "false",
    }
    users = [f"r02-user-{n}" for n in range(USERS)]
    with live_server(data, "--dev", "--registration", env=env) as first:
        client = _create_client(first)
        before = asyncio.run(_load_and_kill(first, users))
        assert first.process is not None
        assert first.process.returncode == -signal.SIGKILL
        with pytest.raises(httpx.ConnectError):  # nothing else went on serving there
            httpx.get(f"{first.url}/health", timeout=5)
    ledger = before.ledger
    assert not ledger.wrong, ledger.wrong
    assert before.in_flight > 0
    assert all(ledger.acked[k] >= n for k, n in MIN_ACKED.items()), ledger.acked
    with live_server(data, "--dev", "--registration", env=env) as second:
        asyncio.run(_verify(second, before, client))


def test_r02_sqlite_survives_sigkill_under_write_load(tmp_path: Path) -> None:
    _run_r02(tmp_path / "data", {})


async def _postgres(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _claim_redis_db(url: str) -> tuple[str, redis.Redis]:
    """An empty logical database on the test Redis, claimed with a marker key."""
    parts = urlsplit(url)
    for db in range(15, 0, -1):
        candidate = urlunsplit(parts._replace(path=f"/{db}"))
        conn = redis.Redis.from_url(candidate)
        try:
            if conn.set(REDIS_CLAIM, secrets.token_hex(8), nx=True, ex=600):
                if conn.dbsize() == 1:
                    return candidate, conn
                conn.delete(REDIS_CLAIM)  # not empty: someone else's
        except redis.ResponseError:  # fewer databases configured
            pass
        except BaseException:  # no Redis at all: a failure, never a skip
            conn.close()
            raise
        conn.close()
    pytest.fail("no empty Redis database to run the scale-out test in")


@pytest.fixture
def scale_out(postgres_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and an empty Redis database, removed afterwards."""
    database = f"aw_r02_{secrets.token_hex(6)}"
    asyncio.run(_postgres(postgres_url, f"CREATE DATABASE {database}"))
    try:
        redis_db, conn = _claim_redis_db(redis_url)
        try:
            yield {
                "AUTHWISE_DATABASE_URL": make_url(postgres_url)
                .set(database=database)
                .render_as_string(hide_password=False),
                "AUTHWISE_REDIS_URL": redis_db,
            }
        finally:
            for key in conn.scan_iter(match="aw:*", count=1000):
                conn.delete(key)
            conn.delete(REDIS_CLAIM)
            conn.close()
    finally:
        asyncio.run(_postgres(postgres_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


def test_r02_postgresql_redis_survive_sigkill_under_write_load(
    tmp_path: Path, scale_out: dict[str, str]
) -> None:
    _run_r02(tmp_path / "data", scale_out)
