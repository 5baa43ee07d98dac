"""Password change over HTTP (issue 11, item 3): self-service with the current password
(``POST /account/password``), the admin reset (``POST /admin/users/{id}/password``). A change
ends every other session and token; the session that made it stays."""

from __future__ import annotations

import pytest

from authwise.config import RateLimitSettings
from authwise.storage.base import EventKind, LogEntry

from .conftest import ADMIN, ALICE, Server, ServerFactory, make_settings

NEW = "an entirely new passphrase"


async def _bearer(server: Server, username: str, password: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {(await server.tokens(username, password))['access_token']}"}


async def test_self_service_change_ends_everything_else(server: Server) -> None:
    events: list[LogEntry | None] = []
    server.service.subscribe(events.append)
    here = await server.login(*ALICE)
    elsewhere = await server.login(*ALICE)
    tokens = await server.tokens(*ALICE)
    r = await here.post(
        "/account/password", json={"current_password": ALICE[1], "new_password": NEW}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions": 1, "refresh_families": 1}
    assert r.headers["cache-control"] == "no-store"
    assert (await elsewhere.get("/me")).status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    refreshed = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 400
    # The session that changed it stays signed in (with a new ID).
    me = await here.get("/me")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert "set-cookie" in me.headers
    # Only the new password signs in.
    old = await server.new_client().post(
        "/session", json={"username": ALICE[0], "password": ALICE[1]}
    )
    assert old.status_code == 401
    await server.login(ALICE[0], NEW)
    alice = await server.service.get_user_by_username("alice")
    assert alice is not None
    changes = [
        e.event for e in events if e is not None and e.event.kind is EventKind.CREDENTIAL_CHANGED
    ]
    assert [e.user_id for e in changes] == [alice.id]


async def test_wrong_current_password_changes_nothing(server: Server) -> None:
    here = await server.login(*ALICE)
    elsewhere = await server.login(*ALICE)
    r = await here.post(
        "/account/password", json={"current_password": "not the password", "new_password": NEW}
    )
    assert r.status_code == 403
    assert r.json()["error"] == "wrong_password"
    assert (await elsewhere.get("/me")).status_code == 200
    await server.login(*ALICE)


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": ALICE[1], "new_password": "short"},
        {"current_password": ALICE[1], "new_password": "alice"},
        {"current_password": ALICE[1]},
        {"new_password": NEW},
        {"current_password": ALICE[1], "new_password": 12345678},
    ],
)
async def test_refused_new_passwords_are_400s(server: Server, body: dict[str, object]) -> None:
    here = await server.login(*ALICE)
    r = await here.post("/account/password", json=body)
    assert r.status_code == 400
    assert r.json()["error_description"]
    await server.login(*ALICE)  # the old password still works


async def test_change_needs_the_anti_forgery_token_or_a_bearer_token(server: Server) -> None:
    here = await server.login(*ALICE)
    del here.headers["X-CSRF-Token"]
    body = {"current_password": ALICE[1], "new_password": NEW}
    assert (await here.post("/account/password", json=body)).status_code == 403
    assert (await server.client.post("/account/password", json=body)).status_code == 401
    headers = await _bearer(server, *ALICE)
    r = await server.client.post("/account/password", json=body, headers=headers)
    assert r.status_code == 200
    assert r.json()["refresh_families"] == 1  # the caller's own token ends too
    assert (await server.client.get("/me", headers=headers)).status_code == 401


async def test_wrong_current_passwords_are_throttled(make_server: ServerFactory) -> None:
    settings = make_settings(rate_limits=RateLimitSettings(login_per_account="3/minute"))
    async with make_server(settings) as server:
        here = await server.login(*ALICE)
        body = {"current_password": "guess", "new_password": NEW}
        statuses = [(await here.post("/account/password", json=body)).status_code for _ in range(5)]
        assert statuses[:3] == [403, 403, 403]
        assert statuses[3:] == [429, 429]
        right = {"current_password": ALICE[1], "new_password": NEW}
        assert (await here.post("/account/password", json=right)).status_code == 429


async def test_the_page_and_the_link(server: Server) -> None:
    r = await server.client.get("/account/password")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    alice = await server.login(*ALICE)
    page = await alice.get("/account/password")
    assert page.status_code == 200
    assert 'id="password-form"' in page.text
    assert 'name="csrf-token"' in page.text
    assert "/static/password.js" in page.text
    assert 'href="/account/password"' in (await alice.get("/account")).text


async def test_admin_reset(server: Server) -> None:
    alice_user = await server.service.get_user_by_username("alice")
    assert alice_user is not None
    url = f"/admin/users/{alice_user.id}/password"
    alice = await server.login(*ALICE)
    tokens = await server.tokens(*ALICE)
    assert (await alice.post(url, json={"password": NEW})).status_code == 403  # not an admin
    admin = await server.login(*ADMIN)
    r = await admin.post(url, json={"password": NEW})
    assert r.status_code == 200
    assert r.json() == {"sessions": 1, "refresh_families": 1}
    assert (await alice.get("/me")).status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    await server.login(ALICE[0], NEW)
    assert (await admin.get("/me")).status_code == 200  # the admin's own session is untouched
    assert (
        await admin.post("/admin/users/nobody/password", json={"password": NEW})
    ).status_code == 404
    assert (await admin.post(url, json={"password": "short"})).status_code == 400
    assert (await admin.post(url, json={})).status_code == 400
    audit = await server.service.audit_events(user_id=alice_user.id)
    admin_user = await server.service.get_user_by_username(ADMIN[0])
    assert admin_user is not None
    assert any(e.actor_id == admin_user.id for e in audit if e.kind == "password_changed")
