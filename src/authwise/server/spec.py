"""The OpenAPI 3.1 document, kept in the repository beside this module (spec-first).

The routes are held to it by tests: every route of the app is in the document and every
path of the document is a route; schemathesis checks the answers against its schemas.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import orjson

__all__ = ["openapi_bytes", "openapi_document"]


@cache
def openapi_bytes() -> bytes:
    return resources.files("authwise.server").joinpath("openapi.json").read_bytes()


def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(openapi_bytes())
    return document
