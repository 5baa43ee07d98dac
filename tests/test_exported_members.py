"""The public surface of ``authwise`` is exactly what we mean to publish (httpx style)."""

from __future__ import annotations

import types

import authwise

PUBLISHED = [
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


def test_errors_share_one_base_class() -> None:
    errors = [
        getattr(authwise, n)
        for n in authwise.__all__
        if n.endswith(("Error", "Token", "Key", "Signature", "Claim", "Valid", "Violation"))
    ]
    classes = [e for e in errors if isinstance(e, type) and issubclass(e, Exception)]
    assert classes
    assert all(issubclass(cls, authwise.AuthwiseError) for cls in classes)
