"""J19 through the real service: an ECDSA signature (r, s) has a twin (r, n - s) that verifies
too, so a revocation keyed on the token's bytes would let the twin through. authwise keys
revocation on (iss, jti) and on sid, and these tests present the twin after each."""

from __future__ import annotations

import pytest

from authwise.core._b64 import b64url_decode, b64url_encode
from authwise.errors import RevokedToken
from authwise.service import AuthService, TokenResponse

from .conftest import PASSWORD

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def twin(token: str) -> str:
    head, payload, sig = token.split(".")
    raw = b64url_decode(sig)
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    return f"{head}.{payload}.{b64url_encode(r + (P256_N - s).to_bytes(32, 'big'))}"


@pytest.fixture
async def tokens(service: AuthService) -> TokenResponse:
    await service.register("alice", PASSWORD)
    return await service.password_grant("alice", PASSWORD, client_addr="192.0.2.1")


async def test_the_twin_verifies_while_the_token_is_live(
    service: AuthService, tokens: TokenResponse
) -> None:
    other = twin(tokens.access_token)
    assert other != tokens.access_token
    assert (
        service.verify_access_token(other).jti
        == service.verify_access_token(tokens.access_token).jti
    )


async def test_revoking_the_token_revokes_its_twin(
    service: AuthService, tokens: TokenResponse
) -> None:
    other = twin(tokens.access_token)
    service.verify_access_token(other)  # the twin is in the verified-token cache now
    await service.revoke_token(tokens.access_token)
    with pytest.raises(RevokedToken) as info:
        service.verify_access_token(other)
    assert info.value.claim == "jti"


async def test_revoking_the_twin_revokes_the_token(
    service: AuthService, tokens: TokenResponse
) -> None:
    await service.revoke_token(twin(tokens.access_token))
    with pytest.raises(RevokedToken):
        service.verify_access_token(tokens.access_token)


async def test_ending_the_family_revokes_both_spellings(
    service: AuthService, tokens: TokenResponse
) -> None:
    await service.revoke_token(tokens.refresh_token)
    for token in (tokens.access_token, twin(tokens.access_token)):
        with pytest.raises(RevokedToken) as info:
            service.verify_access_token(token)
        assert info.value.claim == "sid"
