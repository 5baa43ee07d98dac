"""S04, the strong form: no ``GET`` changes anything, whoever sends it and however its query
reads; and the admin API refuses every forgery a cookie-only cross-site request can make.

The first test takes a snapshot of everything a client can observe (each user's sessions,
roles and tenant, the refresh families and access tokens by introspection, the revocation
list) and of the stores behind it, then sends ``GET`` to every path of the OpenAPI document,
with cookies, bearer tokens and client credentials, and with queries and bodies that read
like commands. The snapshot must come out the same and no answer may set a cookie.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from authwise.server.spec import openapi_bytes

from .conftest import ADMIN, ALICE, BASE, Server

COOKIE = "__Host-authwise_session"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """Two users (one admin), each with two signed-in browsers and token sets, a client for
    introspection, and some revocations already on the list."""

    admin: httpx.AsyncClient
    admin2: httpx.AsyncClient
    alice: httpx.AsyncClient
    alice2: httpx.AsyncClient
    admin_tokens: dict[str, Any]
    alice_tokens: dict[str, Any]
    alice_rotated: dict[str, Any]
    revoked_tokens: dict[str, Any]
    client_auth: dict[str, str]
    ids: dict[str, str]
    """username -> user id"""

    @property
    def browsers(self) -> dict[str, httpx.AsyncClient]:
        return {
            "admin": self.admin,
            "admin2": self.admin2,
            "alice": self.alice,
            "alice2": self.alice2,
        }

    @property
    def tokens(self) -> dict[str, str]:
        grants = {
            "admin": self.admin_tokens,
            "alice": self.alice_tokens,
            "alice rotated": self.alice_rotated,
            "alice revoked": self.revoked_tokens,
        }
        return {
            f"{name} {kind}": grant[f"{kind}_token"]
            for name, grant in grants.items()
            for kind in ("access", "refresh")
        }


async def _world(server: Server) -> World:
    admin = await server.login(*ADMIN)
    admin2 = await server.login(*ADMIN)
    alice = await server.login(*ALICE)
    alice2 = await server.login(*ALICE)
    admin_tokens = await server.tokens(*ADMIN)
    alice_tokens = await server.tokens(*ALICE)
    # A rotated chain: the first refresh token is now a predecessor.
    first = await server.tokens(*ALICE)
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert r.status_code == 200, r.text
    alice_rotated = r.json()
    # One family revoked (a sid entry) and one access token revoked by jti.
    revoked = await server.tokens(*ALICE)
    r = await server.client.post("/oauth/revoke", data={"token": revoked["refresh_token"]})
    assert r.status_code == 200
    r = await server.client.post(
        "/oauth/revoke",
        data={"token": alice_rotated["access_token"], "token_type_hint": "access_token"},
    )
    assert r.status_code == 200
    client, secret = await server.service.create_client("resource-server")
    users = (await admin.get("/admin/users")).json()["users"]
    ids = {u["username"]: u["id"] for u in users}
    return World(
        admin,
        admin2,
        alice,
        alice2,
        admin_tokens,
        alice_tokens,
        alice_rotated,
        revoked,
        _basic(client.client_id, secret),
        ids,
    )


async def _observable(server: Server, world: World) -> dict[str, Any]:
    """What clients can see over HTTP."""
    seen: dict[str, Any] = {}
    for name, browser in world.browsers.items():
        for path in ("/me", "/session", "/sessions"):
            r = await browser.get(path)
            assert r.status_code == 200, (name, path)
            assert "set-cookie" not in r.headers, (name, path)
            seen[f"{name} {path}"] = r.json()
        seen[f"{name} cookie"] = browser.cookies[COOKIE]
    r = await world.admin.get("/admin/users", params={"limit": "500"})
    assert r.status_code == 200
    seen["users"] = r.json()
    for label, token in world.tokens.items():
        r = await server.client.get("/me", headers=_bearer(token))
        seen[f"me {label}"] = (r.status_code, r.json())
        r = await server.client.post(
            "/oauth/introspect", data={"token": token}, headers=world.client_auth
        )
        assert r.status_code == 200
        seen[f"introspect {label}"] = r.json()
    r = await server.client.get("/revocations", headers=world.client_auth)
    assert r.status_code == 200
    seen["revocations"] = r.json()
    return seen


async def _stored(server: Server) -> dict[str, Any]:
    """What the stores hold, through the service's own reads."""
    service = server.service
    users = await service.list_users(limit=500)
    stored: dict[str, Any] = {"users": users}
    for user in users:
        stored[f"sessions {user.username}"] = await service.list_sessions(user.id)
        stored[f"families {user.username}"] = await service.list_families(user.id)
    stored["revocations"] = sorted(
        await service.live_revocations(), key=lambda e: (e.kind.value, e.key)
    )
    stored["audit"] = await service.audit_events(limit=1000)
    stored["keys"] = await service.stores.keys.load()
    stored["clients"] = await service.list_clients()
    return stored


