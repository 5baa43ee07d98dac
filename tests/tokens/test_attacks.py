"""SECURITY.md J01-J23 and the CVE regressions of other JOSE libraries, as named tests.

Attack tokens are built by hand (base64url of hand-written JSON, signatures from
``cryptography``, ``hmac`` or joserfc): nothing on the attacker's side goes through authwise.
Every refusal is a :class:`TokenError` subclass with a machine code.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import socket
import urllib.request
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from joserfc import jwe
from joserfc.jwk import RSAKey

from authwise import (
    AccessToken,
    AccessTokenVerifier,
    BadSignature,
    ClaimsPolicy,
    ExpiredToken,
    InvalidClaim,
    InvalidKey,
    KeySet,
    MalformedToken,
    NotYetValid,
    PrivateKey,
    PublicKey,
    RevokedToken,
    TokenError,
    UnknownKey,
    UnsupportedToken,
    VerifiedTokenCache,
    decode_unverified,
)

from .helpers import (
    AUDIENCE,
    ISSUER,
    NOW,
    b64,
    b64json,
    claims,
    forge,
    header_for,
    make_verifier,
    sign_as,
)

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_L = 2**252 + 27742317777372353535851937790883648493


def refused(verifier: Any, token: str, error: type[TokenError] = TokenError) -> TokenError:
    with pytest.raises(error) as info:
        verifier.verify(token, NOW)
    assert isinstance(info.value, TokenError)
    assert info.value.code
    return info.value


def hmac_token(header: dict[str, Any], secret: bytes, payload: dict[str, Any] | None = None) -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[
        header["alg"]
    ]
    signing_input = f"{b64json(header)}.{b64json(claims() if payload is None else payload)}"
    mac = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(mac)}"


def resign(token: str, key: PrivateKey) -> str:
    h, p, _ = token.split(".")
    return f"{h}.{p}.{b64(key.sign(f'{h}.{p}'.encode()))}"


# --- J01 alg none ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "", None, ["ES256"], ["none"]])
@pytest.mark.parametrize("with_signature", [True, False])
def test_j01_alg_none_in_every_spelling(
    es256: PrivateKey, alg: object, with_signature: bool
) -> None:
    header = {"alg": alg, "kid": es256.kid, "typ": "at+jwt"}
    token = forge(header, claims(), signature=b"sig" if with_signature else b"")
    error = refused(make_verifier(es256), token)
    # Without a signature segment the token is not even compact JWS.
    assert isinstance(error, UnsupportedToken if with_signature else MalformedToken)


@pytest.mark.parametrize("with_signature", [True, False])
def test_j01_alg_missing(es256: PrivateKey, with_signature: bool) -> None:
    token = forge(
        {"kid": es256.kid, "typ": "at+jwt"}, claims(), signature=b"s" if with_signature else b""
    )
    refused(make_verifier(es256), token, UnsupportedToken if with_signature else MalformedToken)


# --- J02, J03 ---------------------------------------------------------------------------------


def test_j02_signature_stripped_truncated_or_empty(any_key: PrivateKey) -> None:
    verifier = make_verifier(any_key)
    token = sign_as(any_key)
    h, p, s = token.split(".")
    refused(verifier, f"{h}.{p}.", MalformedToken)
    refused(verifier, f"{h}.{p}", MalformedToken)
    raw = decode_unverified(token).signature
    for cut in (raw[:-1], raw[:-3], raw[:1], raw[: len(raw) // 2]):
        refused(verifier, f"{h}.{p}.{b64(cut)}", BadSignature)  # canonical, too short
    for chars in (1, 2, 3):
        refused(verifier, f"{h}.{p}.{s[:-chars]}")  # often not even canonical base64url
    assert verifier.verify(token, NOW).sub == "user-1"


@pytest.mark.parametrize(
    "change", [{"sub": "admin"}, {"roles": ["admin"]}, {"exp": NOW + 86_400}, {"aud": "other"}]
)
def test_j03_claims_changed_under_the_old_signature(
    any_key: PrivateKey, change: dict[str, Any]
) -> None:
    h, _, s = sign_as(any_key).split(".")
    refused(make_verifier(any_key), f"{h}.{b64json(claims(**change))}.{s}", BadSignature)


# --- J04, J05 HMAC ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret", [b"", b"\x00", b"\x00" * 32, b"secret", b"password", b"your-256-bit-secret"]
)
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_j04_hmac_with_weak_secrets_is_never_accepted(
    es256: PrivateKey, secret: bytes, alg: str
) -> None:
    token = hmac_token({"alg": alg, "kid": es256.kid, "typ": "at+jwt"}, secret)
    refused(make_verifier(es256), token, UnsupportedToken)


def public_key_renderings(key: PrivateKey) -> dict[str, bytes]:
    """Every way an attacker might render our public key as an HMAC secret."""
    public = key.public.key
    spki = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = key.public.to_jwk()
    renderings = {
        "spki-pem": spki,
        "spki-pem-no-newline": spki.rstrip(b"\n"),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk-compact": json.dumps(jwk, separators=(",", ":")).encode(),
        "jwk-pretty": json.dumps(jwk, indent=2).encode(),
        "jwk-thumbprint": key.kid.encode(),
    }
    if key.alg == "RS256":
        pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        renderings["pkcs1-pem"] = pkcs1
        renderings["pkcs1-pem-no-newline"] = pkcs1.rstrip(b"\n")
    if key.alg == "ES256":
        renderings["x962-point"] = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return renderings


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_j05_hmac_keyed_with_public_key_renderings(any_key: PrivateKey, alg: str) -> None:
    """CVE-2017-11424 / CVE-2022-29217 (PyJWT), CVE-2024-33663 (python-jose, OpenSSH ECDSA),
    CVE-2024-37568 (Authlib): a verifier that lets the token pick HMAC verifies a MAC keyed
    with the public key, which everyone has."""
    verifier = make_verifier(any_key)
    renderings = public_key_renderings(any_key)
    assert {
        "spki-pem",
        "spki-pem-no-newline",
        "der",
        "openssh",
        "jwk-compact",
        "jwk-pretty",
    } <= renderings.keys()
    for name, secret in renderings.items():
        for header in (
            {"alg": alg, "kid": any_key.kid, "typ": "at+jwt"},
            {"alg": alg, "kid": any_key.kid},
            {"alg": alg, "typ": "at+jwt"},
        ):
            with pytest.raises(UnsupportedToken):
                verifier.verify(hmac_token(header, secret), NOW)
        assert name  # every rendering was tried


# --- J06 alg relabelled -----------------------------------------------------------------------


def test_j06_rs256_key_relabelled_ps256_or_rs512(rs256: PrivateKey) -> None:
    verifier = make_verifier(rs256)
    raw = rs256.key
    assert isinstance(raw, rsa.RSAPrivateKey)
    for alg, pad, digest in (
        ("PS256", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()),
        ("RS512", padding.PKCS1v15(), hashes.SHA512()),
        ("RS384", padding.PKCS1v15(), hashes.SHA384()),
    ):
        signing_input = f"{b64json(header_for(rs256, alg=alg))}.{b64json(claims())}"
        signature = raw.sign(signing_input.encode(), pad, digest)
        refused(verifier, f"{signing_input}.{b64(signature)}", UnsupportedToken)


def test_j06_es256_key_relabelled(es256: PrivateKey, ed25519: PrivateKey) -> None:
    verifier = make_verifier(es256)
    for alg in ("ES384", "ES512", "EdDSA", "Ed25519", "ES256K", "RS256", "PS256"):
        refused(verifier, sign_as(es256, alg=alg), UnsupportedToken)
    # An Ed25519 key signs only Ed25519; the legacy label is a different algorithm binding.
    refused(make_verifier(ed25519), sign_as(ed25519, alg="EdDSA"), UnsupportedToken)
    legacy = KeySet([PublicKey("EdDSA", ed25519.kid, ed25519.public.key)])
    legacy_verifier = make_verifier()
    legacy_verifier.update_keys(legacy)
    refused(legacy_verifier, sign_as(ed25519, alg="Ed25519"), UnsupportedToken)
    assert legacy_verifier.verify(sign_as(ed25519, alg="EdDSA"), NOW).sub == "user-1"


# --- J07, J08 keys named by the token ---------------------------------------------------------


def self_signed_certificate(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_j07_key_embedded_in_the_header(es256: PrivateKey) -> None:
    """The attacker signs with their own key and ships it in the header (CVE-2018-0114 style)."""
    attacker = PrivateKey.generate("ES256")
    verifier = make_verifier(es256)
    for kid in (attacker.kid, es256.kid, None):
        header = header_for(attacker, kid=kid, jwk=attacker.public.to_jwk())
        refused(verifier, forge(header, claims(sub="admin"), attacker), UnsupportedToken)
    cert = self_signed_certificate(attacker.key)  # type: ignore[arg-type]
    header = header_for(attacker, kid=es256.kid, x5c=[b64(cert)])
    refused(verifier, forge(header, claims(sub="admin"), attacker), UnsupportedToken)
    # Naming our kid but signing with another key is just a bad signature.
    refused(verifier, forge(header_for(attacker, kid=es256.kid), claims(), attacker), BadSignature)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    attempts: list[object] = []

    def blocked(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("the verifier tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", blocked)
    monkeypatch.setattr(socket, "create_connection", blocked)
    monkeypatch.setattr(socket, "getaddrinfo", blocked)
    monkeypatch.setattr(urllib.request, "urlopen", blocked)
    return attempts


@pytest.mark.parametrize("member", ["jku", "x5u"])
@pytest.mark.parametrize(
    "url",
    [
        "http://attacker.example/jwks.json",
        "https://attacker.example/jwks.json",
        "file:///etc/passwd",
        "data:application/json,{}",
        "https://auth.example.com/.well-known/jwks.json",
        "//attacker.example/k",
    ],
)
def test_j08_key_urls_are_refused_without_any_fetch(
    es256: PrivateKey, no_network: list[object], member: str, url: str
) -> None:
    token = forge(header_for(es256, **{member: url}), claims(), es256)
    refused(make_verifier(es256), token, UnsupportedToken)
    assert no_network == []


# --- J09 kid injection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../../../dev/null",
        "/dev/null",
        "..\\..\\windows\\win.ini",
        "' OR '1'='1",
        "x'; DROP TABLE keys; --",
        "$(touch /tmp/pwned)",
        "`id`",
        "| cat /etc/passwd",
        "kid\x00",
        "http://attacker.example/key",
    ],
)
def test_j09_kid_injection_is_just_an_unknown_key(es256: PrivateKey, kid: str) -> None:
    refused(make_verifier(es256), sign_as(es256, kid=kid), UnknownKey)


@pytest.mark.parametrize("kid", [1, 0, True, [], ["a"], {"a": 1}, ""])
def test_j09_non_string_kids(es256: PrivateKey, kid: object) -> None:
    refused(make_verifier(es256), sign_as(es256, kid=kid), MalformedToken)


def test_j09_ten_kilobyte_kid(es256: PrivateKey) -> None:
    token = sign_as(es256, kid="k" * 10_240)
    refused(make_verifier(es256), token, MalformedToken)  # over the size cap
    roomy = make_verifier(es256, max_bytes=64 * 1024)
    refused(roomy, token, MalformedToken)  # and over the kid length limit


def test_j09_bursts_of_unknown_kids_change_nothing(
    es256: PrivateKey, no_network: list[object]
) -> None:
    verifier = make_verifier(es256)
    keys_before = dict(verifier.keys)
    for i in range(2_000):
        refused(verifier, sign_as(es256, kid=f"unknown-{i}"), UnknownKey)
    assert dict(verifier.keys) == keys_before
    assert no_network == []
    assert verifier.verify(sign_as(es256), NOW).kid == es256.kid


# --- J10, J11 crit and b64 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"], "exp": NOW},
        {"crit": ["absent"]},
        {"crit": []},
        {"crit": ["alg"]},
        {"crit": "b64"},
        {"crit": ["b64"], "b64": True},
    ],
)
def test_j10_crit_is_always_refused(es256: PrivateKey, extra: dict[str, Any]) -> None:
    """Authlib/joserfc and others ignored crit; RFC 7515 4.1.11 says refuse what you don't know."""
    refused(make_verifier(es256), sign_as(es256, **extra), UnsupportedToken)
    header = {**header_for(es256), "crit": None}  # crit: null is still a crit member
    refused(make_verifier(es256), forge(header, claims(), es256), UnsupportedToken)


