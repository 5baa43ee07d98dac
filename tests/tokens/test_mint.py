"""Minting access tokens under the payload policy (issue 2, item 3)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from authwise import (
    AccessTokenIssuer,
    MintPolicy,
    PolicyViolation,
    PrivateKey,
    decode_unverified,
)

from .helpers import AUDIENCE, ISSUER, NOW, make_verifier


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def load(segment: str) -> dict[str, Any]:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # type: ignore[no-any-return]

    h, p, _ = token.split(".")
    return load(h), load(p)


def test_header_names_alg_kid_and_typ(any_key: PrivateKey) -> None:
    token = AccessTokenIssuer(any_key, ISSUER).mint(sub="u", audience=AUDIENCE, now=NOW)
    header, _ = parts(token)
    assert header == {"alg": any_key.alg, "kid": any_key.kid, "typ": "at+jwt"}
    assert make_verifier(any_key).verify(token, NOW).sub == "u"


def test_claims(issuer: AccessTokenIssuer) -> None:
    token = issuer.mint(
        sub="user-7",
        audience=[AUDIENCE, "https://other.example.com"],
        now=NOW,
        ttl=120,
        sid="session-1",
        roles=["admin", "viewer"],
        tenant="acme",
        extra={"scope_hint": "read"},
    )
    _, payload = parts(token)
    assert payload["iss"] == ISSUER
    assert payload["sub"] == "user-7"
    assert payload["aud"] == [AUDIENCE, "https://other.example.com"]
    assert payload["iat"] == NOW
    assert payload["exp"] == NOW + 120
    assert payload["sid"] == "session-1"
    assert payload["roles"] == ["admin", "viewer"]
    assert payload["tenant"] == "acme"
    assert payload["scope_hint"] == "read"


def test_optional_claims_are_left_out_when_not_given(issuer: AccessTokenIssuer) -> None:
    _, payload = parts(issuer.mint(sub="u", audience=AUDIENCE, now=NOW))
    assert set(payload) == {"iss", "sub", "aud", "exp", "iat", "jti"}
    assert payload["aud"] == AUDIENCE
    assert payload["exp"] - payload["iat"] == 300  # the seed's 5 minutes


def test_jti_has_at_least_128_bits_and_is_unique(issuer: AccessTokenIssuer) -> None:
    jtis = {parts(issuer.mint(sub="u", audience=AUDIENCE, now=NOW))[1]["jti"] for _ in range(200)}
    assert len(jtis) == 200
    for jti in jtis:
        assert len(base64.urlsafe_b64decode(jti + "==")) * 8 >= 128


def test_caller_chosen_jti_is_kept(issuer: AccessTokenIssuer) -> None:
    assert parts(issuer.mint(sub="u", audience=AUDIENCE, now=NOW, jti="fixed-id"))[1]["jti"] == (
        "fixed-id"
    )


def test_minted_token_verifies_and_exposes_every_claim(
    issuer: AccessTokenIssuer, es256: PrivateKey
) -> None:
    token = issuer.mint(
        sub="u", audience=AUDIENCE, now=NOW, sid="s", roles=["r"], tenant="t", jti="j"
    )
    result = make_verifier(es256).verify(token, NOW + 1)
    assert (result.sub, result.iss, result.exp, result.kid) == ("u", ISSUER, NOW + 300, es256.kid)
    assert (result.jti, result.sid, result.iat, result.roles, result.tenant) == (
        "j",
        "s",
        NOW,
        ("r",),
        "t",
    )
    assert result.claims["aud"] == AUDIENCE
    with pytest.raises(TypeError):
        result.claims["sub"] = "other"  # type: ignore[index]


# --- lifetime ---------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [0, -1, 901, 3600])
def test_lifetimes_outside_the_policy_are_refused(issuer: AccessTokenIssuer, ttl: int) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", audience=AUDIENCE, now=NOW, ttl=ttl)
    assert info.value.code == "policy_violation"
    assert info.value.rule == "lifetime-too-long"
    assert info.value.claim == "exp"


def test_the_maximum_lifetime_is_allowed(issuer: AccessTokenIssuer) -> None:
    assert parts(issuer.mint(sub="u", audience=AUDIENCE, now=NOW, ttl=900))[1]["exp"] == NOW + 900


def test_long_lived_tokens_need_an_explicit_opt_in(es256: PrivateKey) -> None:
    with pytest.raises(ValueError, match="allow_long_lived"):
        MintPolicy(max_ttl=3600)
    policy = MintPolicy(max_ttl=3600, allow_long_lived=True)
    token = AccessTokenIssuer(es256, ISSUER, policy).mint(
        sub="u", audience=AUDIENCE, now=NOW, ttl=3600
    )
    assert parts(token)[1]["exp"] == NOW + 3600


@pytest.mark.parametrize(
    "kwargs",
    [
        {"default_ttl": 0},
        {"default_ttl": 600, "max_ttl": 300},
        {"max_token_bytes": 255},
        {"max_token_bytes": 8193},
    ],
)
def test_mint_policy_validation(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"must|needs"):
        MintPolicy(**kwargs)  # type: ignore[arg-type]


def test_issuer_is_required(es256: PrivateKey) -> None:
    with pytest.raises(ValueError, match="issuer"):
        AccessTokenIssuer(es256, "")


# --- subject, audience, reserved claims ----------------------------------------------------


@pytest.mark.parametrize("sub", ["", "a\x00b", 1, None])
def test_invalid_subjects_are_refused(issuer: AccessTokenIssuer, sub: object) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub=sub, audience=AUDIENCE, now=NOW)  # type: ignore[arg-type]
    assert (info.value.rule, info.value.claim) == ("invalid-sub", "sub")


@pytest.mark.parametrize("audience", ["", [], ()])
def test_an_audience_is_required(issuer: AccessTokenIssuer, audience: Any) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", audience=audience, now=NOW)
    assert info.value.rule == "missing-aud"


@pytest.mark.parametrize(
    ("kwargs", "claim"),
    [
        ({"audience": [AUDIENCE, 1]}, "aud"),
        ({"audience": [AUDIENCE, ""]}, "aud"),
        ({"audience": [None]}, "aud"),
        ({"roles": ["admin", 1]}, "roles"),
        ({"roles": [None]}, "roles"),
        ({"tenant": 5}, "tenant"),
        ({"tenant": ["acme"]}, "tenant"),
        ({"sid": ""}, "sid"),
        ({"sid": 7}, "sid"),
        ({"sid": "a\x00b"}, "sid"),
        ({"sid": "s" * 256}, "sid"),
    ],
)
def test_claims_our_own_verifier_would_refuse_are_not_minted(
    issuer: AccessTokenIssuer, kwargs: dict[str, Any], claim: str
) -> None:
    """A token the verifier refuses is a bug found in production: refuse it at mint time."""
    kwargs = {"audience": AUDIENCE, **kwargs}
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", now=NOW, **kwargs)
    assert info.value.claim == claim


@pytest.mark.parametrize(
    "name", ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "roles", "tenant", "scope"]
)
def test_extra_claims_cannot_override_registered_ones(issuer: AccessTokenIssuer, name: str) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", audience=AUDIENCE, now=NOW, extra={name: "x"})
    assert (info.value.rule, info.value.claim) == ("reserved-claim", name)


# --- payload policy: secrets ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "user_password",
        "Password",
        "passwd",
        "pwd",
        "pin",
        "client_secret",
        "clientSecret",
        "SECRET",
        "api_key",
        "apiKey",
        "X-API-Key",
        "private_key",
        "access_token",
        "refresh_token",
        "token",
        "credit_card",
        "cardNumber",
        "cvv",
        "ssn",
        "otp",
        "mnemonic",
        "seed_phrase",
    ],
)
def test_claim_names_that_look_like_secrets_are_refused(
    issuer: AccessTokenIssuer, name: str
) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", audience=AUDIENCE, now=NOW, extra={name: "x"})
    assert info.value.rule == "secret-claim-name"
    assert info.value.claim == name


def test_secret_names_are_found_in_nested_claims(issuer: AccessTokenIssuer) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(
            sub="u", audience=AUDIENCE, now=NOW, extra={"profile": {"db": [{"password": "x"}]}}
        )
    assert info.value.claim == "profile.db[0].password"


PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (PEM, "pem-block"),
        ("-----BEGIN CERTIFICATE-----", "pem-block"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "embedded-jwt"),
        ("AKIAIOSFODNN7EXAMPLE", "api-key"),
        ("sk_live_" + "a1B2c3D4e5F6g7H8", "api-key"),
        ("ghp_" + "a" * 36, "api-key"),
        ("xoxb-1234567890-abcdef", "api-key"),
        ("$2b$12$abcdefghijklmnopqrstuv", "password-hash"),
        ("$argon2id$v=19$m=19456,t=2,p=1$abc", "password-hash"),
        ("Bearer abcdefghijklmnopqrstuvwxyz", "bearer-credential"),
        ("4111 1111 1111 1111", "card-number"),
        ("4111-1111-1111-1111", "card-number"),
        ("card 5500005555555559 on file", "card-number"),
        ("378282246310005", "card-number"),
    ],
)
def test_claim_values_that_look_like_secrets_are_refused(
    issuer: AccessTokenIssuer, value: str, rule: str
) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", audience=AUDIENCE, now=NOW, extra={"note": value})
    assert info.value.rule == rule
    assert info.value.claim == "note"


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1112",  # fails Luhn
        "1234567890123",  # fails Luhn
        "order 12345",
        "2026-11-27",
        "+1 (555) 010-9999",  # personal data is a lint warning, not a mint refusal
        "someone@example.com",
        "123-45-6789",
    ],
)
def test_harmless_or_warning_only_values_are_minted(issuer: AccessTokenIssuer, value: str) -> None:
    token = issuer.mint(sub="u", audience=AUDIENCE, now=NOW, extra={"note": value})
    assert parts(token)[1]["note"] == value


def test_personal_data_names_warn_but_do_not_refuse(issuer: AccessTokenIssuer) -> None:
    token = issuer.mint(sub="u", audience=AUDIENCE, now=NOW, extra={"email": "a@b.example"})
    assert parts(token)[1]["email"] == "a@b.example"


def test_minted_identifiers_are_not_value_scanned(issuer: AccessTokenIssuer) -> None:
    """jti and sid are random: a value that happens to look like a card number is fine."""
    token = issuer.mint(
        sub="u", audience=AUDIENCE, now=NOW, jti="4111111111111111", sid="4111111111111111"
    )
    assert parts(token)[1]["jti"] == "4111111111111111"


def test_subject_values_are_scanned(issuer: AccessTokenIssuer) -> None:
    with pytest.raises(PolicyViolation, match="card-number"):
        issuer.mint(sub="4111111111111111", audience=AUDIENCE, now=NOW)


# --- size budget ---------------------------------------------------------------------------


def test_default_budget_keeps_tokens_well_under_a_cookie(issuer: AccessTokenIssuer) -> None:
    assert MintPolicy().max_token_bytes <= 4096 // 2
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", audience=AUDIENCE, now=NOW, extra={"blob": "x" * 2000})
    assert info.value.rule == "payload-too-large"


def test_size_estimate_is_exact_at_the_budget(any_key: PrivateKey) -> None:
    """The budget check predicts the encoded length exactly, so the boundary is sharp."""
    issuer = AccessTokenIssuer(any_key, ISSUER, MintPolicy(max_token_bytes=8192))
    base = issuer.mint(sub="u", audience=AUDIENCE, now=NOW, jti="j", extra={"pad": ""})
    for pad in range(3):  # every base64 remainder
        token = issuer.mint(sub="u", audience=AUDIENCE, now=NOW, jti="j", extra={"pad": "p" * pad})
        exact = AccessTokenIssuer(any_key, ISSUER, MintPolicy(max_token_bytes=len(token)))
        assert exact.mint(sub="u", audience=AUDIENCE, now=NOW, jti="j", extra={"pad": "p" * pad})
        if len(token) - 1 >= 256:
            tight = AccessTokenIssuer(any_key, ISSUER, MintPolicy(max_token_bytes=len(token) - 1))
            with pytest.raises(PolicyViolation, match="payload-too-large"):
                tight.mint(sub="u", audience=AUDIENCE, now=NOW, jti="j", extra={"pad": "p" * pad})
    assert decode_unverified(base).payload["pad"] == ""


def test_claims_that_are_not_json_are_a_policy_violation(issuer: AccessTokenIssuer) -> None:
    with pytest.raises(PolicyViolation) as info:
        issuer.mint(sub="u", audience="api", now=1_700_000_000, extra={"when": object()})
    assert info.value.rule == "invalid-claim-value"
