"""The SSF transmitter over HTTP: metadata, the receiver's stream configuration, and RFC 8936
poll delivery with acknowledgements."""

from __future__ import annotations

import jwt
import pytest

from authwise import KeySet
from authwise.core.secevent import decode_security_event

from .conftest import ALICE, BASE, Server


async def receiver(server: Server) -> tuple[str, str]:
    client, secret = await server.service.create_client("receiver")
    return client.client_id, secret


async def test_metadata_names_what_is_served(server: Server) -> None:
    r = await server.client.get("/.well-known/ssf-configuration")
    assert r.status_code == 200
    body = r.json()
    assert body["issuer"] == BASE
    assert body["jwks_uri"] == f"{BASE}/.well-known/jwks.json"
    assert body["delivery_methods_supported"] == ["urn:ietf:rfc:8936"]
    assert body["configuration_endpoint"] == f"{BASE}/ssf/stream"
    assert (await server.client.get("/ssf/stream")).status_code == 401


async def test_stream_configuration_is_the_clients_own(server: Server) -> None:
    auth = await receiver(server)
    r = await server.client.get("/ssf/stream", auth=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["stream_id"] == body["aud"] == auth[0]
    assert body["delivery"] == {"method": "urn:ietf:rfc:8936", "endpoint_url": f"{BASE}/ssf/poll"}
    assert (
        "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
        in (body["events_delivered"])
    )


async def test_poll_then_acknowledge(server: Server) -> None:
    auth = await receiver(server)
    tokens = await server.tokens(*ALICE)
    assert (
        await server.client.post("/oauth/revoke", data={"token": tokens["refresh_token"]})
    ).status_code == 200
    r = await server.client.post("/ssf/poll", json={"returnImmediately": True}, auth=auth)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["moreAvailable"] is False
    keys = KeySet.from_jwks((await server.client.get("/.well-known/jwks.json")).json())
    events = [
        decode_security_event(token, keys=keys, issuer=BASE, audience=auth[0])
        for token in body["sets"].values()
    ]
    assert [(e.kind, e.sid) for e in events][-1] == ("session_revoked", tokens_sid(tokens))
    r = await server.client.post(
        "/ssf/poll", json={"ack": list(body["sets"]), "returnImmediately": True}, auth=auth
    )
    assert r.json() == {"sets": {}, "moreAvailable": False}


def tokens_sid(tokens: dict[str, object]) -> str:
    claims = jwt.decode(str(tokens["access_token"]), options={"verify_signature": False})
    return str(claims["sid"])


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"ack": "one"},
        {"ack": [1]},
        {"ack": ["x" * 300]},
        {"ack": ["a"] * 1001},
        {"setErrs": []},
        {"maxEvents": -1},
        {"maxEvents": 1.5},
        {"maxEvents": True},
        {"returnImmediately": "yes"},
        {"surprise": 1},
    ],
)
async def test_poll_refuses_malformed_requests(server: Server, body: object) -> None:
    auth = await receiver(server)
    r = await server.client.post("/ssf/poll", json=body, auth=auth)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


async def test_poll_needs_a_client(server: Server) -> None:
    r = await server.client.post("/ssf/poll", json={})
    assert r.status_code == 401
    r = await server.client.post("/ssf/poll", json={}, auth=("nobody", "aw_cs_wrong"))
    assert r.status_code == 401
