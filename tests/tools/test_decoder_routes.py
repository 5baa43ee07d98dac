"""The /decode routes: a static page with a strict policy, its assets, and the rules."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from authwise.core.rules import rules_document

from .conftest import Site


@pytest.fixture
def client(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url) as client:
        yield client


def test_page_has_a_strict_policy(client: httpx.Client) -> None:
    response = client.get("/decode")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
    ):
        assert directive in csp
    assert "unsafe" not in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    html = response.text
    # No inline script or style: the only <script> with content is the JSON data block.
    assert re.findall(r"<script(?![^>]*(src=|application/json))", html) == []
    assert " style=" not in html
    assert "on" + "click" not in html


def test_rules_embedded_in_the_page_are_the_rules_document(client: httpx.Client) -> None:
    html = client.get("/decode").text
    match = re.search(
        r'<script type="application/json" id="authwise-rules">(.*?)</script>', html, re.S
    )
    assert match is not None
    assert "<" not in match.group(1)
    assert json.loads(match.group(1)) == rules_document()
    assert client.get("/decode/rules.json").json() == rules_document()


def test_assets(client: httpx.Client) -> None:
    js = client.get("/decode/decode.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "compileRules" in js.text
    css = client.get("/decode/decode.css")
    assert css.headers["content-type"].startswith("text/css")
    assert client.post("/decode").status_code == 405
