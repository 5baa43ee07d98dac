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
    ├── PolicyViolation            "policy_violation": a claim set refused at mint time
    ├── InvalidInput               "invalid_input": an account value refused (``field``)
    │   └── InvalidTarget          "invalid_target": an audience we do not mint for (RFC 8707)
    ├── NotFound                   "not_found": no such user, session or client
    ├── AuthenticationFailed       "invalid_credentials": one answer for every failed login
    ├── InvalidSession             "invalid_session": unknown, expired or ended session
    ├── InvalidGrant               "invalid_grant": refresh token unknown, expired, reused, revoked
    ├── InvalidClient              "invalid_client": client authentication failed
    └── StorageError               "storage_error": a store failed
        ├── Conflict               "conflict": a unique value is taken (``what``)
        └── StoreUnavailable       "store_unavailable": cannot reach the store; retry (HTTP 503)
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "AuthwiseError",
    "BadSignature",
    "Conflict",
    "ExpiredToken",
    "InvalidClaim",
    "InvalidClient",
    "InvalidGrant",
    "InvalidInput",
    "InvalidKey",
    "InvalidSession",
    "InvalidTarget",
    "MalformedToken",
    "NotFound",
    "NotYetValid",
    "PolicyViolation",
    "RevokedToken",
    "StorageError",
    "StoreUnavailable",
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
    """Not a strict compact JWS, or a part that is not valid base64url or JSON."""

    code = "malformed"
    message = "malformed token"


class UnsupportedToken(TokenError):
    """A header we refuse: an algorithm, ``crit``, ``typ``, a key named by the token, ``b64``."""

    code = "unsupported"
    message = "unsupported token"


class UnknownKey(TokenError):
    """No trusted key for the token's ``kid``, or no ``kid`` at all."""

    code = "unknown_key"
    message = "unknown signing key"


class BadSignature(TokenError):
    """The signature does not verify under the key the header selects."""

    code = "bad_signature"
    message = "bad signature"


class InvalidClaim(TokenError):
    """A claim failed validation; ``claim`` names it."""

    code = "invalid_claim"
    message = "invalid claim"

    def __init__(self, claim: str, detail: str | None = None) -> None:
        self.claim = claim
        super().__init__(detail or f"invalid claim: {claim}")


class ExpiredToken(InvalidClaim):
    """``exp`` has passed (beyond the leeway)."""

    code = "expired"
    message = "token expired"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("exp", detail or "token expired")


class NotYetValid(InvalidClaim):
    """``nbf`` or ``iat`` lies in the future (beyond the leeway)."""

    code = "not_yet_valid"
    message = "token not yet valid"


class RevokedToken(InvalidClaim):
    """Revoked by ``sid``, by ``iss`` + ``jti`` or by the user's not-before (``claim``: which)."""

    code = "revoked"
    message = "token revoked"


class InvalidKey(AuthwiseError):
    """A key or JWK (Set) we refuse to use: weak, of the wrong type or curve, malformed."""

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


class InvalidInput(AuthwiseError):
    """A value refused by an account policy (username, password, role, tenant)."""

    code = "invalid_input"
    message = "invalid input"

    def __init__(self, field: str, detail: str | None = None) -> None:
        self.field = field
        super().__init__(detail or f"invalid {field}")


class InvalidTarget(InvalidInput):
    """An audience we do not mint tokens for (RFC 8707 ``invalid_target``)."""

    code = "invalid_target"
    message = "unknown audience"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__("audience", detail or "unknown audience")


class NotFound(AuthwiseError):
    """No such user, session or client."""

    code = "not_found"
    message = "not found"


class AuthenticationFailed(AuthwiseError):
    """Wrong username or password, or a disabled account: deliberately one answer (S10)."""

    code = "invalid_credentials"
    message = "invalid username or password"


class InvalidSession(AuthwiseError):
    """An unknown, expired or ended session."""

    code = "invalid_session"
    message = "invalid session"


class InvalidGrant(AuthwiseError):
    """RFC 6749 section 5.2 ``invalid_grant``: the refresh token is not (or no longer) good."""

    code = "invalid_grant"
    message = "invalid grant"


class InvalidClient(AuthwiseError):
    """Client authentication failed (RFC 6749 ``invalid_client``)."""

    code = "invalid_client"
    message = "client authentication failed"


class StorageError(AuthwiseError):
    """A store failed."""

    code = "storage_error"
    message = "storage error"


class Conflict(StorageError):
    """A unique value (``what``: "username", "session", "family", ...) is already taken."""

    code = "conflict"
    message = "already exists"

    def __init__(self, what: str, detail: str | None = None) -> None:
        self.what = what
        super().__init__(detail or f"{what} already exists")


class StoreUnavailable(StorageError):
    """The store cannot be reached. Fail closed: the server answers 503 and retries later."""

    code = "store_unavailable"
    message = "service temporarily unavailable"
