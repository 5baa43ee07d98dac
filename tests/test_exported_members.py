"""The public surface of ``authwise`` is exactly what we mean to publish (httpx style)."""

from __future__ import annotations

import types

import authwise
from authwise import errors
from authwise.core import refresh, revocation, sessions

PUBLISHED = [
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


def test_all_is_sorted() -> None:
    assert authwise.__all__ == sorted(authwise.__all__)


def test_all_is_exactly_what_we_publish() -> None:
    assert authwise.__all__ == PUBLISHED


def test_every_public_name_is_exported_and_nothing_else() -> None:
    public = {
        name
        for name, value in vars(authwise).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public | {"__version__"} == set(authwise.__all__)


def test_exported_names_resolve_to_authwise_objects() -> None:
    for name in authwise.__all__:
        value = getattr(authwise, name)
        if name == "__version__":
            assert isinstance(value, str)
            continue
        assert value.__module__.startswith("authwise."), name


def test_the_whole_error_tree_is_exported() -> None:
    assert set(errors.__all__) <= set(authwise.__all__)
    for name in errors.__all__:
        assert getattr(authwise, name) is getattr(errors, name), name


def test_errors_share_one_base_class() -> None:
    classes = [
        value
        for value in (getattr(authwise, n) for n in authwise.__all__)
        if isinstance(value, type) and issubclass(value, Exception)
    ]
    assert sorted(cls.__name__ for cls in classes) == sorted(errors.__all__)
    assert all(issubclass(cls, authwise.AuthwiseError) for cls in classes)


def test_the_sessions_toolkit_is_exported_under_clear_names() -> None:
    # The core's bare verbs get the noun they act on, so `authwise.check` is not ambiguous.
    assert authwise.check_session is sessions.check
    assert authwise.decide_refresh is refresh.decide
    assert authwise.RevocationSet is revocation.RevocationSet


def test_every_export_is_documented() -> None:
    for name in authwise.__all__:
        if name != "__version__":
            assert (getattr(authwise, name).__doc__ or "").strip(), name
