"""authwise: sessions by default, short-lived JWTs when you need them.

The public surface, re-exported from the pure core (no I/O; every decision takes ``now``):

- server-side sessions: :func:`new_session_id`, :func:`start_deadlines`,
  :func:`check_session` under a :class:`SessionPolicy`, and :func:`secret_digest`, the only
  form in which a session ID (or any bearer secret) is stored;
- refresh-token families: :func:`new_refresh_token`, :func:`decide_refresh` under a
  :class:`RefreshPolicy`, :func:`derive_successor` (rotation with a grace window);
- revocation: :class:`RevocationSet` (by ``sid``, by ``iss`` + ``jti``, per-user not-before);
- access tokens: :class:`AccessTokenIssuer`, :class:`AccessTokenVerifier`, keys and key rings;
- the whole error tree, under :class:`AuthwiseError` (see :mod:`authwise.errors`).

The service, the HTTP server and the storage backends live in their own subpackages.
"""

from authwise.core.claims import ClaimsPolicy
from authwise.core.jwks import KeySet
from authwise.core.jws import Unverified, decode_unverified
from authwise.core.keyring import KeyRing, KeyState, RotationPolicy, rotate
from authwise.core.keys import PrivateKey, PublicKey, jwk_thumbprint
from authwise.core.refresh import (
    FamilyState,
    RefreshDecision,
    RefreshOutcome,
    RefreshPolicy,
    derive_successor,
    family_deadline,
    new_family_id,
    new_refresh_token,
)
from authwise.core.refresh import decide as decide_refresh
from authwise.core.revocation import RevocationEntry, RevocationSet, entry_expiry
from authwise.core.secevent import SecurityEvent, decode_security_event, encode_security_event
from authwise.core.sessions import (
    NewSessionId,
    SessionCheck,
    SessionPolicy,
    SessionState,
    SessionTimes,
    new_handle,
    new_session_id,
    secret_digest,
    start_deadlines,
)
from authwise.core.sessions import check as check_session
from authwise.core.tokens import (
    AccessToken,
    AccessTokenIssuer,
    AccessTokenVerifier,
    MintPolicy,
    RevocationCheck,
    VerifiedTokenCache,
)
from authwise.errors import (
    AuthenticationFailed,
    AuthwiseError,
    BadSignature,
    Conflict,
    ExpiredToken,
    InvalidClaim,
    InvalidClient,
    InvalidGrant,
    InvalidInput,
    InvalidKey,
    InvalidSession,
    InvalidTarget,
    MalformedToken,
    NotFound,
    NotYetValid,
    PolicyViolation,
    RevokedToken,
    StorageError,
    StoreUnavailable,
    TokenError,
    UnknownKey,
    UnsupportedToken,
)

__version__ = "0.1.0"

__all__ = [
    "AccessToken",
    "AccessTokenIssuer",
    "AccessTokenVerifier",
    "AuthenticationFailed",
    "AuthwiseError",
    "BadSignature",
    "ClaimsPolicy",
    "Conflict",
    "ExpiredToken",
    "FamilyState",
    "InvalidClaim",
    "InvalidClient",
    "InvalidGrant",
    "InvalidInput",
    "InvalidKey",
    "InvalidSession",
    "InvalidTarget",
    "KeyRing",
    "KeySet",
    "KeyState",
    "MalformedToken",
    "MintPolicy",
    "NewSessionId",
    "NotFound",
    "NotYetValid",
    "PolicyViolation",
    "PrivateKey",
    "PublicKey",
    "RefreshDecision",
    "RefreshOutcome",
    "RefreshPolicy",
    "RevocationCheck",
    "RevocationEntry",
    "RevocationSet",
    "RevokedToken",
    "RotationPolicy",
    "SecurityEvent",
    "SessionCheck",
    "SessionPolicy",
    "SessionState",
    "SessionTimes",
    "StorageError",
    "StoreUnavailable",
    "TokenError",
    "UnknownKey",
    "UnsupportedToken",
    "Unverified",
    "VerifiedTokenCache",
    "__version__",
    "check_session",
    "decide_refresh",
    "decode_security_event",
    "decode_unverified",
    "derive_successor",
    "encode_security_event",
    "entry_expiry",
    "family_deadline",
    "jwk_thumbprint",
    "new_family_id",
    "new_handle",
    "new_refresh_token",
    "new_session_id",
    "rotate",
    "secret_digest",
    "start_deadlines",
]
