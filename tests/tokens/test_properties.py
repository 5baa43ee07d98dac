"""Property-based tests for the parsers and the verifier (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authwise import (
    AccessTokenVerifier,
    MalformedToken,
    PrivateKey,
    TokenError,
    VerifiedTokenCache,
    decode_unverified,
)
from authwise.core._b64 import b64url_decode, b64url_encode
from authwise.core._json import loads_object

from .helpers import NOW, make_verifier, sign_as

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
KEY = PrivateKey.generate("ES256")
TOKEN = sign_as(KEY)
VERIFIER = make_verifier(KEY, cache=None)

compactish = st.lists(st.text(alphabet=ALPHABET + ".=+/ ", max_size=60), max_size=6).map(".".join)


@SETTINGS
@given(st.one_of(st.text(max_size=300), compactish))
def test_verify_raises_only_token_errors_on_arbitrary_text(text: str) -> None:
    with pytest.raises(TokenError):
        VERIFIER.verify(text, NOW)
    try:
        unverified = decode_unverified(text)
    except MalformedToken:
        return
    assert ".".join(unverified.segments) == text  # parsed only what is strictly well formed


@SETTINGS
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "jwk", "x"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=8),
            st.lists(st.integers(), max_size=2),
        ),
    ),
    payload=st.recursive(
        st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=8)),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
        max_leaves=8,
    ),
    signature=st.binary(max_size=80),
)
def test_verify_raises_only_token_errors_on_structured_garbage(
    header: dict[str, Any], payload: Any, signature: bytes
) -> None:
    """Well-formed compact JWS around arbitrary JSON: still only our errors."""
    h = b64url_encode(json.dumps(header).encode())
    p = b64url_encode(json.dumps(payload, allow_nan=True).encode())
    with pytest.raises(TokenError):
        VERIFIER.verify(f"{h}.{p}.{b64url_encode(signature)}", NOW)


@SETTINGS
@given(data=st.data())
def test_any_single_character_change_is_rejected(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(TOKEN) - 1))
    replacement = data.draw(
        st.sampled_from(ALPHABET + ".=+/ \n~").filter(lambda c: c != TOKEN[index])
    )
    mutated = TOKEN[:index] + replacement + TOKEN[index + 1 :]
    verifier = make_verifier(KEY, cache=VerifiedTokenCache())
    assert verifier.verify(TOKEN, NOW).sub == "user-1"  # the original is cached
    with pytest.raises(TokenError):
        verifier.verify(mutated, NOW)


@SETTINGS
@given(data=st.data())
def test_insertions_and_deletions_are_rejected(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(TOKEN) - 1))
    if data.draw(st.booleans()):
        mutated = TOKEN[:index] + TOKEN[index + 1 :]
    else:
        mutated = TOKEN[:index] + data.draw(st.sampled_from(ALPHABET + ".")) + TOKEN[index:]
    with pytest.raises(TokenError):
        VERIFIER.verify(mutated, NOW)


@SETTINGS
@given(st.binary(max_size=200))
def test_base64url_round_trip(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert set(encoded) <= set(ALPHABET)
    assert "=" not in encoded
    assert b64url_decode(encoded) == data
    assert b64url_encode(b64url_decode(encoded)) == encoded


@SETTINGS
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_base64url_decode_accepts_exactly_the_canonical_spellings(segment: str) -> None:
    try:
        decoded = b64url_decode(segment)
    except MalformedToken:
        return
    assert b64url_encode(decoded) == segment


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(st.tuples(st.sampled_from("abc"), children), max_size=4).map(
            lambda pairs: {"__pairs__": pairs}
        )
    ),
    max_leaves=10,
)


def render(value: Any) -> str:
    """JSON text that may repeat member names (a dict cannot hold duplicates)."""
    if isinstance(value, dict):
        members = ",".join(f"{json.dumps(k)}:{render(v)}" for k, v in value["__pairs__"])
        return "{" + members + "}"
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return json.dumps(value)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from("abcd"), json_values), max_size=5), st.booleans())
def test_strict_json_agrees_with_the_stdlib_on_duplicate_keys(
    pairs: list[tuple[str, Any]], spaced: bool
) -> None:
    text = render({"__pairs__": pairs})
    if spaced:
        text = text.replace(",", ", ").replace(":", ": ")
    duplicates: list[bool] = []

    def hook(members: list[tuple[str, Any]]) -> dict[str, Any]:
        duplicates.append(len({k for k, _ in members}) != len(members))
        return dict(members)

    stdlib = json.loads(text, object_pairs_hook=hook)
    if any(duplicates):
        with pytest.raises(MalformedToken, match="duplicate"):
            loads_object(text.encode())
    else:
        assert loads_object(text.encode()) == stdlib


def test_the_verifier_under_test_accepts_the_original() -> None:
    assert isinstance(VERIFIER, AccessTokenVerifier)
    assert VERIFIER.verify(TOKEN, NOW).sub == "user-1"
