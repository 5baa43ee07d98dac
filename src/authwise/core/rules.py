"""What must never ride in a token: the claim-content rules.

One definition serves three readers: the mint-time payload policy (every ``error`` finding
refuses the token), the ``authwise lint`` / ``decode`` CLI, and the in-browser decoder, which
receives :func:`rules_document` as JSON and runs the same patterns. The token lint rules (alg,
time claims, encoding, size) live beside these as data in :mod:`authwise.core._lint_catalog`
and travel in the same document, so both evaluators share one set of ids, severities,
messages, reasons and thresholds. Patterns use only the regular-expression syntax that Python
and JavaScript read alike (no ``\\d``, ``\\s`` or ``\\b``, whose meanings differ between
the two).

The seed's rule: anyone holding a token can decode it, so put only ``sub``, ``exp``, ``iat`` and
minimal authorization claims in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from authwise.core._lint_catalog import (
    ALGORITHM_SIGNATURE_BYTES,
    EXPECTED_ALGORITHMS,
    KID_UNUSUAL_PATTERN,
    LINT_RULES,
    LINT_RULES_BY_ID,
    RSA_ALGORITHMS,
    THRESHOLDS,
    UNTRUSTED_KEY_HEADERS,
    LintRule,
)

__all__ = [
    "ALGORITHM_SIGNATURE_BYTES",
    "EXPECTED_ALGORITHMS",
    "KID_UNUSUAL_PATTERN",
    "LINT_RULES",
    "LINT_RULES_BY_ID",
    "NAME_RULES",
    "RSA_ALGORITHMS",
    "SCAN_SKIP",
    "THRESHOLDS",
    "UNTRUSTED_KEY_HEADERS",
    "VALUE_RULES",
    "Finding",
    "LintRule",
    "NameRule",
    "Severity",
    "ValueRule",
    "luhn_ok",
    "normalize_claim_name",
    "rules_document",
    "scan_claims",
]

Severity = Literal["error", "warning", "info"]

_MAX_DEPTH = THRESHOLDS["max_json_depth"]
_MAX_FINDINGS = THRESHOLDS["max_findings"]
# Claims whose values an issuer mints at random: their names are checked, their values not.
SCAN_SKIP = frozenset({"jti", "sid"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found. ``path`` names the claim (``roles[2]``, ``profile.email``)."""

    id: str
    severity: Severity
    message: str
    reason: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class NameRule:
    """A claim whose name (lowercased, letters and digits only) is or contains a marker."""

    id: str
    severity: Severity
    exact: frozenset[str]
    contains: tuple[str, ...]
    message: str
    reason: str

    def matches(self, normalized: str) -> bool:
        return normalized in self.exact or any(part in normalized for part in self.contains)


@dataclass(frozen=True, slots=True)
class ValueRule:
    """A string claim value matching ``pattern`` (and, with ``luhn``, a valid card checksum)."""

    id: str
    severity: Severity
    pattern: str
    message: str
    reason: str
    luhn: bool = False

    def matches(self, value: str) -> bool:
        match = _COMPILED[self.id].search(value)
        if match is None:
            return False
        return not self.luhn or luhn_ok(match.group(0))


_SECRET = "Anyone holding a token can read its payload: a secret in it is a published secret."  # noqa: S105
_PII = "Token payloads are readable by every party and log that sees them: keep personal data server-side and look it up by sub."

