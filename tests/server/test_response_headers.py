"""The smaller items of issue 11 (item 15): JSON and HTML answers that name no
``Cache-Control`` get ``no-store``; HSTS ``includeSubDomains`` is a setting; signing out sends
``Clear-Site-Data``; bearer 401s say ``error="invalid_token"`` (RFC 6750); the session cookie
lasts the browser session unless "keep me signed in"; JSON bodies with a repeated member are
refused; the access log never shows a query string."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from authwise.config import ServerSettings
from authwise.server.accesslog import ACCESS_LOGGER, RedactQuery

from .conftest import ADMIN, ALICE, BASE, Server, ServerFactory, make_settings
from .live import live_server


async def test_authenticated_json_and_pages_are_not_stored(make_server: ServerFactory) -> None:
    async with make_server() as server:
        admin = await server.login(*ADMIN)
        user_id = (await admin.get("/me")).json()["sub"]
        answers = [
            await admin.get("/admin/users"),
            await admin.patch(f"/admin/users/{user_id}", json={"tenant": "t1"}),
            await admin.get("/sessions"),
            await admin.get("/account"),
            await admin.get("/admin"),
        ]
        for r in answers:
            assert r.status_code == 200, r.request.url
            assert r.headers["cache-control"] == "no-store", r.request.url
        # A response that sets its own policy keeps it.
        jwks = await server.client.get("/.well-known/jwks.json")
        assert jwks.headers["cache-control"].startswith("public")


async def test_hsts_include_subdomains_is_a_setting(make_server: ServerFactory) -> None:
    async with make_server() as server:
        r = await server.client.get("/health")
        assert r.headers["strict-transport-security"] == "max-age=63072000"
    settings = make_settings(server=ServerSettings(public_url=BASE, hsts_include_subdomains=True))
    async with make_server(settings) as server:
        r = await server.client.get("/health")
        assert r.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


# -- sign-out, bearer challenges, cookies -----------------------------------------------------


async def test_logout_clears_site_cookies(server: Server) -> None:
    alice = await server.login(*ALICE)
    r = await alice.delete("/session")
    assert r.status_code == 204
    assert r.headers["clear-site-data"] == '"cookies"'
    alice = await server.login(*ALICE)
    r = await alice.delete("/sessions")
    assert r.headers["clear-site-data"] == '"cookies"'
    # Signing out the other devices keeps this one's cookie.
    alice = await server.login(*ALICE)
    r = await alice.delete("/sessions", params={"keep_current": "true"})
    assert r.status_code == 200
    assert "clear-site-data" not in r.headers


@pytest.mark.parametrize("path", ["/me", "/sessions", "/admin/users", "/session"])
async def test_bad_bearer_token_gets_invalid_token(server: Server, path: str) -> None:
    r = await server.client.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="authwise", error="invalid_token"'
    # No credentials at all: a challenge without an error code (RFC 6750 section 3.1).
    r = await server.client.get(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="authwise"'


async def test_revoked_bearer_token_gets_invalid_token(server: Server) -> None:
    tokens = await server.tokens(*ALICE)
    await server.client.post("/oauth/revoke", data={"token": tokens["access_token"]})
    r = await server.client.get(
        "/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def _session_cookie(r: httpx.Response) -> str:
    """The session's own Set-Cookie (sign-in also sets the device cookie)."""
    [cookie] = [
        c for c in r.headers.get_list("set-cookie") if c.startswith("__Host-authwise_session=")
    ]
    return cookie


def _max_age(set_cookie: str) -> str | None:
    for attribute in set_cookie.split(";")[1:]:
        name, _, value = attribute.strip().partition("=")
        if name.lower() == "max-age":
            return value
    return None


async def test_session_cookie_lasts_the_browser_session_by_default(server: Server) -> None:
    r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    assert r.status_code == 200
    assert _max_age(_session_cookie(r)) is None
    assert "expires" not in _session_cookie(r).lower()
    r = await server.new_client().post(
        "/session", json={"username": ALICE[0], "password": ALICE[1], "remember": False}
    )
    assert _max_age(_session_cookie(r)) is None


async def test_keep_me_signed_in_makes_the_cookie_persistent(server: Server) -> None:
    absolute = str(server.settings.sessions.absolute_timeout)
    r = await server.new_client().post(
        "/session", json={"username": ALICE[0], "password": ALICE[1], "remember": True}
    )
    assert _max_age(_session_cookie(r)) == absolute
    r = await server.new_client().post(
        "/session",
        data={"username": ALICE[0], "password": ALICE[1], "remember": "on"},
        headers={"Origin": BASE, "Accept": "text/html"},
    )
    assert r.status_code == 303
    assert _max_age(_session_cookie(r)) == absolute


async def test_login_page_offers_keep_me_signed_in(server: Server) -> None:
    page = (await server.client.get("/login")).text
    assert 'name="remember" type="checkbox"' in page


# -- JSON bodies --------------------------------------------------------------------------------


async def test_duplicate_json_members_are_refused(server: Server) -> None:
    body = '{"username": "alice", "username": "admin-user", "password": "' + ADMIN[1] + '"}'
    r = await server.new_client().post(
        "/session", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error_description"] == "The body repeats a member name."
    assert "set-cookie" not in r.headers
    admin = await server.login(*ADMIN)
    alice = await server.service.get_user_by_username("alice")
    assert alice is not None
    nested = '{"roles": ["viewer"], "tenant": "a", "tenant": "b"}'
    r = await admin.patch(
        f"/admin/users/{alice.id}", content=nested, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    after = await server.service.get_user(alice.id)
    assert after is not None
    assert after.roles == alice.roles  # nothing changed
    assert after.tenant == alice.tenant


async def test_json_without_duplicates_still_reads_in_any_layout(server: Server) -> None:
    body = '{\n  "username" : "alice",\n  "password" : "' + ALICE[1] + '",\n  "x": {"a": 1}\n}'
    r = await server.new_client().post(
        "/session", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 200


# -- the access log -------------------------------------------------------------------------------


def test_access_log_filter_drops_the_query() -> None:
    record = logging.LogRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/me?access_token=SECRET123", "1.1", 401),
        None,
    )
    assert RedactQuery().filter(record)
    line = record.getMessage()
    assert "SECRET123" not in line
    assert '"GET /me?[query omitted] HTTP/1.1" 401' in line


def test_access_log_of_a_real_server_has_no_query_credentials(tmp_path: Path) -> None:
    secret = "aw_cs_" + "Q" * 43
    with live_server(tmp_path / "data", "--dev") as live:
        r = httpx.get(f"{live.url}/health", params={"client_secret": secret, "a": "b"})
        assert r.status_code == 200
        deadline = time.monotonic() + 5
        while "/health?[query omitted]" not in live.log.read_text():
            assert time.monotonic() < deadline, live.log.read_text()
            time.sleep(0.05)
        assert secret not in live.log.read_text()
