"""docs/server.md documents every setting (TOML key and environment variable) and every
endpoint of the OpenAPI document."""

from __future__ import annotations

import re

from authwise.config.loading import env_name, iter_fields
from authwise.server.spec import openapi_document

from .live import REPO

DOC = (REPO / "docs" / "server.md").read_text()


def test_every_setting_is_documented() -> None:
    for part, _, field, _ in iter_fields():
        assert f"### `[{part}]`" in DOC, part
        row = re.search(
            rf"^\| `{field.name}` \| `{env_name(part, field.name)}` \|", DOC, re.MULTILINE
        )
        assert row, f"{part}.{field.name}"


def test_every_api_path_is_documented() -> None:
    for path in openapi_document()["paths"]:
        if path.startswith("/decode/") or path == "/":
            continue  # the decoder's assets and the redirect to /account
        stem = re.sub(r"\{[^}]+\}", "{", path).split("{")[0].rstrip("/") or "/"
        assert f"`{stem}" in DOC or f" {stem}" in DOC, path
