"""Verification: strict JWS, then claims with an injected clock, then revocation (item 4, 5)."""

from __future__ import annotations

from typing import Any

import pytest

from authwise import (
    AccessToken,
    AccessTokenIssuer,
    AccessTokenVerifier,
    BadSignature,
    ClaimsPolicy,
    ExpiredToken,
    InvalidClaim,
    KeySet,
    MalformedToken,
    NotYetValid,
    PrivateKey,
    RevokedToken,
    TokenError,
    UnknownKey,
    UnsupportedToken,
    VerifiedTokenCache,
    decode_unverified,
)
from authwise.core.jws import CompactVerifier, check_header, sign_compact, split_compact

from .helpers import AUDIENCE, ISSUER, NOW, b64json, claims, forge, make_verifier, sign_as


class FakeRevocation:
    """Records every check; revokes by (iss, jti) or sid, the way the real store keys it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, float]] = []
        self.revoked_jtis: set[tuple[str, str]] = set()
        self.revoked_sids: set[str] = set()

    def check(self, token: AccessToken, now: float) -> None:
        self.calls.append((token.jti, now))
        if (token.iss, token.jti) in self.revoked_jtis or token.sid in self.revoked_sids:
            raise RevokedToken("jti", "token revoked")


def test_verify_returns_the_access_token(any_key: PrivateKey) -> None:
    token = sign_as(any_key, claims(roles=["a"], tenant="t", sid="s"))
    result = make_verifier(any_key).verify(token, NOW)
    assert isinstance(result, AccessToken)
    assert (result.sub, result.iss, result.kid, result.exp) == (
        "user-1",
        ISSUER,
        any_key.kid,
        NOW + 300,
    )
    assert (result.roles, result.tenant, result.sid) == (("a",), "t", "s")


def test_every_error_is_a_token_error_with_a_machine_code() -> None:
    codes = {
        MalformedToken: "malformed",
        UnsupportedToken: "unsupported",
        UnknownKey: "unknown_key",
        BadSignature: "bad_signature",
        InvalidClaim: "invalid_claim",
        ExpiredToken: "expired",
        NotYetValid: "not_yet_valid",
        RevokedToken: "revoked",
    }
    for cls, code in codes.items():
        assert issubclass(cls, TokenError)
        assert cls.code == code
    assert ExpiredToken().claim == "exp"
    assert str(ExpiredToken()) == "token expired"
    assert InvalidClaim("aud").detail == "invalid claim: aud"
    assert MalformedToken().detail is None
    assert str(MalformedToken()) == "malformed token"


# --- the JWS layer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "..",
        "a..c",
        ".b.c",
        "a.b.",
        "a.b.c ",
        " a.b.c",
        "a.b.c\n",
        "a.b+.c",
        "a.b/.c",
        "a.b=.c",
        "a.é.c",
    ],
)
def test_not_a_compact_jws(verifier: AccessTokenVerifier, token: str) -> None:
    with pytest.raises(MalformedToken):
        verifier.verify(token, NOW)


@pytest.mark.parametrize("token", [None, b"a.b.c", 1, ["a", "b", "c"]])
def test_tokens_must_be_strings(verifier: AccessTokenVerifier, token: Any) -> None:
    with pytest.raises(MalformedToken, match="string"):
        verifier.verify(token, NOW)


def test_size_cap_comes_before_anything_else(es256: PrivateKey) -> None:
    small = make_verifier(es256, max_bytes=300)
    token = sign_as(es256)
    assert len(token) > 300
    with pytest.raises(MalformedToken, match="too large"):
        small.verify(token, NOW)
    with pytest.raises(MalformedToken, match="too large"):
        split_compact("x" * 8193)


def test_the_parser_and_the_verifier_take_text_only(es256: PrivateKey) -> None:
    token = sign_as(es256)
    with pytest.raises(MalformedToken, match="must be a string"):
        split_compact(token.encode())  # type: ignore[arg-type]
    with pytest.raises(MalformedToken, match="must be a string"):
        CompactVerifier(KeySet([es256.public])).verify(token.encode())  # type: ignore[arg-type]
    # Non-ASCII never reaches a decoder: it fails the alphabet scan like any stray character.
    with pytest.raises(MalformedToken, match="three non-empty"):
        CompactVerifier(KeySet([es256.public])).verify(token[:-1] + "\u00e9")


@pytest.mark.parametrize(
    "header",
    [
        "[]",
        '"ES256"',
        "{",
        '{"alg":"ES256","alg":"ES256"}',
        "\ufeff{}",
    ],
)
def test_header_must_be_one_json_object(verifier: AccessTokenVerifier, header: str) -> None:
    with pytest.raises(MalformedToken):
        verifier.verify(forge(header, claims(), signature=b"x" * 64), NOW)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ({"kid": "k"}, "alg missing"),
        ({"alg": None, "kid": "k"}, "alg missing"),
        ({"alg": "", "kid": "k"}, "alg missing"),
        ({"alg": 1, "kid": "k"}, "alg missing"),
        ({"alg": ["ES256"], "kid": "k"}, "alg missing"),
        ({"alg": "none", "kid": "k"}, "none and HMAC"),
        ({"alg": "HS256", "kid": "k"}, "none and HMAC"),
        ({"alg": "hs512", "kid": "k"}, "none and HMAC"),
        ({"alg": "ES256", "kid": "k", "crit": ["exp"], "exp": 1}, "crit"),
        ({"alg": "ES256", "kid": "k", "b64": False}, "b64"),
        ({"alg": "ES256", "kid": "k", "jwk": {}}, "keys named by the token"),
        ({"alg": "ES256", "kid": "k", "jku": "https://x"}, "keys named by the token"),
        ({"alg": "ES256", "kid": "k", "x5u": "https://x"}, "keys named by the token"),
        ({"alg": "ES256", "kid": "k", "x5c": []}, "keys named by the token"),
        ({"alg": "ES256", "kid": "k", "x5t": "a"}, "keys named by the token"),
        ({"alg": "ES256", "kid": "k", "x5t#S256": "a"}, "keys named by the token"),
        ({"alg": "ES256", "kid": "k", "cty": "JWT"}, "unexpected header"),
        ({"alg": "ES256", "kid": "k", "zip": "DEF"}, "unexpected header"),
        ({"alg": "ES256", "kid": "k", "enc": "A256GCM"}, "unexpected header"),
    ],
)
def test_refused_headers(header: dict[str, Any], match: str) -> None:
    with pytest.raises(UnsupportedToken, match=match):
        check_header(header, None)


@pytest.mark.parametrize("kid", ["", 1, None, "k" * 257, ["a"], {"a": 1}])
def test_kid_must_be_a_short_string(kid: object) -> None:
    header = {"alg": "ES256", "kid": kid, "typ": "at+jwt"}
    if kid is None:
        check_header(header, "at+jwt")  # an absent kid is the key lookup's business
        return
    with pytest.raises(MalformedToken, match="kid"):
        check_header(header, "at+jwt")


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_at_jwt_in_any_spelling_rfc9068_allows(es256: PrivateKey, typ: str) -> None:
    assert make_verifier(es256).verify(sign_as(es256, typ=typ), NOW).sub == "user-1"


@pytest.mark.parametrize(
    "typ", [None, "JWT", "jwt", "at+JWT+x", "application/jwt", 1, "", "rt+jwt"]
)
def test_typ_other_than_at_jwt_is_refused(es256: PrivateKey, typ: object) -> None:
    """J14: an ID token (typ JWT) or untyped token is not an access token."""
    with pytest.raises(UnsupportedToken, match="typ"):
        make_verifier(es256).verify(sign_as(es256, typ=typ), NOW)


def test_typ_is_configurable(es256: PrivateKey) -> None:
    untyped = sign_as(es256, typ=None)
    assert make_verifier(es256, typ=None).verify(untyped, NOW).sub == "user-1"
    custom = sign_as(es256, typ="secevent+jwt")
    assert make_verifier(es256, typ="secevent+jwt").verify(custom, NOW).sub == "user-1"
    with pytest.raises(UnsupportedToken):
        make_verifier(es256, typ="secevent+jwt").verify(sign_as(es256), NOW)


def test_kid_is_required_and_must_name_a_trusted_key(
    es256: PrivateKey, ed25519: PrivateKey
) -> None:
    verifier = make_verifier(es256)
    with pytest.raises(UnknownKey, match="required"):
        verifier.verify(sign_as(es256, kid=None), NOW)
    with pytest.raises(UnknownKey, match="no trusted key"):
        verifier.verify(sign_as(ed25519), NOW)
    with pytest.raises(UnknownKey):
        verifier.verify(sign_as(es256, kid=es256.kid + "x"), NOW)


def test_header_alg_must_equal_the_keys_one_algorithm(es256: PrivateKey) -> None:
    with pytest.raises(UnsupportedToken, match="alg does not match"):
        make_verifier(es256).verify(sign_as(es256, alg="ES384"), NOW)


def test_wrong_signature(es256: PrivateKey) -> None:
    token = sign_as(es256)
    h, p, _ = token.split(".")
    other = sign_as(es256, claims(sub="user-2")).split(".")[2]
    with pytest.raises(BadSignature):
        make_verifier(es256).verify(f"{h}.{p}.{other}", NOW)


def test_payload_must_be_a_json_object(es256: PrivateKey) -> None:
    for payload in (b"[]", b"not json", b'{"sub":"a","sub":"b"}', b"\xef\xbb\xbf{}"):
        token = forge({"alg": "ES256", "kid": es256.kid, "typ": "at+jwt"}, payload, es256)
        with pytest.raises(MalformedToken):
            make_verifier(es256).verify(token, NOW)


def test_compact_verifier_returns_key_and_raw_payload(es256: PrivateKey) -> None:
    token = sign_compact(es256, b"raw bytes, not JSON", typ=None)
    key, payload = CompactVerifier(KeySet([es256.public]), expected_typ=None).verify(token)
    assert key == es256.public
    assert payload == b"raw bytes, not JSON"
    # A pre-encoded header is used as given.
    header = b64json({"alg": "ES256", "kid": es256.kid})
    assert sign_compact(es256, b"x", header=header).startswith(header + ".")


def test_header_cache_stays_bounded_and_correct(es256: PrivateKey) -> None:
    """Each distinct header spelling is validated once; the memory is bounded."""
    verifier = CompactVerifier(KeySet([es256.public]), expected_typ=None)
    for spaces in range(300):
        header = '{"alg":"ES256","kid":"%s"%s}' % (es256.kid, " " * spaces)  # noqa: UP031
        token = forge(header, b"p", es256)
        assert verifier.verify(token)[1] == b"p"
        assert verifier.verify(token)[1] == b"p"  # second time from the cache
    assert len(verifier._header_cache) <= 256
    bad = forge('{"alg":"ES256","kid":"%s"}' % es256.kid, b"p", signature=b"\x00" * 64)  # noqa: UP031
    with pytest.raises(BadSignature):
        verifier.verify(bad)  # a cached header never skips the signature


def test_decode_unverified_parses_strictly_without_checking(es256: PrivateKey) -> None:
    token = forge({"alg": "none"}, claims(), signature=b"sig")
    unverified = decode_unverified(token)
    assert unverified.header == {"alg": "none"}
    assert unverified.payload["sub"] == "user-1"
    assert unverified.signature == b"sig"
    assert unverified.segments == tuple(token.split("."))
    with pytest.raises(MalformedToken):
        decode_unverified(token + "=")
    with pytest.raises(MalformedToken):
        decode_unverified(forge({"alg": "none"}, "[1]", signature=b"s"))


# --- claims ---------------------------------------------------------------------------------


POLICY = ClaimsPolicy.create(ISSUER, AUDIENCE)


def validate(policy: ClaimsPolicy = POLICY, now: float = NOW, **overrides: Any) -> float:
    return policy.validate(claims(**overrides), now)


def test_claims_policy_construction() -> None:
    assert ClaimsPolicy.create(ISSUER, [AUDIENCE, "b"]).audiences == frozenset({AUDIENCE, "b"})
    assert ClaimsPolicy.create(ISSUER, AUDIENCE, leeway=60).leeway == 60
    for kwargs in (
        {"issuer": "", "audiences": frozenset({"a"})},
        {"issuer": 1, "audiences": frozenset({"a"})},
        {"issuer": ISSUER, "audiences": frozenset()},
        {"issuer": ISSUER, "audiences": frozenset({""})},
        {"issuer": ISSUER, "audiences": frozenset({AUDIENCE}), "leeway": 61},
        {"issuer": ISSUER, "audiences": frozenset({AUDIENCE}), "leeway": -1},
        {"issuer": ISSUER, "audiences": frozenset({AUDIENCE}), "required": frozenset({"exp"})},
    ):
        with pytest.raises(ValueError, match=r"must|required|leeway"):
            ClaimsPolicy(**kwargs)


def test_required_claims(es256: PrivateKey) -> None:
    for name in ("exp", "iat", "sub", "aud", "iss"):
        with pytest.raises(InvalidClaim, match=f"{name} is required") as info:
            POLICY.validate(claims(**{name: None}), NOW)
        assert info.value.claim == name
    relaxed = ClaimsPolicy(
        issuer=ISSUER,
        audiences=frozenset({AUDIENCE}),
        required=frozenset({"exp", "aud", "iss", "sub"}),
    )
    assert validate(relaxed, iat=None) == NOW + 300


def test_expiry_with_an_injected_clock() -> None:
    assert validate(now=NOW + 299) == NOW + 300
    with pytest.raises(ExpiredToken):
        validate(now=NOW + 300)  # exp == now is expired (RFC 7519 4.1.4)
    with pytest.raises(ExpiredToken):
        validate(now=NOW + 10_000)


def test_leeway_applies_to_exp_nbf_and_iat() -> None:
    lenient = ClaimsPolicy.create(ISSUER, AUDIENCE, leeway=60)
    assert validate(lenient, now=NOW + 359) == NOW + 300
    with pytest.raises(ExpiredToken):
        validate(lenient, now=NOW + 360)
    assert validate(lenient, nbf=NOW + 60)
    with pytest.raises(NotYetValid) as info:
        validate(lenient, nbf=NOW + 61)
    assert info.value.claim == "nbf"
    assert validate(lenient, iat=NOW + 60)
    with pytest.raises(NotYetValid) as info:
        validate(lenient, iat=NOW + 61)
    assert info.value.claim == "iat"


def test_nbf_and_iat_in_the_future_without_leeway() -> None:
    assert validate(nbf=NOW, iat=NOW)
    with pytest.raises(NotYetValid):
        validate(nbf=NOW + 1)
    with pytest.raises(NotYetValid):
        validate(iat=NOW + 1)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value", ["1700000300", True, False, None, -1, -1.5, [NOW], {"t": NOW}, float("inf")]
)
def test_numeric_dates_must_be_finite_non_negative_numbers(name: str, value: object) -> None:
    """J13: strings, booleans, null, negatives, arrays, objects and infinities."""
    with pytest.raises(InvalidClaim) as info:
        POLICY.validate({**claims(), name: value}, NOW)
    assert info.value.claim == name


def test_float_numeric_dates_are_accepted() -> None:
    """RFC 7519 NumericDate allows fractions; huge values are still just late dates."""
    assert validate(exp=NOW + 0.5) == NOW + 0.5
    assert validate(iat=NOW - 0.25, nbf=0.0)


@pytest.mark.parametrize(
    "iss",
    [
        ISSUER + "/",
        ISSUER[:-1],
        "https://auth.example.com.evil.com",
        "auth.example.com",
        "HTTPS://AUTH.EXAMPLE.COM",
        [ISSUER],
        None,
        1,
        "",
    ],
)
def test_issuer_must_match_exactly(iss: object) -> None:
    """J14: no prefix, substring, superstring, case or array matches."""
    with pytest.raises(InvalidClaim) as info:
        POLICY.validate({**claims(), "iss": iss}, NOW)
    assert info.value.claim == "iss"


@pytest.mark.parametrize(
    "aud",
    [
        "https://other.example.com",
        AUDIENCE + "/",
        [],
        ["https://other.example.com"],
        [AUDIENCE, 1],
        1,
        None,
        {"aud": AUDIENCE},
        "",
    ],
)
def test_audience_must_name_us(aud: object) -> None:
    with pytest.raises(InvalidClaim) as info:
        POLICY.validate({**claims(), "aud": aud}, NOW)
    assert info.value.claim == "aud"


def test_an_audience_array_containing_ours_is_valid() -> None:
    assert validate(aud=["https://other.example.com", AUDIENCE])
    assert validate(aud=[AUDIENCE])


@pytest.mark.parametrize("name", ["sub", "jti", "sid"])
@pytest.mark.parametrize("value", [1, ["a"], {"a": 1}, "", "a\x00b", "x" * 256, None, True])
def test_identifiers_must_be_short_non_empty_strings(name: str, value: object) -> None:
    """J23: sub (and jti, sid) as number, array, object, empty or with NUL bytes."""
    with pytest.raises(InvalidClaim) as info:
        POLICY.validate({**claims(), name: value}, NOW)
    assert info.value.claim == name


@pytest.mark.parametrize(
    ("name", "value"),
    [("roles", "admin"), ("roles", [1]), ("roles", {"a": 1}), ("tenant", 1), ("tenant", ["t"])],
)
def test_authorization_claims_have_fixed_types(es256: PrivateKey, name: str, value: object) -> None:
    token = sign_as(es256, claims(**{name: value}))
    with pytest.raises(InvalidClaim) as info:
        make_verifier(es256).verify(token, NOW)
    assert info.value.claim == name


def test_sub_cannot_be_made_optional() -> None:
    """A verified token always has a subject: AccessToken.sub must never raise."""
    with pytest.raises(ValueError, match="required"):
        ClaimsPolicy(
            issuer=ISSUER,
            audiences=frozenset({AUDIENCE}),
            required=frozenset({"exp", "aud", "iss"}),
        )


# --- verified-token cache and revocation --------------------------------------------------


def test_cache_returns_the_verified_result_for_the_exact_string(es256: PrivateKey) -> None:
    cache = VerifiedTokenCache()
    verifier = make_verifier(es256, cache=cache)
    token = sign_as(es256)
    first = verifier.verify(token, NOW)
    assert len(cache) == 1
    assert cache.get(token) is first
    assert verifier.verify(token, NOW + 1) is first
    # A different spelling of the same bytes is a different key, and a tampered one fails.
    with pytest.raises(BadSignature):
        verifier.verify(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], NOW)
    assert len(cache) == 1


def test_cache_never_outlives_exp(es256: PrivateKey) -> None:
    cache = VerifiedTokenCache()
    verifier = make_verifier(es256, cache=cache, leeway=30)
    token = sign_as(es256)
    verifier.verify(token, NOW)
    assert verifier.verify(token, NOW + 329).sub == "user-1"  # within exp + leeway
    with pytest.raises(ExpiredToken):
        verifier.verify(token, NOW + 330)
    assert cache.get(token) is None
    with pytest.raises(ExpiredToken):
        verifier.verify(token, NOW + 330)  # and the slow path agrees


def test_cache_hit_rechecks_nbf_and_iat_when_the_clock_steps_back(es256: PrivateKey) -> None:
    verifier = make_verifier(es256, cache=VerifiedTokenCache(), leeway=5)
    token = sign_as(es256, claims(nbf=NOW + 10))
    assert verifier.verify(token, NOW + 10).sub == "user-1"
    with pytest.raises(NotYetValid):
        verifier.verify(token, NOW + 4)  # cached, but not valid yet at this earlier time
    assert verifier.verify(token, NOW + 5).sub == "user-1"  # within the leeway


def test_cached_results_are_read_only_all_the_way_down(es256: PrivateKey) -> None:
    verifier = make_verifier(es256, cache=VerifiedTokenCache())
    token = sign_as(es256, claims(roles=["reader"], aud=[AUDIENCE, "other"]))
    first = verifier.verify(token, NOW)
    assert first.claims["roles"] == ("reader",)
    with pytest.raises(TypeError):
        first.claims["roles"] += ("admin",)  # type: ignore[index]
    with pytest.raises(AttributeError):
        first.claims["aud"].append("evil")
    assert verifier.verify(token, NOW).roles == ("reader",)


def test_failures_are_not_cached(es256: PrivateKey) -> None:
    cache = VerifiedTokenCache()
    verifier = make_verifier(es256, cache=cache)
    token = sign_as(es256, claims(nbf=NOW + 100))
    with pytest.raises(NotYetValid):
        verifier.verify(token, NOW)
    assert len(cache) == 0
    assert verifier.verify(token, NOW + 100).sub == "user-1"


def test_cache_is_bounded_oldest_first(es256: PrivateKey) -> None:
    cache = VerifiedTokenCache(maxsize=2)
    verifier = make_verifier(es256, cache=cache)
    tokens = [sign_as(es256, claims(jti=f"j{i}")) for i in range(3)]
    for token in tokens:
        verifier.verify(token, NOW)
    assert len(cache) == 2
    assert cache.get(tokens[0]) is None
    assert cache.get(tokens[2]) is not None
    cache.discard(tokens[2])
    cache.discard("never there")
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError, match="positive"):
        VerifiedTokenCache(maxsize=0)


def test_revocation_runs_on_every_call_cached_or_not(es256: PrivateKey) -> None:
    revocation = FakeRevocation()
    verifier = make_verifier(es256, cache=VerifiedTokenCache(), revocation=revocation)
    token = sign_as(es256, claims(jti="j-1", sid="s-1"))
    for t in range(3):
        verifier.verify(token, NOW + t)
    assert revocation.calls == [("j-1", NOW), ("j-1", NOW + 1), ("j-1", NOW + 2)]
    revocation.revoked_sids.add("s-1")
    with pytest.raises(RevokedToken) as info:
        verifier.verify(token, NOW + 3)  # a cache hit, still refused
    assert info.value.code == "revoked"
    assert revocation.calls[-1] == ("j-1", NOW + 3)


def test_revocation_without_a_cache(es256: PrivateKey) -> None:
    revocation = FakeRevocation()
    revocation.revoked_jtis.add((ISSUER, "j-2"))
    verifier = make_verifier(es256, cache=None, revocation=revocation)
    with pytest.raises(RevokedToken):
        verifier.verify(sign_as(es256, claims(jti="j-2")), NOW)
    assert verifier.verify(sign_as(es256, claims(jti="j-3")), NOW).jti == "j-3"


def test_update_keys_forgets_cached_results(es256: PrivateKey, ed25519: PrivateKey) -> None:
    cache = VerifiedTokenCache()
    verifier = make_verifier(es256, cache=cache)
    token = sign_as(es256)
    verifier.verify(token, NOW)
    verifier.update_keys(KeySet([ed25519.public]))
    assert len(cache) == 0
    with pytest.raises(UnknownKey):
        verifier.verify(token, NOW)
    assert verifier.verify(sign_as(ed25519), NOW).kid == ed25519.kid
    no_cache = make_verifier(es256, cache=None)
    no_cache.update_keys(KeySet([ed25519.public]))
    with pytest.raises(UnknownKey):
        no_cache.verify(token, NOW)


def test_issuer_and_verifier_round_trip_with_a_cache(es256: PrivateKey) -> None:
    token = AccessTokenIssuer(es256, ISSUER).mint(sub="u", audience=AUDIENCE, now=NOW)
    verifier = AccessTokenVerifier(
        keys=KeySet([es256.public]), claims=ClaimsPolicy.create(ISSUER, AUDIENCE)
    )
    assert verifier.cache is not None  # cached by default
    assert verifier.verify(token, NOW).sub == verifier.verify(token, NOW).sub == "u"


def test_assigning_keys_stops_trusting_the_old_ones(es256: PrivateKey, ed25519: PrivateKey) -> None:
    """Retiring a compromised key by assignment must take effect at once, exactly like
    update_keys: no cached header binding or verified result may keep the old key alive."""
    verifier = make_verifier(es256, ed25519, cache=VerifiedTokenCache())
    token = sign_as(es256)
    assert verifier.verify(token, NOW).kid == es256.kid
    verifier.keys = KeySet([ed25519.public])
    with pytest.raises(UnknownKey):
        verifier.verify(token, NOW)
    jws = CompactVerifier(KeySet([es256.public, ed25519.public]), expected_typ=None)
    assert jws.verify(token)[0] == es256.public
    jws.keys = KeySet([ed25519.public])
    with pytest.raises(UnknownKey):
        jws.verify(token)
    jws.expected_typ = "secevent+jwt"
    with pytest.raises(UnsupportedToken):
        jws.verify(sign_as(ed25519))


def test_assigning_a_new_claims_policy_forgets_cached_results(es256: PrivateKey) -> None:
    verifier = make_verifier(es256, cache=VerifiedTokenCache())
    token = sign_as(es256)
    verifier.verify(token, NOW)
    verifier.claims = ClaimsPolicy.create(ISSUER, "https://elsewhere.example.com")
    with pytest.raises(InvalidClaim, match="audience"):
        verifier.verify(token, NOW)
    verifier.typ = None
    verifier.claims = ClaimsPolicy.create(ISSUER, AUDIENCE)
    assert verifier.verify(sign_as(es256, typ=None), NOW).sub == "user-1"


def test_the_token_core_never_reads_the_clock_nor_does_io(
    monkeypatch: pytest.MonkeyPatch, es256: PrivateKey
) -> None:
    """Issue 2: "the token core does no I/O, never reads the clock" (now is always passed in)."""
    import builtins
    import socket
    import time

    from authwise import KeyRing, RotationPolicy, rotate

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the token core read the clock or did I/O")

    key = PrivateKey.generate("Ed25519")
    for module, name in (
        (time, "time"),
        (time, "time_ns"),
        (time, "monotonic"),
        (time, "gmtime"),
        (time, "localtime"),
        (builtins, "open"),
        (socket, "socket"),
        (socket, "create_connection"),
    ):
        monkeypatch.setattr(module, name, forbidden)
    ring = rotate(KeyRing.from_keys([es256], NOW), NOW, RotationPolicy(), lambda: key)
    token = AccessTokenIssuer(ring.active, ISSUER).mint(sub="u", audience=AUDIENCE, now=NOW)
    verifier = AccessTokenVerifier(
        keys=KeySet.from_jwks(ring.jwks()), claims=ClaimsPolicy.create(ISSUER, AUDIENCE)
    )
    assert verifier.verify(token, NOW).sub == "u"
    assert verifier.verify(token, NOW + 1).sub == "u"  # the cached path too
    with pytest.raises(ExpiredToken):
        verifier.verify(token, NOW + 10_000)


def test_a_cache_serves_one_verifier_only(es256: PrivateKey) -> None:
    """A cache entry means "valid under *this* verifier's keys and claims policy". Shared
    with a verifier for another audience, a hit would skip that audience check entirely."""
    cache = VerifiedTokenCache()
    api_one = make_verifier(es256, cache=cache)
    token = sign_as(es256)
    assert api_one.verify(token, NOW).sub == "user-1"
    with pytest.raises(ValueError, match="one verifier"):
        AccessTokenVerifier(
            keys=KeySet([es256.public]),
            claims=ClaimsPolicy.create(ISSUER, "https://other-api.example.com"),
            cache=cache,
        )
    api_two = make_verifier(es256, cache=None)
    with pytest.raises(ValueError, match="one verifier"):
        api_two.cache = cache
    api_two.cache = VerifiedTokenCache()  # a cache of its own is fine
    api_one.cache = None  # and a verifier may drop its cache
    assert api_one.verify(token, NOW).sub == "user-1"
