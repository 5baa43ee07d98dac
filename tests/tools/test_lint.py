"""The linter over SECURITY.md's J catalogue, real tokens from other libraries, and its API."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from authwise import AccessTokenIssuer, KeySet, PrivateKey
from authwise.core import rules
from authwise.core.inspection import describe_time, human_duration, verify_signature
from authwise.core.lint import MAX_INPUT_BYTES, lint_claims, lint_token

from .corpus import CORPUS, ES_SIG, NOW, b64, good_claims, good_header, make, segment

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def ids(token: str, now: int = NOW) -> set[str]:
    return {f.id for f in lint_token(token, now).findings}


@pytest.mark.parametrize(("name", "token", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus(name: str, token: str, expected: set[str]) -> None:
    found = ids(token)
    if expected:
        assert expected <= found
    else:
        assert found == set()


def test_every_lint_rule_is_exercised_by_the_corpus() -> None:
    seen = {f.id for _, token, _ in CORPUS for f in lint_token(token, NOW).findings}
    all_ids = {r.id for r in rules.LINT_RULES} | {r.id for r in rules.NAME_RULES}
    all_ids |= {r.id for r in rules.VALUE_RULES}
    # These need a claims file, an embedded token, or a hash: covered below.
    assert all_ids - seen <= {"embedded-jwt", "password-hash", "bearer-credential"}


def test_findings_carry_metadata_from_the_catalogue() -> None:
    report = lint_token(make(payload=good_claims(exp=NOW + 30 * 86400)), NOW)
    (finding,) = [f for f in report.findings if f.id == "lifetime-too-long"]
    rule = rules.LINT_RULES_BY_ID["lifetime-too-long"]
    assert finding.severity == rule.severity == "error"
    assert finding.reason == rule.reason
    assert finding.message == "lifetime of 30 days is over the 15 min maximum"
    assert finding.path == "exp"


def test_malformed_parts_are_still_shown() -> None:
    header = b'{"alg":"ES256","kid":"k1","typ":"at+jwt","alg":"none"}'
    report = lint_token(make(header) + "=", NOW)
    assert report.header == {"alg": "none", "kid": "k1", "typ": "at+jwt"}
    assert report.payload is not None
    assert report.payload["sub"] == "user-1"
    assert report.decodable
    assert {"duplicate-key", "non-canonical-base64url", "alg-none"} <= {
        f.id for f in report.findings
    }


def test_nothing_decodable() -> None:
    report = lint_token("a.b.c.d", NOW)
    assert not report.decodable
    assert report.header is None
    assert report.payload is None
    assert report.signature is None
    assert report.count("error") == 1


def test_huge_inputs_are_refused_without_parsing() -> None:
    for size in (1 << 20, 50 << 20):
        start = time.perf_counter()
        report = lint_token("eyJ" + "A" * size, NOW)
        assert time.perf_counter() - start < 1.0
        assert [f.id for f in report.findings] == ["token-too-large"]
    report = lint_token(" " * 10 + "a" * (MAX_INPUT_BYTES + 1), NOW)
    assert report.findings[0].message.startswith(f"input is {MAX_INPUT_BYTES + 1} bytes")


def test_sizes_are_reported() -> None:
    token = make()
    h, p, s = token.split(".")
    report = lint_token(f"  {token}\n", NOW)
    assert report.sizes["token"] == len(token)
    assert (report.sizes["header"], report.sizes["payload"], report.sizes["signature"]) == (
        len(h),
        len(p),
        len(s),
    )
    assert report.sizes["payload_json"] == len(segment(good_claims())) * 3 // 4
    assert report.signature == ES_SIG


def test_own_tokens_are_clean(es256: PrivateKey) -> None:
    issuer = AccessTokenIssuer(es256, "https://auth.example.com")
    token = issuer.mint(sub="u1", audience="api", now=NOW, sid="s1", roles=["admin"], tenant="t")
    assert lint_token(token, NOW).findings == ()
    assert ids(token, NOW + 301) == {"expired"}


# -- real tokens from PyJWT and joserfc ------------------------------------------------------


def _pyjwt(key: PrivateKey, alg: str, claims: dict[str, Any]) -> str:
    return pyjwt.encode(claims, key.to_pem(), algorithm=alg, headers={"kid": key.kid})


def _joserfc(key: PrivateKey, alg: str, claims: dict[str, Any]) -> str:
    imported = {"ES256": ECKey, "EdDSA": OKPKey, "RS256": RSAKey}[alg]
    jose_key = imported.import_key(key.to_jwk(include_private=True))
    if alg == "EdDSA":
        alg = "Ed25519"  # joserfc speaks RFC 9864's fully-specified name
    return jose_jwt.encode({"alg": alg, "kid": key.kid}, claims, jose_key, algorithms=[alg])


@pytest.mark.parametrize("library", [_pyjwt, _joserfc], ids=["pyjwt", "joserfc"])
@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_real_tokens(
    library: Any, alg: str, es256: PrivateKey, ed25519: PrivateKey, rs256: PrivateKey
) -> None:
    key = {"ES256": es256, "EdDSA": ed25519, "RS256": rs256}[alg]
    token = library(key, alg, good_claims())
    report = lint_token(token, NOW)
    assert report.payload == good_claims()
    # Other libraries type their tokens "JWT", not at+jwt: that is the only complaint.
    assert {f.id for f in report.findings} == {"typ-unexpected"}
    verification = verify_signature(token, KeySet([key.public]))
    assert verification.verified
    assert verification.kid == key.kid
    other = PrivateKey.generate("ES256") if alg != "ES256" else PrivateKey.generate("Ed25519")
    assert not verify_signature(token, KeySet([other.public])).verified


def test_real_hs256_and_long_lived_tokens() -> None:
    token = pyjwt.encode(
        {"sub": "1", "exp": NOW + 30 * 86400, "iat": NOW, "email": "a@b.co"},
        "a-very-long-shared-secret-of-32-bytes!!",
        algorithm="HS256",
    )
    assert {"alg-hmac", "lifetime-too-long", "missing-aud", "email-address"} <= ids(token)
    assert not verify_signature(token, KeySet()).verified


# -- verification -----------------------------------------------------------------------------


def _sign(key: PrivateKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def test_verify_outcomes(es256: PrivateKey, ed25519: PrivateKey) -> None:
    keys = KeySet([es256.public, ed25519.public])
    good = _sign(es256, good_header(kid=es256.kid), good_claims())
    assert verify_signature(good, keys).reason == "verified"
    # J03: claims changed under the old signature
    h, _, s = good.split(".")
    forged = f"{h}.{segment(good_claims(sub='admin'))}.{s}"
    assert verify_signature(forged, keys).reason == "bad_signature"
    # J05: HMAC keyed with our public key is never even tried
    hs_input = f"{segment({'alg': 'HS256', 'kid': es256.kid})}.{segment(good_claims())}"
    mac = hmac.new(es256.public.to_pem(), hs_input.encode(), hashlib.sha256).digest()
    hs = f"{hs_input}.{b64(mac)}"
    assert verify_signature(hs, keys).reason == "alg_refused"
    assert verify_signature(make(good_header(alg="none")), keys).reason == "alg_refused"
    assert verify_signature(make(good_header(alg=5)), keys).reason == "alg_refused"
    # J06: relabelled algorithm
    relabelled = _sign(es256, good_header(kid=es256.kid, alg="ES384"), good_claims())
    assert verify_signature(relabelled, keys).reason == "alg_mismatch"
    # unknown kid with several trusted keys; a single key is used whatever the kid says
    unknown = _sign(es256, good_header(kid="nope"), good_claims())
    assert verify_signature(unknown, keys).reason == "unknown_key"
    assert verify_signature(unknown, KeySet([es256.public])).verified
    # J07: a key embedded in the header is never used
    attacker = PrivateKey.generate("ES256")
    embedded = _sign(attacker, good_header(kid=attacker.kid, jwk=attacker.public.to_jwk()), {})
    assert verify_signature(embedded, KeySet([es256.public])).reason == "bad_signature"
    # J16: only strict encodings are verified
    assert verify_signature(good + "=", keys).reason == "malformed"
    assert verify_signature(good.rsplit(".", 1)[0], keys).reason == "malformed"


def test_ecdsa_malleability_still_verifies(es256: PrivateKey) -> None:
    # J19: (r, n - s) verifies too, so revocation must key on (iss, jti) or sid.
    token = _sign(es256, good_header(kid=es256.kid), good_claims())
    h, p, s = token.split(".")
    sig = pyjwt.utils.base64url_decode(s)
    r, s_int = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    twin = r.to_bytes(32, "big") + (P256_N - s_int).to_bytes(32, "big")
    assert verify_signature(f"{h}.{p}.{b64(twin)}", KeySet([es256.public])).verified
    der = encode_dss_signature(r, s_int)
    assert decode_dss_signature(der) == (r, s_int)
    assert "signature-length" in ids(f"{h}.{p}.{b64(der)}")


def test_legacy_eddsa_label_fits_ed25519_key(ed25519: PrivateKey) -> None:
    token = _sign(ed25519, good_header(kid=ed25519.kid, alg="EdDSA"), good_claims())
    assert verify_signature(token, KeySet([ed25519.public])).verified


# -- claims files -----------------------------------------------------------------------------


def test_lint_claims() -> None:
    report = lint_claims(b'{"sub":"u","password":"x","roles":' + b'["r"]' * 0 + b"[]}", NOW)
    found = {f.id for f in report.findings}
    assert {"secret-claim-name", "missing-exp", "missing-aud", "missing-iss"} <= found
    assert report.header is None
    assert report.payload is not None
    assert report.sizes["payload_json"] == len(b'{"sub":"u","password":"x","roles":[]}')


def test_lint_claims_sizes_and_errors() -> None:
    big = b'{"blob":"' + b"x" * 7000 + b'"}'
    assert {"large-payload", "header-budget"} <= {f.id for f in lint_claims(big, NOW).findings}
    assert [f.id for f in lint_claims(b"[]", NOW).findings] == ["not-an-object"]
    too_big = lint_claims(b" " * (MAX_INPUT_BYTES + 1), NOW)
    assert [f.id for f in too_big.findings] == ["token-too-large"]
    assert not too_big.decodable


def test_value_rules_reached_through_lint() -> None:
    claims = good_claims(
        inner="eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2ln",
        hash="$argon2id$v=19$m=65536,t=3,p=4$abc",
        auth="Bearer abcdefghijklmnopqrstuvwxyz",
    )
    assert {"embedded-jwt", "password-hash", "bearer-credential"} <= ids(make(payload=claims))


def test_skip_claims_values_are_not_scanned() -> None:
    assert ids(make(payload=good_claims(jti="4111111111111111"))) == set()


def test_deep_containers_are_bounded() -> None:
    nested: Any = [["x"] * 21]
    for _ in range(40):
        nested = [nested]
    report = lint_token(make(payload=good_claims(deep=nested)), NOW)
    assert "json-too-deep" in {f.id for f in report.findings}
    many = {f"c{i}": ["x"] * 21 for i in range(150)}
    report = lint_token(make(payload=good_claims(**many)), NOW)
    assert sum(f.id == "many-entries" for f in report.findings) == 100


def test_scan_claims_unchanged_for_minting(es256: PrivateKey) -> None:
    # The mint-time policy still refuses secrets through the same scan.
    from authwise.errors import PolicyViolation

    issuer = AccessTokenIssuer(es256, "https://auth.example.com")
    with pytest.raises(PolicyViolation):
        issuer.mint(sub="u", audience="a", now=NOW, extra={"password": "x"})


# -- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (119, "119 s"),
        (120, "2 min"),
        (7199, "119 min"),
        (7200, "2 h"),
        (172800, "2 days"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_describe_time() -> None:
    assert describe_time("exp", NOW + 240, NOW) == "expires in 4 min"
    assert describe_time("exp", NOW - 3 * 86400, NOW) == "expired 3 days ago"
    assert describe_time("nbf", NOW + 60, NOW) == "valid in 60 s"
    assert describe_time("nbf", NOW - 60, NOW) == "valid since 60 s ago"
    assert describe_time("iat", NOW - 7200, NOW) == "issued 2 h ago"
    assert describe_time("iat", NOW + 10, NOW) == "issued in 10 s (in the future)"


def test_rules_document_carries_every_rule() -> None:
    doc = rules.rules_document()
    assert [r["id"] for r in doc["lint_rules"]] == [r.id for r in rules.LINT_RULES]
    assert doc["thresholds"] == rules.THRESHOLDS
    assert {r["id"] for r in doc["value_rules"]} == {r.id for r in rules.VALUE_RULES}
    assert {r["id"] for r in doc["name_rules"]} == {r.id for r in rules.NAME_RULES}
    assert doc["scan_skip"] == ["jti", "sid"]
    for rule in rules.LINT_RULES:
        assert rule.message
        assert rule.reason
        assert rule.severity in ("error", "warning", "info")
    assert len({r.id for r in rules.LINT_RULES}) == len(rules.LINT_RULES)


def test_signature_shapes() -> None:
    assert "signature-length" not in ids(make(good_header(alg="RS256"), signature=b"\x01" * 256))
    assert "signature-length" in ids(make(good_header(alg="ES512"), signature=b"\x01" * 64))
    assert "signature-zero" not in ids(make(good_header(alg="HS256"), signature=b"\x01" * 32))
