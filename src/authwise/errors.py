"""The errors authwise raises.

One base class and a shallow tree. Every error carries a short machine ``code`` (stable, safe
to show a client) and a generic message; details a caller may need are attributes, never
secrets::

    AuthwiseError
    ├── TokenError                 a token was refused
    │   ├── MalformedToken         "malformed": not a strict compact JWS / not valid JSON
    │   ├── UnsupportedToken       "unsupported": a header we refuse (alg, crit, jku, b64, ...)
    │   ├── UnknownKey             "unknown_key": no trusted key for this kid
    │   ├── BadSignature           "bad_signature"
    │   └── InvalidClaim           "invalid_claim": a claim failed validation (``claim``)
    │       ├── ExpiredToken       "expired"
    │       ├── NotYetValid        "not_yet_valid"
    │       └── RevokedToken       "revoked"
    ├── InvalidKey                 "invalid_key": a key or JWK (Set) we refuse to use
    └── PolicyViolation            "policy_violation": a claim set refused at mint time
"""

from __future__ import annotations

__all__ = [
    "AuthwiseError",
    "BadSignature",
    "ExpiredToken",
    "InvalidClaim",
    "InvalidKey",
    "MalformedToken",
    "NotYetValid",
    "PolicyViolation",
    "RevokedToken",
    "TokenError",
    "UnknownKey",
    "UnsupportedToken",
]


class AuthwiseError(Exception):
    """Base of every error authwise raises on purpose."""

    code: str = "error"
    message: str = "authwise error"

    def __init__(self, detail: str | None = None) -> None:
        # ``detail`` is for logs and developers; it never contains a secret value.
        self.detail = detail
        super().__init__(detail or self.message)


class TokenError(AuthwiseError):
    """A token was refused."""

    code = "invalid_token"
    message = "invalid token"


class MalformedToken(TokenError):
    code = "malformed"
    message = "malformed token"


class UnsupportedToken(TokenError):
    code = "unsupported"
    message = "unsupported token"


class UnknownKey(TokenError):
    code = "unknown_key"
    message = "unknown signing key"


class BadSignature(TokenError):
    code = "bad_signature"
    message = "bad signature"


class InvalidClaim(TokenError):
    code = "invalid_claim"
    message = "invalid claim"

    def __init__(self, claim: str, detail: str | None = None) -> None:
        self.claim = claim
        super().__init__(detail or f"invalid claim: {claim}")


class ExpiredToken(InvalidClaim):
    code = "expired"
    message = "token expired"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("exp", detail or "token expired")


class NotYetValid(InvalidClaim):
    code = "not_yet_valid"
    message = "token not yet valid"


class RevokedToken(InvalidClaim):
    code = "revoked"
    message = "token revoked"


class InvalidKey(AuthwiseError):
    code = "invalid_key"
    message = "invalid key"


class PolicyViolation(AuthwiseError):
    """A claim set, header or lifetime the mint-time payload policy refuses."""

    code = "policy_violation"
    message = "payload policy violation"

    def __init__(self, rule: str, detail: str, claim: str | None = None) -> None:
        self.rule = rule
        self.claim = claim
        super().__init__(f"{rule}: {detail}")
