"""Keys: generation, one algorithm per key, RFC 7638 kid, JWK and PEM import/export."""

from __future__ import annotations

import random
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x25519

from authwise import BadSignature, InvalidKey, PrivateKey, PublicKey, jwk_thumbprint

from .helpers import b64, weak_rsa_key

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_default_key_is_es256_on_p256() -> None:
    key = PrivateKey.generate()
    assert key.alg == "ES256"
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.key.curve, ec.SECP256R1)


def test_ed25519_key_uses_the_rfc9864_name() -> None:
    key = PrivateKey.generate("Ed25519")
    assert key.alg == "Ed25519"
    assert key.to_jwk()["alg"] == "Ed25519"
    assert key.to_jwk()["crv"] == "Ed25519"


def test_rsa_default_is_3072_bits() -> None:
    key = PrivateKey.generate("RS256")
    assert isinstance(key.key, rsa.RSAPrivateKey)
    assert key.key.key_size == 3072


def test_rsa_2048_is_accepted(rs256: PrivateKey) -> None:
    assert isinstance(rs256.key, rsa.RSAPrivateKey)
    assert rs256.key.key_size == 2048


@pytest.mark.parametrize("bits", [1024, 2047])
def test_rsa_below_2048_is_refused(bits: int) -> None:
    """J22."""
    with pytest.raises(InvalidKey, match="2048"):
        PrivateKey.generate("RS256", rsa_bits=bits)


@pytest.mark.parametrize("alg", ["HS256", "none", "PS256", "ES384", ""])
def test_unsupported_algorithms_cannot_be_generated(alg: str) -> None:
    with pytest.raises(InvalidKey):
        PrivateKey.generate(alg)  # type: ignore[arg-type]


def test_kid_is_the_rfc7638_thumbprint(any_key: PrivateKey) -> None:
    jwk = any_key.to_jwk()
    assert any_key.kid == jwk_thumbprint(jwk) == any_key.public.thumbprint()
    assert len(any_key.kid) == 43  # SHA-256, unpadded base64url


def test_thumbprint_ignores_optional_members(es256: PrivateKey) -> None:
    jwk = es256.to_jwk()
    bare = {k: jwk[k] for k in ("kty", "crv", "x", "y")}
    assert jwk_thumbprint({**bare, "kid": "other", "use": "enc", "alg": "x"}) == jwk_thumbprint(
        bare
    )


def test_thumbprint_refuses_unknown_kty_and_missing_members() -> None:
    with pytest.raises(InvalidKey, match="kty"):
        jwk_thumbprint({"kty": "oct", "k": "AAAA"})
    with pytest.raises(InvalidKey, match="missing member 'y'"):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "AAAA"})


def test_sign_and_verify_round_trip(any_key: PrivateKey) -> None:
    signature = any_key.sign(b"message")
    any_key.public.verify(b"message", signature)
    with pytest.raises(BadSignature):
        any_key.public.verify(b"messagf", signature)


def test_es256_signature_is_64_byte_r_s(es256: PrivateKey) -> None:
    assert len(es256.sign(b"m")) == 64


def test_signature_of_the_wrong_length_is_refused_before_crypto(any_key: PrivateKey) -> None:
    signature = any_key.sign(b"m")
    for bad in (signature[:-1], signature + b"\x00", b""):
        with pytest.raises(BadSignature, match="wrong length"):
            any_key.public.verify(b"m", bad)


def _probable_prime(bits: int, rng: random.Random) -> int:
    while True:
        n = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if all(n % p for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)) and all(
            pow(rng.randrange(2, n - 1), n - 1, n) == 1 for _ in range(16)
        ):
            return n


def _rsa_key_of_exactly(bits: int) -> rsa.RSAPrivateKey:
    """OpenSSL rounds odd sizes down, so build the key from primes of our own."""
    rng = random.Random(2049)
    while True:
        p, q = _probable_prime(bits // 2 + 1, rng), _probable_prime(bits // 2, rng)
        if (p * q).bit_length() == bits and (p - 1) % 65537 and (q - 1) % 65537:
            break
    d = pow(65537, -1, (p - 1) * (q - 1))
    return rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(65537, p * q),
    ).private_key()


def test_rsa_signature_length_is_the_modulus_in_whole_bytes() -> None:
    """A 2049-bit modulus signs 257-byte signatures; rounding down would refuse all of them."""
    raw = _rsa_key_of_exactly(2049)
    key = PrivateKey("RS256", "odd", raw)
    assert raw.key_size == 2049
    signature = key.sign(b"m")
    assert len(signature) == 257
    key.public.verify(b"m", signature)