def _fill(path: str, world: World, handle: str) -> str:
    return path.replace("{user_id}", world.ids["alice"]).replace("{handle}", handle)


COMMAND_QUERIES = [
    "",
    "?keep_current=true",
    "?keep_current=false",
    "?_method=DELETE",
    "?_method=PATCH&roles=admin&disabled=true",
    "?_method=POST",
    "?action=revoke&logout=1&revoke=all",
    "?grant_type=password&username=alice&password=correct+horse+battery+staple",
    "?token=@refresh&token_type_hint=refresh_token",
]

OVERRIDE_HEADERS = {
    "X-HTTP-Method-Override": "DELETE",
    "X-HTTP-Method": "DELETE",
    "X-Method-Override": "DELETE",
}


async def test_s04_no_get_changes_anything(server: Server) -> None:
    world = await _world(server)
    alice_sessions = (await world.alice.get("/sessions")).json()["sessions"]
    assert len(alice_sessions) == 2
    # The path parameter: alice's other device, the session a DELETE there would end.
    other_handle = next(s["handle"] for s in alice_sessions if not s["current"])
    before = await _observable(server, world)
    stored = await _stored(server)
    # The snapshot itself changes nothing (introspection is a POST, but a read).
    assert await _observable(server, world) == before
    assert await _stored(server) == stored
    # Sanity: the snapshot sees what the sweep could destroy.
    assert len(before["users"]["users"]) == 2
    assert len(before["alice /sessions"]["sessions"]) == 2
    assert len(before["admin /sessions"]["sessions"]) == 2
    live = {
        k.removeprefix("introspect ")
        for k, v in before.items()
        if k.startswith("introspect") and v["active"]
    }
    assert live == {
        "admin access",
        "admin refresh",
        "alice access",
        "alice refresh",
        "alice rotated refresh",
    }
    assert len(before["revocations"]["entries"]) >= 2

    document = json.loads(openapi_bytes())
    paths = list(document["paths"])
    get_paths = [p for p, ops in document["paths"].items() if "get" in ops]
    assert len(paths) >= 20
    assert len(get_paths) >= 15
    # Every path, GET routes and the paths of unsafe routes alike (those answer 405).
    credentials: list[tuple[str, httpx.AsyncClient, dict[str, str]]] = [
        ("admin cookie", world.admin, {}),
        ("alice cookie", world.alice, {}),
        ("admin bearer", server.client, _bearer(world.admin_tokens["access_token"])),
        ("alice bearer", server.client, _bearer(world.alice_tokens["access_token"])),
        ("client", server.client, world.client_auth),
    ]
    refresh = world.alice_tokens["refresh_token"]
    statuses: dict[tuple[str, str], int] = {}
    sent = 0
    for path in paths:
        for query in COMMAND_QUERIES:
            url = _fill(path, world, other_handle) + query.replace("@refresh", refresh)
            for name, client, headers in credentials:
                # The browsers carry their anti-forgery token by default: even a GET that
                # has it is no unsafe request.
                for method in ("GET", "HEAD"):
                    r = await client.request(method, url, headers=headers)
                    sent += 1
                    assert r.status_code < 500, (method, url, name, r.status_code)
                    assert "set-cookie" not in r.headers, (method, url, name)
                    if method == "GET" and not query:
                        statuses[(path, name)] = r.status_code
                # A GET with a body that reads like a command, and method-override headers.
                r = await client.request(
                    "GET",
                    url,
                    headers={**headers, **OVERRIDE_HEADERS, "Content-Type": "application/json"},
                    content=b'{"roles": ["admin"], "disabled": true, "keep_current": false}',
                )
                sent += 1
                assert r.status_code < 500, ("GET+body", url, name, r.status_code)
                assert "set-cookie" not in r.headers, ("GET+body", url, name)
    # The sweep reached the authenticated routes, not only their 401s.
    assert statuses[("/sessions", "alice cookie")] == 200
    assert statuses[("/sessions", "alice bearer")] == 200
    assert statuses[("/admin/users", "admin cookie")] == 200
    assert statuses[("/admin/users", "admin bearer")] == 200
    assert statuses[("/revocations", "client")] == 200
    assert statuses[("/account", "alice cookie")] == 200
    assert statuses[("/admin", "admin cookie")] == 200
    for path in ("/sessions/{handle}", "/admin/users/{user_id}", "/admin/users/{user_id}/revoke"):
        assert statuses[(path, "admin cookie")] == 405, path
        assert statuses[(path, "admin bearer")] == 405, path
    assert sent > 1000

    assert await _observable(server, world) == before
    assert await _stored(server) == stored


