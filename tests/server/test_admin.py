"""Administration over HTTP: admin is a role; changes take effect at once."""

from __future__ import annotations

from .conftest import ADMIN, ALICE, Server


async def _alice_id(server: Server) -> str:
    user = await server.service.stores.users.get_by_username("alice")
    assert user is not None
    return user.id


async def test_only_admins(server: Server) -> None:
    alice = await server.login(*ALICE)
    alice_id = await _alice_id(server)
    assert (await alice.get("/admin/users")).status_code == 403
    assert (
        await alice.patch(f"/admin/users/{alice_id}", json={"roles": ["admin"]})
    ).status_code == 403
    assert (await alice.post(f"/admin/users/{alice_id}/revoke")).status_code == 403
    assert (await server.client.get("/admin/users")).status_code == 401


async def test_list_users_with_paging(server: Server) -> None:
    admin = await server.login(*ADMIN)
    r = await admin.get("/admin/users", params={"limit": 1})
    assert r.status_code == 200
    page = r.json()
    assert [u["username"] for u in page["users"]] == ["admin-user"]
    assert page["next"] == "admin-user"
    r = await admin.get("/admin/users", params={"limit": 1, "after": page["next"]})
    assert [u["username"] for u in r.json()["users"]] == ["alice"]
    for bad in ({"limit": "0"}, {"limit": "x"}, {"limit": "501"}):
        assert (await admin.get("/admin/users", params=bad)).status_code == 400


async def test_admin_by_bearer_token(server: Server) -> None:
    tokens = await server.tokens(*ADMIN)
    r = await server.client.get(
        "/admin/users", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 200


async def test_tenant_and_roles(server: Server) -> None:
    admin = await server.login(*ADMIN)
    alice_id = await _alice_id(server)
    r = await admin.patch(
        f"/admin/users/{alice_id}", json={"roles": ["editor", "viewer"], "tenant": "acme"}
    )
    assert r.status_code == 200
    assert r.json()["roles"] == ["editor", "viewer"]
    assert r.json()["tenant"] == "acme"
    r = await admin.patch(f"/admin/users/{alice_id}", json={"tenant": None})
    assert r.json()["tenant"] is None
    for bad in (
        {},
        {"roles": "admin"},
        {"roles": ["Not Valid"]},
        {"disabled": "yes"},
        {"password": "x"},
        {"tenant": 5},
    ):
        r = await admin.patch(f"/admin/users/{alice_id}", json=bad)
        assert r.status_code == 400, bad
    r = await admin.patch("/admin/users/nobody", json={"roles": []})
    assert r.status_code == 404


async def test_disable_ends_everything_and_enable_restores_login(server: Server) -> None:
    admin = await server.login(*ADMIN)
    alice = await server.login(*ALICE)
    tokens = await server.tokens(*ALICE)
    alice_id = await _alice_id(server)
    r = await admin.patch(f"/admin/users/{alice_id}", json={"disabled": True})
    assert r.status_code == 200
    assert r.json()["disabled"] is True
    assert (await alice.get("/me")).status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 400
    r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    assert r.status_code == 401
    r = await admin.patch(f"/admin/users/{alice_id}", json={"disabled": False})
    assert r.json()["disabled"] is False
    server.clock.advance(1)
    assert (
        await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    ).status_code == 200


async def test_revoke_everything(server: Server) -> None:
    admin = await server.login(*ADMIN)
    alice = await server.login(*ALICE)
    tokens = await server.tokens(*ALICE)
    alice_id = await _alice_id(server)
    r = await admin.post(f"/admin/users/{alice_id}/revoke")
    assert r.status_code == 200
    assert r.json() == {"sessions": 1, "refresh_families": 1}
    assert (await alice.get("/me")).status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    assert (await admin.post("/admin/users/nobody/revoke")).status_code == 404
