"""The pages in a real browser, against ``authwise serve --dev`` started as the README starts it.

Chromium decides every header (no test sets one by hand): this is where the sign-in form once
answered "Cross-origin sign-in refused." to every browser, because a page under
``Referrer-Policy: no-referrer`` makes the browser send ``Origin: null`` on its own POSTs.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import chromium

from .live import AUTHWISE, LiveServer, live_server

pytestmark = pytest.mark.browser

ALICE = ("alice", "correct horse battery staple")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("pages") / "data"
    with live_server(data, "--dev") as live:
        created = subprocess.run(
            [str(AUTHWISE), "users", "create", ALICE[0], "--password-stdin"],
            input=ALICE[1] + "\n",
            env=dict(live.env),
            capture_output=True,
            text=True,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        yield live


def printed_url(live: LiveServer) -> str:
    """The URL ``authwise serve`` told the user to open."""
    match = re.search(r"authwise at (http://\S+?) ", live.log.read_text())
    assert match is not None, live.log.read_text()
    return match.group(1)


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_printed_url_is_the_public_url(served: LiveServer) -> None:
    port = served.url.rsplit(":", 1)[1]
    assert printed_url(served) == f"http://localhost:{port}"


@pytest.mark.parametrize("host", ["printed", "127.0.0.1"])
def test_sign_in_and_out_in_a_real_browser(browser: Browser, served: LiveServer, host: str) -> None:
    base = printed_url(served) if host == "printed" else served.url
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in(page, base, *ALICE)
        expect(page).to_have_url(f"{base}/account")
        expect(page.get_by_role("heading", level=1)).to_have_text(ALICE[0])
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page).to_have_url(f"{base}/login")
        # Signed out for real: the account page sends the browser back to sign in.
        page.goto(f"{base}/account")
        expect(page).to_have_url(f"{base}/login")
    finally:
        context.close()


def test_a_wrong_password_is_told_on_the_page(browser: Browser, served: LiveServer) -> None:
    base = printed_url(served)
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in(page, base, ALICE[0], "not the password at all")
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        assert "Cross-origin" not in page.content()
    finally:
        context.close()


def test_a_form_on_another_site_cannot_sign_in(
    browser: Browser, served: LiveServer, tmp_path: Path
) -> None:
    """The other half: a page on another origin that posts the same form is refused, by what
    the browser itself sends (``Sec-Fetch-Site: cross-site``)."""
    base = printed_url(served)
    context = browser.new_context()
    page = context.new_page()
    try:
        attacker = (
            f'<form method="post" action="{base}/session">'
            f'<input name="username" value="{ALICE[0]}"><input name="password" value="{ALICE[1]}">'
            '<button type="submit">go</button></form>'
        )
        page.route(
            "http://attacker.test/",
            lambda route: route.fulfill(body=attacker, content_type="text/html"),
        )
        page.goto("http://attacker.test/")
        page.get_by_role("button", name="go").click()
        page.wait_for_load_state()
        assert "Cross-origin sign-in refused." in page.content()
        assert not [c for c in context.cookies() if c["name"] == "authwise_session"]
    finally:
        context.close()


def test_a_page_on_another_site_cannot_run_a_password_grant(
    browser: Browser, served: LiveServer
) -> None:
    """S15: a page on another site that makes its visitor's browser post a password grant,
    with ``fetch()`` and with a form, is refused (403, no token), by what the browser itself
    sends (``Origin: https://attacker.test``). The page is
    served over HTTPS and the visitor has allowed it local network access: Chromium lets
    neither an insecure page nor one without that permission fetch from a loopback server
    (a public server has no such shield)."""
    base = printed_url(served)
    context = browser.new_context(permissions=["local-network-access"])
    page = context.new_page()
    fields = {"grant_type": "password", "username": ALICE[0], "password": ALICE[1]}
    inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
    attacker = (
        f'<form method="post" action="{base}/oauth/token">{inputs}'
        '<button type="submit">go</button></form>'
        "<script>"
        "function guess() {"
        f"  return fetch('{base}/oauth/token', {{method: 'POST', mode: 'no-cors',"
        f"    body: new URLSearchParams({fields!r})}});"
        "}"
        "</script>"
    )
    try:
        page.route(
            "https://attacker.test/",
            lambda route: route.fulfill(body=attacker, content_type="text/html"),
        )
        page.goto("https://attacker.test/")
        with page.expect_response(f"{base}/oauth/token") as sent:
            page.evaluate("guess()")
        response = sent.value
        assert response.status == 403
        assert response.request.all_headers()["origin"] == "https://attacker.test"
        page.get_by_role("button", name="go").click()
        page.wait_for_load_state()
        body = page.content()
        assert "cross_origin" in body
        assert "access_token" not in body
    finally:
        context.close()


def test_change_password_on_its_page(browser: Browser, served: LiveServer) -> None:
    """Issue 11, items 3 and 15: the page changes the password and ends the other sessions;
    "keep me signed in" decides whether the cookie outlives the browser session."""
    user, old, new = "pat", "pat's first passphrase", "pat's second passphrase"
    created = subprocess.run(
        [str(AUTHWISE), "users", "create", user, "--password-stdin"],
        input=old + "\n",
        env=dict(served.env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    base = printed_url(served)
    here, elsewhere = browser.new_context(), browser.new_context()
    try:
        page = here.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(old)
        page.get_by_label("Keep me signed in").check()
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{base}/account")
        (kept,) = [c for c in here.cookies() if c["name"] == "authwise_session"]
        assert kept["expires"] > 0  # persistent
        other = elsewhere.new_page()
        sign_in(other, base, user, old)
        expect(other).to_have_url(f"{base}/account")
        (session_only,) = [c for c in elsewhere.cookies() if c["name"] == "authwise_session"]
        assert session_only["expires"] == -1  # gone when the browser closes

        page.get_by_role("link", name="Change your password").click()
        expect(page).to_have_url(f"{base}/account/password")
        page.get_by_label("Current password").fill("not my password")
        page.get_by_label("New password", exact=True).fill(new)
        page.get_by_label("New password again").fill(new)
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status")).to_have_text("The current password is wrong.")
        page.get_by_label("Current password").fill(old)
        page.get_by_label("New password", exact=True).fill(new)
        page.get_by_label("New password again").fill(new)
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status")).to_have_text(
            "Password changed. Signed out 1 other session(s)."
        )
        # This browser stays signed in; the other one is signed out.
        page.goto(f"{base}/account")
        expect(page.get_by_role("heading", level=1)).to_have_text(user)
        other.goto(f"{base}/account")
        expect(other).to_have_url(f"{base}/login")
        sign_in(other, base, user, old)
        expect(other.get_by_role("alert")).to_have_text("Wrong username or password.")
        sign_in(other, base, user, new)
        expect(other).to_have_url(f"{base}/account")
    finally:
        here.close()
        elsewhere.close()
