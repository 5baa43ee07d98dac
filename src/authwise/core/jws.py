"""Strict compact JWS (RFC 7515 section 7.1) for asymmetric signatures, and nothing more.

What a token may say about itself is limited to ``alg``, ``kid`` and ``typ``. Everything a
token could use to choose how it is checked is refused (RFC 8725): ``none`` and HMAC, keys
or key URLs in the header (``jwk``, ``jku``, ``x5u``, ``x5c``), unencoded payloads (``b64``)
and any ``crit``. The key is found by ``kid`` among keys the caller trusts, and the header's
``alg`` must equal that key's one algorithm.

The whole token is matched against the compact alphabet before any decoding, after a size
cap, so a hostile token costs a bounded, tiny amount of work (J15-J17).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from authwise.core._b64 import ALPHABET, b64url_decode, b64url_decode_checked, b64url_encode
from authwise.core._json import dumps, loads_object
from authwise.core.jwks import KeySet
from authwise.core.keys import PrivateKey, PublicKey
from authwise.errors import MalformedToken, UnknownKey, UnsupportedToken

__all__ = [
    "ACCESS_TOKEN_TYP",
    "DEFAULT_MAX_TOKEN_BYTES",
    "CompactVerifier",
    "Unverified",
    "check_header",
    "decode_unverified",
    "sign_compact",
    "split_compact",
]

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type, not a secret
DEFAULT_MAX_TOKEN_BYTES = 8192
_HEADER_CACHE_SIZE = 256
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_ALLOWED_HEADER = frozenset({"alg", "kid", "typ"})
_KEY_BEARING = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})


def split_compact(token: str, max_bytes: int = DEFAULT_MAX_TOKEN_BYTES) -> tuple[str, str, str]:
    """The three segments of a compact JWS, checked for size and alphabet only."""
    if type(token) is not str:
        raise MalformedToken("token must be a string")
    if len(token) > max_bytes:
        raise MalformedToken("token too large")
    match = _COMPACT.fullmatch(token)
    if match is None:
        raise MalformedToken("not a compact JWS: three non-empty base64url segments expected")
    h, p, s = match.groups()
    return h, p, s


def _typ_matches(typ: object, expected: str) -> bool:
    if type(typ) is not str:
        return False
    typ = typ.lower()
    if typ.startswith("application/"):
        typ = typ[len("application/") :]
    return typ == expected


def check_header(header: dict[str, Any], expected_typ: str | None) -> None:
    """Refuse every header the strict profile does not allow (key lookup is separate)."""
    alg = header.get("alg")
    if type(alg) is not str or not alg:
        raise UnsupportedToken("alg missing or not a string")
    if alg.lower() == "none" or alg.upper().startswith("HS"):
        raise UnsupportedToken("alg none and HMAC algorithms are never accepted")
    if "crit" in header:
        raise UnsupportedToken("crit is not supported")
    if "b64" in header:
        raise UnsupportedToken("unencoded payloads (b64) are not supported")
    if _KEY_BEARING & header.keys():
        raise UnsupportedToken("keys named by the token itself are never used")
    if not header.keys() <= _ALLOWED_HEADER:
        raise UnsupportedToken("unexpected header parameter")
    kid = header.get("kid")
    if kid is not None and (type(kid) is not str or not kid or len(kid) > 256):
        raise MalformedToken("kid must be a short non-empty string")
    if expected_typ is not None and not _typ_matches(header.get("typ"), expected_typ):
        raise UnsupportedToken(f"typ must be {expected_typ!r}")


@dataclass(frozen=True, slots=True)
class Unverified:
    """A strictly parsed but NOT verified token: for decoders, never for decisions."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signature: bytes
    segments: tuple[str, str, str]


def decode_unverified(token: str, max_bytes: int = DEFAULT_MAX_TOKEN_BYTES) -> Unverified:
    """Parse a compact JWS strictly without checking its signature or claims."""
    h, p, s = split_compact(token, max_bytes)
    header = loads_object(b64url_decode(h, checked=True))
    payload = loads_object(b64url_decode(p, checked=True))
    return Unverified(header, payload, b64url_decode(s, checked=True), (h, p, s))


def encode_header(key: PrivateKey | PublicKey, typ: str | None = ACCESS_TOKEN_TYP) -> str:
    header: dict[str, Any] = {"alg": key.alg, "kid": key.kid}
    if typ is not None:
        header["typ"] = typ
    return b64url_encode(dumps(header))


def sign_compact(
    key: PrivateKey,
    payload: bytes,
    *,
    typ: str | None = ACCESS_TOKEN_TYP,
    header: str | None = None,
) -> str:
    """A compact JWS of ``payload`` signed by ``key`` (``header``: a pre-encoded header)."""
    signing_input = f"{header or encode_header(key, typ)}.{b64url_encode(payload)}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


class CompactVerifier:
    """Verifies compact JWS signatures against a trusted :class:`KeySet`.

    Validated headers are remembered by their encoded form (a token's header is the same for
    every token its key signs), so the common case parses no header JSON at all.
    """

    __slots__ = ("_header_cache", "expected_typ", "keys", "max_bytes")

    def __init__(
        self,
        keys: KeySet,
        *,
        expected_typ: str | None = ACCESS_TOKEN_TYP,
        max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
    ) -> None:
        self.keys: KeySet = keys
        self.expected_typ: str | None = expected_typ
        self.max_bytes: int = max_bytes
        self._header_cache: dict[bytes, PublicKey] = {}

    def __setattr__(self, name: str, value: object) -> None:
        # New keys or a new typ make every remembered header -> key binding suspect: a key
        # removed from the set must stop verifying at once.
        object.__setattr__(self, name, value)
        if name != "_header_cache":
            object.__setattr__(self, "_header_cache", {})

    def _key_for(self, encoded_header: bytes) -> PublicKey:
        key = self._header_cache.get(encoded_header)
        if key is not None:
            return key
        header = loads_object(b64url_decode_checked(encoded_header))
        check_header(header, self.expected_typ)
        kid = header.get("kid")
        if kid is None:
            raise UnknownKey("kid is required")
        key = self.keys.find(kid)
        if key is None:
            raise UnknownKey("no trusted key has this kid")
        if header["alg"] != key.alg:
            raise UnsupportedToken("alg does not match the key's algorithm")
        if len(self._header_cache) >= _HEADER_CACHE_SIZE:
            self._header_cache.clear()
        self._header_cache[encoded_header] = key
        return key

    def verify(self, token: str) -> tuple[PublicKey, bytes]:
        """Check the signature; return the key that verified it and the raw payload bytes."""
        # The same rules as split_compact, on bytes: one C-speed scan of the whole token, and
        # the signing input is a slice of it.
        if type(token) is not str:
            raise MalformedToken("token must be a string")
        if len(token) > self.max_bytes:
            raise MalformedToken("token too large")
        raw = token.encode("ascii", "replace")
        if raw.translate(None, ALPHABET) != b"..":
            raise MalformedToken("not a compact JWS: three non-empty base64url segments expected")
        h, p, s = raw.split(b".")
        if not (h and p and s):
            raise MalformedToken("not a compact JWS: three non-empty base64url segments expected")
        key = self._key_for(h)
        signature = b64url_decode_checked(s)
        payload = b64url_decode_checked(p)
        key.verify(raw[: len(h) + len(p) + 1], signature)
        return key, payload
