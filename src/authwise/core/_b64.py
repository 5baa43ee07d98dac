"""Strict base64url (RFC 7515 section 2, RFC 4648 section 5 without padding).

Strict means: only ``A-Z a-z 0-9 - _``, no padding, no whitespace, no length that cannot come
from whole bytes, and unused trailing bits set to zero, so every byte string has exactly one
accepted encoding. Lenient decoders let an attacker mint many spellings of one token (J16).
"""

from __future__ import annotations

import binascii
import re

from authwise.errors import MalformedToken

__all__ = ["ALPHABET", "b64url_decode", "b64url_decode_checked", "b64url_encode", "is_b64url"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
_TO_STD = bytes.maketrans(b"-_", b"+/")
_FROM_STD = bytes.maketrans(b"+/", b"-_")
_PAD = ("", "", "==", "=")
_PAD_BYTES = (b"", b"", b"==", b"=")
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
"""The base64url alphabet, for ``bytes.translate(None, ALPHABET)`` scans."""
# Value of each base64url character, for the trailing-bits check.
_VALUE = {c: i for i, c in enumerate(ALPHABET.decode())}
_BYTE_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url."""
    return binascii.b2a_base64(data, newline=False).translate(_FROM_STD).rstrip(b"=").decode()


def is_b64url(segment: str) -> bool:
    """Whether ``segment`` uses only the base64url alphabet (no padding, no whitespace)."""
    return _ALPHABET.fullmatch(segment) is not None


def b64url_decode(segment: str, *, checked: bool = False) -> bytes:
    """Decode one strict base64url segment or raise :class:`MalformedToken`.

    ``checked=True`` skips the alphabet scan when the caller already matched the segment
    against the base64url alphabet (the compact-JWS parser checks the whole token at once).
    """
    if not checked and _ALPHABET.fullmatch(segment) is None:
        raise MalformedToken("base64url: character outside the alphabet")
    rem = len(segment) % 4
    if rem == 1:
        raise MalformedToken("base64url: impossible length")
    if rem:
        # The last character carries 4 (rem 2) or 2 (rem 3) unused bits; they must be zero.
        mask = 0x0F if rem == 2 else 0x03
        if _VALUE[segment[-1]] & mask:
            raise MalformedToken("base64url: non-canonical trailing bits")
    # The alphabet and length are already checked, so the lenient decoder sees only input
    # the strict one would accept; bytes.translate is far faster than str.translate.
    return binascii.a2b_base64((segment + _PAD[rem]).encode().translate(_TO_STD))


def b64url_decode_checked(segment: bytes) -> bytes:
    """Decode an ASCII segment the caller has already scanned against :data:`ALPHABET`.

    The compact-JWS verifier scans the whole token at once; this does the rest of the strict
    checks (length, trailing bits) without turning bytes back into text.
    """
    rem = len(segment) % 4
    if rem == 1:
        raise MalformedToken("base64url: impossible length")
    if rem and _BYTE_VALUE[segment[-1]] & (0x0F if rem == 2 else 0x03):
        raise MalformedToken("base64url: non-canonical trailing bits")
    return binascii.a2b_base64(segment.translate(_TO_STD) + _PAD_BYTES[rem])