@pytest.mark.parametrize(
    ("alg", "make"),
    [
        ("ES256", lambda: rsa.generate_private_key(65537, 2048).public_key()),
        ("ES256", lambda: ec.generate_private_key(ec.SECP384R1()).public_key()),
        ("ES256", lambda: ed25519.Ed25519PrivateKey.generate().public_key()),
        ("Ed25519", lambda: ec.generate_private_key(ec.SECP256R1()).public_key()),
        ("EdDSA", lambda: ec.generate_private_key(ec.SECP256R1()).public_key()),
        ("RS256", lambda: ec.generate_private_key(ec.SECP256R1()).public_key()),
        ("RS256", lambda: weak_rsa_key().public_key()),
        ("HS256", lambda: ec.generate_private_key(ec.SECP256R1()).public_key()),
        ("PS256", lambda: rsa.generate_private_key(65537, 2048).public_key()),
    ],
)
def test_one_algorithm_per_key_and_the_key_must_fit_it(alg: str, make: Any) -> None:
    with pytest.raises(InvalidKey):
        PublicKey(alg, "kid", make())  # type: ignore[arg-type]


def test_repr_never_shows_key_material(any_key: PrivateKey) -> None:
    private = any_key.to_jwk(include_private=True)
    for text in (repr(any_key), repr(any_key.public), str(any_key)):
        assert any_key.kid in text
        assert private["d"] not in text


def test_public_keys_compare_by_alg_kid_and_material(
    es256: PrivateKey, ed25519: PrivateKey
) -> None:
    same = PublicKey.from_jwk(es256.to_jwk())
    assert same == es256.public
    assert hash(same) == hash(es256.public)
    assert es256.public != ed25519.public
    assert es256.public != "not a key"
    relabelled = PublicKey(es256.alg, "other-kid", es256.public.key)
    assert relabelled != es256.public


# --- JWK export -------------------------------------------------------------------------


def test_jwk_export_is_public_only_by_default(any_key: PrivateKey) -> None:
    for jwk in (any_key.to_jwk(), any_key.public.to_jwk()):
        assert not PRIVATE_MEMBERS & jwk.keys()
        assert jwk["kid"] == any_key.kid
        assert jwk["alg"] == any_key.alg
        assert jwk["use"] == "sig"


def test_private_jwk_only_when_asked_and_it_round_trips(any_key: PrivateKey) -> None:
    jwk = any_key.to_jwk(include_private=True)
    assert "d" in jwk
    if any_key.alg == "RS256":
        assert {"p", "q", "dp", "dq", "qi"} <= jwk.keys()
    again = PrivateKey.from_jwk(jwk)
    assert (again.alg, again.kid) == (any_key.alg, any_key.kid)
    any_key.public.verify(b"m", again.sign(b"m"))


def test_private_jwk_import_refuses_mismatched_or_missing_private_members(
    any_key: PrivateKey,
) -> None:
    jwk = any_key.to_jwk(include_private=True)
    with pytest.raises(InvalidKey):
        PrivateKey.from_jwk({k: v for k, v in jwk.items() if k != "d"})
    wrong_d = dict(jwk, d=b64(b"\x01" * 32))
    with pytest.raises(InvalidKey):
        PrivateKey.from_jwk(wrong_d)


def test_rsa_private_jwk_with_inconsistent_primes_is_refused(rs256: PrivateKey) -> None:
    jwk = rs256.to_jwk(include_private=True)
    with pytest.raises(InvalidKey, match="private members"):
        PrivateKey.from_jwk(dict(jwk, p=jwk["q"], q=jwk["p"], qi=b64(b"\x02" * 128)))


def test_private_jwk_import_needs_an_object() -> None:
    with pytest.raises(InvalidKey, match="not an object"):
        PrivateKey.from_jwk("{}")  # type: ignore[arg-type]


# --- JWK import validation ---------------------------------------------------------------


def _ec_jwk(key: PrivateKey, **over: Any) -> dict[str, Any]:
    return {**key.to_jwk(), **over}


def test_public_jwk_round_trip(any_key: PrivateKey) -> None:
    imported = PublicKey.from_jwk(any_key.to_jwk())
    assert imported == any_key.public
    imported.verify(b"m", any_key.sign(b"m"))


def test_missing_kid_becomes_the_thumbprint_and_missing_alg_follows_kty(
    any_key: PrivateKey,
) -> None:
    jwk = {k: v for k, v in any_key.to_jwk().items() if k not in ("kid", "alg", "use")}
    imported = PublicKey.from_jwk(jwk)
    assert imported.kid == any_key.kid
    assert imported.alg == any_key.alg


@pytest.mark.parametrize("member", sorted(PRIVATE_MEMBERS))
def test_private_members_in_a_public_jwk_are_refused(es256: PrivateKey, member: str) -> None:
    with pytest.raises(InvalidKey, match="private"):
        PublicKey.from_jwk(_ec_jwk(es256, **{member: "AAAA"}))