@pytest.mark.parametrize("extra", [{"b64": False}, {"b64": False, "crit": ["b64"]}, {"b64": True}])
def test_j11_unencoded_payloads_are_refused(es256: PrivateKey, extra: dict[str, Any]) -> None:
    refused(make_verifier(es256), sign_as(es256, **extra), UnsupportedToken)


def test_j11_huge_raw_payload_is_refused_cheaply(es256: PrivateKey) -> None:
    h = b64json(header_for(es256, b64=False, crit=["b64"]))
    token = f"{h}.{'{' * 1_000_000}.{'A' * 86}"
    refused(make_verifier(es256), token, MalformedToken)


# --- J12 duplicate keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        ('{"alg":"ES256","alg":"none","kid":"%(kid)s","typ":"at+jwt"}', None),
        ('{"alg":"ES256","kid":"other","kid":"%(kid)s","typ":"at+jwt"}', None),
        ('{"alg":"ES256","kid":"%(kid)s","typ":"at+jwt","typ":"at+jwt"}', None),
        (
            None,
            '{"iss":"%(iss)s","sub":"user-1","sub":"admin","aud":"%(aud)s","exp":%(exp)d,"iat":%(iat)d}',
        ),
        (None, '{"iss":"%(iss)s","sub":"u","aud":"%(aud)s","exp":1,"exp":%(exp)d,"iat":%(iat)d}'),
        (
            None,
            '{"iss":"%(iss)s","sub":"u","aud":"%(aud)s","exp":%(exp)d,"iat":%(iat)d,"x":{"a":1,"a":2}}',
        ),
    ],
)
def test_j12_duplicate_json_keys_are_refused_and_the_decoder_agrees(
    es256: PrivateKey, header: str | None, payload: str | None
) -> None:
    values = {"kid": es256.kid, "iss": ISSUER, "aud": AUDIENCE, "exp": NOW + 300, "iat": NOW}
    token = forge(
        (header % values) if header else header_for(es256),
        (payload % values) if payload else claims(),
        es256,
    )
    refused(make_verifier(es256), token, MalformedToken)
    with pytest.raises(MalformedToken, match="duplicate"):
        decode_unverified(token)


