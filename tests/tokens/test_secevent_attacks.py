"""The SET decoder refuses hostile and malformed SETs (hand-built: no authwise code on the
attacker's side), and accepts what SSF 1.0 says a receiver must tolerate."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from authwise import (
    BadSignature,
    InvalidClaim,
    KeySet,
    MalformedToken,
    PrivateKey,
    SecurityEvent,
    TokenError,
    UnknownKey,
    UnsupportedToken,
    decode_security_event,
)

from .helpers import AUDIENCE, ISSUER, NOW, b64, b64json, forge

SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
CLAIMS_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
TOKEN_REVOKED = "https://schemas.openid.net/secevent/oauth/event-type/token-revoked"
KEY_RETIRED = "urn:authwise:secevent:event-type:key-retired"
USER = {"format": "complex", "user": {"format": "opaque", "id": "u-1"}}


def set_claims(**overrides: Any) -> dict[str, Any]:
    """A valid sessions_revoked SET at NOW; ``None`` removes a claim."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "jti": "evt-1",
        "iat": NOW,
        "aud": AUDIENCE,
        "sub_id": USER,
        "events": {SESSION_REVOKED: {"event_timestamp": NOW - 1}},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def one_event(event_type: str, sub_id: Any, **members: Any) -> dict[str, Any]:
    return set_claims(sub_id=sub_id, events={event_type: {"event_timestamp": NOW, **members}})


def header(key: PrivateKey, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "secevent+jwt"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: PrivateKey, payload: dict[str, Any] | str, **head: Any) -> str:
    return forge(header(key, **head), payload, key)


def decode(token: str, *keys: PrivateKey, audience: str | None = AUDIENCE) -> SecurityEvent:
    return decode_security_event(
        token, keys=KeySet(k.public for k in keys), issuer=ISSUER, audience=audience
    )


def test_a_hand_built_set_decodes(es256: PrivateKey) -> None:
    decoded = decode(sign(es256, set_claims()), es256)
    assert (decoded.kind, decoded.user_id, decoded.not_before) == (
        "sessions_revoked",
        "u-1",
        NOW - 1,
    )


@pytest.mark.parametrize("typ", ["at+jwt", "JWT", "secevent", "secevent+jwt+x", None, 1])
def test_the_typ_must_be_secevent_jwt(es256: PrivateKey, typ: Any) -> None:
    with pytest.raises(UnsupportedToken, match="typ"):
        decode(sign(es256, set_claims(), typ=typ), es256)


def test_the_media_type_spelling_of_typ_is_accepted(es256: PrivateKey) -> None:
    # RFC 7515 section 4.1.9: "application/" may be omitted, so both spellings are one type.
    token = sign(es256, set_claims(), typ="application/secevent+jwt")
    assert decode(token, es256).kind == "sessions_revoked"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", ""])
@pytest.mark.parametrize("signature", [b"", b"sig"])
def test_alg_none_is_refused(es256: PrivateKey, alg: str, signature: bytes) -> None:
    token = forge(header(es256, alg=alg), set_claims(), signature=signature or b"\x00")
    with pytest.raises((UnsupportedToken, MalformedToken)):
        decode(token, es256)


def test_hmac_keyed_with_our_public_key_is_refused(es256: PrivateKey) -> None:
    pem = es256.public.to_pem()
    h, p = b64json(header(es256, alg="HS256")), b64json(set_claims())
    mac = hmac.HMAC(pem, hashes.SHA256())
    mac.update(f"{h}.{p}".encode())
    with pytest.raises(UnsupportedToken, match="HMAC"):
        decode(f"{h}.{p}.{b64(mac.finalize())}", es256)


def test_the_alg_must_be_the_keys_own(rs256: PrivateKey) -> None:
    with pytest.raises(UnsupportedToken, match="alg does not match"):
        decode(sign(rs256, set_claims(), alg="RS512"), rs256)