# -- The admin API under forgery ------------------------------------------------------------

ADMIN_FORGERIES: list[tuple[str, dict[str, str]]] = [
    ("no token", {}),
    ("wrong token", {"X-CSRF-Token": "A" * 43}),
    ("another session's token", {"X-CSRF-Token": "@other"}),
    ("alice's token", {"X-CSRF-Token": "@alice"}),
    ("text/plain form", {"Content-Type": "text/plain"}),
    ("Origin: null", {"Origin": "null", "X-CSRF-Token": "@token"}),
    ("foreign Origin", {"Origin": "https://evil.example", "X-CSRF-Token": "@token"}),
    ("lookalike Origin", {"Origin": f"{BASE}.evil.example", "X-CSRF-Token": "@token"}),
    ("cross-site fetch", {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": "@token"}),
    ("same-site fetch", {"Sec-Fetch-Site": "same-site", "X-CSRF-Token": "@token"}),
    (
        "same-origin fetch, foreign Origin",
        {
            "Sec-Fetch-Site": "same-origin",
            "Origin": "https://evil.example",
            "X-CSRF-Token": "@token",
        },
    ),
]

ADMIN_ATTEMPTS: list[tuple[str, str, bytes | None]] = [
    ("PATCH", "/admin/users/{user_id}", b'{"roles": ["admin"]}'),
    ("PATCH", "/admin/users/{user_id}", b'{"disabled": true}'),
    ("PATCH", "/admin/users/{user_id}", b'{"tenant": "evil"}'),
    ("POST", "/admin/users/{user_id}/revoke", None),
    ("POST", "/admin/users/{user_id}/revoke", b"{}"),
]


async def _alice_state(server: Server, alice: httpx.AsyncClient, refresh: str) -> Any:
    """alice's roles, tenant and flag, her sessions, and whether her refresh family lives."""
    user = await server.service.get_user((await alice.get("/me")).json()["sub"])
    assert user is not None
    sessions = (await alice.get("/sessions")).json()["sessions"]
    introspected = await server.service.introspect(refresh)
    return (
        user.roles,
        user.tenant,
        user.disabled,
        sorted(s["handle"] for s in sessions),
        introspected["active"],
    )


@pytest.mark.parametrize(("name", "headers"), ADMIN_FORGERIES, ids=[f[0] for f in ADMIN_FORGERIES])
async def test_s04_admin_api_refuses_every_forgery(
    server: Server, name: str, headers: dict[str, str]
) -> None:
    admin = await server.login(*ADMIN)
    token = admin.headers.pop("X-CSRF-Token")
    other_admin = await server.login(*ADMIN)
    alice = await server.login(*ALICE)
    await server.login(*ALICE)  # her second device
    substitutes = {
        "@token": token,
        "@other": other_admin.headers["X-CSRF-Token"],
        "@alice": alice.headers["X-CSRF-Token"],
    }
    headers = {k: substitutes.get(v, v) for k, v in headers.items()}
    refresh = (await server.tokens(*ALICE))["refresh_token"]
    alice_id = (await alice.get("/me")).json()["sub"]
    before = await _alice_state(server, alice, refresh)
    assert before[:3] == ((), None, False)
    assert len(before[3]) == 2  # her two browsers
    assert before[4] is True
    audit = await server.service.audit_events(limit=1000)

    for method, path, body in ADMIN_ATTEMPTS:
        sent = {"Content-Type": "application/json", **headers} if body is not None else headers
        r = await admin.request(
            method, path.replace("{user_id}", alice_id), headers=sent, content=body
        )
        assert r.status_code == 403, (method, path, body, r.status_code)
        assert r.json() == {
            "error": "csrf_failed",
            "error_description": "Cross-site request refused.",
        }
        assert await _alice_state(server, alice, refresh) == before, (method, path, body)
    # Nothing was written, not even an audit event, and the admin is still signed in.
    assert await server.service.audit_events(limit=1000) == audit
    me = await admin.get("/me")
    assert me.status_code == 200
    assert me.json()["roles"] == ["admin"]

    # The control: the same request with the token from our own origin goes through.
    r = await admin.patch(
        f"/admin/users/{alice_id}",
        json={"tenant": "acme"},
        headers={"X-CSRF-Token": token, "Origin": BASE, "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["tenant"] == "acme"
    r = await admin.post(
        f"/admin/users/{alice_id}/revoke", headers={"X-CSRF-Token": token, "Origin": BASE}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions": 2, "refresh_families": 1}
    assert (await alice.get("/me")).status_code == 401
