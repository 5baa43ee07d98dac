"""Sign-in throttling over real sockets against ``authwise serve``: a distributed attacker
(many source addresses: on Linux every 127.0.0.x is loopback) and a device that signed in
before (S15), and counters shared by two server processes on one Redis (issue 11 item 14b),
atomic under concurrency (issue 16 item 7)."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .live import AUTHWISE, LiveServer, live_server

PASSWORD = "correct horse battery staple"


def _create_user(live: LiveServer, name: str) -> None:
    created = subprocess.run(
        [str(AUTHWISE), "users", "create", name, "--password-stdin"],
        input=PASSWORD + "\n",
        env=dict(live.env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr


def _client(live: LiveServer, address: str, cookies: httpx.Cookies | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=live.url, transport=transport, cookies=cookies, timeout=30)


def _own_address() -> str:
    """A loopback address of this run's own: the per-address counters on the shared Redis
    are keyed by it, and other runs may be counting at the same time."""
    return "127." + ".".join(str(1 + secrets.randbelow(254)) for _ in range(3))


def _sign_in(client: httpx.Client, name: str, password: str) -> int:
    r = client.post("/session", json={"username": name, "password": password})
    return r.status_code


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("throttle") / "data"
    with live_server(data, "--dev") as live:
        yield live


def test_s15_many_addresses_spend_the_ceiling_but_not_the_owners_device(
    served: LiveServer,
) -> None:
    """The review's attack with the default limits: 12 addresses, 9 wrong passwords each (108,
    past the account-wide ceiling of 100 a minute, each address under its own allowance of
    10). Then the right password from a fresh address gets 429, and the owner's browser,
    which signed in before, gets in from its own address and from a new one."""
    name = f"owner{secrets.token_hex(4)}"
    _create_user(served, name)
    with _client(served, "127.0.0.2") as owner:
        assert _sign_in(owner, name, PASSWORD) == 200
        device = [c for c in owner.cookies.jar if c.name == "authwise_session_device"]
        assert len(device) == 1
        assert device[0].has_nonstandard_attr("HttpOnly")
        statuses = []
        for n in range(12):
            with _client(served, f"127.0.0.{10 + n}") as bot:
                statuses += [_sign_in(bot, name, f"guess {n}.{i}") for i in range(9)]
        assert statuses[:100] == [401] * 100
        assert set(statuses[100:]) == {429}
        with _client(served, "127.0.0.40") as fresh:
            assert _sign_in(fresh, name, PASSWORD) == 429
        assert _sign_in(owner, name, PASSWORD) == 200
        with _client(served, "127.0.0.41", cookies=owner.cookies) as travelling:
            assert _sign_in(travelling, name, PASSWORD) == 200


def test_s15_a_device_cookie_that_keeps_failing_is_locked_out_for_the_window(
    served: LiveServer,
) -> None:
    name = f"owner{secrets.token_hex(4)}"
    _create_user(served, name)
    with _client(served, "127.0.0.50") as device, _client(served, "127.0.0.51") as other:
        assert _sign_in(device, name, PASSWORD) == 200
        assert _sign_in(other, name, PASSWORD) == 200
        assert [_sign_in(device, name, f"guess {i}") for i in range(10)] == [401] * 10
        r = device.post("/session", json={"username": name, "password": PASSWORD})
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert _sign_in(other, name, PASSWORD) == 200


# -- two processes on one Redis ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[list[LiveServer]]:
    """Two ``authwise serve`` processes on one SQLite file and one Redis. The limiter's keys
    name the account and the address, so unique names keep this run's counters its own."""
    data = tmp_path_factory.mktemp("pair") / "data"
    args = ("--dev", "--redis-url", redis_url)
    with live_server(data, *args) as first, live_server(data, *args) as second:
        yield [first, second]


def test_14b_failures_spread_over_two_processes_meet_the_limit(pair: list[LiveServer]) -> None:
    """Wrong passwords from one address, alternating between the two processes: the 11th
    gets 429 (per-account limit 10 a minute) only if both count in one place. A throttle that
    kept its counters in process memory would let each process take 10, 20 in all."""
    name = f"pair{secrets.token_hex(4)}"
    _create_user(pair[0], name)
    address = _own_address()
    clients = [_client(live, address) for live in pair]
    try:
        statuses = [_sign_in(clients[i % 2], name, f"guess {i}") for i in range(14)]
        # the same address's allowance for the account, spent on either process, holds on both
        assert statuses == [401] * 10 + [429] * 4
        for client in clients:
            r = client.post(
                "/oauth/token",
                data={"grant_type": "password", "username": name, "password": PASSWORD},
            )
            assert r.status_code == 429
    finally:
        for client in clients:
            client.close()


def test_16_7_parallel_sign_ins_over_two_processes_never_pass_the_limit(
    pair: list[LiveServer],
) -> None:
    """32 sign-ins at once from one address (the right password, so only the per-address
    limit of 30 a minute applies), spread over both processes: exactly 30 get in."""
    name = f"burst{secrets.token_hex(4)}"
    _create_user(pair[0], name)
    address = _own_address()

    def attempt(n: int) -> int:
        with _client(pair[n % 2], address) as client:
            return _sign_in(client, name, PASSWORD)

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(attempt, range(32)))
    assert sorted(statuses) == [200] * 30 + [429] * 2
