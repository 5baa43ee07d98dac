"""Security Event Tokens interoperate both ways with PyJWT and joserfc.

As in test_interop.py, PyJWT's Ed25519 uses keys labelled with the legacy "EdDSA" name and
joserfc our native "Ed25519"; both libraries check ``iat`` against the real clock, so these
SETs carry the real time.
"""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet as JoseKeySet
from joserfc.jwk import import_key

from authwise import KeySet, PrivateKey, decode_security_event, encode_security_event

from .helpers import AUDIENCE, ISSUER
from .test_secevent import CASES, Event

PYJWT_ALGS = ["ES256", "EdDSA", "RS256"]
JOSERFC_ALGS = ["ES256", "Ed25519", "RS256"]
CLAIMS_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"


@pytest.fixture(scope="module")
def keys(es256: PrivateKey, ed25519: PrivateKey, rs256: PrivateKey) -> dict[str, PrivateKey]:
    legacy = PrivateKey("EdDSA", ed25519.kid, ed25519.key)
    return {"ES256": es256, "EdDSA": legacy, "Ed25519": ed25519, "RS256": rs256}


def now() -> int:
    return int(time.time())


def our_set(key: PrivateKey, at: int) -> tuple[Event, str]:
    event = Event(
        kind="claims_changed",
        id="evt-interop-1",
        at=at,
        user_id="u-42",
        not_before=at,
        data={"roles": ["auditor"], "tenant": "acme"},
    )
    return event, encode_security_event(event, issuer=ISSUER, audience=AUDIENCE, key=key)


def expected(at: int) -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "jti": "evt-interop-1",
        "iat": at,
        "aud": AUDIENCE,
        "txn": "evt-interop-1",
        "sub_id": {"format": "complex", "user": {"format": "opaque", "id": "u-42"}},
        "events": {
            CLAIMS_CHANGE: {
                "event_timestamp": at,
                "claims": {"roles": ["auditor"], "tenant": "acme"},
            }
        },
    }


@pytest.mark.parametrize("alg", PYJWT_ALGS)
def test_our_sets_verify_with_pyjwt(keys: dict[str, PrivateKey], alg: str) -> None:
    key, at = keys[alg], now()
    _, token = our_set(key, at)
    assert pyjwt.get_unverified_header(token) == {"alg": alg, "kid": key.kid, "typ": "secevent+jwt"}
    decoded = pyjwt.decode(
        token,
        key.public.to_pem(),
        algorithms=[alg],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["iss", "jti", "iat"]},
    )
    assert decoded == expected(at)


@pytest.mark.parametrize("alg", JOSERFC_ALGS)
def test_our_sets_verify_with_joserfc_through_our_jwks(
    keys: dict[str, PrivateKey], alg: str
) -> None:
    key, at = keys[alg], now()
    _, token = our_set(key, at)
    jwks = JoseKeySet.import_key_set(KeySet([key.public]).to_jwks())  # type: ignore[arg-type]
    decoded = jose_jwt.decode(token, jwks, algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": key.kid, "typ": "secevent+jwt"}
    registry = jose_jwt.JWTClaimsRegistry(
        now=at + 1,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        jti={"essential": True},
    )
    registry.validate(decoded.claims)
    assert decoded.claims == expected(at)


@pytest.mark.parametrize("alg", JOSERFC_ALGS)
def test_joserfc_sets_decode_here(keys: dict[str, PrivateKey], alg: str) -> None:
    key, at = keys[alg], now()
    private = import_key(key.to_jwk(include_private=True))
    token = jose_jwt.encode(
        {"alg": alg, "kid": key.kid, "typ": "secevent+jwt"}, expected(at), private, algorithms=[alg]
    )
    event, _ = our_set(key, at)
    decoded = decode_security_event(
        token, keys=KeySet([key.public]), issuer=ISSUER, audience=AUDIENCE
    )
    assert (decoded.kind, decoded.id, decoded.at) == ("claims_changed", event.id, at)
    assert (decoded.user_id, decoded.not_before) == ("u-42", at)
    assert (decoded.roles, decoded.tenant) == (("auditor",), "acme")


@pytest.mark.parametrize("alg", PYJWT_ALGS)
@pytest.mark.parametrize("kind", sorted(CASES))
def test_pyjwt_sets_of_every_kind_decode_here(
    keys: dict[str, PrivateKey], alg: str, kind: str
) -> None:
    key = keys[alg]
    ours = encode_security_event(CASES[kind][0], issuer=ISSUER, audience=AUDIENCE, key=key)
    claims = pyjwt.decode(ours, options={"verify_signature": False})
    theirs = pyjwt.encode(
        claims, key.to_pem(), algorithm=alg, headers={"kid": key.kid, "typ": "secevent+jwt"}
    )
    trusted = KeySet([key.public])
    assert decode_security_event(
        theirs, keys=trusted, issuer=ISSUER, audience=AUDIENCE
    ) == decode_security_event(ours, keys=trusted, issuer=ISSUER, audience=AUDIENCE)
