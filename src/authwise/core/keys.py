"""Signing keys: generation, JWK (RFC 7517/7518/8037), thumbprints (RFC 7638), PEM.

Every key is bound to exactly one algorithm for its whole life (RFC 8725 section 3.1): the
algorithm comes from the key, never from a token. Supported:

- ``ES256``: ECDSA on P-256 with SHA-256, signatures as 64-byte r||s (the default);
- ``Ed25519``: EdDSA on Ed25519 (the fully-specified name of RFC 9864); the legacy ``EdDSA``
  label is accepted only when a caller asks for it;
- ``RS256``: RSASSA-PKCS1-v1_5 with SHA-256, moduli of 2048 bits or more (3072 generated).

HMAC and ``oct`` keys are refused outright: access tokens are verified by parties who must
never be able to mint them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from authwise.core._b64 import b64url_decode, b64url_encode
from authwise.core._json import dumps
from authwise.errors import BadSignature, InvalidKey, MalformedToken

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "PrivateKey",
    "PublicKey",
    "jwk_thumbprint",
]

Algorithm = Literal["ES256", "Ed25519", "EdDSA", "RS256"]
ALGORITHMS: tuple[str, ...] = ("ES256", "Ed25519", "EdDSA", "RS256")

MIN_RSA_BITS = 2048
DEFAULT_RSA_BITS = 3072
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

# Encodings of the Ed25519 points of small order (and their non-canonical twins): a public key
# among them lets one signature verify for many messages, so such keys are refused.
_ED25519_SMALL_ORDER = frozenset(
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    )
)

_PublicKeyType = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
_PrivateKeyType = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded."""
    kty = jwk.get("kty")
    members: tuple[str, ...]
    if kty == "EC":
        members = ("crv", "kty", "x", "y")
    elif kty == "OKP":
        members = ("crv", "kty", "x")
    elif kty == "RSA":
        members = ("e", "kty", "n")
    else:
        raise InvalidKey(f"thumbprint: unsupported kty {kty!r}")
    try:
        required = {name: jwk[name] for name in members}
    except KeyError as exc:
        raise InvalidKey(f"thumbprint: missing member {exc.args[0]!r}") from exc
    return b64url_encode(hashlib.sha256(dumps(required)).digest())


def _int_to_b64(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))


def _member(jwk: dict[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidKey(f"jwk: member {name!r} missing or not a string")
    try:
        return b64url_decode(value)
    except MalformedToken as exc:
        raise InvalidKey(f"jwk: member {name!r} is not strict base64url") from exc


def _check_alg(kty: str, alg: object, allow_legacy_eddsa: bool) -> Algorithm:
    table: dict[str, tuple[str, ...]] = {
        "EC": ("ES256",),
        "OKP": ("Ed25519", "EdDSA") if allow_legacy_eddsa else ("Ed25519",),
        "RSA": ("RS256",),
    }
    expected = table[kty]
    if alg is None:
        return cast(Algorithm, expected[0])
    if alg not in expected:
        raise InvalidKey(f"jwk: alg {alg!r} does not fit kty {kty}")
    return cast(Algorithm, alg)


@dataclass(frozen=True, eq=False, repr=False)
class PublicKey:
    """A public key bound to one algorithm, used to verify signatures."""

    alg: Algorithm
    kid: str
    key: _PublicKeyType = field(repr=False)
    _sig_len: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        _check_key_type(self.alg, self.key)
        sig_len = 64 if self.alg != "RS256" else cast(rsa.RSAPublicKey, self.key).key_size // 8
        object.__setattr__(self, "_sig_len", sig_len)

    def __repr__(self) -> str:
        return f"PublicKey(alg={self.alg!r}, kid={self.kid!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PublicKey)
            and self.alg == other.alg
            and self.kid == other.kid
            and self.thumbprint() == other.thumbprint()
        )

    def __hash__(self) -> int:
        return hash((self.alg, self.kid))

    def verify(self, data: bytes, signature: bytes) -> None:
        """Verify a JOSE signature over ``data`` or raise :class:`BadSignature`."""
        if len(signature) != self._sig_len:
            raise BadSignature("signature has the wrong length")
        key = self.key
        try:
            if self.alg == "ES256":
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
                    raise BadSignature("ECDSA r or s out of range")
                cast(ec.EllipticCurvePublicKey, key).verify(
                    encode_dss_signature(r, s), data, _ECDSA_SHA256
                )
            elif self.alg == "RS256":
                cast(rsa.RSAPublicKey, key).verify(signature, data, _PKCS1, _SHA256)
            else:
                cast(ed25519.Ed25519PublicKey, key).verify(signature, data)
        except InvalidSignature as exc:
            raise BadSignature from exc

    def to_jwk(self) -> dict[str, Any]:
        """The public JWK, with ``kid``, ``alg`` and ``use: sig`` (RFC 7517 section 4)."""
        return {**_public_members(self.key), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def thumbprint(self) -> str:
        return jwk_thumbprint(_public_members(self.key))

    def to_pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any], *, allow_legacy_eddsa: bool = False) -> PublicKey:
        """Import a public JWK, refusing private members, ``oct`` keys and weak keys."""
        if not isinstance(jwk, dict):
            raise InvalidKey("jwk: not an object")
        if _PRIVATE_MEMBERS & jwk.keys():
            raise InvalidKey("jwk: private key members in a public key")
        key, alg = _import_public(jwk, allow_legacy_eddsa)
        kid = jwk.get("kid")
        if kid is None:
            kid = jwk_thumbprint(_public_members(key))
        elif not isinstance(kid, str) or not kid or len(kid) > 256:
            raise InvalidKey("jwk: kid must be a non-empty string of at most 256 characters")
        return cls(alg, kid, key)

    @classmethod
    def from_pem(
        cls, data: bytes, *, alg: Algorithm | None = None, kid: str | None = None
    ) -> PublicKey:
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InvalidKey("pem: not a supported public key") from exc
        if not isinstance(
            key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
        ):
            raise InvalidKey("pem: unsupported key type")
        alg = alg or _default_alg(key)
        return cls(alg, kid or jwk_thumbprint(_public_members(key)), key)