def test_an_unknown_or_missing_kid_is_refused(es256: PrivateKey) -> None:
    other = PrivateKey.generate("ES256")
    with pytest.raises(UnknownKey):
        decode(sign(other, set_claims()), es256)
    with pytest.raises(UnknownKey, match="kid is required"):
        decode(sign(es256, set_claims(), kid=None), es256)


@pytest.mark.parametrize(
    "extra", [{"jwk": {"kty": "EC"}}, {"jku": "https://evil.example/jwks"}, {"crit": ["exp"]}]
)
def test_header_parameters_beyond_alg_kid_typ_are_refused(
    es256: PrivateKey, extra: dict[str, Any]
) -> None:
    with pytest.raises(UnsupportedToken):
        decode(sign(es256, set_claims(), **extra), es256)


def test_claims_changed_under_the_old_signature_are_refused(es256: PrivateKey) -> None:
    h, _, s = sign(es256, set_claims()).split(".")
    tampered = b64json(set_claims(sub_id={**USER, "user": {"format": "opaque", "id": "u-2"}}))
    with pytest.raises(BadSignature):
        decode(f"{h}.{tampered}.{s}", es256)


def test_a_signature_by_another_trusted_key_is_refused(
    es256: PrivateKey, ed25519: PrivateKey
) -> None:
    h, p, _ = sign(es256, set_claims()).split(".")
    _, _, s = sign(ed25519, set_claims()).split(".")
    with pytest.raises(BadSignature):
        decode(f"{h}.{p}.{s}", es256, ed25519)


@pytest.mark.parametrize("size", [8193, 1_000_000])
def test_oversized_sets_are_refused_before_parsing(es256: PrivateKey, size: int) -> None:
    with pytest.raises(MalformedToken, match="too large"):
        decode("a" * size, es256)


def test_a_set_just_over_the_cap_is_refused_even_when_well_signed(es256: PrivateKey) -> None:
    token = sign(es256, set_claims(pad="x" * 8000))
    assert len(token) > 8192
    with pytest.raises(MalformedToken, match="too large"):
        decode(token, es256)


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "a..c", "a.b.c d", 42])
def test_not_a_compact_jws(es256: PrivateKey, token: Any) -> None:
    with pytest.raises(MalformedToken):
        decode(token, es256)


def test_duplicate_member_names_are_refused(es256: PrivateKey) -> None:
    # Another parser might keep the first iss, ours the last: the SET must mean one thing.
    text = '{"iss":"https://evil.example",' + json.dumps(set_claims())[1:]
    with pytest.raises(MalformedToken, match="duplicate"):
        decode(sign(es256, text), es256)


@pytest.mark.parametrize("name", ["sub", "exp"])
def test_sub_and_exp_are_never_in_a_set(es256: PrivateKey, name: str) -> None:
    with pytest.raises(InvalidClaim, match=name) as caught:
        decode(sign(es256, set_claims(**{name: "u-1" if name == "sub" else NOW + 60})), es256)
    assert caught.value.claim == name


@pytest.mark.parametrize("name", ["iss", "jti", "iat", "sub_id", "events"])
def test_required_members(es256: PrivateKey, name: str) -> None:
    with pytest.raises(InvalidClaim, match="required") as caught:
        decode(sign(es256, set_claims(**{name: None})), es256)
    assert caught.value.claim == name


@pytest.mark.parametrize(
    "iss", [ISSUER + "/", ISSUER[:-1], "https://auth.example.com.evil", [ISSUER], None, 1]
)
def test_the_issuer_must_match_exactly(es256: PrivateKey, iss: Any) -> None:
    payload = set_claims()
    payload["iss"] = iss
    with pytest.raises(InvalidClaim) as caught:
        decode(sign(es256, payload), es256)
    assert caught.value.claim == "iss"


@pytest.mark.parametrize(
    ("aud", "message"),
    [
        ("https://other.example.com", "mismatch"),
        (["https://other.example.com"], "mismatch"),
        ([], "array of strings"),
        ([AUDIENCE, 3], "array of strings"),
        ({"aud": AUDIENCE}, "array of strings"),
        (None, "required"),
    ],
)
def test_the_audience_when_one_is_expected(es256: PrivateKey, aud: Any, message: str) -> None:
    with pytest.raises(InvalidClaim, match=message) as caught:
        decode(sign(es256, set_claims(aud=aud)), es256)
    assert caught.value.claim == "aud"


