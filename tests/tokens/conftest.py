"""Fixtures for the token-core tests: keys are made once per session (RSA is slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from authwise import AccessTokenIssuer, AccessTokenVerifier, PrivateKey

from .helpers import ISSUER, make_verifier

# Copies of the Project Wycheproof files these tests use, with their license and source.
WYCHEPROOF = Path(__file__).absolute().parents[1] / "vectors" / "wycheproof"


@pytest.fixture(scope="session")
def es256() -> PrivateKey:
    return PrivateKey.generate("ES256")


@pytest.fixture(scope="session")
def ed25519() -> PrivateKey:
    return PrivateKey.generate("Ed25519")


@pytest.fixture(scope="session")
def rs256() -> PrivateKey:
    return PrivateKey.generate("RS256", rsa_bits=2048)


@pytest.fixture(scope="session", params=["ES256", "Ed25519", "RS256"])
def any_key(
    request: pytest.FixtureRequest, es256: PrivateKey, ed25519: PrivateKey, rs256: PrivateKey
) -> PrivateKey:
    return {"ES256": es256, "Ed25519": ed25519, "RS256": rs256}[request.param]


@pytest.fixture(scope="session")
def wycheproof_dir() -> Path:
    # Fail, never skip: a missing vector directory must not pass CI silently.
    assert WYCHEPROOF.is_dir(), f"Wycheproof vectors missing at {WYCHEPROOF}"
    return WYCHEPROOF


@pytest.fixture
def verifier(es256: PrivateKey) -> AccessTokenVerifier:
    return make_verifier(es256, cache=None)


@pytest.fixture
def issuer(es256: PrivateKey) -> AccessTokenIssuer:
    return AccessTokenIssuer(es256, ISSUER)
