"""What must never ride in a token: the claim-content rules.

One definition serves three readers: the mint-time payload policy (every ``error`` finding
refuses the token), the ``authwise lint`` / ``decode`` CLI, and the in-browser decoder, which
receives :func:`rules_document` as JSON and runs the same patterns. Patterns therefore use only
the regular-expression syntax that Python and JavaScript read alike (no ``\\d``, ``\\s`` or
``\\b``, whose meanings differ between the two).

The seed's rule: anyone holding a token can decode it, so put only ``sub``, ``exp``, ``iat`` and
minimal authorization claims in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "NAME_RULES",
    "VALUE_RULES",
    "Finding",
    "NameRule",
    "Severity",
    "ValueRule",
    "luhn_ok",
    "normalize_claim_name",
    "rules_document",
    "scan_claims",
]

Severity = Literal["error", "warning", "info"]

_MAX_DEPTH = 32
_MAX_FINDINGS = 100


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


def _walk(value: Any, path: str, depth: int) -> Iterator[tuple[str, str | None, Any]]:
    """Yield (path, name, value) for every member and element, depth-first."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        for name, child in value.items():
            child_path = f"{path}.{name}" if path else str(name)
            yield child_path, str(name), child
            yield from _walk(child, child_path, depth + 1)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            child_path = f"{path}[{i}]"
            yield child_path, None, child
            yield from _walk(child, child_path, depth + 1)


def scan_claims(claims: dict[str, Any], *, skip: frozenset[str] = frozenset()) -> list[Finding]:
    """Every secret and personal-data finding in a claim set (names and string values).

    ``skip`` names top-level claims whose values are not scanned (values authwise mints
    itself, such as ``jti``); their names are still checked.
    """
    findings: list[Finding] = []
    for path, name, value in _walk(claims, "", 0):
        if name is not None:
            normalized = normalize_claim_name(name)
            for name_rule in NAME_RULES:
                if name_rule.matches(normalized):
                    findings.append(
                        Finding(
                            name_rule.id,
                            name_rule.severity,
                            name_rule.message,
                            name_rule.reason,
                            path,
                        )
                    )
        if isinstance(value, str) and path not in skip:
            for value_rule in VALUE_RULES:
                if value_rule.matches(value):
                    findings.append(
                        Finding(
                            value_rule.id,
                            value_rule.severity,
                            value_rule.message,
                            value_rule.reason,
                            path,
                        )
                    )
        if len(findings) >= _MAX_FINDINGS:
            break
    return findings


def rules_document() -> dict[str, Any]:
    """The rules as plain data, for the in-browser decoder (same patterns, same messages)."""
    return {
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
