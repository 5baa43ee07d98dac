"""The web decoder in Chromium: findings render, verification works, the token stays put.

Debian's chromium (``scripts/install-system-deps``) driven by Playwright, against the decoder's
routes served by uvicorn on a free localhost port (the ``site`` fixture).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request

from authwise import PrivateKey
from authwise.core.lint import lint_token
from tests.browser import chromium

from .conftest import Site
from .corpus import b64, good_claims, good_header, segment

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


class Watched:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[Request] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message: ConsoleMessage) -> None:
        # The browser's own favicon probe is not the page's doing (the decoder has no icon).
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(message.text)

    def carried(self, secret: str) -> list[str]:
        """Every request that carries ``secret`` anywhere: URL, headers or body."""
        hits = []
        for request in self.requests:
            blob = request.url + json.dumps(request.all_headers()) + (request.post_data or "")
            if secret in blob:
                hits.append(request.url)
        return hits


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Watched]:
    context = browser.new_context()
    page = context.new_page()
    watched = Watched(page)
    page.goto(f"{site.url}/decode")
    yield watched
    context.close()


def sign(key: PrivateKey, claims: dict[str, Any], **header: Any) -> str:
    signing_input = f"{segment(good_header(kid=key.kid, alg=key.alg, **header))}.{segment(claims)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def finding_ids(page: Page) -> list[str]:
    return page.locator("#findings li").evaluate_all("items => items.map(i => i.dataset.id)")


def test_findings_render_as_the_cli_reports_them(page: Watched, es256: PrivateKey) -> None:
    now = int(time.time())
    claims = good_claims(iat=now, exp=now + 3600, password="hunter2", email="ada@example.com")
    token = sign(es256, claims, jku="https://evil.example/jwks")
    page.page.fill("#token", token)
    page.page.wait_for_selector('#findings li[data-id="secret-claim-name"]')
    expected = [f.id for f in lint_token(token, now).findings]
    assert finding_ids(page.page) == expected
    assert "lifetime-too-long" in expected
    item = page.page.locator('#findings li[data-id="lifetime-too-long"]')
    assert "lifetime of 60 min is over the 15 min maximum" in item.inner_text()
    assert "stolen token" in item.inner_text()
    assert '"password": "hunter2"' in page.page.inner_text("#payload-json")
    assert "expires in 59 min" in page.page.inner_text(
        "#times"
    ) or "expires in 60 min" in page.page.inner_text("#times")
    # colour-coded parts
    assert page.page.inner_text("#encoded .part-header") == token.split(".")[0]
    assert page.page.inner_text("#encoded .part-signature") == token.split(".")[2]
    assert "UNVERIFIED" in page.page.inner_text("#verify-status")
    assert page.carried(token.split(".")[1]) == []
    assert page.errors == []


def test_verification_with_a_pasted_jwk(page: Watched, es256: PrivateKey) -> None:
    now = int(time.time())
    token = sign(es256, good_claims(iat=now, exp=now + 300))
    page.page.fill("#token", token)
    page.page.fill("#key", json.dumps(es256.public.to_jwk()))
    page.page.click("#verify-key")
    status = page.page.locator("#verify-status")
    status.filter(has_text="VERIFIED:").wait_for()
    assert es256.kid in status.inner_text()
    # claims changed under the old signature (J03)
    h, _, s = token.split(".")
    forged = f"{h}.{segment(good_claims(iat=now, exp=now + 300, sub='admin'))}.{s}"
    page.page.fill("#token", forged)
    assert "UNVERIFIED" in status.inner_text()
    page.page.click("#verify-key")
    status.filter(has_text="FAILED").wait_for()
    assert "does not match" in status.inner_text()
    for secret in (token, token.split(".")[1], forged.split(".")[1], s):
        assert page.carried(secret) == []
    assert page.errors == []


def test_verification_with_pem_and_refusals(
    page: Watched, rs256: PrivateKey, es256: PrivateKey
) -> None:
    now = int(time.time())
    token = sign(rs256, good_claims(iat=now, exp=now + 300))
    page.page.fill("#token", token)
    status = page.page.locator("#verify-status")
    page.page.fill("#key", rs256.public.to_pem().decode())
    page.page.click("#verify-key")
    status.filter(has_text="VERIFIED:").wait_for()
    # the key decides the algorithm: an ES256 key cannot verify an RS256 token
    page.page.fill("#key", es256.public.to_pem().decode())
    page.page.click("#verify-key")
    status.filter(has_text="alg is not the key").wait_for()
    for text, message in (
        ('{"kty":"oct","k":"c2VjcmV0"}', "symmetric"),
        (json.dumps(es256.to_jwk(include_private=True)), "private key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "private key"),
        ("not a key", "expected a PEM"),
    ):
        page.page.fill("#key", text)
        page.page.click("#verify-key")
        status.filter(has_text=message).wait_for()
    assert page.carried(token.split(".")[1]) == []


def test_verification_with_the_servers_jwks(
    page: Watched, site: Site, es256: PrivateKey, ed25519: PrivateKey
) -> None:
    now = int(time.time())
    status = page.page.locator("#verify-status")
    for key in (es256, ed25519):
        token = sign(key, good_claims(iat=now, exp=now + 300))
        page.page.fill("#token", token)
        with page.page.expect_response("**/.well-known/jwks.json"):
            page.page.click("#verify-jwks")
        status.filter(has_text=f"VERIFIED: signature verified (key {key.kid})").wait_for()
        assert page.carried(token.split(".")[1]) == []
        assert page.carried(token.split(".")[2]) == []
    jwks_requests = [r for r in page.requests if r.url.endswith("/.well-known/jwks.json")]
    assert len(jwks_requests) == 2
    assert all(r.method == "GET" and r.post_data is None for r in jwks_requests)
    # Nothing but the page, its two assets and the JWKS was ever requested.
    paths = {r.url.removeprefix(site.url) for r in page.requests} - {"/favicon.ico"}
    assert paths == {"/decode", "/decode/decode.js", "/decode/decode.css", "/.well-known/jwks.json"}
    assert page.errors == []


def test_malformed_tokens_render_without_errors(page: Watched) -> None:
    for text, rule in (
        ("a.b.c.d.e", "jwe-token"),
        ("eyJhbGciOiJub25lIn0.e30.", "alg-none"),
        ("{}", "json-serialization"),
    ):
        page.page.fill("#token", text)
        page.page.wait_for_selector(f'#findings li[data-id="{rule}"]')
    page.page.fill("#token", "")
    assert finding_ids(page.page) == []
    assert page.page.inner_text("#summary") == "no findings"
    assert page.errors == []
