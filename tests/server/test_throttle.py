"""Sign-in throttling in process: device cookies (S15), the token endpoint's share of the
per-account count (issue 11 item 14a), and atomic per-address counts under concurrency, in
memory and on Redis. The same behaviour over real sockets, with many source addresses and
with two server processes, is in ``test_throttle_live.py``."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from authwise.config import RateLimitSettings
from authwise.server.device_cookie import DeviceCookies
from authwise.server.responses import ApiError
from authwise.server.throttle import Throttle

from .conftest import ALICE, ServerFactory, make_settings

DEVICE = "authwise_session_device"


def _limits(**limits: Any) -> Any:
    return make_settings(rate_limits=RateLimitSettings(**limits))


async def _sign_in(client: httpx.AsyncClient, password: str) -> int:
    r = await client.post("/session", json={"username": ALICE[0], "password": password})
    return r.status_code


async def _spend_the_ceiling(server: Any, count: int) -> None:
    """``count`` wrong passwords for alice, each from its own address."""
    for n in range(count):
        async with server.client_at(f"198.51.100.{n + 1}") as bot:
            assert await _sign_in(bot, f"guess {n}") == 401


def _device_cookie(client: httpx.AsyncClient) -> str:
    return next(v for k, v in client.cookies.items() if k.endswith(DEVICE))


async def test_s15_a_known_device_signs_in_past_the_account_wide_ceiling(
    make_server: ServerFactory,
) -> None:
    """Guessing from many addresses spends alice's account-wide ceiling: the right password
    from any fresh browser then gets 429. Her own browser, which signed in before and keeps
    its device cookie, still gets in, from a new address too."""
    settings = _limits(login_per_account="2/minute", login_per_account_global="5/minute")
    async with make_server(settings) as server, server.client_at("192.0.2.10") as owner:
        assert await _sign_in(owner, ALICE[1]) == 200
        await _spend_the_ceiling(server, 5)
        async with server.client_at("192.0.2.20") as fresh:
            assert await _sign_in(fresh, ALICE[1]) == 429
        assert await _sign_in(owner, ALICE[1]) == 200
        async with server.client_at("203.0.113.5") as travelling:
            travelling.cookies.set(f"__Host-{DEVICE}", _device_cookie(owner), domain="auth.test")
            assert await _sign_in(travelling, ALICE[1]) == 200


async def test_s15_a_device_cookie_that_keeps_failing_is_throttled_on_its_own(
    make_server: ServerFactory,
) -> None:
    """A device cookie is no free pass: its failures count under its own allowance, and
    once that is spent the right password from it gets 429 as well (no oracle) for the
    window, while another browser of alice's is not held back."""
    settings = _limits(login_per_device="3/minute", login_per_account="100/minute")
    async with make_server(settings) as server:
        stolen = server.new_client()
        other = server.new_client()
        async with stolen, other:
            assert await _sign_in(stolen, ALICE[1]) == 200
            assert await _sign_in(other, ALICE[1]) == 200
            for n in range(3):
                assert await _sign_in(stolen, f"guess {n}") == 401
            r = await stolen.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
            assert r.status_code == 429
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert await _sign_in(other, ALICE[1]) == 200
            assert await _sign_in(stolen, "guess") == 429


async def test_s15_a_forged_or_foreign_device_cookie_counts_as_none(
    make_server: ServerFactory,
) -> None:
    """A device cookie changed by a byte, one issued for another account, or one signed with
    another deployment's key does not exempt a browser from the account-wide ceiling."""
    settings = _limits(login_per_account="2/minute", login_per_account_global="3/minute")
    async with make_server(settings) as server, server.new_client() as admin:
        r = await admin.post(
            "/session", json={"username": "admin-user", "password": "correct horse battery admin"}
        )
        assert r.status_code == 200
        admins = _device_cookie(admin)
        async with server.new_client() as owner:
            assert await _sign_in(owner, ALICE[1]) == 200
            alices = _device_cookie(owner)
        elsewhere = DeviceCookies(b"x" * 32, settings)
        foreign_key = elsewhere.issue("alice").split(";")[0].split("=", 1)[1]
        await _spend_the_ceiling(server, 3)
        flipped = alices[:-1] + ("A" if alices[-1] != "A" else "B")
        for value in (admins, foreign_key, flipped, alices + "x", "d1..", "x" * 4000):
            async with server.new_client() as forger:
                forger.cookies.set(f"__Host-{DEVICE}", value, domain="auth.test")
                assert await _sign_in(forger, ALICE[1]) == 429, value[:40]
        async with server.new_client() as owner:
            owner.cookies.set(f"__Host-{DEVICE}", alices, domain="auth.test")
            assert await _sign_in(owner, ALICE[1]) == 200


