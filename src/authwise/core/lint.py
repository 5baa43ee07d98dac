"""Token lint: decode leniently to show what is there, judge strictly to say what is wrong.

The seed's first advice is to paste a token into a decoder and see that anyone can read it.
This module is that decoder's brain, shared by ``authwise decode``, ``authwise lint`` and (as a
port that reads the same :func:`~authwise.core.rules.rules_document`) the web page at /decode.

Decoding is lenient so a malformed token's parts can still be shown: padding, ``+``/``/`` and
whitespace are tolerated and duplicate JSON members resolve as most parsers resolve them (the
last wins). Each leniency is reported as a finding, decided by the strict parsers the verifier
uses (:mod:`authwise.core._b64`, :mod:`authwise.core._json`, :mod:`authwise.core.jws`).
Nothing here reads the clock or does I/O: ``now`` is passed in.

Rule ids, severities, messages, reasons and thresholds are data in
:mod:`authwise.core.rules`; this module only decides when each one fires, in a fixed order
the browser evaluator follows step for step.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from authwise.core._b64 import b64url_decode
from authwise.core._json import dumps, loads_object
from authwise.core.inspection import human_duration
from authwise.core.rules import (
    ALGORITHM_SIGNATURE_BYTES,
    EXPECTED_ALGORITHMS,
    KID_UNUSUAL_PATTERN,
    LINT_RULES_BY_ID,
    RSA_ALGORITHMS,
    SCAN_SKIP,
    THRESHOLDS,
    UNTRUSTED_KEY_HEADERS,
    Finding,
    scan_claims,
)
from authwise.errors import MalformedToken

__all__ = [
    "MAX_INPUT_BYTES",
    "Report",
    "lint_claims",
    "lint_token",
]

MAX_INPUT_BYTES = THRESHOLDS["max_input_bytes"]
# What a claims file would add once minted: an ES256 header with a thumbprint kid and typ,
# two dots and an 86-character signature.
TOKEN_OVERHEAD_BYTES = 190
_KID_UNUSUAL = re.compile(KID_UNUSUAL_PATTERN)
_RSA_FAMILY = frozenset(RSA_ALGORITHMS)
_TRIM = " \t\r\n"
_B64_LENIENT = str.maketrans("+/", "-_", _TRIM)
_B64_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Report:
    """What a token (or claim set) holds and what the rules say about it.

    ``header``/``payload``/``signature`` are None when that part could not be decoded at all.
    ``sizes`` gives bytes: ``token`` and each encoded segment, and ``payload_json``.
    """

    header: dict[str, Any] | None
    payload: dict[str, Any] | None
    signature: bytes | None
    sizes: dict[str, int]
    findings: tuple[Finding, ...]

    @property
    def decodable(self) -> bool:
        """Whether any part could be shown."""
        return self.header is not None or self.payload is not None

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)


class _Findings(list[Finding]):
    def add(self, rule_id: str, path: str | None = None, **params: Any) -> None:
        rule = LINT_RULES_BY_ID[rule_id]
        message = rule.message.format(**params) if params else rule.message
        self.append(Finding(rule.id, rule.severity, message, rule.reason, path))


def _report(
    out: _Findings,
    sizes: dict[str, int],
    header: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    signature: bytes | None = None,
) -> Report:
    return Report(header, payload, signature, sizes, tuple(out))


def lint_token(token: str, now: int) -> Report:
    """Decode ``token`` as far as it can be decoded and lint every part, at time ``now``."""
    out = _Findings()
    if len(token) > MAX_INPUT_BYTES * 2:  # cheap cap before even trimming or encoding
        out.add("token-too-large", size=len(token), limit=MAX_INPUT_BYTES)
        return _report(out, {"token": len(token)})
    token = token.strip(_TRIM)
    size = len(token.encode("utf-8", "surrogatepass"))
    sizes = {"token": size}
    segments = _segments(token, size, out)
    if segments is None:
        return _report(out, sizes)
    h, p, s = segments
    sizes.update(header=len(h), payload=len(p), signature=len(s))
    header = _json_part("header", h, out)
    payload_raw = _b64_part("payload", p, out)
    payload = _json_value("payload", payload_raw, out) if payload_raw is not None else None
    signature = _b64_part("signature", s, out) if s else None
    if header is not None:
        _lint_header(header, out)
        if signature is not None:
            _lint_signature(header.get("alg"), signature, out)
    if payload is not None:
        _lint_payload(payload, now, out)
    _lint_size(size, None if payload_raw is None else len(payload_raw), out)
    if payload_raw is not None:
        sizes["payload_json"] = len(payload_raw)
    return _report(out, sizes, header, payload, signature)


def _segments(token: str, size: int, out: _Findings) -> tuple[str, str, str] | None:
    """The three segments (the signature possibly empty), or None when nothing is decodable."""
    if not token:
        out.add("empty-token")
        return None
    if size > MAX_INPUT_BYTES:
        out.add("token-too-large", size=size, limit=MAX_INPUT_BYTES)
        return None
    if token.startswith("{"):
        out.add("json-serialization")
        return None
    segments = token.split(".")
    if len(segments) == 5:
        out.add("jwe-token")
        return None
    if len(segments) not in (2, 3):
        out.add("segment-count", count=len(segments))
        return None
    if len(segments) == 2 or not segments[2]:
        out.add("signature-missing")
        return segments[0], segments[1], ""
    return segments[0], segments[1], segments[2]


def lint_claims(data: bytes, now: int) -> Report:
    """Lint a claim set given as JSON (a claims file), as if it were about to be minted."""
    out = _Findings()
    if len(data) > MAX_INPUT_BYTES:
        out.add("token-too-large", size=len(data), limit=MAX_INPUT_BYTES)
        return _report(out, {"payload_json": len(data)})
    payload = _json_value("claims", data, out)
    sizes: dict[str, int] = {}
    if payload is not None:
        _lint_payload(payload, now, out)
        compact = len(dumps(payload))
        estimate = (compact * 4 + 2) // 3 + TOKEN_OVERHEAD_BYTES
        _lint_size(estimate, compact, out)
        sizes = {"payload_json": compact, "token": estimate}
    return _report(out, sizes, payload=payload)


# -- decoding ---------------------------------------------------------------------------------


def _b64_part(part: str, segment: str, out: _Findings) -> bytes | None:
    if not segment:
        out.add("empty-segment", part, part=part)
        return None
    try:
        return b64url_decode(segment)
    except MalformedToken:
        pass
    cleaned = segment.translate(_B64_LENIENT).rstrip("=")
    if not cleaned or len(cleaned) % 4 == 1 or _B64_ALPHABET.fullmatch(cleaned) is None:
        out.add("invalid-base64url", part, part=part)
        return None
    out.add("non-canonical-base64url", part, part=part)
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def _json_part(part: str, segment: str, out: _Findings) -> dict[str, Any] | None:
    raw = _b64_part(part, segment, out)
    return None if raw is None else _json_value(part, raw, out)


def _too_deep(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (before any parsing)."""
    depth = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def _json_value(part: str, raw: bytes, out: _Findings) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        out.add("invalid-json", part, part=part)
        return None
    limit = THRESHOLDS["max_json_depth"]
    if _too_deep(text, limit):
        out.add("json-too-deep", part, part=part, limit=limit)
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        out.add("invalid-json", part, part=part)
        return None
    if type(value) is not dict:
        out.add("not-an-object", part, part=part)
        return None
    try:
        loads_object(raw)
    except MalformedToken:  # grammar and type passed above: only a duplicate name is left
        out.add("duplicate-key", part, part=part)
    return value