NAME_RULES: tuple[NameRule, ...] = (
    NameRule(
        id="secret-claim-name",
        severity="error",
        exact=frozenset(
            {
                "pass",
                "pwd",
                "pin",
                "cvv",
                "cvc",
                "otp",
                "totp",
                "ssn",
                "cookie",
                "bearer",
                "authorization",
                "credentials",
                "credential",
                "token",
                "idtoken",
                "sessionid",
                "sid_secret",
            }
        ),
        contains=(
            "password",
            "passwd",
            "passphrase",
            "secret",
            "apikey",
            "privatekey",
            "accesstoken",
            "refreshtoken",
            "sessiontoken",
            "sessioncookie",
            "creditcard",
            "cardnumber",
            "recoverycode",
            "seedphrase",
            "mnemonic",
        ),
        message="claim name suggests a secret",
        reason=_SECRET,
    ),
    NameRule(
        id="personal-data-claim-name",
        severity="warning",
        exact=frozenset(
            {
                "email",
                "mail",
                "phone",
                "phonenumber",
                "mobile",
                "address",
                "birthdate",
                "dob",
                "dateofbirth",
                "fullname",
                "givenname",
                "familyname",
                "firstname",
                "lastname",
                "nationalid",
                "passport",
                "iban",
                "salary",
                "ip",
                "ipaddress",
            }
        ),
        contains=("email", "phone", "birth", "passport", "nationalid", "streetaddress"),
        message="claim name suggests personal data",
        reason=_PII,
    ),
)

VALUE_RULES: tuple[ValueRule, ...] = (
    ValueRule(
        id="pem-block",
        severity="error",
        pattern=r"-----BEGIN [A-Z0-9 ]*-----",
        message="value contains a PEM block (a key or certificate)",
        reason=_SECRET,
    ),
    ValueRule(
        id="embedded-jwt",
        severity="error",
        pattern=r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.",
        message="value looks like another token",
        reason="A token inside a token leaks a credential to everyone who can read the outer one.",
    ),
    ValueRule(
        id="api-key",
        severity="error",
        pattern=(
            r"(^|[^A-Za-z0-9])("
            r"(sk|rk|pk)_(live|test)_[A-Za-z0-9]{10,}|gh[pousr]_[A-Za-z0-9]{30,}|"
            r"AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|"
            r"glpat-[A-Za-z0-9_-]{20,}|aw_(s|rt|cs)_[A-Za-z0-9_-]{20,})"
        ),
        message="value looks like an API key or an authwise secret",
        reason=_SECRET,
    ),
    ValueRule(
        id="password-hash",
        severity="error",
        pattern=r"^(\$2[aby]\$[0-9]{2}\$|\$argon2(id|i|d)\$|pbkdf2_sha256\$|\$6\$)",
        message="value looks like a password hash",
        reason="A password hash in a token invites offline cracking by everyone who sees it.",
    ),
    ValueRule(
        id="bearer-credential",
        severity="error",
        pattern=r"^(Bearer|Basic) [A-Za-z0-9._~+/=-]{16,}$",
        message="value looks like an Authorization header",
        reason=_SECRET,
    ),
    ValueRule(
        id="card-number",
        severity="error",
        pattern=r"(^|[^0-9])([0-9][ -]?){12,18}[0-9]($|[^0-9])",
        message="value looks like a payment card number",
        reason="Card numbers must never leave the payment system, least of all in a readable token.",
        luhn=True,
    ),
    ValueRule(
        id="email-address",
        severity="warning",
        pattern=r"^[^@ ]+@[^@ ]+\.[A-Za-z]{2,}$",
        message="value looks like an email address",
        reason=_PII,
    ),
    ValueRule(
        id="phone-number",
        severity="warning",
        pattern=r"^(\+[0-9][0-9 ().-]{7,18}[0-9]|\(?[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4})$",
        message="value looks like a phone number",
        reason=_PII,
    ),
    ValueRule(
        id="national-id",
        severity="warning",
        pattern=r"^[0-9]{3}-[0-9]{2}-[0-9]{4}$",
        message="value looks like a national identification number",
        reason=_PII,
    ),
)

_COMPILED = {rule.id: re.compile(rule.pattern) for rule in VALUE_RULES}
_NOT_ALNUM = re.compile(r"[^a-z0-9]")

# Minting scans every claim of every token, and names and most values (iss, aud, roles,
# tenant) repeat endlessly: the verdict on each is remembered, in bounded memos.
_MEMO_SIZE = 4096
_MEMO_MAX_VALUE = 256
_NAME_MEMO: dict[str, tuple[NameRule, ...]] = {}
_VALUE_MEMO: dict[str, tuple[ValueRule, ...]] = {}


