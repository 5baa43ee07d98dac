"""The key ring: next -> active -> retiring -> retired, and rotate() as a pure function."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from authwise import InvalidKey, KeyRing, KeyState, PrivateKey, RotationPolicy, UnknownKey, rotate
from authwise.core.keyring import KeyEntry

from .helpers import NOW, claims, make_verifier, sign_as

DAY = 86_400
POLICY = RotationPolicy(rotate_after=30 * DAY, publish_ahead=DAY, retire_after=DAY)


@pytest.fixture(scope="module")
def pool() -> list[PrivateKey]:
    return [PrivateKey.generate("Ed25519") for _ in range(8)]


@pytest.fixture
def make_key() -> Callable[[], PrivateKey]:
    return lambda: PrivateKey.generate("Ed25519")


def states(ring: KeyRing) -> list[tuple[str, KeyState, int]]:
    return [(e.kid, e.state, e.since) for e in ring.entries]


# --- policy and ring invariants -----------------------------------------------------------


def test_policy_defaults_outlive_the_longest_token() -> None:
    policy = RotationPolicy()
    assert policy.retire_after >= policy.max_token_ttl == 900
    assert policy.rotate_after == 90 * DAY


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rotate_after": 0},
        {"publish_ahead": -1},
        {"retire_after": 899},
        {"retire_after": 60, "max_token_ttl": 61},
    ],
)
def test_policy_validation(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        RotationPolicy(**kwargs)


def test_ring_refuses_duplicate_kids_and_two_active_keys(pool: list[PrivateKey]) -> None:
    a, b = pool[0], pool[1]
    with pytest.raises(InvalidKey, match="duplicate"):
        KeyRing(
            (
                KeyEntry(key=a, state=KeyState.NEXT, since=0),
                KeyEntry(key=a, state=KeyState.RETIRING, since=0),
            )
        )
    with pytest.raises(InvalidKey, match="at most one active"):
        KeyRing(
            (
                KeyEntry(key=a, state=KeyState.ACTIVE, since=0),
                KeyEntry(key=b, state=KeyState.ACTIVE, since=0),
            )
        )


def test_empty_ring_has_no_active_key() -> None:
    with pytest.raises(InvalidKey, match="no active key"):
        _ = KeyRing().active
    assert KeyRing.from_keys([], NOW) == KeyRing()


def test_states_decide_signing_verification_and_publication(pool: list[PrivateKey]) -> None:
    nxt, active, retiring, retired = pool[:4]
    ring = KeyRing(
        (
            KeyEntry(key=retired, state=KeyState.RETIRED, since=NOW),
            KeyEntry(key=retiring, state=KeyState.RETIRING, since=NOW),
            KeyEntry(key=active, state=KeyState.ACTIVE, since=NOW),
            KeyEntry(key=nxt, state=KeyState.NEXT, since=NOW),
        )
    )
    assert ring.active is active
    assert set(ring.verification_keys()) == {active.kid, retiring.kid}
    assert set(ring.published_keys()) == {nxt.kid, active.kid, retiring.kid}
    assert {jwk["kid"] for jwk in ring.jwks()["keys"]} == {nxt.kid, active.kid, retiring.kid}
    assert all("d" not in jwk for jwk in ring.jwks()["keys"])
    assert ring.find(retired.kid) is not None
    assert ring.find("nope") is None


def test_from_keys_makes_the_last_key_active(pool: list[PrivateKey]) -> None:
    ring = KeyRing.from_keys(pool[:3], NOW)
    assert [e.state for e in ring.entries] == [
        KeyState.RETIRING,
        KeyState.RETIRING,
        KeyState.ACTIVE,
    ]
    assert ring.active is pool[2]


def test_add_next_and_add_active(pool: list[PrivateKey]) -> None:
    ring = KeyRing.from_keys([pool[0]], NOW).add(pool[1], NOW + 1)
    assert ring.find(pool[1].kid).state is KeyState.NEXT  # type: ignore[union-attr]
    ring = ring.add(pool[2], NOW + 2, KeyState.ACTIVE)
    assert ring.active is pool[2]
    old = ring.find(pool[0].kid)
    assert old is not None
    assert (old.state, old.since) == (KeyState.RETIRING, NOW + 2)


def test_retire_stops_trusting_a_key_at_once(pool: list[PrivateKey]) -> None:
    ring = KeyRing.from_keys(pool[:2], NOW).add(pool[2], NOW)
    for kid in (pool[0].kid, pool[2].kid):  # a retiring and a next key
        ring = ring.retire(kid, NOW + 5)
        entry = ring.find(kid)
        assert entry is not None
        assert (entry.state, entry.since) == (KeyState.RETIRED, NOW + 5)
        assert kid not in ring.verification_keys()
        assert kid not in ring.published_keys()
    with pytest.raises(InvalidKey, match="rotate before"):
        ring.retire(pool[1].kid, NOW)
    with pytest.raises(InvalidKey, match="no such key"):
        ring.retire("nope", NOW)


# --- rotate -------------------------------------------------------------------------------


def test_first_start_makes_an_active_and_a_next_key(make_key: Callable[[], PrivateKey]) -> None:
    ring = rotate(KeyRing(), NOW, POLICY, make_key)
    assert [e.state for e in ring.entries] == [KeyState.ACTIVE, KeyState.NEXT]
    assert all(e.since == NOW for e in ring.entries)


def test_a_lone_next_key_becomes_active_at_once(
    pool: list[PrivateKey], make_key: Callable[[], PrivateKey]
) -> None:
    ring = KeyRing().add(pool[5], NOW - 10)
    ring = rotate(ring, NOW, POLICY, make_key)
    assert ring.active is pool[5]
    assert [e.state for e in ring.entries] == [KeyState.ACTIVE, KeyState.NEXT]


def test_rotate_is_pure(make_key: Callable[[], PrivateKey]) -> None:
    ring = rotate(KeyRing(), NOW, POLICY, make_key)
    before = states(ring)
    later = rotate(ring, NOW + 31 * DAY, POLICY, make_key)
    assert states(ring) == before
    assert later is not ring
    # Nothing is due: the same ring comes back, entry for entry, and no key is made.
    calls: list[int] = []

    def counting() -> PrivateKey:
        calls.append(1)
        return make_key()

    assert states(rotate(ring, NOW + DAY, POLICY, counting)) == before
    assert calls == []


def test_active_key_hands_over_after_rotate_after(make_key: Callable[[], PrivateKey]) -> None:
    ring = rotate(KeyRing(), NOW, POLICY, make_key)
    first, second = ring.entries[0].kid, ring.entries[1].kid
    at = NOW + POLICY.rotate_after
    rotated = rotate(ring, at, POLICY, make_key)
    assert rotated.active.kid == second
    old = rotated.find(first)
    assert old is not None
    assert (old.state, old.since) == (KeyState.RETIRING, at)
    assert [e.state for e in rotated.entries][-1] is KeyState.NEXT  # a new successor
    assert first in rotated.verification_keys()
    assert len(rotated.published_keys()) == 3


def test_handover_waits_until_the_next_key_was_published_long_enough(
    pool: list[PrivateKey], make_key: Callable[[], PrivateKey]
) -> None:
    ring = KeyRing.from_keys([pool[0]], NOW - 100 * DAY)  # overdue, and no next key yet
    ring = rotate(ring, NOW, POLICY, make_key)
    assert ring.active is pool[0]
    nxt = [e for e in ring.entries if e.state is KeyState.NEXT]
    assert len(nxt) == 1
    assert nxt[0].since == NOW
    # Still too early: verifiers caching the JWKS for publish_ahead may not know it yet.
    assert rotate(ring, NOW + POLICY.publish_ahead - 1, POLICY, make_key).active is pool[0]
    assert rotate(ring, NOW + POLICY.publish_ahead, POLICY, make_key).active is nxt[0].key


def test_force_rotates_at_once_with_or_without_a_next_key(
    pool: list[PrivateKey], make_key: Callable[[], PrivateKey]
) -> None:
    with_next = rotate(KeyRing(), NOW, POLICY, make_key)
    forced = rotate(with_next, NOW + 1, POLICY, make_key, force=True)
    assert forced.active.kid == with_next.entries[1].kid
    without_next = KeyRing.from_keys([pool[0]], NOW)
    forced = rotate(without_next, NOW + 1, POLICY, make_key, force=True)
    assert forced.active is not pool[0]
    assert forced.find(pool[0].kid).state is KeyState.RETIRING  # type: ignore[union-attr]
    assert [e.state for e in forced.entries].count(KeyState.NEXT) == 1


def test_retiring_keys_retire_after_retire_after(make_key: Callable[[], PrivateKey]) -> None:
    ring = rotate(KeyRing(), NOW, POLICY, make_key)
    old = ring.active.kid
    ring = rotate(ring, NOW + 1, POLICY, make_key, force=True)
    due = NOW + 1 + POLICY.retire_after
    early = rotate(ring, due - 1, POLICY, make_key).find(old)
    assert early is not None
    assert early.state is KeyState.RETIRING
    later = rotate(ring, due, POLICY, make_key)
    entry = later.find(old)
    assert entry is not None
    assert (entry.state, entry.since) == (KeyState.RETIRED, due)
    assert old not in later.verification_keys()
    assert old not in later.published_keys()


def test_every_state_in_order_over_a_keys_life(make_key: Callable[[], PrivateKey]) -> None:
    ring = rotate(KeyRing(), NOW, POLICY, make_key)
    tracked = ring.entries[1].kid  # born NEXT
    seen = [ring.find(tracked).state]  # type: ignore[union-attr]
    t = NOW
    for _ in range(8):
        t += POLICY.rotate_after
        ring = rotate(ring, t, POLICY, make_key)
        entry = ring.find(tracked)
        state = entry.state if entry is not None else None
        if state is not seen[-1]:
            seen.append(state)
    # Retired, then dropped from the ring: its private key is not kept for nothing.
    assert seen == [KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRING, KeyState.RETIRED, None]


def test_tokens_verify_through_rotation_until_their_key_retires(
    make_key: Callable[[], PrivateKey],
) -> None:
    ring = rotate(KeyRing(), NOW, POLICY, make_key)
    token = sign_as(ring.active, claims(exp=NOW + 10 * DAY))
    ring = rotate(ring, NOW + 1, POLICY, make_key, force=True)  # old key now retiring
    verifier = make_verifier(cache=None)
    verifier.update_keys(ring.verification_keys())
    assert verifier.verify(token, NOW + 2).sub == "user-1"
    ring = rotate(ring, NOW + 1 + POLICY.retire_after, POLICY, make_key)
    verifier.update_keys(ring.verification_keys())
    with pytest.raises(UnknownKey):
        verifier.verify(token, NOW + 3)