def test_an_array_audience_naming_ours_is_accepted(es256: PrivateKey) -> None:
    token = sign(es256, set_claims(aud=["https://a.example", AUDIENCE]))
    assert decode(token, es256).kind == "sessions_revoked"


def test_a_malformed_audience_is_refused_even_when_none_is_expected(es256: PrivateKey) -> None:
    with pytest.raises(InvalidClaim, match="aud"):
        decode(sign(es256, set_claims(aud=[])), es256, audience=None)
    payload = set_claims()
    payload["aud"] = None
    with pytest.raises(InvalidClaim, match="aud"):
        decode(sign(es256, payload), es256, audience=None)


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({"jti": ""}, "jti"),
        ({"jti": 7}, "jti"),
        ({"jti": "x" * 256}, "jti"),
        ({"jti": "a\x00b"}, "jti"),
        ({"iat": "1700000000"}, "iat"),
        ({"iat": 1.7e9}, "iat"),
        ({"iat": True}, "iat"),
        ({"iat": 0}, "iat"),
        ({"iat": 10**12}, "iat"),
        ({"txn": 5}, "txn"),
        ({"txn": ""}, "txn"),
    ],
)
def test_envelope_values_are_typed(es256: PrivateKey, claims: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidClaim) as caught:
        decode(sign(es256, set_claims(**claims)), es256)
    assert caught.value.claim == name


@pytest.mark.parametrize(
    "events",
    [
        {},
        [],
        "session-revoked",
        {SESSION_REVOKED: {"event_timestamp": NOW}, CLAIMS_CHANGE: {"event_timestamp": NOW}},
    ],
)
def test_exactly_one_event(es256: PrivateKey, events: Any) -> None:
    with pytest.raises(InvalidClaim, match="exactly one event"):
        decode(sign(es256, set_claims(events=events)), es256)


@pytest.mark.parametrize(
    "event_type",
    [
        "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
        "https://schemas.openid.net/secevent/caep/event-type/session-established",
        "https://schemas.openid.net/secevent/ssf/event-type/verification",
        SESSION_REVOKED.upper(),
        SESSION_REVOKED + "/",
    ],
)
def test_unknown_event_types_are_refused(es256: PrivateKey, event_type: str) -> None:
    token = sign(es256, set_claims(events={event_type: {"event_timestamp": NOW}}))
    with pytest.raises(UnsupportedToken, match="unknown event type"):
        decode(token, es256)


@pytest.mark.parametrize("members", [[], "x", None, 1])
def test_the_event_must_be_an_object(es256: PrivateKey, members: Any) -> None:
    with pytest.raises(InvalidClaim, match="JSON object"):
        decode(sign(es256, set_claims(events={SESSION_REVOKED: members})), es256)


@pytest.mark.parametrize("stamp", [None, "1700000000", 1.5e9, False, 0, -1, 10**12])
def test_event_timestamp_is_a_positive_integer(es256: PrivateKey, stamp: Any) -> None:
    members = {} if stamp is None else {"event_timestamp": stamp}
    with pytest.raises(InvalidClaim) as caught:
        decode(sign(es256, set_claims(events={SESSION_REVOKED: members})), es256)
    assert caught.value.claim == "event_timestamp"


def opaque(value: Any) -> dict[str, Any]:
    return {"format": "opaque", "id": value}


