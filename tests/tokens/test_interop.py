"""Interoperability both ways with PyJWT and joserfc.

PyJWT (2.15) predates the RFC 9864 name "Ed25519", so its Ed25519 interop uses keys labelled
with the legacy "EdDSA" name, which authwise accepts only when asked to. joserfc (1.8) knows
"Ed25519" and warns about "EdDSA" as deprecated, so it uses our native label. Both libraries
check ``exp`` against the real clock, so these tokens are minted at the real time.
"""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet as JoseKeySet
from joserfc.jwk import import_key

from authwise import AccessTokenIssuer, KeySet, PrivateKey, UnsupportedToken

from .helpers import AUDIENCE, ISSUER, make_verifier

PYJWT_ALGS = ["ES256", "EdDSA", "RS256"]
JOSERFC_ALGS = ["ES256", "Ed25519", "RS256"]


@pytest.fixture(scope="module")
def keys(es256: PrivateKey, ed25519: PrivateKey, rs256: PrivateKey) -> dict[str, PrivateKey]:
    legacy = PrivateKey("EdDSA", ed25519.kid, ed25519.key)
    return {"ES256": es256, "EdDSA": legacy, "Ed25519": ed25519, "RS256": rs256}


def now() -> int:
    return int(time.time())


def mint(key: PrivateKey, at: int) -> str:
    return AccessTokenIssuer(key, ISSUER).mint(
        sub="user-1", audience=AUDIENCE, now=at, sid="s-1", roles=["reader"], tenant="acme"
    )


def expected(at: int) -> dict[str, Any]:
    return {"iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "iat": at, "exp": at + 300}


def their_claims(at: int) -> dict[str, Any]:
    return {**expected(at), "jti": "interop-jti-0001", "sid": "s-1", "roles": ["reader"]}


@pytest.mark.parametrize("alg", PYJWT_ALGS)
def test_our_tokens_verify_with_pyjwt(keys: dict[str, PrivateKey], alg: str) -> None:
    key, at = keys[alg], now()
    token = mint(key, at)
    header = pyjwt.get_unverified_header(token)
    assert header == {"alg": alg, "kid": key.kid, "typ": "at+jwt"}
    decoded = pyjwt.decode(
        token,
        key.public.to_pem(),
        algorithms=[alg],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "jti"]},
    )
    assert decoded.items() >= expected(at).items()
    assert decoded["roles"] == ["reader"]


@pytest.mark.parametrize("alg", JOSERFC_ALGS)
def test_our_tokens_verify_with_joserfc(keys: dict[str, PrivateKey], alg: str) -> None:
    key, at = keys[alg], now()
    token = mint(key, at)
    jwk = import_key(key.public.to_jwk())
    decoded = jose_jwt.decode(token, jwk, algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": key.kid, "typ": "at+jwt"}
    registry = jose_jwt.JWTClaimsRegistry(
        now=at + 1,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        sub={"essential": True},
    )
    registry.validate(decoded.claims)
    assert decoded.claims.items() >= expected(at).items()


@pytest.mark.parametrize("alg", PYJWT_ALGS)
def test_pyjwt_tokens_verify_here(keys: dict[str, PrivateKey], alg: str) -> None:
    key, at = keys[alg], now()
    token = pyjwt.encode(
        their_claims(at), key.to_pem(), algorithm=alg, headers={"kid": key.kid, "typ": "at+jwt"}
    )
    verifier = make_verifier(key)
    result = verifier.verify(token, at + 1)
    assert (result.sub, result.jti, result.sid, result.roles) == (
        "user-1",
        "interop-jti-0001",
        "s-1",
        ("reader",),
    )
    # PyJWT's default typ "JWT" is not an access token.
    untyped = pyjwt.encode(their_claims(at), key.to_pem(), algorithm=alg, headers={"kid": key.kid})
    with pytest.raises(UnsupportedToken, match="typ"):
        verifier.verify(untyped, at + 1)


@pytest.mark.parametrize("alg", JOSERFC_ALGS)
def test_joserfc_tokens_verify_here(keys: dict[str, PrivateKey], alg: str) -> None:
    key, at = keys[alg], now()
    private = import_key(key.to_jwk(include_private=True))
    token = jose_jwt.encode(
        {"alg": alg, "kid": key.kid, "typ": "at+jwt"}, their_claims(at), private, algorithms=[alg]
    )
    result = make_verifier(key).verify(token, at + 1)
    assert result.claims["iat"] == at
    assert result.kid == key.kid


@pytest.mark.parametrize(("library", "algs"), [("pyjwt", PYJWT_ALGS), ("joserfc", JOSERFC_ALGS)])
def test_our_jwks_is_read_by_both_libraries(
    keys: dict[str, PrivateKey], library: str, algs: list[str]
) -> None:
    chosen = [keys[alg] for alg in algs]
    document = KeySet(k.public for k in chosen).to_jwks()
    at = now()
    for key in chosen:
        token = mint(key, at)
        if library == "pyjwt":
            signing_key = pyjwt.PyJWKSet.from_dict(document)[key.kid]
            claims = pyjwt.decode(token, signing_key, algorithms=[key.alg], audience=AUDIENCE)
        else:
            key_set = JoseKeySet.import_key_set(document)  # type: ignore[arg-type]
            claims = jose_jwt.decode(token, key_set, algorithms=[key.alg]).claims
        assert claims["sub"] == "user-1"
