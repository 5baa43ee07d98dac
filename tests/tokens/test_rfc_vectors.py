"""Published examples: RFC 8037 (Ed25519 in JOSE) and RFC 7638 (JWK thumbprints)."""

from __future__ import annotations

import pytest

from authwise import (
    BadSignature,
    InvalidKey,
    KeySet,
    PrivateKey,
    PublicKey,
    UnknownKey,
    jwk_thumbprint,
)
from authwise.core.jws import CompactVerifier

# RFC 8037 appendix A.1 (private key), A.2 (public key), A.3 (thumbprint), A.4 (JWS).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_SIGNING_INPUT = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIGNATURE = (
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

# RFC 7638 section 3.1.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
    "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
    "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rfc8037_public_key_and_thumbprint() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert jwk_thumbprint(jwk) == RFC8037_THUMBPRINT
    key = PublicKey.from_jwk(jwk)
    assert key.kid == RFC8037_THUMBPRINT  # no kid given: the thumbprint is the kid
    assert key.alg == "Ed25519"


def test_rfc8037_private_key_derives_the_public_key() -> None:
    key = PrivateKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "d": RFC8037_D, "x": RFC8037_X})
    assert key.kid == RFC8037_THUMBPRINT
    assert key.to_jwk()["x"] == RFC8037_X
    assert key.to_jwk(include_private=True)["d"] == RFC8037_D


def test_rfc8037_jws_example_through_the_low_level_api() -> None:
    """The example's header is {"alg":"EdDSA"}: the legacy label, and no kid. Our verifier
    needs a kid, so the signature is checked with PublicKey.verify on the signing input; and
    Ed25519 being deterministic, our signer reproduces it byte for byte."""
    from authwise.core._b64 import b64url_decode, b64url_encode

    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "alg": "EdDSA"}
    with pytest.raises(InvalidKey):
        PublicKey.from_jwk(jwk)  # the legacy label needs an explicit opt-in
    public = PublicKey.from_jwk(jwk, allow_legacy_eddsa=True)
    signature = b64url_decode(RFC8037_SIGNATURE)
    public.verify(RFC8037_SIGNING_INPUT.encode(), signature)
    with pytest.raises(BadSignature):
        public.verify(RFC8037_SIGNING_INPUT.encode() + b"x", signature)

    private = PrivateKey.from_jwk({**jwk, "d": RFC8037_D}, allow_legacy_eddsa=True)
    assert b64url_encode(private.sign(RFC8037_SIGNING_INPUT.encode())) == RFC8037_SIGNATURE

    token = f"{RFC8037_SIGNING_INPUT}.{RFC8037_SIGNATURE}"
    verifier = CompactVerifier(KeySet([public]), expected_typ=None)
    with pytest.raises(UnknownKey, match="kid is required"):
        verifier.verify(token)


def test_rfc7638_example_thumbprint() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == RFC7638_THUMBPRINT
    key = PublicKey.from_jwk(jwk)
    assert key.kid == "2011-04-29"  # an explicit kid is kept
    assert key.thumbprint() == RFC7638_THUMBPRINT