@pytest.mark.parametrize(
    ("event_type", "sub_id"),
    [
        (SESSION_REVOKED, "u-1"),
        (SESSION_REVOKED, opaque("u-1")),  # a simple opaque subject would name a session
        (SESSION_REVOKED, {"format": "complex"}),
        (SESSION_REVOKED, {"user": opaque("u-1")}),
        (SESSION_REVOKED, {**USER, "device": opaque("d-1")}),  # narrows: never ignored
        (SESSION_REVOKED, {**USER, "tenant": opaque("t-1")}),
        (SESSION_REVOKED, {"format": "complex", "user": opaque("")}),
        (SESSION_REVOKED, {"format": "complex", "user": opaque(42)}),
        (SESSION_REVOKED, {"format": "complex", "user": opaque("x" * 256)}),
        (SESSION_REVOKED, {"format": "complex", "user": opaque("u\x00")}),
        (SESSION_REVOKED, {"format": "complex", "user": {**opaque("u-1"), "x": 1}}),
        (SESSION_REVOKED, {"format": "complex", "user": {"format": "email", "email": "a@b.c"}}),
        (SESSION_REVOKED, {"format": "complex", "user": "u-1"}),
        (CLAIMS_CHANGE, {"format": "complex", "session": opaque("s-1")}),
        (CREDENTIAL_CHANGE, opaque("u-1")),
        (TOKEN_REVOKED, USER),
        (TOKEN_REVOKED, {"format": "jwt_id", "iss": ISSUER}),
        (TOKEN_REVOKED, {"format": "jwt_id", "iss": ISSUER, "jti": "j", "sub": "u"}),
        (TOKEN_REVOKED, {"format": "iss_sub", "iss": ISSUER, "jti": "j"}),
        (TOKEN_REVOKED, {"format": "jwt_id", "iss": "", "jti": "j"}),
        (TOKEN_REVOKED, {"format": "jwt_id", "iss": ISSUER, "jti": ["j"]}),
        (KEY_RETIRED, USER),
        (KEY_RETIRED, opaque(None)),
    ],
)
def test_each_event_type_needs_its_subject(es256: PrivateKey, event_type: str, sub_id: Any) -> None:
    members = {"claims": {"roles": [], "tenant": None}} if event_type == CLAIMS_CHANGE else {}
    if event_type == CREDENTIAL_CHANGE:
        members = {"credential_type": "password", "change_type": "update"}
    with pytest.raises(InvalidClaim) as caught:
        decode(sign(es256, one_event(event_type, sub_id, **members)), es256)
    assert caught.value.claim == "sub_id"


def test_an_event_subject_must_agree_with_sub_id(es256: PrivateKey) -> None:
    other = {"format": "complex", "user": opaque("u-2")}
    with pytest.raises(InvalidClaim, match="contradicts"):
        decode(sign(es256, one_event(SESSION_REVOKED, USER, subject=other)), es256)
    # The same subject twice (as CAEP and RISC events once carried it) is no contradiction.
    assert decode(sign(es256, one_event(SESSION_REVOKED, USER, subject=USER)), es256).user_id


@pytest.mark.parametrize(
    "claims",
    [
        None,
        [],
        {},
        {"roles": ["a"]},
        {"roles": ["a"], "tenant": "t", "scope": "admin"},
        {"roles": "admin", "tenant": None},
        {"roles": ["a", 1], "tenant": None},
        {"roles": [""], "tenant": None},
        {"roles": [], "tenant": 5},
        {"roles": [], "tenant": ""},
    ],
)
def test_a_claims_change_carries_exactly_roles_and_tenant(es256: PrivateKey, claims: Any) -> None:
    members = {} if claims is None else {"claims": claims}
    with pytest.raises(InvalidClaim):
        decode(sign(es256, one_event(CLAIMS_CHANGE, USER, **members)), es256)


@pytest.mark.parametrize(
    "members",
    [
        {},
        {"credential_type": "fido2-roaming", "change_type": "create"},
        {"credential_type": "password", "change_type": "delete"},
        {"credential_type": "password"},
    ],
)
def test_only_password_updates_are_credential_changes_we_know(
    es256: PrivateKey, members: dict[str, Any]
) -> None:
    with pytest.raises(UnsupportedToken, match="password"):
        decode(sign(es256, one_event(CREDENTIAL_CHANGE, USER, **members)), es256)