# -- rules ------------------------------------------------------------------------------------


def _typ_is_access_token(typ: object) -> bool:
    if type(typ) is not str:
        return False
    typ = typ.lower()
    if typ.startswith("application/"):
        typ = typ[len("application/") :]
    return typ == "at+jwt"


def _lint_header(header: dict[str, Any], out: _Findings) -> None:
    alg = header.get("alg")
    if type(alg) is not str or not alg:
        out.add("alg-missing", "alg")
    elif alg.lower() == "none":
        out.add("alg-none", "alg")
    elif alg.upper().startswith("HS"):
        out.add("alg-hmac", "alg")
    elif alg not in EXPECTED_ALGORITHMS:
        out.add("alg-unexpected", "alg")
    for name in UNTRUSTED_KEY_HEADERS:
        if name in header:
            out.add("untrusted-key-header", name)
    if "crit" in header:
        out.add("crit-header", "crit")
    if "b64" in header:
        out.add("b64-header", "b64")
    known = {"alg", "kid", "typ", "crit", "b64", *UNTRUSTED_KEY_HEADERS}
    for name in header:
        if name not in known:
            out.add("unsupported-header", name)
    limit = THRESHOLDS["max_kid_length"]
    if "kid" not in header:
        out.add("kid-missing")
    else:
        kid = header["kid"]
        if type(kid) is not str or not kid or len(kid) > limit:
            out.add("kid-invalid", "kid", limit=limit)
        elif _KID_UNUSUAL.search(kid):
            out.add("kid-unusual", "kid")
    if not _typ_is_access_token(header.get("typ")):
        out.add("typ-unexpected", "typ")


