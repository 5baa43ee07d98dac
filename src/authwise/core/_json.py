"""Strict JSON for JOSE headers and claim sets.

UTF-8 only (no BOM, no UTF-16 auto-detection), no NaN or Infinity, bounded depth, and no
duplicate member names anywhere (J12, J23): a token must mean the same thing to every parser
that reads it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from authwise.errors import MalformedToken

__all__ = ["dumps", "loads_object"]


def dumps(value: Any) -> bytes:
    """Compact JSON, as minted into tokens."""
    return orjson.dumps(value)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise MalformedToken("json: duplicate member name")
    return obj


def _no_constant(name: str) -> Any:  # pragma: no cover - orjson rejects these first
    raise MalformedToken(f"json: {name} is not allowed")


def loads_object(data: bytes) -> dict[str, Any]:
    """Parse ``data`` as one JSON object with unique member names, or raise MalformedToken."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedToken("json: not valid UTF-8 JSON") from exc
    if type(value) is not dict:
        raise MalformedToken("json: not an object")
    # orjson keeps the last of duplicate names silently. When re-serialising gives back the
    # exact input (true of every compact minter), no name was dropped; otherwise check slowly.
    if orjson.dumps(value) != data:
        json.loads(data.decode(), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    return value