@pytest.mark.parametrize("reasons", [[], "policy", {}, {"en": ""}, {"en": 3}, {"en": "x" * 257}])
def test_reason_admin_is_a_map_of_language_tags_to_text(es256: PrivateKey, reasons: Any) -> None:
    token = sign(es256, one_event(SESSION_REVOKED, USER, reason_admin=reasons))
    with pytest.raises(InvalidClaim) as caught:
        decode(token, es256)
    assert caught.value.claim == "reason_admin"


def test_a_reason_in_another_language_only_is_no_reason(es256: PrivateKey) -> None:
    token = sign(es256, one_event(SESSION_REVOKED, USER, reason_admin={"de": "Richtlinie"}))
    decoded = decode(token, es256)
    assert decoded.reason is None
    assert decoded.claims["events"][SESSION_REVOKED]["reason_admin"]["de"] == "Richtlinie"


def test_members_a_receiver_does_not_understand_are_ignored(es256: PrivateKey) -> None:
    # SSF 1.0 section 4.2.3: receivers MUST ignore fields they do not understand.
    payload = one_event(SESSION_REVOKED, USER, initiating_entity="admin", extra={"a": 1})
    payload["toe"] = NOW
    decoded = decode(sign(es256, payload), es256)
    assert (decoded.kind, decoded.user_id) == ("sessions_revoked", "u-1")
    assert decoded.claims["toe"] == NOW


def test_hmac_keyed_with_our_rsa_public_key_der_is_refused(rs256: PrivateKey) -> None:
    der = rs256.public.key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    h, p = b64json(header(rs256, alg="HS512")), b64json(set_claims())
    mac = hmac.HMAC(der, hashes.SHA512())
    mac.update(f"{h}.{p}".encode())
    with pytest.raises(UnsupportedToken):
        decode(f"{h}.{p}.{b64(mac.finalize())}", rs256)


# Properties (hypothesis): whatever a trusted key signs, the decoder answers with a
# SecurityEvent or a TokenError, never another exception.
PROPERTY = settings(max_examples=150, deadline=None)
PROPERTY_KEY = PrivateKey.generate("ES256")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
ids = st.one_of(st.just({"format": "opaque", "id": "x"}), json_values)
subjects = st.fixed_dictionaries(
    {"format": st.sampled_from(["complex", "opaque", "jwt_id", "email"])},
    optional={"user": ids, "session": ids, "id": json_values, "iss": json_values, "jti": ids},
)
members = st.dictionaries(
    st.sampled_from(
        ["event_timestamp", "claims", "credential_type", "change_type", "reason_admin", "subject"]
    ),
    st.one_of(st.integers(min_value=1, max_value=2**40), json_values),
    max_size=6,
)


def decoded_or_refused(payload: dict[str, Any]) -> None:
    token = sign(PROPERTY_KEY, payload)
    try:
        result = decode(token, PROPERTY_KEY)
    except TokenError:
        return
    assert isinstance(result, SecurityEvent)
    assert result.kind in {
        "session_revoked",
        "sessions_revoked",
        "token_revoked",
        "claims_changed",
        "credential_changed",
        "account_disabled",
        "account_enabled",
        "key_retired",
    }


@PROPERTY
@given(
    name=st.sampled_from(["iss", "jti", "iat", "aud", "txn", "sub_id", "events", "sub", "exp"]),
    value=json_values,
)
def test_any_envelope_value_is_decoded_or_refused(name: str, value: Any) -> None:
    payload = set_claims()
    payload[name] = value
    decoded_or_refused(payload)


@PROPERTY
@given(
    event_type=st.sampled_from(
        [SESSION_REVOKED, CLAIMS_CHANGE, CREDENTIAL_CHANGE, TOKEN_REVOKED, KEY_RETIRED]
        + [
            f"https://schemas.openid.net/secevent/risc/event-type/account-{s}"
            for s in ("disabled", "enabled")
        ]
    ),
    sub_id=st.one_of(subjects, json_values),
    event=members,
)
def test_any_subject_and_event_members_are_decoded_or_refused(
    event_type: str, sub_id: Any, event: dict[str, Any]
) -> None:
    decoded_or_refused(set_claims(sub_id=sub_id, events={event_type: event}))
