"""The claim-content rules behind the mint-time payload policy (and the lint tools)."""

from __future__ import annotations

import json
import re

from authwise.core import rules
from authwise.core.rules import (
    NAME_RULES,
    VALUE_RULES,
    luhn_ok,
    normalize_claim_name,
    rules_document,
    scan_claims,
)


def test_normalize_claim_name() -> None:
    assert normalize_claim_name("Client-Secret") == normalize_claim_name("client_secret")
    assert normalize_claim_name("X.API key!") == "xapikey"


def test_luhn() -> None:
    assert luhn_ok("4111 1111 1111 1111")
    assert luhn_ok("4111-1111-1111-1111")
    assert not luhn_ok("4111 1111 1111 1112")
    assert not luhn_ok("4111 1111 111")  # fewer than 13 digits
    assert not luhn_ok("4" * 20)  # more than 19 digits
    assert not luhn_ok("")


def test_findings_name_their_path() -> None:
    findings = scan_claims(
        {"profile": {"email": "a@b.example", "cards": ["4111111111111111"]}, "password": "x"}
    )
    got = {(f.id, f.severity, f.path) for f in findings}
    assert got == {
        ("personal-data-claim-name", "warning", "profile.email"),
        ("email-address", "warning", "profile.email"),
        ("card-number", "error", "profile.cards[0]"),
        ("secret-claim-name", "error", "password"),
    }
    assert all(f.message and f.reason for f in findings)


def test_skip_leaves_names_checked_but_values_unscanned() -> None:
    findings = scan_claims({"jti": "4111111111111111", "sid": "x"}, skip=frozenset({"jti"}))
    assert findings == []
    named = scan_claims({"password": "4111111111111111"}, skip=frozenset({"password"}))
    assert [f.id for f in named] == ["secret-claim-name"]


def test_scanning_is_bounded_in_depth_and_findings() -> None:
    deep: dict[str, object] = {"password": "x"}
    for _ in range(100):
        deep = {"a": deep}
    assert scan_claims(deep) == []  # the secret sits below the depth limit
    many = {f"password{i}": "x" for i in range(500)}
    assert len(scan_claims(many)) == rules._MAX_FINDINGS
    wide = {"a": [{"secret": i} for i in range(500)]}
    assert len(scan_claims(wide)) == rules._MAX_FINDINGS


def test_memos_stay_bounded() -> None:
    for i in range(rules._MEMO_SIZE + 10):
        scan_claims({f"claim{i}": f"value-{i}"})
    assert len(rules._NAME_MEMO) <= rules._MEMO_SIZE
    assert len(rules._VALUE_MEMO) <= rules._MEMO_SIZE
    long_value = "v" * (rules._MEMO_MAX_VALUE + 1)
    scan_claims({"note": long_value})
    assert long_value not in rules._VALUE_MEMO
    # Memoized verdicts are the same as fresh ones.
    assert [f.id for f in scan_claims({"api_key": "AKIAIOSFODNN7EXAMPLE"})] == [
        "secret-claim-name",
        "api-key",
    ]


def test_rules_document_is_json_and_matches_the_rules() -> None:
    document = json.loads(json.dumps(rules_document()))
    assert [r["id"] for r in document["name_rules"]] == [r.id for r in NAME_RULES]
    assert [r["id"] for r in document["value_rules"]] == [r.id for r in VALUE_RULES]
    for rule in document["value_rules"]:
        re.compile(rule["pattern"])
        assert not re.search(r"\\[dsb]", rule["pattern"])  # portable to JavaScript
    assert document["allowed_headers"] == ["alg", "kid", "typ"]
