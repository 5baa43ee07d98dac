"""The token lint rules as data: ids, severities, messages, reasons and thresholds.

:mod:`authwise.core.rules` re-exports this catalogue and ships it to the browser in
:func:`~authwise.core.rules.rules_document`, so the CLI and the web decoder say the same thing
in the same words. Messages are templates whose ``{placeholders}`` are filled only with numbers,
durations and fixed names, never with text taken from the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALGORITHM_SIGNATURE_BYTES",
    "EXPECTED_ALGORITHMS",
    "KID_UNUSUAL_PATTERN",
    "LINT_RULES",
    "LINT_RULES_BY_ID",
    "RSA_ALGORITHMS",
    "THRESHOLDS",
    "UNTRUSTED_KEY_HEADERS",
    "LintRule",
]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class LintRule:
    """One thing the linter can report about a token or a claim set."""

    id: str
    severity: Severity
    message: str
    reason: str


THRESHOLDS: dict[str, int] = {
    "max_input_bytes": 65536,  # not decoded at all beyond this (J15)
    "header_bytes": 8192,  # common server limit for one request header
    "cookie_bytes": 4096,  # browsers' limit for one cookie (RFC 6265bis)
    "large_payload_bytes": 1024,  # a payload this big is carrying more than identity
    "max_entries": 20,  # roles/permissions in one claim before "do the lookup"
    "max_lifetime": 900,  # the seed's 15 minutes
    "leeway": 60,  # clock skew a verifier may allow (RFC 8725 and authwise)
    "max_json_depth": 32,
    "max_kid_length": 256,
    "milliseconds_after": 100_000_000_000,  # NumericDates above this are year 5138+
    "max_safe_integer": 9007199254740991,  # 2**53 - 1: beyond it JSON numbers are not exact
    "max_findings": 100,
    "min_rsa_signature_bytes": 256,  # RS*/PS* signatures are the modulus size: 2048 bits
}

EXPECTED_ALGORITHMS: tuple[str, ...] = ("ES256", "Ed25519", "EdDSA", "RS256")
# Exact signature sizes; RS*/PS* have only a floor (``min_rsa_signature_bytes``).
ALGORITHM_SIGNATURE_BYTES: dict[str, int] = {
    "ES256": 64,
    "ES384": 96,
    "ES512": 132,
    "Ed25519": 64,
    "EdDSA": 64,
}
RSA_ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
UNTRUSTED_KEY_HEADERS: tuple[str, ...] = ("jku", "x5u", "jwk", "x5c")
# A kid is an opaque label; these characters (and "..") only matter to a lookup that treats
# it as a path, a query or a shell word.
KID_UNUSUAL_PATTERN = r"[^A-Za-z0-9._:+/=-]|[.][.]"

_UNSIGNED = "An unsigned token proves nothing: anyone can write one and claim to be anyone."
_STRICT = (
    "Strict verifiers refuse it. A token must mean the same thing to every parser that reads "
    "it, or one of them can be fooled."
)
_REVOKE = (
    "Without it the token cannot be revoked or bounded: you lose what made sessions safe and "
    "keep none of the control."
)
_GROWING = (
    "If the payload starts to grow, you are probably trying to avoid a database lookup you "
    "should just do: look the data up by sub."
)
_TIME = "Verifiers reject time claims that are not plain numbers of seconds since 1970."

LINT_RULES: tuple[LintRule, ...] = (
    # The input as a whole: nothing can be shown when these fire.
    LintRule(
        "empty-token",
        "error",
        "no token given",
        "Paste a token: the decoder runs where you are and sends it nowhere.",
    ),
    LintRule(
        "token-too-large",
        "error",
        "input is {size} bytes, over the {limit}-byte cap: not decoded",
        "A token this large is a mistake or an attack; authwise refuses it before parsing.",
    ),
    LintRule(
        "json-serialization",
        "error",
        "JSON serialization, not a compact token",
        "authwise reads compact JWS only (RFC 8725): one way to write a token leaves no room "
        "for confusion between parsers.",
    ),
    LintRule(
        "jwe-token",
        "error",
        "five segments: an encrypted JWE, not a signed JWS",
        "An encrypted token cannot be read without its key, and an access token has no "
        "business being one: keep secrets out of the payload instead.",
    ),
    LintRule(
        "segment-count",
        "error",
        "{count} segments: a compact JWS has exactly three",
        "A token is header.payload.signature; anything else is not a JWS.",
    ),
    # The encoding of each part.
    LintRule(
        "signature-missing",
        "error",
        "no signature: the token is unsigned or its signature was stripped",
        _UNSIGNED,
    ),
    LintRule("empty-segment", "error", "{part} segment is empty", _STRICT),
    LintRule(
        "invalid-base64url",
        "error",
        "{part} is not base64url and cannot be decoded",
        _STRICT,
    ),
    LintRule(
        "non-canonical-base64url",
        "error",
        "{part} is not canonical base64url (padding, + or /, whitespace, or stray bits)",
        "Lenient decoders accept many spellings of one token, which defeats anything keyed on "
        "the token's bytes. " + _STRICT,
    ),
    LintRule("invalid-json", "error", "{part} is not valid UTF-8 JSON", _STRICT),
    LintRule("not-an-object", "error", "{part} is not a JSON object", _STRICT),
    LintRule(
        "json-too-deep",
        "error",
        "{part} nests deeper than {limit} levels",
        "Deep nesting is a denial-of-service vector and never needed for identity claims.",
    ),
    LintRule(
        "duplicate-key",
        "error",
        "{part} repeats a member name",
        "Parsers disagree about which duplicate wins: one checks the first value, another uses "
        "the last. " + _STRICT,
    ),
    # The header.
    LintRule(
        "alg-missing",
        "error",
        "alg is missing or not a string",
        "A verifier must know the algorithm before it can check anything; it must never guess.",
    ),
    LintRule("alg-none", "error", 'alg is "none": the token is unsigned', _UNSIGNED),
    LintRule(
        "alg-hmac",
        "error",
        "alg is an HMAC algorithm (a shared secret)",
        "Every service that can verify an HMAC token can also mint one, and keyed with a "
        "public key it is the algorithm-confusion attack. Access tokens need asymmetric "
        "signatures verified through a JWKS.",
    ),
    LintRule(
        "alg-unexpected",
        "warning",
        "alg is not one authwise issues (ES256, Ed25519, RS256)",
        "A key is bound to one algorithm; a token naming another was relabelled or comes from "
        "a misconfigured issuer.",
    ),
    LintRule(
        "untrusted-key-header",
        "error",
        "the header names its own key: never used to verify",
        "A token that brings its own key (jwk, x5c) or key URL (jku, x5u) can be signed by "
        "anyone. Verify only with keys you trust; authwise never fetches or uses these.",
    ),
    LintRule(
        "crit-header",
        "error",
        "crit lists extensions a verifier must understand",
        "authwise supports no JWS extensions, and a verifier that ignores crit is unsafe.",
    ),
    LintRule(
        "b64-header",
        "error",
        "b64 header: an unencoded payload (RFC 7797)",
        "Unencoded payloads change what the signature covers; access tokens never need them.",
    ),
    LintRule(
        "unsupported-header",
        "warning",
        "header parameter outside the strict profile (alg, kid, typ)",
        "Every header a verifier reads is a lever for whoever writes the token.",
    ),
    LintRule(
        "kid-invalid",
        "error",
        "kid is not a non-empty string of at most {limit} characters",
        "kid only selects a trusted key; anything else in it is an attack on the lookup.",
    ),
    LintRule(
        "kid-unusual",
        "warning",
        "kid contains characters used in injection attacks",
        "A verifier that puts kid into a path, a query or a shell command can be steered by "
        "whoever writes the token: treat kid as an opaque label.",
    ),
    LintRule(
        "kid-missing",
        "warning",
        "no kid: a verifier cannot tell which key signed it",
        "Key rotation needs kid: verifiers pick the key by it and must not try every key.",
    ),
    LintRule(
        "typ-unexpected",
        "warning",
        'typ is not "at+jwt"',
        "Explicit typing (RFC 9068, RFC 8725) stops an ID token or another token being "
        "replayed as an access token.",
    ),
    # The signature.
    LintRule(
        "signature-length",
        "error",
        "signature is {size} bytes, the wrong length for {alg}",
        "A signature of the wrong length is tampered with or encoded wrongly (DER instead of "
        "r||s); strict verifiers refuse it.",
    ),
    LintRule(
        "signature-zero",
        "error",
        "signature is all zero bytes",
        "CVE-2022-21449: some ECDSA verifiers accepted an all-zero signature on any token.",
    ),
    # The claims.
    LintRule(
        "missing-exp",
        "error",
        "no exp: the token never expires",
        "A token without expiry is valid forever once stolen. Keep access tokens short "
        "(5-15 min) and renew them with refresh tokens.",
    ),
    LintRule(
        "missing-aud",
        "error",
        "no aud: every service will accept it",
        "Without an audience, a token for one service is a token for all of them.",
    ),
    LintRule(
        "missing-iss",
        "error",
        "no iss: nothing says who issued it",
        "A verifier must check the exact issuer, or tokens from any issuer it trusts for "
        "anything become valid here.",
    ),
    LintRule("missing-jti", "warning", "no jti: this token cannot be revoked by itself", _REVOKE),
    LintRule(
        "missing-sub",
        "warning",
        "no sub: the token does not say whom it is about",
        "sub is the one claim an access token needs; everything else can be looked up by it.",
    ),
    LintRule("time-not-numeric", "error", "{claim} is not a NumericDate", _TIME),
    LintRule(
        "time-in-milliseconds",
        "warning",
        "{claim} looks like milliseconds, not seconds",
        "NumericDates are seconds; in milliseconds a 5-minute token lives for millennia.",
    ),
    LintRule(
        "lifetime-too-long",
        "error",
        "lifetime of {duration} is over the {limit} maximum",
        "A long-lived JWT is a long window in which a stolen token grants full access. Keep "
        "access tokens at 5-15 min with refresh tokens, or use a session you can revoke.",
    ),
    LintRule(
        "expired",
        "warning",
        "the token has expired",
        "Expired tokens are refused; a client should refresh before exp, not after.",
    ),
    LintRule(
        "iat-in-future",
        "error",
        "issued in the future (iat beyond the {leeway} s leeway)",
        "A token from the future means a wrong issuer clock or a forged token; verifiers "
        "refuse it.",
    ),
    LintRule(
        "nbf-in-future",
        "warning",
        "not valid yet (nbf is in the future)",
        "Verifiers refuse the token until nbf; check the issuer's clock.",
    ),
    LintRule(
        "iat-after-exp",
        "error",
        "iat is after exp: the token expired before it was issued",
        _TIME,
    ),
    LintRule(
        "nbf-after-exp",
        "error",
        "nbf is at or after exp: the token is never valid",
        _TIME,
    ),
    LintRule(
        "claim-type",
        "error",
        "{claim} has the wrong type or is empty",
        "Identifiers must be non-empty strings (aud: a string or an array of them); anything "
        "else is read differently by different verifiers.",
    ),
    # Size and growth.
    LintRule(
        "header-budget",
        "error",
        "token is {size} bytes, over the {limit}-byte header budget",
        "Many servers and proxies refuse request headers this large. " + _GROWING,
    ),
    LintRule(
        "cookie-budget",
        "warning",
        "token is {size} bytes, over the {limit}-byte cookie budget",
        "Browsers drop cookies over 4 KB. " + _GROWING,
    ),
    LintRule(
        "large-payload",
        "warning",
        "payload is {size} bytes (more than {limit}): it is growing",
        _GROWING,
    ),
    LintRule(
        "many-entries",
        "warning",
        "{count} entries in one claim (more than {limit}): do the database lookup",
        "Permission lists in tokens cannot change mid-session and grow with your product. "
        + _GROWING,
    ),
)

LINT_RULES_BY_ID: dict[str, LintRule] = {rule.id: rule for rule in LINT_RULES}