# --- J13 time claims --------------------------------------------------------------------------


def test_j13_expired_and_exp_equal_to_now(es256: PrivateKey) -> None:
    verifier = make_verifier(es256)
    refused(verifier, sign_as(es256, claims(exp=NOW - 1)), ExpiredToken)
    refused(verifier, sign_as(es256, claims(exp=NOW)), ExpiredToken)
    error = refused(verifier, sign_as(es256, claims(exp=None)), InvalidClaim)
    assert error.claim == "exp"  # type: ignore[attr-defined]


def test_j13_nbf_and_iat_in_the_future(es256: PrivateKey) -> None:
    verifier = make_verifier(es256, leeway=60)
    refused(verifier, sign_as(es256, claims(nbf=NOW + 61)), NotYetValid)
    refused(verifier, sign_as(es256, claims(iat=NOW + 61)), NotYetValid)
    assert verifier.verify(sign_as(es256, claims(nbf=NOW + 60, iat=NOW + 60)), NOW).sub == "user-1"


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [
        "1700000300",
        "tomorrow",
        True,
        False,
        -1,
        -0.5,
        [NOW + 300],
        {"$date": NOW},
        2**63,
        10**20,
        1e300,
        (NOW + 300) * 1000,  # milliseconds where seconds belong
        253_402_300_800,  # the first second of year 10000
    ],
)
def test_j13_non_numeric_huge_negative_and_boolean_dates(
    es256: PrivateKey, name: str, value: object
) -> None:
    error = refused(make_verifier(es256), sign_as(es256, claims(**{name: value})), InvalidClaim)
    assert error.claim == name  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_j13_null_dates(es256: PrivateKey, name: str) -> None:
    payload = json.dumps(claims(**{name: None}))[:-1] + f', "{name}": null}}'
    error = refused(make_verifier(es256), forge(header_for(es256), payload, es256), InvalidClaim)
    assert error.claim == name  # type: ignore[attr-defined]


