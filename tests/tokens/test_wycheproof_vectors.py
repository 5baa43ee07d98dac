"""Project Wycheproof vectors (tests/vectors/wycheproof, see its SOURCE.md).

Every case of json_web_signature_test.json and json_web_key_test.json is asserted, and the
raw ES256 (P1363 r||s), Ed25519 and RS256 signature files run through our signature layer
(``PublicKey.verify``). The JWS payloads are not claim sets, so they go through the JWS layer
(:class:`CompactVerifier`), never the claims step.

Where we refuse a case Wycheproof marks valid, it is by design and listed here:

- HMAC (HS256/384/512) and ``oct`` keys: never accepted for access tokens (RFC 8725 3.1,
  SECURITY.md J04/J05);
- algorithms outside ES256, Ed25519 and RS256 (PS*, RS384, RS512, ES512): one algorithm per
  key, and only these three;
- empty payloads (tcId 259 and the same case for the unsupported algorithms): SECURITY.md
  J17 has empty segments refused, and an access token's payload is a non-empty JSON object;
- tcId 372 and 373, "InvalidCharacterInserted": Wycheproof marks them valid because a lenient
  base64 decoder skips the ``?``; our strict compact parser accepts only ``[A-Za-z0-9_-.]``
  and rejects them as malformed before looking at keys (the stricter behaviour RFC 8725bis
  recommends);
- rsa_signature_2048_sha256 tcId 8 ("acceptable", MissingNull): OpenSSL refuses a
  DigestInfo without the NULL parameter, and so do we.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from authwise import (
    BadSignature,
    InvalidKey,
    KeySet,
    MalformedToken,
    PrivateKey,
    PublicKey,
    TokenError,
)
from authwise.core.jws import CompactVerifier

PRIVATE = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
SUPPORTED = {"ES256", "RS256", "Ed25519"}
STRICT_PARSER_DEVIATIONS = {
    372: "InvalidCharacterInsertedInHeader",
    373: "InvalidCharacterInsertedInPayload",
}


def load(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    assert path.is_file(), f"missing vector file {path}"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def lenient_header(token: str) -> dict[str, Any]:
    """The header as a lenient parser would read it: only to classify a case."""
    segment = "".join(c for c in token.split(".")[0] if c.isalnum() or c in "-_")
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def public_part(group: dict[str, Any]) -> dict[str, Any]:
    if "public" in group:
        return dict(group["public"])
    return {k: v for k, v in group["private"].items() if k not in PRIVATE}


def trusted_keys(jwk: dict[str, Any], kid: str) -> tuple[KeySet, str | None]:
    """The key set a verifier would hold, and why the group's own key was refused (if it was).

    A refused key is trusted by no one; an unrelated ES256 decoy under the same kid stands
    in, so every token still meets a verifier holding *a* key for its kid. (Rebinding the
    refused key to one of our algorithms would be wrong: a PS512-only key must not verify an
    RS256 signature, Wycheproof tcId 332.)"""
    try:
        return KeySet([PublicKey.from_jwk(jwk)]), None
    except InvalidKey as exc:
        decoy = PublicKey("ES256", kid, PrivateKey.generate("ES256").key.public_key())
        return KeySet([decoy]), str(exc)


def design_deviation(test: dict[str, Any]) -> str | None:
    if test["tcId"] in STRICT_PARSER_DEVIATIONS:
        return "strict-parser"
    alg = lenient_header(test["jws"]).get("alg") if isinstance(test["jws"], str) else None
    if isinstance(test["jws"], str) and ".." in test["jws"]:
        return "empty-payload"
    if isinstance(alg, str) and alg.startswith("HS"):
        return "hmac"
    if alg not in SUPPORTED:
        return "unsupported-alg"
    return None


def test_json_web_signature_vectors_in_full(wycheproof_dir: Path) -> None:
    data = load(wycheproof_dir, "json_web_signature_test.json")
    seen = 0
    refused_valid: Counter[str] = Counter()
    accepted: list[int] = []
    for group in data["testGroups"]:
        jwk = public_part(group)
        keys, _ = trusted_keys(jwk, str(jwk.get("kid", "kid")))
        verifier = CompactVerifier(keys, expected_typ=None)
        for test in group["tests"]:
            seen += 1
            token = test["jws"]
            if not isinstance(token, str):  # a JSON serialization: never accepted
                assert test["flags"] == ["JsonSerialization"]
                with pytest.raises(MalformedToken):
                    verifier.verify(json.dumps(token))
                continue
            deviation = design_deviation(test)
            if test["result"] == "valid" and deviation is None:
                key, payload = verifier.verify(token)
                segment = token.split(".")[1]
                assert payload == base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
                assert key.kid in keys
                accepted.append(test["tcId"])
                continue
            with pytest.raises(TokenError) as info:
                verifier.verify(token)
            if test["tcId"] in STRICT_PARSER_DEVIATIONS:
                assert test["comment"] == STRICT_PARSER_DEVIATIONS[test["tcId"]]
                assert isinstance(info.value, MalformedToken)
            if test["result"] == "valid":
                refused_valid[deviation or "?"] += 1
    assert seen == data["numberOfTests"] == 401
    assert accepted == [18, 33, 260, 261, 262, 263, 345, 349, 378]
    assert refused_valid == {
        "hmac": 8,
        "unsupported-alg": 21,
        "empty-payload": 6,
        "strict-parser": 2,
    }


def test_json_web_signature_keys_we_refuse_and_why(wycheproof_dir: Path) -> None:
    data = load(wycheproof_dir, "json_web_signature_test.json")
    reasons: Counter[tuple[str, str]] = Counter()
    for group in data["testGroups"]:
        _, reason = trusted_keys(public_part(group), "kid")
        if reason is not None:
            reasons[(group["comment"], reason.split(":")[-1].strip())] += 1
    refused_groups = {comment for comment, _ in reasons}
    assert refused_groups == {
        "hs256",
        "rs384",
        "rs512",
        "ps256",
        "ps384",
        "ps512",
        "rfc7520",
        "rfc7520WithKeyOps",
        "rsa_encryption",
        "ec_key_for_encryption",
        "base64",
    }
    assert all(
        any(word in why for word in ("oct", "does not fit", "use", "key_ops", "curve"))
        for _, why in reasons
    ), reasons


def test_json_web_key_vectors(wycheproof_dir: Path) -> None:
    """JWK Sets: mixed public/private sets, oct keys, duplicate kids, ROCA, RSA-1024, e=1,
    wrong alg, use, curve, kty and off-curve points are all refused at import."""
    data = load(wycheproof_dir, "json_web_key_test.json")
    seen = 0
    refused_valid: list[int] = []
    for group in data["testGroups"]:
        document = group.get("public") or group["private"]
        try:
            keys: KeySet | None = KeySet.from_jwks(document)
        except InvalidKey:
            keys = None
        if "public" not in group:
            # A private set is refused as a trust anchor; so are its keys stripped bare.
            assert keys is None
            stripped = {
                "keys": [
                    {k: v for k, v in key.items() if k not in PRIVATE} for key in document["keys"]
                ]
            }
            with pytest.raises(InvalidKey):
                KeySet.from_jwks(stripped)
        for test in group["tests"]:
            seen += 1
            if keys is None:
                if test["result"] == "valid":
                    assert lenient_header(test["jws"])["alg"].startswith("HS")
                    refused_valid.append(test["tcId"])
                continue
            verifier = CompactVerifier(keys, expected_typ=None)
            if test["result"] == "valid":
                assert verifier.verify(test["jws"])[1] == b"foo"
            else:
                with pytest.raises(TokenError):
                    verifier.verify(test["jws"])
    assert seen == data["numberOfTests"]
    assert refused_valid == [2, 13, 14, 15]  # HMAC keys: refused by design


def test_json_web_key_roca_modulus_is_refused(wycheproof_dir: Path) -> None:
    data = load(wycheproof_dir, "json_web_key_test.json")
    (group,) = [g for g in data["testGroups"] if g["comment"] == "jws_rsa_roca_key"]
    with pytest.raises(InvalidKey, match="ROCA"):
        KeySet.from_jwks(group["public"])


RAW_FILES = [
    ("ecdsa_secp256r1_sha256_p1363_test.json", "ES256", 262),
    ("ed25519_test.json", "Ed25519", 151),
    ("rsa_signature_2048_sha256_test.json", "RS256", 259),
]


@pytest.mark.parametrize(("name", "alg", "count"), RAW_FILES)
def test_raw_signature_vectors_through_public_key_verify(
    wycheproof_dir: Path, name: str, alg: str, count: int
) -> None:
    data = load(wycheproof_dir, name)
    outcomes: Counter[tuple[str, str]] = Counter()
    for group in data["testGroups"]:
        key = PublicKey.from_pem(group["publicKeyPem"].encode(), alg=alg)  # type: ignore[arg-type]
        jwk = group.get("publicKeyJwk") or group.get("keyJwk")
        if jwk is not None:  # the JWK and the PEM are the same key
            bare = {k: v for k, v in jwk.items() if k != "kid"}
            assert PublicKey.from_jwk(bare).thumbprint() == key.thumbprint()
        for test in group["tests"]:
            message, signature = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
            try:
                key.verify(message, signature)
                got = "valid"
            except BadSignature:
                got = "invalid"
            outcomes[(test["result"], got)] += 1
            if test["result"] != "acceptable":
                assert got == test["result"], (name, test["tcId"], test["comment"])
            else:
                assert (name, test["tcId"], got) == (
                    "rsa_signature_2048_sha256_test.json",
                    8,
                    "invalid",
                )
    assert sum(outcomes.values()) == data["numberOfTests"] == count
    assert outcomes[("valid", "valid")] > 0
    assert outcomes[("invalid", "invalid")] > 0
