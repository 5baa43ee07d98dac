"""Strict base64url (RFC 7515 section 2) and strict JSON, the two parsers under every token."""

from __future__ import annotations

import json

import pytest

from authwise import MalformedToken
from authwise.core._b64 import b64url_decode, b64url_encode, is_b64url
from authwise.core._json import dumps, loads_object

# RFC 4648 section 10, without padding.
RFC4648 = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
    (b"\xfb\xff", "-_8"),
]


@pytest.mark.parametrize(("raw", "encoded"), RFC4648)
def test_rfc4648_vectors_both_ways(raw: bytes, encoded: str) -> None:
    assert b64url_encode(raw) == encoded
    assert b64url_decode(encoded) == raw
    assert b64url_decode(encoded, checked=True) == raw
    assert is_b64url(encoded)


@pytest.mark.parametrize(
    "segment",
    [
        "Zg==",  # padding
        "Zm8=",
        "+_8",  # standard alphabet
        "-/8",
        "Zm9v\n",  # whitespace
        " Zm9v",
        "Zm 9v",
        "Zm9v\t",
        "Zm9v.",
        "Zm9vé",
    ],
)
def test_characters_outside_the_alphabet_are_refused(segment: str) -> None:
    assert not is_b64url(segment)
    with pytest.raises(MalformedToken):
        b64url_decode(segment)


@pytest.mark.parametrize("segment", ["A", "AAAAA", "Zm9vY"])
def test_impossible_lengths_are_refused(segment: str) -> None:
    with pytest.raises(MalformedToken, match="impossible length"):
        b64url_decode(segment)


@pytest.mark.parametrize(
    ("canonical", "altered"),
    [("Zg", "Zh"), ("Zg", "Zv"), ("Zm8", "Zm9"), ("Zm8", "Zm-"), ("AA", "AB"), ("AAA", "AAB")],
)
def test_unused_trailing_bits_must_be_zero(canonical: str, altered: str) -> None:
    """J16: two spellings of one byte string would make two different tokens verify."""
    assert b64url_decode(canonical)
    with pytest.raises(MalformedToken, match="trailing bits"):
        b64url_decode(altered)


def test_dumps_is_compact_utf8() -> None:
    assert dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()


def test_loads_object_accepts_whitespace_and_nested_values() -> None:
    assert loads_object(b' { "a" : [1, {"b": null}] } ') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize(
    "document",
    [
        b'{"a":1,"a":2}',
        b'{"a":1, "a":1}',
        b'{"x":{"b":1,"b":2}}',
        b'{"x":[{"b":1,"b":2}]}',
        b'{"alg":"ES256","alg":"none"}',
    ],
)
def test_duplicate_member_names_are_refused_at_any_depth(document: bytes) -> None:
    """J12: the stdlib keeps the last duplicate; a token must mean one thing to everyone."""
    with pytest.raises(MalformedToken, match="duplicate"):
        loads_object(document)


@pytest.mark.parametrize(
    "document",
    [
        b"\xef\xbb\xbf{}",  # UTF-8 BOM
        '{"a":1}'.encode("utf-16"),  # UTF-16 with BOM
        '{"a":1}'.encode("utf-16-le"),
        b'{"a":"\xff"}',  # invalid UTF-8
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b'{"a":1e400}',  # overflows to infinity
        b'{"a":"\\ud800"}',  # lone surrogate
        b"{'a':1}",
        b'{"a":1,}',
        b"",
        b"   ",
    ],
)
def test_non_json_and_unsafe_json_is_refused(document: bytes) -> None:
    """J23: BOM, UTF-16 and non-standard constants are not JSON as RFC 8259 defines it."""
    with pytest.raises(MalformedToken):
        loads_object(document)


@pytest.mark.parametrize("document", [b"[]", b'"a"', b"1", b"null", b"true", b"[{}]"])
def test_only_objects_are_accepted(document: bytes) -> None:
    with pytest.raises(MalformedToken, match="not an object"):
        loads_object(document)


def test_deep_nesting_is_refused() -> None:
    """J15: 10k-deep JSON is refused by the parser's depth limit, not by a RecursionError."""
    deep = b'{"a":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    with pytest.raises(MalformedToken):
        loads_object(deep)


def test_agrees_with_the_stdlib_on_plain_objects() -> None:
    text = b'{"b": 1.5, "a": [true, false, null], "c": {"d": "\\u00e9"}}'
    assert loads_object(text) == json.loads(text)