def test_j13_float_dates_are_numeric_dates(es256: PrivateKey) -> None:
    """RFC 7519 2: a NumericDate may be non-integer."""
    token = sign_as(es256, claims(exp=NOW + 300.5, iat=NOW - 0.5))
    assert make_verifier(es256).verify(token, NOW).exp == NOW + 300.5


def test_j13_leeway_is_at_most_60_seconds(es256: PrivateKey) -> None:
    with pytest.raises(ValueError, match="leeway"):
        make_verifier(es256, leeway=61)
    verifier = make_verifier(es256, leeway=60)
    token = sign_as(es256)
    assert verifier.verify(token, NOW + 359).sub == "user-1"
    with pytest.raises(ExpiredToken):
        verifier.verify(token, NOW + 360)


# --- J14 iss, aud, typ, token kinds ------------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        "https://evil.example.com",
        "https://auth.example",  # prefix
        "auth.example.com",  # substring (CVE-2024-53861: PyJWT's `in` on strings)
        "https://auth.example.com.evil.example",  # superstring
        "https://auth.example.com/",
        [ISSUER],
        [ISSUER, "https://evil.example.com"],
        None,
    ],
)
def test_j14_issuer_must_match_exactly(es256: PrivateKey, iss: object) -> None:
    error = refused(
        make_verifier(es256),
        sign_as(es256, claims(iss=iss if iss is not None else None)),
        InvalidClaim,
    )
    assert error.claim == "iss"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "aud", [None, "https://other.example.com", [], [""], 1, [1], {"aud": AUDIENCE}, [None]]
)
def test_j14_audience_missing_wrong_empty_or_not_strings(es256: PrivateKey, aud: object) -> None:
    error = refused(make_verifier(es256), sign_as(es256, claims(aud=aud)), InvalidClaim)
    assert error.claim == "aud"  # type: ignore[attr-defined]


def test_j14_an_audience_array_containing_ours_is_valid(es256: PrivateKey) -> None:
    token = sign_as(es256, claims(aud=["https://other.example.com", AUDIENCE]))
    assert make_verifier(es256).verify(token, NOW).sub == "user-1"


@pytest.mark.parametrize("typ", [None, "JWT", "id_token+jwt", "logout+jwt", "dpop+jwt", "at+jwt "])
def test_j14_typ_missing_or_not_at_jwt(es256: PrivateKey, typ: object) -> None:
    refused(make_verifier(es256), sign_as(es256, typ=typ), UnsupportedToken)


def test_j14_id_token_and_refresh_token_are_not_access_tokens(es256: PrivateKey) -> None:
    """An OIDC ID token (typ JWT, aud = a client, nonce) signed by the same key is refused by
    typ; a refresh token is opaque and not even a JWS. (The reverse direction, an access token
    offered as a refresh token, is the refresh-token store's check in a later issue.)"""
    verifier = make_verifier(es256)
    id_token = sign_as(es256, claims(aud="client-123", nonce="n", azp="client-123"), typ="JWT")
    refused(verifier, id_token, UnsupportedToken)
    id_token_untyped = sign_as(es256, claims(aud="client-123", nonce="n"), typ=None)
    refused(verifier, id_token_untyped, UnsupportedToken)
    refused(verifier, "aw_rt_" + "A" * 43, MalformedToken)


# --- J15 size ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1_000_000, 50_000_000])
def test_j15_huge_tokens_are_refused_before_decoding(es256: PrivateKey, size: int) -> None:
    token = "eyJ" + "A" * (size - 6) + ".a.b"
    error = refused(make_verifier(es256), token, MalformedToken)
    assert "too large" in str(error)


def test_j15_deep_json_is_refused(es256: PrivateKey) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    token = forge(header_for(es256), '{"a":%s}' % deep, es256)  # noqa: UP031
    refused(make_verifier(es256), token, MalformedToken)  # over the size cap
    roomy = make_verifier(es256, max_bytes=1_000_000)
    refused(roomy, token, MalformedToken)  # and past the parser's depth limit
    deep_header = forge('{"alg":"ES256","x":%s}' % deep, claims(), es256)  # noqa: UP031
    refused(roomy, deep_header, MalformedToken)


