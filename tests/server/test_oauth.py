"""The OAuth endpoints: metadata, JWKS, token (RFC 6749), revocation (RFC 7009), introspection
(RFC 7662) and the revocation list."""

from __future__ import annotations

import base64

from authwise.config import CorsSettings
from authwise.core.jwks import KeySet
from authwise.core.jws import decode_unverified

from .conftest import ALICE, BASE, Server, ServerFactory, make_settings


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def client_auth(server: Server) -> dict[str, str]:
    client, secret = await server.service.create_client("resource-server")
    return basic(client.client_id, secret)


async def test_metadata_names_the_endpoints(server: Server) -> None:
    r = await server.client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    body = r.json()
    assert body["issuer"] == BASE
    assert body["token_endpoint"] == f"{BASE}/oauth/token"
    assert body["jwks_uri"] == f"{BASE}/.well-known/jwks.json"
    assert set(body["grant_types_supported"]) == {"password", "refresh_token"}


async def test_jwks_is_public_keys_only_and_cacheable(server: Server) -> None:
    r = await server.client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("public, max-age=")
    keys = r.json()["keys"]
    assert len(keys) == 2  # the active key and the next one, published ahead
    for jwk in keys:
        assert not {"d", "p", "q", "k"} & jwk.keys()
        assert jwk["use"] == "sig"
    assert len(KeySet.from_jwks(r.content)) == 2