@dataclass(frozen=True, eq=False, repr=False)
class PrivateKey:
    """A private signing key bound to one algorithm. Its ``repr`` never shows the key."""

    alg: Algorithm
    kid: str
    key: _PrivateKeyType = field(repr=False)
    public: PublicKey = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public", PublicKey(self.alg, self.kid, self.key.public_key()))

    def __repr__(self) -> str:
        return f"PrivateKey(alg={self.alg!r}, kid={self.kid!r})"

    @classmethod
    def generate(cls, alg: Algorithm = "ES256", *, rsa_bits: int = DEFAULT_RSA_BITS) -> PrivateKey:
        """A fresh key; its ``kid`` is the RFC 7638 thumbprint of its public JWK."""
        key: _PrivateKeyType
        if alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        elif alg in ("Ed25519", "EdDSA"):
            key = ed25519.Ed25519PrivateKey.generate()
        elif alg == "RS256":
            if rsa_bits < MIN_RSA_BITS:
                raise InvalidKey(f"RSA keys must have at least {MIN_RSA_BITS} bits")
            key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        else:
            raise InvalidKey(f"unsupported algorithm {alg!r}")
        return cls(alg, jwk_thumbprint(_public_members(key.public_key())), key)

    def sign(self, data: bytes) -> bytes:
        """A JOSE signature over ``data`` (r||s for ES256)."""
        key = self.key
        if self.alg == "ES256":
            r, s = decode_dss_signature(
                cast(ec.EllipticCurvePrivateKey, key).sign(data, _ECDSA_SHA256)
            )
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.alg == "RS256":
            return cast(rsa.RSAPrivateKey, key).sign(data, _PKCS1, _SHA256)
        return cast(ed25519.Ed25519PrivateKey, key).sign(data)

    def to_jwk(self, *, include_private: bool = False) -> dict[str, Any]:
        """The JWK; private members only when explicitly asked for."""
        jwk = self.public.to_jwk()
        if include_private:
            jwk.update(_private_members(self.key))
        return jwk

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any], *, allow_legacy_eddsa: bool = False) -> PrivateKey:
        if not isinstance(jwk, dict):
            raise InvalidKey("jwk: not an object")
        public = PublicKey.from_jwk(
            {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS},
            allow_legacy_eddsa=allow_legacy_eddsa,
        )
        key = _import_private(jwk, public.key)
        return cls(public.alg, public.kid, key)

    def to_pem(self, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with ``password`` when one is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(
        cls,
        data: bytes,
        password: bytes | None = None,
        *,
        alg: Algorithm | None = None,
        kid: str | None = None,
    ) -> PrivateKey:
        try:
            key = serialization.load_pem_private_key(data, password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidKey("pem: not a supported private key, or a wrong password") from exc
        if not isinstance(
            key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
        ):
            raise InvalidKey("pem: unsupported key type")
        public = key.public_key()
        alg = alg or _default_alg(public)
        return cls(alg, kid or jwk_thumbprint(_public_members(public)), key)


def _default_alg(key: _PublicKeyType) -> Algorithm:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ES256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return "RS256"


def _check_key_type(alg: str, key: _PublicKeyType) -> None:
    if alg == "ES256":
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise InvalidKey("ES256 needs a P-256 key")
    elif alg in ("Ed25519", "EdDSA"):
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise InvalidKey(f"{alg} needs an Ed25519 key")
        if key.public_bytes_raw() in _ED25519_SMALL_ORDER:
            raise InvalidKey("Ed25519 key of small order")
    elif alg == "RS256":
        if not isinstance(key, rsa.RSAPublicKey):
            raise InvalidKey("RS256 needs an RSA key")
        if key.key_size < MIN_RSA_BITS:
            raise InvalidKey(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    else:
        raise InvalidKey(f"unsupported algorithm {alg!r}")


def _public_members(key: _PublicKeyType) -> dict[str, Any]:
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _int_to_b64(numbers.x, 32),
            "y": _int_to_b64(numbers.y, 32),
        }
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(key.public_bytes_raw())}
    numbers_rsa = key.public_numbers()
    return {"kty": "RSA", "n": _int_to_b64(numbers_rsa.n), "e": _int_to_b64(numbers_rsa.e)}


def _private_members(key: _PrivateKeyType) -> dict[str, Any]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"d": _int_to_b64(key.private_numbers().private_value, 32)}
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return {"d": b64url_encode(key.private_bytes_raw())}
    n = key.private_numbers()
    return {
        "d": _int_to_b64(n.d),
        "p": _int_to_b64(n.p),
        "q": _int_to_b64(n.q),
        "dp": _int_to_b64(n.dmp1),
        "dq": _int_to_b64(n.dmq1),
        "qi": _int_to_b64(n.iqmp),
    }


