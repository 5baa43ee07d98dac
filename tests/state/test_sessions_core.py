"""core.sessions: IDs, digests and the session life cycle with an injected clock (S01, S02,
S06, S09)."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from authwise.core._b64 import b64url_decode
from authwise.core.sessions import (
    SESSION_PREFIX,
    SessionPolicy,
    SessionState,
    check,
    digests_equal,
    in_rotation_grace,
    is_well_formed,
    new_handle,
    new_secret,
    new_session_id,
    secret_digest,
    start_deadlines,
    successor_id,
)

POLICY = SessionPolicy()  # 30 min idle, 8 h absolute, touch once a minute


@dataclass(frozen=True)
class Times:
    created_at: int = 0
    rotated_at: int = 0
    last_seen: int = 0


def test_s02_ten_thousand_ids_are_distinct_256_bit_and_unstructured() -> None:
    ids = [new_session_id().session_id for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    raw = [b64url_decode(i.removeprefix(SESSION_PREFIX)) for i in ids]
    assert all(i.startswith(SESSION_PREFIX) for i in ids)
    assert {len(r) for r in raw} == {32}  # 256 bits, >= 128 asked
    # No structure: every bit position is set in about half the samples (binomial, n=10k:
    # 6 standard deviations is 300), and byte values are spread evenly over 320k bytes.
    for bit in range(256):
        ones = sum((r[bit // 8] >> (bit % 8)) & 1 for r in raw)
        assert abs(ones - 5000) < 300, bit
    counts = Counter(b for r in raw for b in r)
    expected = 10_000 * 32 / 256
    chi2 = sum((counts.get(v, 0) - expected) ** 2 / expected for v in range(256))
    assert chi2 < 255 + 6 * math.sqrt(2 * 255)
    # No two IDs share a long prefix (what a counter or a timestamp would leave).
    prefixes = Counter(r[:4] for r in raw)
    assert max(prefixes.values()) == 1


def test_ids_are_stored_as_sha256_digests_only() -> None:
    fresh = new_session_id()
    assert fresh.digest == hashlib.sha256(fresh.session_id.encode()).digest()
    assert fresh.digest == secret_digest(fresh.session_id)
    assert fresh.session_id not in repr(fresh)


def test_handles_are_distinct_and_not_secret_shaped() -> None:
    handles = {new_handle() for _ in range(1000)}
    assert len(handles) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", h) for h in handles)
    assert not any(is_well_formed(h, SESSION_PREFIX) for h in handles)


@pytest.mark.parametrize(
    "value",
    [
        "",
        SESSION_PREFIX,
        "aw_s_" + "A" * 42,
        "aw_s_" + "A" * 44,
        "aw_s_" + "A" * 42 + "=",
        "aw_s_" + "A" * 42 + "+",
        "aw_rt_" + "A" * 43,
        "AW_S_" + "A" * 43,
        "x" * 10_000,
    ],
)
def test_ids_never_issued_are_refused_by_shape(value: str) -> None:
    assert not is_well_formed(value, SESSION_PREFIX)


def test_well_formed_accepts_what_we_issue() -> None:
    assert is_well_formed(new_secret(SESSION_PREFIX), SESSION_PREFIX)
    assert is_well_formed(new_secret("aw_cs_"), "aw_cs_")


def test_s09_digest_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert digests_equal(b"a" * 32, b"a" * 32)
    assert not digests_equal(b"a" * 32, b"b" * 32)
    assert len(calls) == 2


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="idle_timeout"):
        SessionPolicy(idle_timeout=0)
    with pytest.raises(ValueError, match="idle_timeout"):
        SessionPolicy(idle_timeout=100, absolute_timeout=50)
    with pytest.raises(ValueError, match="touch_interval"):
        SessionPolicy(idle_timeout=60, touch_interval=60)
    with pytest.raises(ValueError, match="touch_interval"):
        SessionPolicy(touch_interval=-1)


def test_start_deadlines() -> None:
    assert start_deadlines(1000, POLICY) == (1000 + 1800, 1000 + 8 * 3600)


def test_fresh_activity_is_not_written() -> None:
    decision = check(Times(last_seen=0), 59, POLICY)
    assert decision.active
    assert not decision.touch
    assert not decision.rotate


def test_activity_is_written_once_a_minute_and_slides_the_deadline() -> None:
    decision = check(Times(last_seen=0), 60, POLICY)
    assert decision.active
    assert decision.touch
    assert decision.expires_at == 60 + 1800


def test_s06_idle_timeout() -> None:
    assert check(Times(last_seen=100), 100 + 1799, POLICY).active
    decision = check(Times(last_seen=100), 100 + 1800, POLICY)
    assert decision.state is SessionState.IDLE_EXPIRED
    assert not decision.active


def test_s06_absolute_timeout_under_sliding_use() -> None:
    # Active every 20 minutes for 8 hours: the idle timeout never strikes, the absolute does.
    t, times = 0, Times()
    while True:
        t += 1200
        decision = check(times, t, POLICY)
        if not decision.active:
            break
        assert decision.touch
        assert decision.expires_at <= 8 * 3600
        times = Times(created_at=0, rotated_at=0, last_seen=t)
    assert decision.state is SessionState.ABSOLUTE_EXPIRED
    assert t == 8 * 3600


def test_deadline_never_passes_the_absolute_one() -> None:
    decision = check(Times(last_seen=8 * 3600 - 100), 8 * 3600 - 10, POLICY)
    assert decision.expires_at == 8 * 3600


def test_privilege_change_rotates_the_id() -> None:
    times = Times(rotated_at=100, last_seen=100)
    assert not check(times, 110, POLICY, not_before=100).rotate
    decision = check(times, 110, POLICY, not_before=101)
    assert decision.rotate
    assert decision.touch
    assert decision.expires_at == 110 + 1800


def test_an_expired_session_is_not_rotated() -> None:
    decision = check(Times(last_seen=0), 5000, POLICY, not_before=4000)
    assert not decision.active
    assert not decision.rotate


def test_rotation_grace_is_bounded() -> None:
    assert SessionPolicy(rotation_grace=0).rotation_grace == 0
    with pytest.raises(ValueError, match="rotation_grace"):
        SessionPolicy(rotation_grace=61)
    with pytest.raises(ValueError, match="rotation_grace"):
        SessionPolicy(rotation_grace=-1)


def test_successor_ids_are_derived_under_a_key() -> None:
    key = b"k" * 32
    first = successor_id(key, "handle", "aw_s_old")
    assert first == successor_id(key, "handle", "aw_s_old")  # the same old ID, the same new one
    assert first.session_id.startswith("aw_s_")
    assert is_well_formed(first.session_id, "aw_s_")
    assert first.digest == secret_digest(first.session_id)
    others = {
        successor_id(b"x" * 32, "handle", "aw_s_old").session_id,
        successor_id(key, "other", "aw_s_old").session_id,
        successor_id(key, "handle", "aw_s_older").session_id,
    }
    assert first.session_id not in others
    assert len(others) == 3
    with pytest.raises(ValueError, match="256 bits"):
        successor_id(b"short", "handle", "aw_s_old")


def test_the_grace_window_counts_from_the_rotation() -> None:
    policy = SessionPolicy(rotation_grace=10)
    rotated = SimpleNamespace(created_at=0, rotated_at=1000, last_seen=1000)
    assert in_rotation_grace(rotated, 999, policy)  # stamped a second ahead
    assert in_rotation_grace(rotated, 1009, policy)
    assert not in_rotation_grace(rotated, 1010, policy)
