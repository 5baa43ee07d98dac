"""The shared rule definition: its scan, its memos and its bounds (the linter and the mint-time
payload policy both run it)."""

from __future__ import annotations

from typing import Any

from authwise.core import rules
from authwise.core.rules import luhn_ok, normalize_claim_name, scan_claims


def test_luhn() -> None:
    assert luhn_ok("4111 1111 1111 1111")
    assert luhn_ok("5555555555554444")
    assert not luhn_ok("5555555555554445")
    assert not luhn_ok("123")


def test_normalized_names() -> None:
    assert normalize_claim_name("Client-Secret") == normalize_claim_name("client_secret")


def test_memos_stay_bounded() -> None:
    claims = {f"claim{i}": f"value {i}" for i in range(rules._MEMO_SIZE + 10)}
    assert scan_claims(claims) == []
    assert len(rules._NAME_MEMO) <= rules._MEMO_SIZE
    assert len(rules._VALUE_MEMO) <= rules._MEMO_SIZE
    long_value = "x" * (rules._MEMO_MAX_VALUE + 1)
    assert scan_claims({"a": long_value}) == []
    assert long_value not in rules._VALUE_MEMO


def test_scan_is_bounded_in_depth_and_findings() -> None:
    deep: Any = {"password": "x"}
    for _ in range(40):
        deep = {"n": deep}
    assert scan_claims(deep) == []
    many = {f"password{i}": "x" for i in range(150)}
    assert len(scan_claims(many)) == rules.THRESHOLDS["max_findings"]
    nested = {"a": {f"password{i}": "x" for i in range(150)}, "b": {"secret": "x"}}
    assert all(f.path and f.path.startswith("a.") for f in scan_claims(nested))


def test_skip_checks_names_but_not_values() -> None:
    found = scan_claims({"jti": "ada@example.com"}, skip=frozenset({"jti"}))
    assert found == []