def _lint_signature(alg: object, signature: bytes, out: _Findings) -> None:
    size = len(signature)
    if type(alg) is str:
        expected = ALGORITHM_SIGNATURE_BYTES.get(alg)
        if (expected is not None and size != expected) or (
            alg in _RSA_FAMILY and size < THRESHOLDS["min_rsa_signature_bytes"]
        ):
            out.add("signature-length", "signature", size=size, alg=alg)
    if not any(signature):
        out.add("signature-zero", "signature")


def _numeric_date(value: object) -> bool:
    if type(value) is int:
        return 0 <= value <= THRESHOLDS["max_safe_integer"]
    if type(value) is float:
        return math.isfinite(value) and 0 <= value <= THRESHOLDS["max_safe_integer"]
    return False


def _identifier_ok(value: object) -> bool:
    return type(value) is str and 0 < len(value) <= 255 and "\x00" not in value


def _aud_ok(value: object) -> bool:
    if type(value) is str:
        return bool(value)
    return type(value) is list and bool(value) and all(type(a) is str and a for a in value)


_CLAIM_TYPES: tuple[tuple[str, Callable[[object], bool]], ...] = (
    ("iss", lambda value: type(value) is str and bool(value)),
    ("sub", _identifier_ok),
    ("aud", _aud_ok),
    ("jti", _identifier_ok),
    ("sid", _identifier_ok),
)


def _lint_payload(claims: dict[str, Any], now: int, out: _Findings) -> None:
    for claim in ("exp", "aud", "iss", "jti", "sub"):
        if claim not in claims:
            out.add(f"missing-{claim}", claim)
    times: dict[str, float] = {}
    for claim in ("exp", "nbf", "iat"):
        if claim in claims:
            value = claims[claim]
            if not _numeric_date(value):
                out.add("time-not-numeric", claim, claim=claim)
                continue
            times[claim] = value
            if value > THRESHOLDS["milliseconds_after"]:
                out.add("time-in-milliseconds", claim, claim=claim)
    _lint_times(times.get("exp"), times.get("nbf"), times.get("iat"), now, out)
    for claim, check in _CLAIM_TYPES:
        if claim in claims and not check(claims[claim]):
            out.add("claim-type", claim, claim=claim)
    out.extend(scan_claims(claims, skip=SCAN_SKIP))
    limit = THRESHOLDS["max_entries"]
    for path, count in _large_containers(claims, limit):
        out.add("many-entries", path, count=count, limit=limit)


def _lint_times(
    exp: float | None, nbf: float | None, iat: float | None, now: int, out: _Findings
) -> None:
    leeway = THRESHOLDS["leeway"]
    if exp is not None:
        lifetime = exp - (iat if iat is not None else now)
        limit = THRESHOLDS["max_lifetime"]
        if lifetime > limit:
            out.add(
                "lifetime-too-long",
                "exp",
                duration=human_duration(lifetime),
                limit=human_duration(limit),
            )
        if exp <= now:
            out.add("expired", "exp")
        if iat is not None and iat > exp:
            out.add("iat-after-exp", "iat")
        if nbf is not None and nbf >= exp:
            out.add("nbf-after-exp", "nbf")
    if iat is not None and iat > now + leeway:
        out.add("iat-in-future", "iat", leeway=leeway)
    if nbf is not None and nbf > now + leeway:
        out.add("nbf-in-future", "nbf")


def _large_containers(claims: dict[str, Any], limit: int) -> Iterator[tuple[str, int]]:
    """(path, size) of every object or array below the root with more than ``limit`` entries."""
    stack: list[tuple[str, Any]] = list(reversed(claims.items()))
    found = 0
    while stack and found < THRESHOLDS["max_findings"]:
        path, value = stack.pop()
        if isinstance(value, dict):
            children = [(f"{path}.{k}", v) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        if len(children) > limit:
            found += 1
            yield path, len(children)
        stack.extend(reversed(children))  # depth is bounded: deep JSON never got this far


def _lint_size(token_size: int, payload_size: int | None, out: _Findings) -> None:
    if token_size > THRESHOLDS["header_bytes"]:
        out.add("header-budget", size=token_size, limit=THRESHOLDS["header_bytes"])
    elif token_size > THRESHOLDS["cookie_bytes"]:
        out.add("cookie-budget", size=token_size, limit=THRESHOLDS["cookie_bytes"])
    if payload_size is not None and payload_size > THRESHOLDS["large_payload_bytes"]:
        out.add(
            "large-payload", "payload", size=payload_size, limit=THRESHOLDS["large_payload_bytes"]
        )