def _import_public(
    jwk: dict[str, Any], allow_legacy_eddsa: bool
) -> tuple[_PublicKeyType, Algorithm]:
    kty = jwk.get("kty")
    if kty == "oct":
        raise InvalidKey("jwk: symmetric (oct) keys are never accepted")
    if kty not in ("EC", "OKP", "RSA"):
        raise InvalidKey(f"jwk: unsupported kty {kty!r}")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise InvalidKey("jwk: use must be 'sig'")
    ops = jwk.get("key_ops")
    if ops is not None and (
        not isinstance(ops, list) or not ops or not set(ops) <= {"sign", "verify"}
    ):
        raise InvalidKey("jwk: key_ops must only name sign/verify")
    alg = _check_alg(kty, jwk.get("alg"), allow_legacy_eddsa)
    key: _PublicKeyType
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise InvalidKey(f"jwk: unsupported curve {jwk.get('crv')!r}")
        x, y = _member(jwk, "x"), _member(jwk, "y")
        if len(x) != 32 or len(y) != 32:
            raise InvalidKey("jwk: P-256 coordinates must be 32 bytes")
        try:
            key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
        except ValueError as exc:
            raise InvalidKey("jwk: point is not on the curve") from exc
    elif kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise InvalidKey(f"jwk: unsupported curve {jwk.get('crv')!r}")
        raw = _member(jwk, "x")
        if len(raw) != 32:
            raise InvalidKey("jwk: Ed25519 keys are 32 bytes")
        try:
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:  # pragma: no cover - any 32 bytes load
            raise InvalidKey("jwk: invalid Ed25519 key") from exc
    else:
        n, e = _member(jwk, "n"), _member(jwk, "e")
        if n[0] == 0 or e[0] == 0:
            raise InvalidKey("jwk: RSA members must not have leading zero bytes")
        try:
            key = rsa.RSAPublicNumbers(
                int.from_bytes(e, "big"), int.from_bytes(n, "big")
            ).public_key()
        except ValueError as exc:
            raise InvalidKey("jwk: invalid RSA key") from exc
    _check_key_type(alg, key)
    return key, alg


def _import_private(jwk: dict[str, Any], public: _PublicKeyType) -> _PrivateKeyType:
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            d = int.from_bytes(_member(jwk, "d"), "big")
            return ec.EllipticCurvePrivateNumbers(d, public.public_numbers()).private_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            private = ed25519.Ed25519PrivateKey.from_private_bytes(_member(jwk, "d"))
            if private.public_key().public_bytes_raw() != public.public_bytes_raw():
                raise InvalidKey("jwk: d does not match x")
            return private
        numbers = rsa.RSAPrivateNumbers(
            p=int.from_bytes(_member(jwk, "p"), "big"),
            q=int.from_bytes(_member(jwk, "q"), "big"),
            d=int.from_bytes(_member(jwk, "d"), "big"),
            dmp1=int.from_bytes(_member(jwk, "dp"), "big"),
            dmq1=int.from_bytes(_member(jwk, "dq"), "big"),
            iqmp=int.from_bytes(_member(jwk, "qi"), "big"),
            public_numbers=public.public_numbers(),
        )
        return numbers.private_key()
    except ValueError as exc:
        raise InvalidKey("jwk: private members do not form a valid key") from exc
