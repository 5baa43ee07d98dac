"""Property tests (R04): the decoder and linter take any input without raising, and the
decoded parts are exactly what was encoded."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from authwise.core.lint import lint_claims, lint_token

from .corpus import NOW, b64, make

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)
alphabet = st.sampled_from('AZaz09-_.=+/ \n\t{}"%é')


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=alphabet, max_size=200) | st.text(max_size=200))
def test_any_text_is_linted_without_raising(text: str) -> None:
    report = lint_token(text, NOW)
    for finding in report.findings:
        assert finding.id
        assert finding.severity in ("error", "warning", "info")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.binary(max_size=120), st.binary(max_size=80))
def test_any_bytes_in_any_part(header: bytes, payload: bytes, signature: bytes) -> None:
    lint_token(f"{b64(header)}.{b64(payload)}.{b64(signature)}", NOW)
    lint_claims(payload, NOW)


@settings(max_examples=200, deadline=None)
@given(objects, objects)
def test_decoded_parts_round_trip(header: dict[str, Any], payload: dict[str, Any]) -> None:
    token = make(json.dumps(header).encode(), json.dumps(payload).encode())
    report = lint_token(token, NOW)
    assert report.header == header
    assert report.payload == payload
