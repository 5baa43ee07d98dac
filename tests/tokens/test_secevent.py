"""Security Event Tokens: each log event kind to its SSF 1.0 SET and back, and the encoder's
refusals. The decoder's refusals of hostile SETs are in test_secevent_attacks.py."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from authwise import (
    AccessTokenVerifier,
    ClaimsPolicy,
    InvalidClaim,
    KeySet,
    PrivateKey,
    SecurityEvent,
    TokenError,
    UnsupportedToken,
    decode_security_event,
    decode_unverified,
    encode_security_event,
)
from authwise.core import secevent

from .helpers import AUDIENCE, ISSUER, NOW

REPO_ROOT = Path(__file__).absolute().parents[2]
NOT_BEFORE = NOW - 5
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"


@dataclass(frozen=True, kw_only=True)
class Event:
    """The shape of one change-log event (the storage layer defines the real one)."""

    kind: str
    id: str = "evt-7f3a9c"
    at: int = NOW
    user_id: str | None = None
    sid: str | None = None
    jti: str | None = None
    issuer: str = ISSUER
    not_before: int = 0
    data: Mapping[str, Any] = field(default_factory=dict)


def user(uid: str = "u-42") -> dict[str, Any]:
    return {"format": "complex", "user": {"format": "opaque", "id": uid}}


# kind -> (the event, the sub_id and events claims of its SET, what decoding gives back)
CASES: dict[str, tuple[Event, dict[str, Any], dict[str, Any]]] = {
    "session_revoked": (
        Event(kind="session_revoked", user_id="u-42", sid="fam-9"),
        {
            "sub_id": {
                "format": "complex",
                "session": {"format": "opaque", "id": "fam-9"},
                "user": {"format": "opaque", "id": "u-42"},
            },
            "events": {CAEP + "session-revoked": {"event_timestamp": NOW}},
        },
        {"user_id": "u-42", "sid": "fam-9"},
    ),
    "sessions_revoked": (
        Event(kind="sessions_revoked", user_id="u-42", not_before=NOT_BEFORE),
        {
            "sub_id": user(),
            "events": {CAEP + "session-revoked": {"event_timestamp": NOT_BEFORE}},
        },
        {"user_id": "u-42", "not_before": NOT_BEFORE},
    ),
    "token_revoked": (
        Event(kind="token_revoked", jti="at-jti-1", issuer="https://other.example.com"),
        {
            "sub_id": {"format": "jwt_id", "iss": "https://other.example.com", "jti": "at-jti-1"},
            "events": {
                "https://schemas.openid.net/secevent/oauth/event-type/token-revoked": {
                    "event_timestamp": NOW
                }
            },
        },
        {"jti": "at-jti-1", "token_issuer": "https://other.example.com"},
    ),
    "claims_changed": (
        Event(
            kind="claims_changed",
            user_id="u-42",
            not_before=NOT_BEFORE,
            data={"roles": ["auditor", "reader"], "tenant": "acme"},
        ),
        {
            "sub_id": user(),
            "events": {
                CAEP + "token-claims-change": {
                    "event_timestamp": NOT_BEFORE,
                    "claims": {"roles": ["auditor", "reader"], "tenant": "acme"},
                }
            },
        },
        {
            "user_id": "u-42",
            "not_before": NOT_BEFORE,
            "roles": ("auditor", "reader"),
            "tenant": "acme",
        },
    ),
    "credential_changed": (
        Event(kind="credential_changed", user_id="u-42", not_before=NOT_BEFORE),
        {
            "sub_id": user(),
            "events": {
                CAEP + "credential-change": {
                    "event_timestamp": NOT_BEFORE,
                    "credential_type": "password",
                    "change_type": "update",
                }
            },
        },
        {"user_id": "u-42", "not_before": NOT_BEFORE},
    ),
    "account_disabled": (
        Event(
            kind="account_disabled",
            user_id="u-42",
            not_before=NOT_BEFORE,
            data={"reason": "admin"},
        ),
        {
            "sub_id": user(),
            "events": {
                RISC + "account-disabled": {
                    "event_timestamp": NOT_BEFORE,
                    "reason_admin": {"en": "admin"},
                }
            },
        },
        {"user_id": "u-42", "not_before": NOT_BEFORE, "reason": "admin"},
    ),
    "account_enabled": (
        Event(kind="account_enabled", user_id="u-42"),
        {"sub_id": user(), "events": {RISC + "account-enabled": {"event_timestamp": NOW}}},
        {"user_id": "u-42"},
    ),
    "key_retired": (
        Event(kind="key_retired", data={"kid": "old-kid-1"}),
        {
            "sub_id": {"format": "opaque", "id": "old-kid-1"},
            "events": {"urn:authwise:secevent:event-type:key-retired": {"event_timestamp": NOW}},
        },
        {"kid": "old-kid-1"},
    ),
}
INTERNAL_KINDS = ["session_rotated", "keys_changed", "client_revoked", "client_changed", "x"]


def encode(event: Event, key: PrivateKey, audience: Any = AUDIENCE, **kwargs: Any) -> str:
    return encode_security_event(event, issuer=ISSUER, audience=audience, key=key, **kwargs)


def decode(token: str, key: PrivateKey, audience: str | None = AUDIENCE) -> SecurityEvent:
    return decode_security_event(token, keys=KeySet([key.public]), issuer=ISSUER, audience=audience)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_kind_round_trips_with_every_algorithm(any_key: PrivateKey, kind: str) -> None:
    event, _, expected = CASES[kind]
    decoded = decode(encode(event, any_key), any_key)
    absent = {
        "user_id": None,
        "sid": None,
        "jti": None,
        "token_issuer": None,
        "not_before": 0,
        "roles": None,
        "tenant": None,
        "kid": None,
        "reason": None,
    }
    assert decoded.kind == kind
    assert decoded.event_type == next(iter(CASES[kind][1]["events"]))
    assert (decoded.id, decoded.at) == (event.id, event.at)
    for name, value in {**absent, **expected}.items():
        assert getattr(decoded, name) == value, name


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_kind_has_its_documented_claims(es256: PrivateKey, kind: str) -> None:
    event, subject_and_events, _ = CASES[kind]
    token = encode(event, es256)
    parsed = decode_unverified(token)
    assert parsed.header == {"alg": "ES256", "kid": es256.kid, "typ": "secevent+jwt"}
    assert parsed.payload == {
        "iss": ISSUER,
        "jti": event.id,
        "iat": NOW,
        "aud": AUDIENCE,
        "txn": event.id,
        **subject_and_events,
    }


def test_a_session_revoked_without_a_known_user_names_only_the_session(
    es256: PrivateKey,
) -> None:
    token = encode(Event(kind="session_revoked", sid="s-1"), es256)
    assert decode_unverified(token).payload["sub_id"] == {
        "format": "complex",
        "session": {"format": "opaque", "id": "s-1"},
    }
    decoded = decode(token, es256)
    assert (decoded.kind, decoded.sid, decoded.user_id) == ("session_revoked", "s-1", None)


def test_user_wide_kinds_carry_the_not_before_as_event_timestamp(es256: PrivateKey) -> None:
    for kind in ("sessions_revoked", "claims_changed", "credential_changed", "account_disabled"):
        event = replace(CASES[kind][0], not_before=NOW - 1234)
        (members,) = decode_unverified(encode(event, es256)).payload["events"].values()
        assert members["event_timestamp"] == NOW - 1234
        assert decode(encode(event, es256), es256).not_before == NOW - 1234


def test_an_empty_role_list_and_no_tenant_are_a_change_too(es256: PrivateKey) -> None:
    event = Event(
        kind="claims_changed", user_id="u-1", not_before=NOW, data={"roles": (), "tenant": None}
    )
    decoded = decode(encode(event, es256), es256)
    assert (decoded.roles, decoded.tenant) == ((), None)
    (members,) = decoded.claims["events"].values()
    assert members["claims"] == {"roles": (), "tenant": None}


def test_audience_forms(es256: PrivateKey) -> None:
    event = CASES["account_enabled"][0]
    two = encode(event, es256, audience=["https://a.example", AUDIENCE])
    assert decode_unverified(two).payload["aud"] == ["https://a.example", AUDIENCE]
    assert decode(two, es256).kind == "account_enabled"
    none = encode(event, es256, audience=None)
    assert "aud" not in decode_unverified(none).payload
    assert decode(none, es256, audience=None).kind == "account_enabled"
    # A receiver that expects no audience still reads an audience-restricted SET.
    assert decode(two, es256, audience=None).kind == "account_enabled"


def test_txn_ties_sets_of_one_cause(es256: PrivateKey) -> None:
    token = encode(CASES["credential_changed"][0], es256, txn="change-77")
    assert decode_unverified(token).payload["txn"] == "change-77"
    assert decode(token, es256).claims["txn"] == "change-77"


def test_the_claims_given_back_are_read_only_all_the_way_down(es256: PrivateKey) -> None:
    decoded = decode(encode(CASES["claims_changed"][0], es256), es256)
    with pytest.raises(TypeError):
        decoded.claims["iss"] = "https://evil.example"  # type: ignore[index]
    (members,) = decoded.claims["events"].values()
    with pytest.raises(TypeError):
        members["claims"]["tenant"] = "evil"
    assert isinstance(members["claims"]["roles"], tuple)
    assert decoded.claims["sub_id"]["user"]["id"] == "u-42"


@pytest.mark.parametrize("kind", INTERNAL_KINDS)
def test_internal_kinds_are_never_encoded(es256: PrivateKey, kind: str) -> None:
    with pytest.raises(ValueError, match="internal or unknown"):
        encode(Event(kind=kind, user_id="u-1", sid="s-1"), es256)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Event(kind="session_revoked"), "sid"),
        (Event(kind="session_revoked", sid="s\x00"), "sid"),
        (Event(kind="session_revoked", sid="s", user_id=""), "user_id"),
        (Event(kind="sessions_revoked", not_before=NOW), "user_id"),
        (Event(kind="sessions_revoked", user_id="u"), "not_before"),
        (Event(kind="credential_changed", user_id="u", not_before=-1), "not_before"),
        (Event(kind="account_disabled", user_id="u", not_before=True), "not_before"),
        (Event(kind="token_revoked", issuer=ISSUER), "jti"),
        (Event(kind="token_revoked", jti="j", issuer=""), "issuer"),
        (Event(kind="key_retired"), "data.kid"),
        (Event(kind="key_retired", data={"kid": 7}), "data.kid"),
        (Event(kind="claims_changed", user_id="u", not_before=NOW), "roles"),
        (
            Event(kind="claims_changed", user_id="u", not_before=NOW, data={"roles": "admin"}),
            "roles",
        ),
        (Event(kind="claims_changed", user_id="u", not_before=NOW, data={"roles": [1]}), "roles"),
        (
            Event(
                kind="claims_changed", user_id="u", not_before=NOW, data={"roles": [], "tenant": 3}
            ),
            "tenant",
        ),
        (Event(kind="account_enabled", user_id="u", data={"reason": ""}), "reason"),
        (Event(kind="account_enabled", user_id="u", data={"reason": "x" * 257}), "reason"),
        (Event(kind="account_enabled", user_id="u", id=""), "id"),
        (Event(kind="account_enabled", user_id="u", at=0), "at"),
        (Event(kind="account_enabled", user_id="u", at=1.5), "at"),  # type: ignore[arg-type]
        (Event(kind="account_enabled", user_id="u" * 256), "user_id"),
    ],
)
def test_malformed_events_are_refused_before_signing(
    es256: PrivateKey, event: Event, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        encode(event, es256)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"audience": []}, "empty list"),
        ({"audience": ["ok", ""]}, "every audience"),
        ({"audience": [3]}, "every audience"),
        ({"txn": ""}, "txn"),
    ],
)
def test_bad_envelope_arguments_are_refused(
    es256: PrivateKey, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode(CASES["account_enabled"][0], es256, **kwargs)


def test_an_empty_issuer_is_refused(es256: PrivateKey) -> None:
    with pytest.raises(ValueError, match="issuer"):
        encode_security_event(CASES["account_enabled"][0], issuer="", audience=None, key=es256)


def test_a_set_too_big_to_decode_is_never_minted(es256: PrivateKey) -> None:
    roles = [f"role-{i:04d}-{'x' * 40}" for i in range(200)]
    event = Event(kind="claims_changed", user_id="u", not_before=NOW, data={"roles": roles})
    with pytest.raises(ValueError, match="over 8192"):
        encode(event, es256)
    assert secevent.MAX_SET_BYTES == 8192


def test_a_set_is_never_accepted_as_an_access_token(es256: PrivateKey) -> None:
    token = encode(CASES["sessions_revoked"][0], es256)
    verifier = AccessTokenVerifier(
        keys=KeySet([es256.public]), claims=ClaimsPolicy.create(ISSUER, AUDIENCE), cache=None
    )
    with pytest.raises(UnsupportedToken, match="at\\+jwt"):
        verifier.verify(token, NOW)
    # Read with the SET's own typ, it still lacks what an access token needs (exp, sub).
    verifier.typ = "secevent+jwt"
    with pytest.raises(InvalidClaim, match="required"):
        verifier.verify(token, NOW)


def test_errors_carry_machine_codes(es256: PrivateKey) -> None:
    token = encode(CASES["account_enabled"][0], es256)
    with pytest.raises(TokenError) as caught:
        decode_security_event(token, keys=KeySet([es256.public]), issuer="https://x", audience=None)
    assert caught.value.code == "invalid_claim"
    assert caught.value.claim == "iss"  # type: ignore[attr-defined]


def test_the_example_in_docs_is_what_the_encoder_writes(es256: PrivateKey) -> None:
    text = (REPO_ROOT / "docs" / "events.md").read_text()
    example = re.search(r"<!-- example-set -->\s*```json\n(.*?)```", text, re.DOTALL)
    assert example is not None, "docs/events.md lost its example SET"
    documented = json.loads(example.group(1))
    event = Event(
        kind="claims_changed",
        id="evt-0c9b2e7d",
        at=1_764_820_800,
        user_id="u-42",
        not_before=1_764_820_800,
        data={"roles": ["auditor"], "tenant": "acme"},
    )
    token = encode_security_event(
        event, issuer="https://auth.example.com", audience="https://api.example.com", key=es256
    )
    assert documented["payload"] == decode_unverified(token).payload
    assert documented["header"] == {**decode_unverified(token).header, "kid": "<the key's kid>"}
