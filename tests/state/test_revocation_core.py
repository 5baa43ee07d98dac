"""core.revocation: the RevocationSet the verifier consults on every token (S05)."""

from __future__ import annotations

import pytest

from authwise.core.revocation import RevocationSet, entry_expiry
from authwise.core.tokens import AccessToken
from authwise.errors import RevokedToken
from authwise.storage.base import RevocationKind, RevocationRecord


def token(
    *, sub: str = "u1", jti: str | None = "j1", sid: str | None = "s1", iat: float | None = 1000
) -> AccessToken:
    claims: dict[str, object] = {"sub": sub, "iss": "https://as", "exp": 1300}
    for name, value in (("jti", jti), ("sid", sid), ("iat", iat)):
        if value is not None:
            claims[name] = value
    return AccessToken.from_claims(claims, 1300, "k")


def test_entry_expiry_outlives_every_token_it_can_affect() -> None:
    assert entry_expiry(1000, 900, 30) == 1930
    assert entry_expiry(1000, 300) == 1300


def test_empty_set_revokes_nothing() -> None:
    revoked = RevocationSet()
    revoked.check(token(), 1000)
    assert len(revoked) == 0


def test_revoked_sid() -> None:
    revoked = RevocationSet()
    revoked.revoke_sid("s1", 2000)
    with pytest.raises(RevokedToken) as info:
        revoked.check(token(), 1100)
    assert info.value.claim == "sid"
    assert info.value.code == "revoked"
    revoked.check(token(sid="s2"), 1100)
    revoked.check(token(sid=None), 1100)


def test_revoked_jti_is_per_issuer() -> None:
    revoked = RevocationSet()
    revoked.revoke_jti("https://as", "j1", 2000)
    with pytest.raises(RevokedToken) as info:
        revoked.check(token(sid=None), 1100)
    assert info.value.claim == "jti"
    revoked.check(token(jti="j2", sid=None), 1100)
    assert revoked.reason(1100, iss="https://other", jti="j1") is None
    assert revoked.reason(1100, jti="j1") is None


def test_user_not_before_revokes_only_older_tokens() -> None:
    revoked = RevocationSet()
    revoked.set_not_before("u1", 1001, 2000)
    with pytest.raises(RevokedToken) as info:
        revoked.check(token(iat=1000, sid=None, jti=None), 1100)
    assert info.value.claim == "iat"
    revoked.check(token(iat=1001, sid=None, jti=None), 1100)
    revoked.check(token(sub="u2", iat=1000, sid=None, jti=None), 1100)
    # A token without iat cannot show it is newer: revoked.
    assert revoked.reason(1100, sub="u1", iat=None) == "iat"


def test_not_before_never_moves_backwards() -> None:
    revoked = RevocationSet()
    revoked.set_not_before("u1", 1500, 3000)
    revoked.set_not_before("u1", 1200, 2500)
    assert revoked.reason(1100, sub="u1", iat=1400) == "iat"
    assert revoked.reason(2900, sub="u1", iat=1400) == "iat"


def test_entries_stop_mattering_at_expiry_and_prune_forgets_them() -> None:
    revoked = RevocationSet()
    revoked.revoke_sid("s1", 2000)
    revoked.revoke_sid("s1", 1500)  # an earlier expiry never shortens an entry
    revoked.revoke_jti("https://as", "j1", 1500)
    revoked.revoke_jti("https://as", "j1", 1400)
    revoked.set_not_before("u1", 1001, 1800)
    assert len(revoked) == 3
    assert revoked.reason(1999, sid="s1") == "sid"
    assert revoked.reason(2000, sid="s1") is None
    assert revoked.prune(1500) == 1
    assert revoked.reason(1600, sub="u1", iat=1000) == "iat"
    assert revoked.prune(1800) == 1
    assert revoked.prune(1999) == 0
    assert revoked.prune(2000) == 1
    assert len(revoked) == 0


@pytest.mark.parametrize(
    ("record", "probe"),
    [
        (
            RevocationRecord(kind=RevocationKind.SID, key="s1", expires_at=2000),
            {"sid": "s1"},
        ),
        (
            RevocationRecord(kind=RevocationKind.JTI, key="j1", issuer="i", expires_at=2000),
            {"iss": "i", "jti": "j1"},
        ),
        (
            RevocationRecord(kind=RevocationKind.USER, key="u1", not_before=5, expires_at=2000),
            {"sub": "u1", "iat": 4},
        ),
    ],
)
def test_apply_storage_records(record: RevocationRecord, probe: dict[str, object]) -> None:
    revoked = RevocationSet()
    revoked.apply(record)
    assert revoked.reason(1000, **probe) is not None  # type: ignore[arg-type]


def test_apply_refuses_unknown_kinds() -> None:
    class Odd:
        kind, key, issuer, not_before, expires_at = "bogus", "k", "", 0, 10

    with pytest.raises(ValueError, match="unknown revocation kind"):
        RevocationSet().apply(Odd())
