"""core.refresh: the family state machine, with an injected clock (S06, S07, S08)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import pytest

from authwise.core._b64 import b64url_decode
from authwise.core.refresh import (
    REFRESH_PREFIX,
    RefreshDecision,
    RefreshOutcome,
    RefreshPolicy,
    decide,
    derive_successor,
    family_deadline,
    new_family_id,
    new_refresh_token,
)
from authwise.core.sessions import is_well_formed

SECRET = b"k" * 32
POLICY = RefreshPolicy(lifetime=14 * 86_400, idle=3 * 86_400, grace=10)


@dataclass(frozen=True)
class Family:
    generation: int = 0
    rotated_at: int = 0
    expires_at: int = 14 * 86_400
    revoked_at: int | None = None


def test_first_tokens_are_256_bit_and_stored_as_digests() -> None:
    tokens = [new_refresh_token() for _ in range(2000)]
    assert len({t for t, _ in tokens}) == 2000
    for token, digest in tokens[:50]:
        assert is_well_formed(token, REFRESH_PREFIX)
        assert len(b64url_decode(token.removeprefix(REFRESH_PREFIX))) == 32
        assert digest == hashlib.sha256(token.encode()).digest()


def test_family_ids_are_distinct() -> None:
    assert len({new_family_id() for _ in range(1000)}) == 1000


def test_successor_is_a_keyed_hmac_of_the_presented_token() -> None:
    token, _ = new_refresh_token()
    successor = derive_successor(SECRET, "fam", 1, token)
    assert successor == derive_successor(SECRET, "fam", 1, token)
    assert is_well_formed(successor, REFRESH_PREFIX)
    message = b"\x00".join((b"authwise/refresh-successor/v1\x00", b"fam", b"1", token.encode()))
    expected = hmac.new(SECRET, message, hashlib.sha256).digest()
    assert b64url_decode(successor.removeprefix(REFRESH_PREFIX)) == expected
    # Every input matters: another key, family, generation or parent gives another token.
    others = {
        derive_successor(b"j" * 32, "fam", 1, token),
        derive_successor(SECRET, "fan", 1, token),
        derive_successor(SECRET, "fam", 2, token),
        derive_successor(SECRET, "fam", 1, new_refresh_token()[0]),
    }
    assert successor not in others
    assert len(others) == 4


def test_short_refresh_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive_successor(b"short", "fam", 1, "aw_rt_x")


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="idle"):
        RefreshPolicy(idle=0)
    with pytest.raises(ValueError, match="idle"):
        RefreshPolicy(idle=100, lifetime=50)
    with pytest.raises(ValueError, match="grace"):
        RefreshPolicy(grace=61)
    with pytest.raises(ValueError, match="grace"):
        RefreshPolicy(grace=-1)


def test_family_deadline() -> None:
    assert family_deadline(1000, POLICY) == 1000 + 14 * 86_400


def test_live_token_rotates_to_the_next_generation() -> None:
    decision = decide(Family(generation=3, rotated_at=100), 3, 200, POLICY)
    assert decision == RefreshDecision(RefreshOutcome.ROTATE, 4)
    assert decision.grants


def test_s08_immediate_predecessor_inside_grace_gets_the_same_successor() -> None:
    family = Family(generation=4, rotated_at=1000)
    for now in (1000, 1005, 1009):
        decision = decide(family, 3, now, POLICY)
        assert decision == RefreshDecision(RefreshOutcome.GRACE, 4)
        assert decision.grants


def test_s08_immediate_predecessor_after_grace_is_reuse() -> None:
    decision = decide(Family(generation=4, rotated_at=1000), 3, 1010, POLICY)
    assert decision.outcome is RefreshOutcome.REUSE
    assert not decision.grants


def test_s08_older_generations_are_reuse_even_inside_grace() -> None:
    family = Family(generation=4, rotated_at=1000)
    for generation in (0, 1, 2):
        assert decide(family, generation, 1001, POLICY).outcome is RefreshOutcome.REUSE


def test_a_generation_from_the_future_is_reuse() -> None:
    assert decide(Family(generation=1), 5, 10, POLICY).outcome is RefreshOutcome.REUSE


def test_zero_grace_means_any_reuse_revokes() -> None:
    policy = RefreshPolicy(grace=0)
    family = Family(generation=1, rotated_at=1000)
    assert decide(family, 0, 1000, policy).outcome is RefreshOutcome.REUSE


def test_revoked_family_refuses_everything() -> None:
    family = Family(generation=2, rotated_at=1000, revoked_at=1001)
    for generation in (0, 1, 2):
        assert decide(family, generation, 1002, POLICY).outcome is RefreshOutcome.REVOKED


def test_s06_idle_expiry() -> None:
    family = Family(generation=2, rotated_at=1000)
    assert decide(family, 2, 1000 + 3 * 86_400 - 1, POLICY).outcome is RefreshOutcome.ROTATE
    assert decide(family, 2, 1000 + 3 * 86_400, POLICY).outcome is RefreshOutcome.EXPIRED


def test_s06_absolute_lifetime_under_sliding_use() -> None:
    # Used every day: never idle, yet the family ends 14 days after login.
    family, now = Family(expires_at=family_deadline(0, POLICY)), 0
    while True:
        now += 86_400
        decision = decide(family, family.generation, now, POLICY)
        if decision.outcome is not RefreshOutcome.ROTATE:
            break
        family = Family(
            generation=decision.generation, rotated_at=now, expires_at=family.expires_at
        )
    assert decision.outcome is RefreshOutcome.EXPIRED
    assert now == 14 * 86_400
    assert family.generation == 13