def _name_hits(name: str) -> tuple[NameRule, ...]:
    hits = _NAME_MEMO.get(name)
    if hits is None:
        normalized = normalize_claim_name(name)
        hits = tuple(rule for rule in NAME_RULES if rule.matches(normalized))
        if len(_NAME_MEMO) >= _MEMO_SIZE:
            _NAME_MEMO.clear()
        _NAME_MEMO[name] = hits
    return hits


def _value_hits(value: str) -> tuple[ValueRule, ...]:
    hits = _VALUE_MEMO.get(value)
    if hits is None:
        hits = tuple(rule for rule in VALUE_RULES if rule.matches(value))
        if len(value) <= _MEMO_MAX_VALUE:
            if len(_VALUE_MEMO) >= _MEMO_SIZE:
                _VALUE_MEMO.clear()
            _VALUE_MEMO[value] = hits
    return hits


def normalize_claim_name(name: str) -> str:
    """``Client-Secret`` and ``client_secret`` both become ``clientsecret``."""
    return _NOT_ALNUM.sub("", name.lower())


def luhn_ok(text: str) -> bool:
    """Whether the digits of ``text`` (13 to 19 of them) pass the Luhn checksum."""
    digits = [int(c) for c in text if "0" <= c <= "9"]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _scan(
    value: Any, path: str, name: str | None, depth: int, skip: frozenset[str], out: list[Finding]
) -> None:
    if name is not None:
        for name_rule in _name_hits(name):
            out.append(
                Finding(name_rule.id, name_rule.severity, name_rule.message, name_rule.reason, path)
            )
    if isinstance(value, str):
        if path not in skip:
            for value_rule in _value_hits(value):
                out.append(
                    Finding(
                        value_rule.id,
                        value_rule.severity,
                        value_rule.message,
                        value_rule.reason,
                        path,
                    )
                )
    elif depth >= _MAX_DEPTH or len(out) >= _MAX_FINDINGS:
        return
    elif isinstance(value, dict):
        for key, child in value.items():
            key = str(key)
            _scan(child, f"{path}.{key}" if path else key, key, depth + 1, skip, out)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _scan(child, f"{path}[{i}]", None, depth + 1, skip, out)


def scan_claims(claims: dict[str, Any], *, skip: frozenset[str] = frozenset()) -> list[Finding]:
    """Every secret and personal-data finding in a claim set (names and string values).

    ``skip`` names top-level claims whose values are not scanned (values authwise mints
    itself, such as ``jti``); their names are still checked.
    """
    findings: list[Finding] = []
    _scan(claims, "", None, 0, skip, findings)
    return findings[:_MAX_FINDINGS]


def rules_document() -> dict[str, Any]:
    """Every rule as plain data, for the in-browser decoder (same patterns, same messages).

    Patterns follow Python's ``re`` semantics; the browser evaluator reads an unescaped ``$``
    as Python does (end of text, or before a final newline).
    """
    return {
        "version": 1,
        "thresholds": dict(THRESHOLDS),
        "algorithms": list(EXPECTED_ALGORITHMS),
        "signature_bytes": dict(ALGORITHM_SIGNATURE_BYTES),
        "rsa_algorithms": list(RSA_ALGORITHMS),
        "kid_unusual_pattern": KID_UNUSUAL_PATTERN,
        "untrusted_key_headers": list(UNTRUSTED_KEY_HEADERS),
        "allowed_headers": ["alg", "kid", "typ"],
        "access_token_typ": "at+jwt",
        "scan_skip": sorted(SCAN_SKIP),
        "lint_rules": [
            {"id": r.id, "severity": r.severity, "message": r.message, "reason": r.reason}
            for r in LINT_RULES
        ],
        "name_rules": [
            {
                "id": r.id,
                "severity": r.severity,
                "exact": sorted(r.exact),
                "contains": list(r.contains),
                "message": r.message,
                "reason": r.reason,
            }
            for r in NAME_RULES
        ],
        "value_rules": [
            {
                "id": r.id,
                "severity": r.severity,
                "pattern": r.pattern,
                "luhn": r.luhn,
                "message": r.message,
                "reason": r.reason,
            }
            for r in VALUE_RULES
        ],
    }