async def test_password_grant_issues_short_lived_bound_tokens(server: Server) -> None:
    r = await server.client.post(
        "/oauth/token", data={"grant_type": "password", "username": ALICE[0], "password": ALICE[1]}
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["refresh_token"].startswith("aw_rt_")
    token = decode_unverified(body["access_token"])
    assert token.header["typ"] == "at+jwt"
    assert token.payload["iss"] == BASE
    assert token.payload["exp"] - token.payload["iat"] == 300
    assert "sid" in token.payload


async def test_token_errors_follow_rfc6749(server: Server) -> None:
    post = server.client.post
    cases = [
        ({"grant_type": "password", "username": ALICE[0], "password": "wrong"}, "invalid_grant"),
        ({"grant_type": "password", "username": "nobody", "password": "x"}, "invalid_grant"),
        ({"grant_type": "password", "username": ALICE[0]}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "aw_rt_" + "A" * 43}, "invalid_grant"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
    ]
    for data, error in cases:
        r = await post("/oauth/token", data=data)
        assert r.status_code == 400, data
        assert r.json()["error"] == error, data
        assert r.headers["cache-control"] == "no-store"
    r = await post(
        "/oauth/token",
        content=b"grant_type=password&grant_type=refresh_token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    r = await post("/oauth/token", json={"grant_type": "password"})
    assert r.status_code == 415
    r = await server.client.get("/oauth/token")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"


async def test_unknown_audience_is_invalid_target_on_both_grants(server: Server) -> None:
    first = await server.tokens(*ALICE)
    grants = [
        {"grant_type": "password", "username": ALICE[0], "password": ALICE[1]},
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        # Refused before the password is checked: a wrong one gets the same answer.
        {"grant_type": "password", "username": ALICE[0], "password": "wrong"},
    ]
    for data in grants:
        r = await server.client.post("/oauth/token", data={**data, "audience": "elsewhere"})
        assert r.status_code == 400, data
        assert r.json()["error"] == "invalid_target", data  # RFC 8707 section 2
        assert r.headers["cache-control"] == "no-store", data
        assert r.headers["pragma"] == "no-cache", data
    # The refused refresh changed nothing: the same token still rotates, for the known audience.
    r = await server.client.post("/oauth/token", data={**grants[1], "audience": BASE})
    assert r.status_code == 200
    assert decode_unverified(r.json()["access_token"]).payload["aud"] == BASE


async def test_refresh_rotates_and_reuse_revokes_the_family(server: Server) -> None:
    first = await server.tokens(*ALICE)
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    server.clock.advance(60)  # past the grace window: presenting the old token again is theft
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert r.json()["error"] == "invalid_grant"
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
    )
    assert r.json()["error"] == "invalid_grant"
    me = await server.client.get(
        "/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert me.status_code == 401  # the family's access tokens went with it (sid)


async def test_revoke_refresh_token_ends_family_and_its_access_tokens(server: Server) -> None:
    tokens = await server.tokens(*ALICE)
    r = await server.client.post("/oauth/revoke", data={"token": tokens["refresh_token"]})
    assert r.status_code == 200
    assert r.content == b""
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 400


async def test_revoke_access_token_by_jti(server: Server) -> None:
    tokens = await server.tokens(*ALICE)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.client.get("/me", headers=bearer)).status_code == 200
    r = await server.client.post(
        "/oauth/revoke", data={"token": tokens["access_token"], "token_type_hint": "access_token"}
    )
    assert r.status_code == 200
    assert (await server.client.get("/me", headers=bearer)).status_code == 401
    # The refresh family lives on: a new access token works.
    r = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 200


async def test_revoke_answers_200_for_junk_and_checks_what_it_must(server: Server) -> None:
    r = await server.client.post("/oauth/revoke", data={"token": "not-a-token"})
    assert r.status_code == 200
    r = await server.client.post("/oauth/revoke", data={})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    r = await server.client.post(
        "/oauth/revoke", data={"token": "x", "token_type_hint": "id_token"}
    )
    assert r.json()["error"] == "unsupported_token_type"
    r = await server.client.post(
        "/oauth/revoke", data={"token": "x"}, headers=basic("nobody", "wrong")
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


async def test_introspection_needs_a_client(server: Server) -> None:
    tokens = await server.tokens(*ALICE)
    r = await server.client.post("/oauth/introspect", data={"token": tokens["access_token"]})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    r = await server.client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, headers=basic("x", "y")
    )
    assert r.status_code == 401
    r = await server.client.post(
        "/oauth/introspect", data={"token": "junk"}, headers={"Authorization": "Basic !!!"}
    )
    assert r.status_code == 401


async def test_introspection_answers(server: Server) -> None:
    auth = await client_auth(server)
    tokens = await server.tokens(*ALICE)
    r = await server.client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, headers=auth
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["active"] is True
    assert body["token_type"] == "access_token"
    assert body["iss"] == BASE
    r = await server.client.post(
        "/oauth/introspect", data={"token": tokens["refresh_token"]}, headers=auth
    )
    assert r.json()["active"] is True
    assert r.json()["token_type"] == "refresh_token"
    r = await server.client.post("/oauth/introspect", data={"token": "junk"}, headers=auth)
    assert r.json() == {"active": False}
    r = await server.client.post("/oauth/introspect", data={}, headers=auth)
    assert r.status_code == 400


async def test_revocation_list_for_verifiers(server: Server) -> None:
    auth = await client_auth(server)
    r = await server.client.get("/revocations")
    assert r.status_code == 401
    tokens = await server.tokens(*ALICE)
    await server.client.post("/oauth/revoke", data={"token": tokens["refresh_token"]})
    r = await server.client.get("/revocations", headers=auth)
    assert r.status_code == 200
    sid = decode_unverified(tokens["access_token"]).payload["sid"]
    kinds = {(e["kind"], e["key"]) for e in r.json()["entries"]}
    assert ("sid", sid) in kinds


async def test_bodies_are_bounded(server: Server) -> None:
    big = b"grant_type=password&username=" + b"a" * 70_000
    r = await server.client.post(
        "/oauth/token", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413
    r = await server.client.post(
        "/session", content=b"{" * 80_000, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413


async def test_bearer_with_wrong_scheme_or_garbage(server: Server) -> None:
    for header in ("Basic abc", "Bearer", "Bearer not.a.token", "Bearer " + "a" * 20_000):
        r = await server.client.get("/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["error"] == "unauthorized"


async def test_no_cors_for_unconfigured_origins(server: Server) -> None:
    r = await server.client.options(
        "/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers


async def test_cors_only_for_configured_origins_and_never_with_credentials(
    make_server: ServerFactory,
) -> None:
    settings = make_settings(cors=CorsSettings(allow_origins=("https://app.example",)))
    async with make_server(settings) as server:
        preflight = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        }
        r = await server.client.options(
            "/me", headers={"Origin": "https://app.example", **preflight}
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-credentials" not in r.headers
        r = await server.client.options(
            "/me", headers={"Origin": "https://evil.example", **preflight}
        )
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers
        tokens = await server.tokens(*ALICE)
        r = await server.client.get(
            "/me",
            headers={
                "Origin": "https://app.example",
                "Authorization": f"Bearer {tokens['access_token']}",
            },
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
