"""authwise: sessions by default, short-lived JWTs when you need them.

The public surface of the token core is re-exported here; the HTTP server, storage backends
and integrations live in their own subpackages.
"""

from authwise.core.claims import ClaimsPolicy
from authwise.core.jwks import KeySet
from authwise.core.jws import Unverified, decode_unverified
from authwise.core.keyring import KeyRing, KeyState, RotationPolicy, rotate
from authwise.core.keys import PrivateKey, PublicKey, jwk_thumbprint
from authwise.core.secevent import SecurityEvent, decode_security_event, encode_security_event
from authwise.core.tokens import (
    AccessToken,
    AccessTokenIssuer,
    AccessTokenVerifier,
    MintPolicy,
    RevocationCheck,
    VerifiedTokenCache,
)
from authwise.errors import (
    AuthwiseError,
    BadSignature,
    ExpiredToken,
    InvalidClaim,
    InvalidKey,
    MalformedToken,
    NotYetValid,
    PolicyViolation,
    RevokedToken,
    TokenError,
    UnknownKey,
    UnsupportedToken,
)

__version__ = "0.1.0"

__all__ = [
    "AccessToken",
    "AccessTokenIssuer",
    "AccessTokenVerifier",
    "AuthwiseError",
    "BadSignature",
    "ClaimsPolicy",
    "ExpiredToken",
    "InvalidClaim",
    "InvalidKey",
    "KeyRing",
    "KeySet",
    "KeyState",
    "MalformedToken",
    "MintPolicy",
    "NotYetValid",
    "PolicyViolation",
    "PrivateKey",
    "PublicKey",
    "RevocationCheck",
    "RevokedToken",
    "RotationPolicy",
    "SecurityEvent",
    "TokenError",
    "UnknownKey",
    "UnsupportedToken",
    "Unverified",
    "VerifiedTokenCache",
    "__version__",
    "decode_security_event",
    "decode_unverified",
    "encode_security_event",
    "jwk_thumbprint",
    "rotate",
]
