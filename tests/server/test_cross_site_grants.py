"""S15: credential grants refuse cross-site browser requests (issue 11 item 2). A page on
another site could otherwise make its visitors' browsers run password grants, guessing with
their addresses. What a browser sends decides it: ``Sec-Fetch-Site`` and ``Origin``, which no
page can forge; clients that send neither (servers, curl, apps) keep working. The same in a
real browser is in ``test_pages_browser.py``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from authwise.config import CorsSettings, RateLimitSettings, Settings

from .conftest import ALICE, BASE, ServerFactory, make_settings

APP = "https://app.example"
GRANT = {"grant_type": "password", "username": ALICE[0], "password": ALICE[1]}

REFUSED = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://attacker.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "https://other.auth.test"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "null"},
    {"Origin": "https://attacker.example"},
    {"Origin": "null"},
    {"Origin": BASE + ".attacker.example"},
    {"Sec-Fetch-Site": "same-origin", "Origin": "https://attacker.example"},
]
ALLOWED = [
    {},
    {"Origin": BASE},
    {"Sec-Fetch-Site": "same-origin", "Origin": BASE},
    {"Sec-Fetch-Site": "same-origin", "Origin": "null"},
    {"Sec-Fetch-Site": "none"},
    {"Sec-Fetch-Site": "cross-site", "Origin": APP},  # a registered client's page
    {"Origin": APP.upper()},
]


def _settings() -> Settings:
    return replace(make_settings(), cors=CorsSettings(allow_origins=(APP,)))


@pytest.mark.parametrize("headers", REFUSED)
async def test_s15_a_cross_site_password_grant_is_refused(
    make_server: ServerFactory, headers: dict[str, str]
) -> None:
    async with make_server(_settings()) as server:
        r = await server.client.post("/oauth/token", data=GRANT, headers=headers)
        assert r.status_code == 403
        assert r.json()["error"] == "cross_origin"
        assert "access_token" not in r.json()
        assert r.headers["cache-control"] == "no-store"
        # nothing was issued: alice has no refresh family
        user = await server.service.stores.users.get_by_username(ALICE[0])
        assert user is not None
        assert await server.service.stores.refresh.list_for_user(user.id) == []


@pytest.mark.parametrize("headers", ALLOWED)
async def test_s15_same_origin_registered_and_non_browser_grants_work(
    make_server: ServerFactory, headers: dict[str, str]
) -> None:
    async with make_server(_settings()) as server:
        r = await server.client.post("/oauth/token", data=GRANT, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "Bearer"


async def test_s15_a_refused_grant_is_not_a_guess(make_server: ServerFactory) -> None:
    """A refused cross-site grant checks no password, so it neither counts as a failure nor
    answers differently for a right and a wrong one."""
    settings = replace(_settings(), rate_limits=RateLimitSettings(login_per_account="2/minute"))
    async with make_server(settings) as server:
        cross = {"Sec-Fetch-Site": "cross-site", "Origin": "https://attacker.example"}
        for password in ("wrong", ALICE[1], "wrong again"):
            r = await server.client.post(
                "/oauth/token", data={**GRANT, "password": password}, headers=cross
            )
            assert r.status_code == 403
        r = await server.client.post("/oauth/token", data=GRANT)
        assert r.status_code == 200