def test_oct_keys_are_never_accepted() -> None:
    with pytest.raises(InvalidKey, match="oct"):
        PublicKey.from_jwk({"kty": "oct", "alg": "HS256"})


@pytest.mark.parametrize("kty", ["RSA-PSS", "ec", "", None, 1, "OCT"])
def test_unknown_kty_is_refused(kty: object) -> None:
    with pytest.raises(InvalidKey, match="kty"):
        PublicKey.from_jwk({"kty": kty, "crv": "P-256"})


@pytest.mark.parametrize(
    ("kty", "crv"),
    [
        ("EC", "P-384"),
        ("EC", "P-521"),
        ("EC", "secp256k1"),
        ("EC", None),
        ("OKP", "Ed448"),
        ("OKP", "X25519"),
        ("OKP", None),
    ],
)
def test_unknown_curves_are_refused(kty: str, crv: object) -> None:
    with pytest.raises(InvalidKey, match="curve"):
        PublicKey.from_jwk({"kty": kty, "crv": crv, "x": "AAAA", "y": "AAAA"})


@pytest.mark.parametrize("use", ["enc", "", "SIG", 1])
def test_use_other_than_sig_is_refused(es256: PrivateKey, use: object) -> None:
    with pytest.raises(InvalidKey, match="use"):
        PublicKey.from_jwk(_ec_jwk(es256, use=use))


@pytest.mark.parametrize("ops", [["encrypt"], ["verify", "wrapKey"], [], "verify", None])
def test_key_ops_must_only_name_sign_or_verify(es256: PrivateKey, ops: object) -> None:
    jwk = _ec_jwk(es256, key_ops=ops)
    if ops is None:
        assert PublicKey.from_jwk(jwk) == es256.public
        return
    with pytest.raises(InvalidKey, match="key_ops"):
        PublicKey.from_jwk(jwk)


def test_key_ops_verify_is_accepted(es256: PrivateKey) -> None:
    assert PublicKey.from_jwk(_ec_jwk(es256, key_ops=["verify"])) == es256.public


@pytest.mark.parametrize("alg", ["ES384", "RS256", "EdDSA", "none", "HS256", ["ES256"]])
def test_alg_must_fit_the_key_type(es256: PrivateKey, alg: object) -> None:
    with pytest.raises(InvalidKey, match="does not fit"):
        PublicKey.from_jwk(_ec_jwk(es256, alg=alg))


def test_legacy_eddsa_only_when_allowed(ed25519: PrivateKey) -> None:
    jwk = dict(ed25519.to_jwk(), alg="EdDSA")
    with pytest.raises(InvalidKey, match="EdDSA"):
        PublicKey.from_jwk(jwk)
    legacy = PublicKey.from_jwk(jwk, allow_legacy_eddsa=True)
    assert legacy.alg == "EdDSA"
    legacy.verify(b"m", ed25519.sign(b"m"))
    # Allowing the legacy label does not change what an unlabelled key means.
    unlabelled = {k: v for k, v in jwk.items() if k != "alg"}
    assert PublicKey.from_jwk(unlabelled, allow_legacy_eddsa=True).alg == "Ed25519"


def test_off_curve_points_are_refused(es256: PrivateKey) -> None:
    """J22: an invalid-curve attack starts from a point that is not on P-256."""
    jwk = es256.to_jwk()
    y = bytearray(32)
    y[-1] = 1
    with pytest.raises(InvalidKey, match="not on the curve"):
        PublicKey.from_jwk(dict(jwk, y=b64(bytes(y))))


def test_coordinates_at_or_above_the_field_prime_are_refused(es256: PrivateKey) -> None:
    p = 2**256 - 2**224 + 2**192 + 2**96 - 1
    jwk = es256.to_jwk()
    with pytest.raises(InvalidKey):
        PublicKey.from_jwk(dict(jwk, x=b64(p.to_bytes(32, "big"))))


@pytest.mark.parametrize("length", [31, 33])
def test_ec_coordinates_must_be_32_bytes(es256: PrivateKey, length: int) -> None:
    with pytest.raises(InvalidKey, match="32 bytes"):
        PublicKey.from_jwk(dict(es256.to_jwk(), x=b64(b"\x01" * length)))


@pytest.mark.parametrize("value", [None, 1, "", "AAAA=", "AA+A", "Zh"])
def test_members_must_be_strict_base64url_strings(es256: PrivateKey, value: object) -> None:
    with pytest.raises(InvalidKey, match="member 'x'"):
        PublicKey.from_jwk(dict(es256.to_jwk(), x=value))


@pytest.mark.parametrize("length", [31, 33, 64])
def test_ed25519_keys_must_be_32_bytes(ed25519: PrivateKey, length: int) -> None:
    with pytest.raises(InvalidKey, match="32 bytes"):
        PublicKey.from_jwk(dict(ed25519.to_jwk(), x=b64(b"\x01" * length)))


SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
]


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_ed25519_small_order_keys_are_refused(point: str) -> None:
    """J20: a small-order public key lets one signature verify for many messages."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(bytes.fromhex(point))}
    with pytest.raises(InvalidKey, match="small order"):
        PublicKey.from_jwk(jwk)


def test_rsa_below_2048_bits_is_refused_on_import() -> None:
    """J22."""
    small = weak_rsa_key().public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "n": b64(small.n.to_bytes(128, "big")),
        "e": b64(small.e.to_bytes(3, "big")),
    }
    with pytest.raises(InvalidKey, match="2048"):
        PublicKey.from_jwk(jwk)


def test_rsa_members_with_leading_zero_bytes_are_refused(rs256: PrivateKey) -> None:
    jwk = rs256.to_jwk()
    with pytest.raises(InvalidKey, match="leading zero"):
        PublicKey.from_jwk(dict(jwk, e="AAEAAQ"))


def test_rsa_exponent_one_is_refused(rs256: PrivateKey) -> None:
    with pytest.raises(InvalidKey, match="invalid RSA key"):
        PublicKey.from_jwk(dict(rs256.to_jwk(), e="AQ"))


@pytest.mark.parametrize("kid", [1, "", "k" * 257, ["a"]])
def test_kid_must_be_a_short_non_empty_string(es256: PrivateKey, kid: object) -> None:
    with pytest.raises(InvalidKey, match="kid"):
        PublicKey.from_jwk(_ec_jwk(es256, kid=kid))


def test_public_jwk_import_needs_an_object() -> None:
    with pytest.raises(InvalidKey, match="not an object"):
        PublicKey.from_jwk(["kty"])  # type: ignore[arg-type]


# --- PEM ---------------------------------------------------------------------------------


def test_public_pem_round_trip(any_key: PrivateKey) -> None:
    pem = any_key.public.to_pem()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    imported = PublicKey.from_pem(pem)
    assert imported == any_key.public


def test_private_pem_round_trip(any_key: PrivateKey) -> None:
    pem = any_key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = PrivateKey.from_pem(pem)
    assert (again.alg, again.kid) == (any_key.alg, any_key.kid)


def test_encrypted_private_pem(es256: PrivateKey) -> None:
    pem = es256.to_pem(b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert PrivateKey.from_pem(pem, b"correct horse").kid == es256.kid
    with pytest.raises(InvalidKey, match="password"):
        PrivateKey.from_pem(pem, b"wrong")
    with pytest.raises(InvalidKey, match="password"):
        PrivateKey.from_pem(pem)  # no password for an encrypted key
    with pytest.raises(InvalidKey, match="password"):
        PrivateKey.from_pem(es256.to_pem(), b"unexpected")  # a password for a plain key


def test_an_empty_password_never_means_unencrypted(es256: PrivateKey) -> None:
    with pytest.raises(ValueError, match="empty password"):
        es256.to_pem(b"")


def test_pem_alg_and_kid_overrides(ed25519: PrivateKey) -> None:
    legacy = PublicKey.from_pem(ed25519.public.to_pem(), alg="EdDSA", kid="mine")
    assert (legacy.alg, legacy.kid) == ("EdDSA", "mine")
    private = PrivateKey.from_pem(ed25519.to_pem(), alg="EdDSA", kid="mine")
    assert (private.alg, private.kid) == ("EdDSA", "mine")
    with pytest.raises(InvalidKey):
        PublicKey.from_pem(ed25519.public.to_pem(), alg="ES256")


@pytest.mark.parametrize(
    "data", [b"", b"garbage", b"-----BEGIN PUBLIC KEY-----\nAAAA\n", "-----BEGIN PUBLIC KEY-----"]
)
def test_garbage_pem_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        PublicKey.from_pem(data)
    with pytest.raises(InvalidKey):
        PrivateKey.from_pem(data)


def _pems(private: Any) -> tuple[bytes, bytes]:
    return (
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP256K1()),
        weak_rsa_key,
    ],
)
def test_pem_keys_unfit_for_our_algorithms_are_refused(make: Any) -> None:
    public_pem, private_pem = _pems(make())
    with pytest.raises(InvalidKey):
        PublicKey.from_pem(public_pem)
    with pytest.raises(InvalidKey):
        PrivateKey.from_pem(private_pem)


@pytest.mark.parametrize("make", [x25519.X25519PrivateKey.generate, ed448.Ed448PrivateKey.generate])
def test_pem_key_types_we_never_sign_with_are_refused(make: Any) -> None:
    public_pem, private_pem = _pems(make())
    with pytest.raises(InvalidKey, match="unsupported key type"):
        PublicKey.from_pem(public_pem)
    with pytest.raises(InvalidKey, match="unsupported key type"):
        PrivateKey.from_pem(private_pem)
