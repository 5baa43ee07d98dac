"""What the decoder shows besides findings: a signature checked against keys the caller
trusts (never a key or URL the token names), and times in words.

Pure like the rest of the core: ``now`` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from authwise.core._b64 import b64url_decode
from authwise.core._json import loads_object
from authwise.core.jwks import KeySet
from authwise.core.jws import split_compact
from authwise.core.rules import THRESHOLDS
from authwise.errors import BadSignature, MalformedToken

__all__ = ["Verification", "describe_time", "human_duration", "verify_signature"]

_EDDSA = frozenset({"Ed25519", "EdDSA"})
_TRIM = " \t\r\n"
_MAX_INPUT_BYTES = THRESHOLDS["max_input_bytes"]


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking a signature against keys the caller trusts.

    ``reason`` is a machine code: ``verified``, ``malformed``, ``alg_refused``,
    ``unknown_key``, ``alg_mismatch`` or ``bad_signature``.
    """

    verified: bool
    reason: str
    kid: str | None = None


def human_duration(seconds: float) -> str:
    """``90 s``, ``15 min``, ``8 h``, ``30 days``: whole units, rounded down."""
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} days"


def _alg_fits(token_alg: str, key_alg: str) -> bool:
    # PyJWT and joserfc still label Ed25519 signatures "EdDSA" (RFC 8037); the key decides.
    return token_alg == key_alg or (token_alg in _EDDSA and key_alg in _EDDSA)


def verify_signature(token: str, keys: KeySet) -> Verification:
    """Check ``token``'s signature with ``keys`` only: never a key or URL the token names.

    The key is chosen by ``kid``; a single trusted key is used whatever the token's ``kid``
    says. The token's ``alg`` must be the key's own algorithm; ``none`` and HMAC never pass.
    Claims are not judged here: that is what the findings are for.
    """
    token = token.strip(_TRIM)
    try:
        h, p, s = split_compact(token, _MAX_INPUT_BYTES)
        header = loads_object(b64url_decode(h, checked=True))
        b64url_decode(p, checked=True)
        signature = b64url_decode(s, checked=True)
    except MalformedToken:
        return Verification(False, "malformed")
    alg = header.get("alg")
    if type(alg) is not str or alg.lower() == "none" or alg.upper().startswith("HS"):
        return Verification(False, "alg_refused")
    kid = header.get("kid")
    key = keys.find(kid) if type(kid) is str else None
    if key is None:
        if len(keys) != 1:
            return Verification(False, "unknown_key")
        key = next(iter(keys.values()))
    if not _alg_fits(alg, key.alg):
        return Verification(False, "alg_mismatch", key.kid)
    try:
        key.verify(f"{h}.{p}".encode(), signature)
    except BadSignature:
        return Verification(False, "bad_signature", key.kid)
    return Verification(True, "verified", key.kid)


def describe_time(claim: str, value: float, now: int) -> str:
    """``expires in 4 min``, ``expired 3 days ago``, ``issued 2 min ago``, ``valid in 1 h``."""
    delta = value - now
    span = human_duration(abs(delta))
    if claim == "exp":
        return f"expires in {span}" if delta > 0 else f"expired {span} ago"
    if claim == "nbf":
        return f"valid in {span}" if delta > 0 else f"valid since {span} ago"
    return f"issued in {span} (in the future)" if delta > 0 else f"issued {span} ago"
