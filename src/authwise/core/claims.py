"""Claim validation: the second step of verification, after the signature (RFC 7519, RFC 9068).

The clock is injected: ``validate(claims, now)`` takes the time as a number and never reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from authwise.errors import ExpiredToken, InvalidClaim, NotYetValid

__all__ = ["MAX_LEEWAY", "ClaimsPolicy", "numeric_date"]

MAX_LEEWAY = 60
# 9999-12-31T23:59:59Z. Anything later is not a date but a bug, most often milliseconds
# where seconds belong, which would make a token live for millennia (J13 "huge" values).
MAX_NUMERIC_DATE = 253_402_300_799


def numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim: a non-negative JSON number up to year 9999 (never a bool), or None."""
    value = claims.get(name)
    if value is None:
        if name in claims:
            raise InvalidClaim(name, f"{name} is null")
        return None
    if type(value) is int:
        if not 0 <= value <= MAX_NUMERIC_DATE:
            raise InvalidClaim(name, f"{name} is negative or beyond year 9999")
        return value
    if type(value) is float and 0 <= value <= MAX_NUMERIC_DATE:
        return value
    raise InvalidClaim(name, f"{name} is not a NumericDate")


@dataclass(frozen=True, kw_only=True)
class ClaimsPolicy:
    """What a verifier requires of an access token's claims."""

    issuer: str
    """The exact ``iss`` expected (no prefix, substring or array matches)."""
    audiences: frozenset[str]
    """Audiences this verifier accepts; the token's ``aud`` must name at least one."""
    leeway: int = 0
    """Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds (at most 60)."""
    required: frozenset[str] = field(
        default_factory=lambda: frozenset({"exp", "iat", "sub", "aud", "iss"})
    )

    def __post_init__(self) -> None:
        if not isinstance(self.issuer, str) or not self.issuer:
            raise ValueError("issuer must be a non-empty string")
        audiences = frozenset(self.audiences)
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            raise ValueError("at least one non-empty audience is required")
        object.__setattr__(self, "audiences", audiences)
        if not 0 <= self.leeway <= MAX_LEEWAY:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY} seconds")
        # sub too: AccessToken.sub reads it, and a token about no one authorizes nothing.
        missing = {"exp", "aud", "iss", "sub"} - self.required
        if missing:
            raise ValueError(f"claims {sorted(missing)} are always required")

    @classmethod
    def create(
        cls, issuer: str, audiences: str | Iterable[str], *, leeway: int = 0
    ) -> ClaimsPolicy:
        auds = frozenset([audiences] if isinstance(audiences, str) else audiences)
        return cls(issuer=issuer, audiences=auds, leeway=leeway)

    def validate(self, claims: dict[str, Any], now: float) -> float:
        """Check ``claims`` at time ``now``; return ``exp``. Raises an :class:`InvalidClaim`."""
        if not self.required <= claims.keys():
            name = min(self.required - claims.keys())
            raise InvalidClaim(name, f"{name} is required")
        exp = numeric_date(claims, "exp")
        if exp is None:  # pragma: no cover - exp is always required
            raise InvalidClaim("exp", "exp is required")
        if now >= exp + self.leeway:
            raise ExpiredToken
        nbf = numeric_date(claims, "nbf")
        if nbf is not None and nbf > now + self.leeway:
            raise NotYetValid("nbf", "token not valid yet")
        iat = numeric_date(claims, "iat")
        if iat is not None and iat > now + self.leeway:
            raise NotYetValid("iat", "token issued in the future")
        iss = claims["iss"]
        if type(iss) is not str or iss != self.issuer:
            raise InvalidClaim("iss", "issuer mismatch")
        aud = claims["aud"]
        if type(aud) is str:
            if aud not in self.audiences:
                raise InvalidClaim("aud", "audience mismatch")
        elif type(aud) is list and aud and all(type(a) is str for a in aud):
            if self.audiences.isdisjoint(aud):
                raise InvalidClaim("aud", "audience mismatch")
        else:
            raise InvalidClaim("aud", "aud must be a string or a non-empty array of strings")
        _check_identifier(claims, "sub")
        for name in ("jti", "sid"):
            if name in claims:
                _check_identifier(claims, name)
        if "roles" in claims:
            roles = claims["roles"]
            if type(roles) is not list or not all(type(r) is str for r in roles):
                raise InvalidClaim("roles", "roles must be an array of strings")
        if "tenant" in claims and type(claims["tenant"]) is not str:
            raise InvalidClaim("tenant", "tenant must be a string")
        return exp


def _check_identifier(claims: dict[str, Any], name: str) -> None:
    value = claims[name]
    if type(value) is not str or not value or len(value) > 255 or "\x00" in value:
        raise InvalidClaim(name, f"{name} must be a non-empty string without NUL")
