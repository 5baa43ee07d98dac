"""Sessions over HTTP: sign in and out, the current session, devices (S14), /me, and
permission changes mid-session."""

from __future__ import annotations

import pytest

from authwise.core.jws import decode_unverified

from .conftest import ADMIN, ALICE, Server


async def test_login_json_and_current_session(server: Server) -> None:
    alice = await server.login(*ALICE)
    r = await alice.get("/session")
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["username"] == "alice"
    assert body["session"]["current"] is True
    assert body["csrf_token"] == alice.headers["X-CSRF-Token"]
    assert r.headers["cache-control"] == "no-store"


async def test_login_form_from_the_page_redirects(server: Server) -> None:
    client = server.new_client()
    r = await client.post(
        "/session",
        data={"username": ALICE[0], "password": ALICE[1]},
        headers={"Accept": "text/html", "Origin": server.settings.server.public_url},
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/account"
    page = await client.get("/account")
    assert page.status_code == 200
    assert "alice" in page.text
    assert page.headers["content-security-policy"].startswith(
        "default-src 'none'; script-src 'self'"
    )
    r = await client.post(
        "/session", data={"username": ALICE[0], "password": "nope"}, headers={"Accept": "text/html"}
    )
    assert r.status_code == 401
    assert "Wrong username or password" in r.text


async def test_login_errors(server: Server) -> None:
    client = server.client
    r = await client.post("/session", json={"username": ALICE[0], "password": "wrong"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_credentials"
    assert "set-cookie" not in r.headers
    r = await client.post("/session", json={"username": ALICE[0]})
    assert r.status_code == 400
    r = await client.post("/session", json=["not", "an", "object"])
    assert r.status_code == 400
    r = await client.post(
        "/session", content=b"{bad json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post("/session", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = await client.post("/session", json={"username": "a\x00b", "password": "x"})
    assert r.status_code == 400


async def test_unauthenticated_requests_get_401(server: Server) -> None:
    for method, path in [
        ("GET", "/session"),
        ("GET", "/sessions"),
        ("GET", "/me"),
        ("DELETE", "/session"),
    ]:
        r = await server.client.request(method, path)
        assert r.status_code == 401, path
    planted = server.new_client(cookies={server.settings.cookie.cookie_name: "aw_s_" + "A" * 43})
    assert (await planted.get("/me")).status_code == 401  # an ID never issued


async def test_logout_ends_the_session(server: Server) -> None:
    alice = await server.login(*ALICE)
    cookie = alice.cookies[server.settings.cookie.cookie_name]
    r = await alice.delete("/session")
    assert r.status_code == 204
    assert "Max-Age=0" in r.headers["set-cookie"]
    stale = server.new_client(cookies={server.settings.cookie.cookie_name: cookie})
    assert (await stale.get("/me")).status_code == 401


async def test_device_list_and_ending_one_session(server: Server) -> None:
    """S14: sessions are listed with device data and each can be ended by its owner."""
    laptop = await server.login(*ALICE)
    phone = server.new_client(headers={"User-Agent": "PhoneBrowser/1.0"})
    r = await phone.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    phone_handle = r.json()["session"]["handle"]
    r = await laptop.get("/sessions")
    assert r.status_code == 200
    sessions = r.json()["sessions"]
    assert len(sessions) == 2
    by_handle = {s["handle"]: s for s in sessions}
    assert by_handle[phone_handle]["user_agent"] == "PhoneBrowser/1.0"
    assert by_handle[phone_handle]["current"] is False
    assert sum(s["current"] for s in sessions) == 1
    assert all(s["client_addr"] for s in sessions)
    r = await laptop.delete(f"/sessions/{phone_handle}")
    assert r.status_code == 204
    assert (await phone.get("/me")).status_code == 401
    assert (await laptop.get("/me")).status_code == 200
    r = await laptop.delete(f"/sessions/{phone_handle}")
    assert r.status_code == 404


async def test_a_user_cannot_end_someone_elses_session(server: Server) -> None:
    alice = await server.login(*ALICE)
    admin = await server.login(*ADMIN)
    admin_handle = (await admin.get("/session")).json()["session"]["handle"]
    r = await alice.delete(f"/sessions/{admin_handle}")
    assert r.status_code == 404
    assert (await admin.get("/me")).status_code == 200


async def test_logout_everywhere_keep_current(server: Server) -> None:
    one = await server.login(*ALICE)
    two = await server.login(*ALICE)
    tokens = await server.tokens(*ALICE)
    r = await one.delete("/sessions", params={"keep_current": "true"})
    assert r.status_code == 200
    assert r.json()["sessions"] == 1
    assert (await two.get("/me")).status_code == 401
    assert (await one.get("/me")).status_code == 200
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    r = await one.delete("/sessions", params={"keep_current": "maybe"})
    assert r.status_code == 400


async def test_logout_everywhere_by_bearer(server: Server) -> None:
    browser = await server.login(*ALICE)
    tokens = await server.tokens(*ALICE)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    r = await server.client.delete("/sessions", headers=bearer)
    assert r.status_code == 200
    assert (await browser.get("/me")).status_code == 401
    assert (await server.client.get("/me", headers=bearer)).status_code == 401


async def test_me_by_cookie_and_by_bearer(server: Server) -> None:
    alice = await server.login(*ALICE)
    r = await alice.get("/me")
    assert r.status_code == 200
    assert r.json()["auth_method"] == "session"
    assert r.json()["username"] == "alice"
    tokens = await server.tokens(*ALICE)
    r = await server.client.get(
        "/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["auth_method"] == "bearer"
    assert body["sid"] == decode_unverified(tokens["access_token"]).payload["sid"]
    server.clock.advance(301)
    r = await server.client.get(
        "/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 401  # expired


async def test_session_idle_timeout(server: Server) -> None:
    alice = await server.login(*ALICE)
    server.clock.advance(server.settings.sessions.idle_timeout + 1)
    assert (await alice.get("/me")).status_code == 401


async def test_role_change_reaches_sessions_and_tokens_at_once(server: Server) -> None:
    alice = await server.login(*ALICE)
    tokens = await server.tokens(*ALICE)
    assert (await alice.get("/me")).json()["roles"] == []  # now cached in process
    admin = await server.login(*ADMIN)
    alice_id = (await alice.get("/me")).json()["sub"]
    r = await admin.patch(f"/admin/users/{alice_id}", json={"roles": ["editor"]})
    assert r.status_code == 200
    # The session sees the new roles on its very next request (and gets a new ID).
    r = await alice.get("/me")
    assert r.status_code == 200
    assert r.json()["roles"] == ["editor"]
    assert server.settings.cookie.cookie_name in r.headers.get("set-cookie", "")
    assert (await alice.get("/me")).status_code == 200
    # The old access token stops verifying at the server; the next refresh carries the roles.
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    server.clock.advance(1)
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 200
    fresh = r.json()["access_token"]
    assert decode_unverified(fresh).payload["roles"] == ["editor"]
    r = await server.client.get("/me", headers={"Authorization": f"Bearer {fresh}"})
    assert r.json()["roles"] == ["editor"]


async def test_registration(server: Server) -> None:
    r = await server.client.post(
        "/users", json={"username": "carol", "password": "a long password"}
    )
    assert r.status_code == 202
    carol = await server.login("carol", "a long password")
    assert (await carol.get("/me")).json()["username"] == "carol"
    r = await server.client.post("/users", json={"username": "dave", "password": "short"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_input"


@pytest.mark.parametrize("password", ["password", "12345678", "Qwertyuiop"])
async def test_s16_registration_refuses_common_passwords(server: Server, password: str) -> None:
    r = await server.client.post("/users", json={"username": "erin", "password": password})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_input"
    assert "most common passwords" in r.json()["error_description"]
    assert await server.service.stores.users.get_by_username("erin") is None


async def test_s17_registration_of_a_look_alike_answers_as_for_a_taken_name(
    server: Server,
) -> None:
    """\u0251lice beside alice: the same 202 as a free name (S10), and no account made;
    \u0430dmin (Cyrillic a) mixes scripts: 400 with the reason."""
    r = await server.client.post(
        "/users", json={"username": "\u0251lice", "password": "a long password"}
    )
    assert r.status_code == 202
    assert await server.service.get_user_by_username("\u0251lice") is None
    r = await server.client.post(
        "/session", json={"username": "\u0251lice", "password": "a long password"}
    )
    assert r.status_code == 401
    r = await server.client.post(
        "/users", json={"username": "\u0430dmin", "password": "a long password"}
    )
    assert r.status_code == 400
    assert "mix scripts" in r.json()["error_description"]


async def test_registration_can_be_off(make_server) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from .conftest import make_settings

    settings = make_settings()
    settings = replace(settings, server=replace(settings.server, registration=False))
    async with make_server(settings) as server:
        r = await server.client.post(
            "/users", json={"username": "carol", "password": "a long password"}
        )
        assert r.status_code == 404


async def test_pages(server: Server) -> None:
    r = await server.client.get("/")
    assert r.status_code == 303
    r = await server.client.get("/login")
    assert r.status_code == 200
    assert "<form" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    r = await server.client.get("/account")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    alice = await server.login(*ALICE)
    r = await alice.get("/admin")
    assert r.status_code == 403
    admin = await server.login(*ADMIN)
    r = await admin.get("/admin")
    assert r.status_code == 200
    assert "alice" in r.text
    token = admin.headers["X-CSRF-Token"]
    assert f'content="{token}"' in r.text
    r = await server.client.get("/static/account.js")
    assert r.status_code == 200
    r = await server.client.get("/decode")
    assert r.status_code == 200