def test_j15_ten_thousand_dots(es256: PrivateKey) -> None:
    refused(make_verifier(es256), "." * 10_000, MalformedToken)
    refused(make_verifier(es256), "a." * 5_000, MalformedToken)


# --- J16 non-canonical base64url ---------------------------------------------------------------


def test_j16_non_canonical_base64url(any_key: PrivateKey) -> None:
    verifier = make_verifier(any_key)
    token = sign_as(any_key)
    h, p, s = token.split(".")
    variants = [
        f"{h}=.{p}.{s}",
        f"{h}.{p}.{s}==",
        f"{h}.{p}.{s}=",
        f"{h}.{p}.{s[:-1]}+",
        f"{h}.{p}.{s[:-1]}/",
        f"{h} .{p}.{s}",
        f"{h}.{p}\n.{s}",
        f"{h}.{p}.{s}\n",
        f"\t{token}",
        f"{h}.{p}.{s[:10]} {s[10:]}",
        f"{h}.{p}.{s[:10]}\r\n{s[10:]}",
    ]
    standard = token.translate(str.maketrans("-_", "+/"))  # the standard alphabet
    if standard != token:
        variants.append(standard)
    for variant in variants:
        with pytest.raises(MalformedToken):
            verifier.verify(variant, NOW)
    assert verifier.verify(token, NOW).sub == "user-1"