async def test_s15_the_device_cookie_is_host_only_secure_httponly_and_long_lived(
    make_server: ServerFactory,
) -> None:
    async with make_server(_limits()) as server:
        r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
        assert r.status_code == 200
        device = [c for c in r.headers.get_list("set-cookie") if DEVICE in c]
        assert len(device) == 1
        attributes = [a.strip() for a in device[0].split(";")]
        assert attributes[0].startswith(f"__Host-{DEVICE}=d1.")
        assert set(attributes[1:]) == {
            "Path=/",
            f"Max-Age={365 * 86_400}",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
        }
        # a failed sign-in sets none, and neither does a server with device cookies off
        r = await server.client.post("/session", json={"username": ALICE[0], "password": "no"})
        assert not [c for c in r.headers.get_list("set-cookie") if DEVICE in c]
    async with make_server(_limits(device_cookie_ttl=0)) as server:
        r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
        assert r.status_code == 200
        assert not [c for c in r.headers.get_list("set-cookie") if DEVICE in c]


async def test_s15_without_device_cookies_every_browser_meets_the_ceiling(
    make_server: ServerFactory,
) -> None:
    """With ``device_cookie_ttl = 0`` a cookie issued earlier is no longer honoured."""
    settings = _limits(login_per_account="2/minute", login_per_account_global="3/minute")
    async with make_server(settings) as server:
        assert await _sign_in(server.client, ALICE[1]) == 200
        kept = _device_cookie(server.client)
    off = _limits(
        login_per_account="2/minute", login_per_account_global="3/minute", device_cookie_ttl=0
    )
    async with make_server(off) as server:
        await _spend_the_ceiling(server, 3)
        server.client.cookies.set(f"__Host-{DEVICE}", kept, domain="auth.test")
        assert await _sign_in(server.client, ALICE[1]) == 429


async def test_14a_wrong_passwords_on_the_token_endpoint_count_toward_the_account(
    make_server: ServerFactory,
) -> None:
    """25 wrong passwords for one account over ``POST /oauth/token`` (default limits, one
    address) meet the per-account limit: answers 11 to 25 are 429, below the per-address
    limit of 30, so only the token endpoint's own count of failures can produce them."""
    async with make_server(_limits()) as server:
        statuses = []
        for n in range(25):
            r = await server.client.post(
                "/oauth/token",
                data={"grant_type": "password", "username": ALICE[0], "password": f"g{n}"},
            )
            statuses.append(r.status_code)
        assert statuses == [400] * 10 + [429] * 15
        # and the count is the account's: /session from the same address is throttled too
        async with server.new_client() as browser:
            assert await _sign_in(browser, ALICE[1]) == 429


# -- atomic counts (issue 16 item 7) ----------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def throttle(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Throttle]:
    settings = RateLimitSettings(login_per_address="30/minute", login_per_account="100/minute")
    throttle = Throttle(settings, redis_url if request.param == "redis" else "")
    yield throttle
    await throttle.close()


async def _race(throttle: Throttle, attempts: int, address: str) -> list[bool]:
    async def attempt(n: int) -> int:
        try:
            await throttle.before_login(f"user{n}", address)
        except ApiError as exc:
            return exc.status_code
        return 200

    statuses = await asyncio.gather(*(attempt(n) for n in range(attempts)))
    assert set(statuses) <= {200, 429}
    return [status == 200 for status in statuses]


async def test_16_7_parallel_sign_ins_never_pass_the_per_address_limit(
    throttle: Throttle,
) -> None:
    """32 sign-ins from one address at once, limit 30 a minute: exactly 30 pass. On Redis
    every check is a round trip, so a test followed by a separate hit lets them all pass."""
    address = f"test-{secrets.token_hex(8)}"  # its own counter on the shared Redis
    passed = await _race(throttle, 32, address)
    assert passed.count(True) == 30
    assert await _race(throttle, 4, address) == [False] * 4


async def test_16_7_parallel_refreshes_never_pass_the_per_address_limit(
    redis_url: str,
) -> None:
    throttle = Throttle(RateLimitSettings(refresh_per_address="5/minute"), redis_url)
    address = f"test-{secrets.token_hex(8)}"
    try:
        passed = await _race_refresh(throttle, address)
    finally:
        await throttle.close()
    assert passed.count(True) == 5


async def _race_refresh(throttle: Throttle, address: str) -> list[bool]:

    async def attempt() -> bool:
        try:
            await throttle.before_refresh(address)
        except ApiError:
            return False
        return True

    return list(await asyncio.gather(*(attempt() for _ in range(12))))
