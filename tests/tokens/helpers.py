"""Hand-built tokens for the token-core tests: no authwise code on the attacker's side."""

from __future__ import annotations

import base64
import json
from typing import Any

from authwise import AccessTokenVerifier, ClaimsPolicy, KeySet, PrivateKey

NOW = 1_700_000_000
ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"


def b64(data: bytes) -> str:
    """Unpadded base64url, written independently of authwise's own encoder."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    if isinstance(value, str):  # already-written JSON text
        return b64(value.encode())
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid access-token claim set at NOW; ``None`` removes a claim."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "exp": NOW + 300,
        "iat": NOW,
        "jti": "jti-0123456789abcdef",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def header_for(key: PrivateKey, **overrides: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    header.update(overrides)
    return {k: v for k, v in header.items() if v is not None}


def forge(
    header: dict[str, Any] | str,
    payload: dict[str, Any] | str | bytes,
    key: PrivateKey | None = None,
    signature: bytes | None = None,
) -> str:
    """A compact JWS from raw parts; signed by ``key`` unless ``signature`` is given."""
    h = b64json(header)
    p = b64(payload) if isinstance(payload, bytes) else b64json(payload)
    signing_input = f"{h}.{p}"
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64(signature)}"


def sign_as(key: PrivateKey, payload: dict[str, Any] | None = None, /, **header: Any) -> str:
    """A well-formed access token signed by ``key``, with header overrides."""
    return forge(header_for(key, **header), claims() if payload is None else payload, key)


def make_verifier(*keys: PrivateKey, leeway: int = 0, **kwargs: object) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        keys=KeySet(k.public for k in keys),
        claims=ClaimsPolicy.create(ISSUER, AUDIENCE, leeway=leeway),
        **kwargs,  # type: ignore[arg-type]
    )


def weak_rsa_key() -> Any:
    """A 1024-bit RSA key: the weak key the tests expect authwise to refuse."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(65537, 1024)  # noqa: S505 - refusing it is the test