def test_j16_altered_unused_trailing_bits(any_key: PrivateKey) -> None:
    """A segment whose length is 2 or 3 mod 4 has unused bits: setting them must not yield a
    second valid spelling of the same token."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    verifier = make_verifier(any_key)
    tried = 0
    for pad in ("", "x", "xy", "xyz"):
        token = sign_as(any_key, claims(pad=pad))
        segments = token.split(".")
        for i, segment in enumerate(segments):
            rem = len(segment) % 4
            if rem == 0:
                continue
            value = alphabet.index(segment[-1])
            flipped = alphabet[value ^ 0x01]  # the lowest bit is unused for rem 2 and 3
            altered = [*segments]
            altered[i] = segment[:-1] + flipped
            with pytest.raises(MalformedToken, match="trailing bits"):
                verifier.verify(".".join(altered), NOW)
            tried += 1
    assert tried >= 3


# --- J17 format confusion -------------------------------------------------------------------


def test_j17_jwe_built_against_our_public_key(rs256: PrivateKey) -> None:
    """CVE-2022-3102 (jwcrypto token-type confusion), CVE-2024-33664 / CVE-2024-28102
    (python-jose / jwcrypto JWE decompression bombs): we never decrypt anything."""
    public = RSAKey.import_key(rs256.public.to_pem())
    for header in (
        {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": rs256.kid},
        {"alg": "RSA-OAEP-256", "enc": "A128CBC-HS256", "zip": "DEF", "kid": rs256.kid},
    ):
        token = jwe.encrypt_compact(
            header, json.dumps(claims()), public, algorithms=[header["alg"], header["enc"], "DEF"]
        )
        assert token.count(".") == 4
        refused(make_verifier(rs256), token, MalformedToken)
        with pytest.raises(MalformedToken):
            decode_unverified(token)


def test_j17_json_serializations(es256: PrivateKey) -> None:
    h, p, s = sign_as(es256).split(".")
    flattened = json.dumps({"protected": h, "payload": p, "signature": s})
    general = json.dumps({"payload": p, "signatures": [{"protected": h, "signature": s}]})
    for token in (flattened, general):
        refused(make_verifier(es256), token, MalformedToken)


def test_j17_mixed_json_and_compact_polyglot(es256: PrivateKey) -> None:
    """CVE-2022-39227 (python_jwt): a JSON document whose first key spells a compact token
    with forged claims, carrying the genuine protected header, payload and signature."""
    h, p, s = sign_as(es256).split(".")
    forged = b64json(claims(sub="admin"))
    polyglot = '{"  %s.%s.":"","protected":"%s","payload":"%s","signature":"%s"}' % (  # noqa: UP031
        h,
        forged,
        h,
        p,
        s,
    )
    refused(make_verifier(es256), polyglot, MalformedToken)
    refused(make_verifier(es256), f"{h}.{forged}.{s}", BadSignature)


@pytest.mark.parametrize(
    "shape",
    [
        "{0}.{1}.{2}.{2}",
        "{0}.{1}.{2}.{1}.{2}.{0}",
        "{0}.{1}.{2}.",
        ".{0}.{1}.{2}",
        "{0}..{2}",
        "{0}.{1}..{2}",
    ],
)
def test_j17_four_six_part_and_empty_segments(es256: PrivateKey, shape: str) -> None:
    h, p, s = sign_as(es256).split(".")
    refused(make_verifier(es256), shape.format(h, p, s), MalformedToken)


# --- J18, J19 ECDSA ---------------------------------------------------------------------------


def es256_with(es256: PrivateKey, r: int, s: int, token: str | None = None) -> str:
    token = token or sign_as(es256)
    h, p, _ = token.split(".")
    return f"{h}.{p}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def test_j18_all_zero_signature(es256: PrivateKey) -> None:
    """CVE-2022-21449 (Java "psychic signatures")."""
    refused(make_verifier(es256), es256_with(es256, 0, 0), BadSignature)


@pytest.mark.parametrize("r", [0, 1, P256_N - 1, P256_N])
@pytest.mark.parametrize("s", [0, 1, P256_N - 1, P256_N])
def test_j18_r_and_s_edge_values(es256: PrivateKey, r: int, s: int) -> None:
    refused(make_verifier(es256), es256_with(es256, r, s), BadSignature)


# P-256 (SEC 2 section 2.4.2) in plain Python, for one thing cryptography will not do: choose
# the signature first and find the public key it verifies under (ECDSA public-key recovery).
_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_P256_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)
Point = tuple[int, int] | None  # None: the point at infinity


def _p256_add(a: Point, b: Point) -> Point:
    if a is None or b is None:
        return a or b
    p = _P256_P
    if a[0] == b[0] and (a[1] + b[1]) % p == 0:
        return None
    if a == b:
        slope = (3 * a[0] * a[0] - 3) * pow(2 * a[1], -1, p) % p
    else:
        slope = (b[1] - a[1]) * pow(b[0] - a[0], -1, p) % p
    x = (slope * slope - a[0] - b[0]) % p
    return x, (slope * (a[0] - x) - a[1]) % p


def _p256_mul(k: int, point: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _p256_add(result, point)
        point = _p256_add(point, point)
        k >>= 1
    return result


def _is_p256_x(x: int) -> bool:
    y_squared = (x**3 - 3 * x + _P256_B) % _P256_P
    return pow(y_squared, (_P256_P - 1) // 2, _P256_P) == 1  # Euler's criterion


def _p256_point_at(x: int) -> tuple[int, int]:
    """The point with this x coordinate (x must be on the curve: y^2 a square mod p)."""
    y_squared = (x**3 - 3 * x + _P256_B) % _P256_P
    y = pow(y_squared, (_P256_P + 1) // 4, _P256_P)  # p = 3 (mod 4)
    assert _is_p256_x(x), "x is not on the curve"
    return x, y


def _key_that_accepts(r: int, s: int, signing_input: bytes) -> ec.EllipticCurvePublicKey:
    """The public key Q = r^-1 (sR - zG) under which (r, s) is a valid ECDSA signature over
    ``signing_input``, R being a curve point with x = r."""
    z = int.from_bytes(hashlib.sha256(signing_input).digest(), "big")
    r_inv = pow(r, -1, P256_N)
    q = _p256_add(
        _p256_mul(s * r_inv % P256_N, _p256_point_at(r)), _p256_mul(-z * r_inv % P256_N, _P256_G)
    )
    assert q is not None
    return ec.EllipticCurvePublicNumbers(q[0], q[1], ec.SECP256R1()).public_key()


def test_j18_r_or_s_at_least_n_is_refused_even_when_reducing_would_verify() -> None:
    """r + n and s + n fit the 32 bytes of a JOSE signature only when r or s is below
    2^256 - n (about 2^224): a signature from a real signer has that once in 4 billion. So the
    signature is chosen first, with both that small, and the key made to fit it."""
    r = next(x for x in range(2**223, 2**224) if _is_p256_x(x))
    s = 2**223 + 12_345
    assert r + P256_N < 2**256
    assert s + P256_N < 2**256
    header = {"alg": "ES256", "kid": "recovered", "typ": "at+jwt"}
    h, p = b64json(header), b64json(claims())
    key = PublicKey("ES256", "recovered", _key_that_accepts(r, s, f"{h}.{p}".encode()))
    verifier = AccessTokenVerifier(keys=KeySet([key]), claims=ClaimsPolicy.create(ISSUER, AUDIENCE))

    def token(r: int, s: int) -> str:
        return f"{h}.{p}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    assert verifier.verify(token(r, s), NOW).sub == "user-1"  # reduced mod n, both verify
    # authwise's own range check refuses them, not only OpenSSL behind it.
    for bad in (token(r + P256_N, s), token(r, s + P256_N)):
        assert refused(verifier, bad, BadSignature).detail == "ECDSA r or s out of range"


def test_j18_der_instead_of_r_s_and_wrong_lengths(es256: PrivateKey) -> None:
    token = sign_as(es256)
    h, p, _ = token.split(".")
    raw = decode_unverified(token).signature
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    verifier = make_verifier(es256)
    for signature in (der, raw[:63], raw + b"\x00", b"\x00" + raw, raw[:32], raw * 2, b"\x00"):
        refused(verifier, f"{h}.{p}.{b64(signature)}", BadSignature)


def test_j19_ecdsa_malleability_and_revocation_by_jti(es256: PrivateKey) -> None:
    """(r, n - s) is a second valid signature over the same claims. It does verify: ECDSA is
    malleable by design. So revocation is keyed on (iss, jti) or sid, never on the token
    bytes or their hash, and the twin token is refused as soon as its jti is revoked."""
    original = sign_as(es256, claims(jti="jti-malleable", sid="sid-1"))
    raw = decode_unverified(original).signature
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    twin = es256_with(es256, r, P256_N - s, original)
    h, p, _ = original.split(".")
    assert twin.startswith(f"{h}.{p}.")
    assert twin != original

    class Revocation:
        def __init__(self) -> None:
            self.revoked: set[tuple[str, str | None]] = set()

        def check(self, token: AccessToken, now: float) -> None:
            if (token.iss, token.jti) in self.revoked:
                raise RevokedToken("jti", "revoked")

    revocation = Revocation()
    verifier = make_verifier(es256, cache=VerifiedTokenCache(), revocation=revocation)
    assert verifier.verify(twin, NOW).jti == "jti-malleable"  # it verifies
    assert verifier.verify(original, NOW).jti == "jti-malleable"
    revocation.revoked.add((ISSUER, "jti-malleable"))
    refused(verifier, original, RevokedToken)
    refused(verifier, twin, RevokedToken)


# --- J20 Ed25519 ------------------------------------------------------------------------------


def test_j20_ed25519_non_canonical_s_zero_and_wrong_lengths(ed25519: PrivateKey) -> None:
    token = sign_as(ed25519)
    h, p, _ = token.split(".")
    raw = decode_unverified(token).signature
    s = int.from_bytes(raw[32:], "little")
    non_canonical = raw[:32] + (s + ED25519_L).to_bytes(32, "little")
    verifier = make_verifier(ed25519)
    for signature in (
        non_canonical,
        b"\x00" * 64,
        raw[:32] + b"\x00" * 32,
        raw[:63],
        raw + b"\x00",
        b"",
    ):
        if signature:
            refused(verifier, f"{h}.{p}.{b64(signature)}", BadSignature)
        else:
            refused(verifier, f"{h}.{p}.", MalformedToken)
    assert verifier.verify(token, NOW).sub == "user-1"


@pytest.mark.parametrize(
    "point",
    [
        "0100000000000000000000000000000000000000000000000000000000000000",  # identity
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # non-canonical
    ],
)
def test_j20_small_order_ed25519_keys_are_refused(point: str) -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(bytes.fromhex(point)), "kid": "k"}
    with pytest.raises(InvalidKey):
        KeySet.from_jwks({"keys": [jwk]})


# --- J21, J22 keys ----------------------------------------------------------------------------


def test_j21_jwks_hygiene(es256: PrivateKey, ed25519: PrivateKey, rs256: PrivateKey) -> None:
    published = KeySet([es256.public, ed25519.public, rs256.public]).to_jwks()
    for jwk in published["keys"]:
        assert jwk["use"] == "sig"
        assert jwk["alg"]
        assert jwk["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & jwk.keys()
    for bad in (
        {"kty": "oct", "kid": "h", "alg": "HS256"},
        {**es256.to_jwk(include_private=True)},
        {**es256.to_jwk(), "use": "enc"},
        {k: v for k, v in es256.to_jwk().items() if k != "kid"},
    ):
        with pytest.raises(InvalidKey):
            KeySet.from_jwks({"keys": [bad]})


def test_j22_rsa_below_2048_and_off_curve_points(es256: PrivateKey) -> None:
    with pytest.raises(InvalidKey, match="2048"):
        PrivateKey.generate("RS256", rsa_bits=1024)
    jwk = es256.to_jwk()
    off_curve = dict(jwk, y=jwk["x"])
    with pytest.raises(InvalidKey, match="curve"):
        PublicKey.from_jwk(off_curve)


# --- J23 claim tricks -------------------------------------------------------------------------


@pytest.mark.parametrize("sub", [12345, ["admin"], {"id": "admin"}, "admin\x00user", "", True])
def test_j23_sub_must_be_a_clean_string(es256: PrivateKey, sub: object) -> None:
    error = refused(make_verifier(es256), sign_as(es256, claims(sub=sub)), InvalidClaim)
    assert error.claim == "sub"  # type: ignore[attr-defined]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_j23_bom_or_utf16_json(es256: PrivateKey, encoding: str) -> None:
    payload = json.dumps(claims()).encode(encoding)
    refused(make_verifier(es256), forge(header_for(es256), payload, es256), MalformedToken)
    header = json.dumps(header_for(es256)).encode(encoding)
    refused(
        make_verifier(es256), f"{b64(header)}.{b64json(claims())}.{b64(b'x' * 64)}", MalformedToken
    )


# --- CVE regressions from other Python JOSE libraries, by name -----------------------------------


def test_cve_2015_9235_alg_none_and_hmac_with_the_rsa_public_key(rs256: PrivateKey) -> None:
    """node-jsonwebtoken (the original of the class): alg none, and HS256 keyed with the PEM."""
    verifier = make_verifier(rs256)
    refused(
        verifier,
        forge({"alg": "none", "kid": rs256.kid, "typ": "at+jwt"}, claims(), signature=b"x"),
        UnsupportedToken,
    )
    header = {"alg": "HS256", "kid": rs256.kid, "typ": "at+jwt"}
    refused(verifier, hmac_token(header, rs256.public.to_pem()), UnsupportedToken)


def test_cve_2017_11424_pyjwt_hmac_with_a_public_pem(any_key: PrivateKey) -> None:
    header = {"alg": "HS256", "kid": any_key.kid, "typ": "at+jwt"}
    for secret in (any_key.public.to_pem(), any_key.public.to_pem().rstrip(b"\n")):
        refused(make_verifier(any_key), hmac_token(header, secret), UnsupportedToken)


def test_cve_2022_29217_pyjwt_hmac_with_an_openssh_ed25519_key(ed25519: PrivateKey) -> None:
    openssh = ed25519.public.key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    for alg in ("HS256", "HS512"):
        refused(
            make_verifier(ed25519),
            hmac_token({"alg": alg, "kid": ed25519.kid, "typ": "at+jwt"}, openssh),
            UnsupportedToken,
        )


def test_cve_2024_33663_python_jose_hmac_with_an_openssh_ecdsa_key(es256: PrivateKey) -> None:
    openssh = es256.public.key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    refused(
        make_verifier(es256),
        hmac_token({"alg": "HS256", "kid": es256.kid, "typ": "at+jwt"}, openssh),
        UnsupportedToken,
    )


def test_cve_2024_37568_authlib_hmac_with_an_asymmetric_public_key(rs256: PrivateKey) -> None:
    jwk_json = json.dumps(rs256.public.to_jwk()).encode()
    refused(
        make_verifier(rs256),
        hmac_token({"alg": "HS256", "kid": rs256.kid, "typ": "at+jwt"}, jwk_json),
        UnsupportedToken,
    )


def test_cve_2018_0114_embedded_jwk_signed_by_the_attacker(es256: PrivateKey) -> None:
    """node-jose / Cisco: the token carries the key that verifies it."""
    attacker = PrivateKey.generate("ES256")
    header = {"alg": "ES256", "kid": es256.kid, "typ": "at+jwt", "jwk": attacker.public.to_jwk()}
    refused(make_verifier(es256), forge(header, claims(sub="admin"), attacker), UnsupportedToken)


def test_cve_2022_21449_psychic_signatures(es256: PrivateKey) -> None:
    """Java's ECDSA accepted r = s = 0 for every message and key."""
    refused(make_verifier(es256), es256_with(es256, 0, 0), BadSignature)


def test_cve_2022_39227_python_jwt_json_compact_polyglot(es256: PrivateKey) -> None:
    h, p, s = sign_as(es256).split(".")
    forged = b64json(claims(sub="admin", roles=["admin"]))
    polyglot = json.dumps({f" {h}.{forged}.": "", "protected": h, "payload": p, "signature": s})
    refused(make_verifier(es256), polyglot, MalformedToken)


def test_cve_2024_53861_pyjwt_partial_issuer_match(es256: PrivateKey) -> None:
    """PyJWT 2.10.0 compared iss with `in`, so a substring of the expected issuer passed."""
    for iss in ("auth", "https://auth", ".example.com", "h"):
        error = refused(make_verifier(es256), sign_as(es256, claims(iss=iss)), InvalidClaim)
        assert error.claim == "iss"  # type: ignore[attr-defined]


def test_cve_2024_33664_and_2024_28102_jwe_decompression_bombs(rs256: PrivateKey) -> None:
    """python-jose and jwcrypto inflated attacker-chosen JWE payloads (zip: DEF) without a
    bound. We decrypt nothing and inflate nothing: a JWE, or a JWS header naming zip, is
    refused before any decoding."""
    bomb = b'{"sub":"' + b"A" * 200_000 + b'"}'
    public = RSAKey.import_key(rs256.public.to_pem())
    token = jwe.encrypt_compact(
        {"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF"},
        bomb,
        public,
        algorithms=["RSA-OAEP-256", "A256GCM", "DEF"],
    )
    refused(make_verifier(rs256, max_bytes=1_000_000), token, MalformedToken)
    refused(make_verifier(rs256), sign_as(rs256, zip="DEF"), UnsupportedToken)


def test_cve_authlib_ignored_crit_header(es256: PrivateKey) -> None:
    """Authlib verified tokens whose crit named extensions it did not understand."""
    token = sign_as(
        es256,
        crit=["https://example.com/must-understand"],
        **{"https://example.com/must-understand": True},
    )
    refused(make_verifier(es256), token, UnsupportedToken)


def test_cve_jwks_url_schemes_are_never_fetched(
    es256: PrivateKey, no_network: list[object]
) -> None:
    """jku/x5u with file:, data: or http: URLs (SSRF and local file reads in several
    libraries): a token never names where its key comes from."""
    for url in (
        "file:///etc/passwd",
        "data:application/json;base64,e30",
        "http://169.254.169.254/latest",
    ):
        refused(
            make_verifier(es256),
            forge(header_for(es256, jku=url), claims(), es256),
            UnsupportedToken,
        )
    assert no_network == []


def test_j12_escaped_duplicate_member_names(es256: PrivateKey) -> None:
    """ "sub" and "\\u0073ub" are the same name: the second must not silently win."""
    payload = json.dumps(claims())[:-1] + ', "\\u0073ub": "admin"}'
    token = forge(header_for(es256), payload, es256)
    refused(make_verifier(es256), token, MalformedToken)
    header = '{"alg":"ES256","kid":"%s","typ":"at+jwt","\\u0061lg":"none"}' % es256.kid  # noqa: UP031
    refused(make_verifier(es256), forge(header, claims(), es256), MalformedToken)
