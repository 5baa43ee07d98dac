"""SECURITY.md items at the HTTP level: S03 cookies, S04 CSRF, S10 enumeration, S11 brute
force, S13 leakage; and R01, a store that cannot be reached."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import httpx
import pytest

from authwise.config import RateLimitSettings, ServerSettings
from authwise.errors import StoreUnavailable

from .conftest import ALICE, BASE, Server, ServerFactory, make_settings

# -- S03 cookie flags -------------------------------------------------------------------------


async def test_s03_session_cookie_flags(server: Server) -> None:
    r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    cookie = r.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    assert name == "__Host-authwise_session"
    attributes = {a.strip().split("=")[0].lower() for a in rest.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "domain" not in attributes
    assert "; Path=/;" in cookie
    assert "SameSite=Lax" in cookie
    assert len(cookie) <= 4096
    session_id = rest.split(";")[0]
    assert session_id.startswith("aw_s_")
    assert session_id not in r.text  # never in a body
    # nor in the device list, the current-session answer or /me
    client = server.new_client()
    client.cookies.set(name, session_id)
    for path in ("/session", "/sessions", "/me", "/account"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert session_id not in page.text, path


async def test_s01_planted_cookie_is_not_kept(server: Server) -> None:
    alice = await server.login(*ALICE)
    old = alice.cookies["__Host-authwise_session"]
    r = await alice.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    assert r.status_code == 200
    assert alice.cookies["__Host-authwise_session"] != old
    stale = server.new_client()
    stale.cookies.set("__Host-authwise_session", old)
    assert (await stale.get("/me")).status_code == 401


# -- S04 CSRF -----------------------------------------------------------------------------------


async def _victim(server: Server) -> tuple[httpx.AsyncClient, str]:
    """A signed-in browser without the anti-forgery header (what a forged request carries)."""
    alice = await server.login(*ALICE)
    token = alice.headers.pop("X-CSRF-Token")
    return alice, token


FORGERIES: list[tuple[str, dict[str, str]]] = [
    ("no token", {}),
    ("wrong token", {"X-CSRF-Token": "A" * 43}),
    ("text/plain form", {"Content-Type": "text/plain"}),
    ("Origin: null", {"Origin": "null", "X-CSRF-Token": "@token"}),
    ("foreign Origin", {"Origin": "https://evil.example", "X-CSRF-Token": "@token"}),
    ("cross-site fetch", {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": "@token"}),
    ("same-site fetch", {"Sec-Fetch-Site": "same-site", "X-CSRF-Token": "@token"}),
]


@pytest.mark.parametrize(("name", "headers"), FORGERIES, ids=[f[0] for f in FORGERIES])
async def test_s04_forged_unsafe_requests_are_refused(
    server: Server, name: str, headers: dict[str, str]
) -> None:
    alice, token = await _victim(server)
    headers = {k: token if v == "@token" else v for k, v in headers.items()}
    other = await server.login(*ALICE)
    other_handle = (await other.get("/session")).json()["session"]["handle"]
    attempts = [
        ("DELETE", "/session"),
        ("DELETE", "/sessions"),
        ("DELETE", f"/sessions/{other_handle}"),
    ]
    for method, path in attempts:
        r = await alice.request(method, path, headers=headers, content=b"x=1")
        assert r.status_code == 403, (method, path)
        assert r.json()["error"] == "csrf_failed"
    # Nothing changed: both sessions still work.
    assert (await alice.get("/me")).status_code == 200
    assert (await other.get("/me")).status_code == 200


async def test_s04_admin_changes_need_the_token(server: Server) -> None:
    from .conftest import ADMIN

    admin = await server.login(*ADMIN)
    token = admin.headers.pop("X-CSRF-Token")
    users = (await admin.get("/admin/users")).json()["users"]
    alice_id = next(u["id"] for u in users if u["username"] == "alice")
    r = await admin.patch(f"/admin/users/{alice_id}", json={"roles": ["admin"]})
    assert r.status_code == 403
    r = await admin.post(f"/admin/users/{alice_id}/revoke")
    assert r.status_code == 403
    r = await admin.patch(
        f"/admin/users/{alice_id}",
        json={"roles": ["admin"]},
        headers={"Origin": "https://evil.example", "X-CSRF-Token": token},
    )
    assert r.status_code == 403
    assert (await server.service.get_user(alice_id)).roles == ()  # type: ignore[union-attr]
    r = await admin.patch(
        f"/admin/users/{alice_id}",
        json={"roles": ["admin"]},
        headers={"Origin": BASE, "X-CSRF-Token": token},
    )
    assert r.status_code == 200


async def test_s04_same_origin_with_token_is_accepted(server: Server) -> None:
    alice, token = await _victim(server)
    r = await alice.delete(
        "/session", headers={"X-CSRF-Token": token, "Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    )
    assert r.status_code == 204


async def test_s04_token_is_bound_to_its_session(server: Server) -> None:
    alice, _ = await _victim(server)
    _, other_token = await _victim(server)
    r = await alice.delete("/session", headers={"X-CSRF-Token": other_token})
    assert r.status_code == 403


async def test_s04_cross_origin_login_is_refused(server: Server) -> None:
    r = await server.client.post(
        "/session",
        data={"username": ALICE[0], "password": ALICE[1]},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


async def test_s04_no_state_change_on_get(server: Server) -> None:
    alice = await server.login(*ALICE)
    for path in ("/session", "/sessions", "/me", "/account", "/admin", "/oauth/revoke", "/users"):
        await alice.get(path)
    assert (await alice.get("/me")).status_code == 200
    assert len((await alice.get("/sessions")).json()["sessions"]) == 1


async def test_s09_csrf_token_is_compared_in_constant_time(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The anti-forgery token is checked with ``hmac.compare_digest``, and its answer alone
    decides: made to say no, the right token is refused."""
    import hmac

    from authwise.server import csrf

    real = hmac.compare_digest
    calls: list[tuple[bytes, bytes]] = []
    verdict: list[bool | None] = [None]

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        result = real(a, b)
        return result if verdict[0] is None else verdict[0]

    monkeypatch.setattr(csrf.hmac, "compare_digest", spy)
    alice, token = await _victim(server)
    r = await alice.delete("/sessions/nosuch", headers={"X-CSRF-Token": "A" * 43})
    assert r.status_code == 403
    assert (b"A" * 43, token.encode()) in calls
    calls.clear()
    verdict[0] = False
    r = await alice.delete("/sessions/nosuch", headers={"X-CSRF-Token": token})
    assert r.status_code == 403
    assert (token.encode(), token.encode()) in calls
    verdict[0] = None
    r = await alice.delete("/sessions/nosuch", headers={"X-CSRF-Token": token})
    assert r.status_code == 404  # past the CSRF check


async def test_bearer_requests_need_no_csrf_token(server: Server) -> None:
    tokens = await server.tokens(*ALICE)
    r = await server.client.delete(
        "/sessions",
        headers={
            "Authorization": f"Bearer {tokens['access_token']}",
            "Origin": "https://app.example",
        },
    )
    assert r.status_code == 200


# -- A new session ID on privilege change, whatever the answer ---------------------------------

COOKIE = "__Host-authwise_session"

ROTATING_REQUESTS: list[tuple[str, str, dict[str, str], int]] = [
    ("GET", "/me", {}, 200),
    ("GET", "/account", {}, 200),
    ("DELETE", "/sessions?keep_current=true", {}, 200),
    ("DELETE", "/sessions?keep_current=maybe", {}, 400),
    ("DELETE", "/sessions/nosuch", {}, 404),
    ("GET", "/admin", {}, 403),
    ("GET", "/admin/users", {}, 403),
    ("DELETE", "/session", {"X-CSRF-Token": "A" * 43}, 403),
]


async def _rotation_pending(server: Server) -> tuple[httpx.AsyncClient, str]:
    """alice signed in, then given a role: her next request gets her session a new ID."""
    alice = await server.login(*ALICE)
    user_id = (await alice.get("/me")).json()["sub"]
    await server.service.set_roles(user_id, ["editor"])
    return alice, alice.cookies[COOKIE]


def _new_session_id(r: httpx.Response) -> str:
    values = [c for c in r.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    assert len(values) == 1, r.headers.get_list("set-cookie")
    return values[0].split(";", 1)[0].split("=", 1)[1]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    ROTATING_REQUESTS,
    ids=[f"{m} {p} {s}" for m, p, _, s in ROTATING_REQUESTS],
)
async def test_rotated_session_id_reaches_the_browser_on_every_answer(
    server: Server, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    """The request after a privilege change gets the session a new ID and ends the old one;
    the answer sets it as the cookie whether the route succeeded or refused, or the user
    would be signed out."""
    alice, old = await _rotation_pending(server)
    r = await alice.request(method, path, headers=headers)
    assert r.status_code == status
    new = _new_session_id(r)
    assert new != old
    fresh = server.new_client()
    fresh.cookies.set(COOKIE, new)
    me = await fresh.get("/me")
    assert me.status_code == 200
    assert me.json()["roles"] == ["editor"]
    # A request still in flight with the old ID gets the same new one for a few seconds...
    stale = server.new_client()
    stale.cookies.set(COOKIE, old)
    late = await stale.get("/me")
    assert late.status_code == 200
    assert _new_session_id(late) == new
    # ...and is refused after the grace window.
    server.clock.advance(server.service.config.sessions.rotation_grace + 1)
    stale.cookies.set(COOKIE, old)
    assert (await stale.get("/me")).status_code == 401


async def test_rotated_session_id_reaches_the_browser_on_a_500(server: Server) -> None:
    async def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internal detail")

    alice, old = await _rotation_pending(server)
    server.service.list_sessions = boom  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=server.app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url=BASE, cookies=alice.cookies)
    r = await client.get("/sessions")
    assert r.status_code == 500
    new = _new_session_id(r)
    assert new != old
    fresh = server.new_client()
    fresh.cookies.set(COOKIE, new)
    assert (await fresh.get("/me")).status_code == 200


async def test_sign_out_after_a_privilege_change_clears_the_cookie(server: Server) -> None:
    """A response that sets the session cookie itself keeps its own: signing out on the
    rotating request clears the cookie rather than handing out the new ID."""
    alice, _ = await _rotation_pending(server)
    r = await alice.delete("/session")
    assert r.status_code == 204
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) == 1
    assert "Max-Age=0" in cookies[0]
    r = await alice.delete("/sessions")
    assert r.status_code == 401


# -- S10 enumeration ----------------------------------------------------------------------------


def _shape(r: httpx.Response) -> tuple[int, Any, list[str]]:
    ignored = {"date", "content-length"}
    return r.status_code, r.json(), sorted(k for k in r.headers if k not in ignored)


async def test_s10_login_answers_alike_for_missing_and_existing_accounts(server: Server) -> None:
    wrong = await server.client.post(
        "/session", json={"username": ALICE[0], "password": "wrong password"}
    )
    missing = await server.client.post(
        "/session", json={"username": "no-such-user", "password": "wrong password"}
    )
    assert _shape(wrong) == _shape(missing)
    wrong = await server.client.post(
        "/oauth/token", data={"grant_type": "password", "username": ALICE[0], "password": "x"}
    )
    missing = await server.client.post(
        "/oauth/token", data={"grant_type": "password", "username": "no-such-user", "password": "x"}
    )
    assert _shape(wrong) == _shape(missing)


async def test_s10_disabled_account_answers_like_a_wrong_password(server: Server) -> None:
    user = await server.service.register("mallory", "a fine long password")
    await server.service.disable_user(user.id)
    disabled = await server.client.post(
        "/session", json={"username": "mallory", "password": "a fine long password"}
    )
    wrong = await server.client.post(
        "/session", json={"username": ALICE[0], "password": "wrong password"}
    )
    assert _shape(disabled) == _shape(wrong)


async def test_s10_registration_answers_alike_for_taken_and_free_names(server: Server) -> None:
    taken = await server.client.post(
        "/users", json={"username": ALICE[0], "password": "another long one"}
    )
    free = await server.client.post(
        "/users", json={"username": "newcomer", "password": "another long one"}
    )
    assert _shape(taken) == _shape(free)
    assert taken.status_code == 202
    # and the existing account was not touched
    assert (
        await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    ).status_code == 200


# -- S11 brute force --------------------------------------------------------------------------


def _throttled(**limits: str) -> Any:
    return make_settings(rate_limits=RateLimitSettings(**limits))


async def test_s11_per_account_throttle_counts_failures_only(make_server: ServerFactory) -> None:
    """Failures count per account and client address. Once an address has used up an
    account's allowance, even the right password from that address gets 429: answering it
    would tell a guesser which guess was right. The owner at another address is not held back
    by it (no lockout anyone can trigger); the account-wide ceiling is tested below."""
    settings = _throttled(login_per_account="3/minute", login_per_address="100/minute")
    async with make_server(settings) as server:
        for _ in range(3):  # successes do not use up the allowance
            async with server.new_client() as other:  # no device cookie carried over
                r = await other.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
                assert r.status_code == 200
        for _ in range(3):
            r = await server.client.post(
                "/session", json={"username": ALICE[0], "password": "guess"}
            )
            assert r.status_code == 401
        r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["error"] == "too_many_requests"
        # the token endpoint shares the account's allowance
        r = await server.client.post(
            "/oauth/token",
            data={"grant_type": "password", "username": ALICE[0], "password": "guess"},
        )
        assert r.status_code == 429
        # other accounts are unaffected
        r = await server.client.post(
            "/session", json={"username": "admin-user", "password": "nope"}
        )
        assert r.status_code == 401
        # and so is the same account from another address
        async with server.client_at("192.0.2.10") as owner:
            r = await owner.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
            assert r.status_code == 200


async def test_s11_an_attacker_cannot_lock_the_owner_out(make_server: ServerFactory) -> None:
    """With the default limits, a sustained stream of wrong passwords for alice from one
    address keeps that address throttled, and alice signs in from hers all along."""
    settings = make_settings(
        server=ServerSettings(public_url=BASE), rate_limits=RateLimitSettings()
    )
    async with (
        make_server(settings) as server,
        server.client_at("198.51.100.66") as attacker,
        server.client_at("192.0.2.10") as owner,
    ):
        statuses = []
        for i in range(40):
            r = await attacker.post(
                "/session", json={"username": ALICE[0], "password": f"guess {i}"}
            )
            statuses.append(r.status_code)
            if i % 10 == 9:
                r = await owner.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
                assert r.status_code == 200, i
        assert statuses[:10] == [401] * 10
        assert set(statuses[10:]) == {429}
        # still throttled, the right password included (no oracle), and the token endpoint too
        r = await attacker.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
        assert r.status_code == 429
        r = await attacker.post(
            "/oauth/token",
            data={"grant_type": "password", "username": ALICE[0], "password": ALICE[1]},
        )
        assert r.status_code == 429
        r = await owner.post(
            "/oauth/token",
            data={"grant_type": "password", "username": ALICE[0], "password": ALICE[1]},
        )
        assert r.status_code == 200


async def test_s11_account_wide_ceiling_bounds_guessing_from_many_addresses(
    make_server: ServerFactory,
) -> None:
    """Each new address has its own per-account allowance, so the failures of all of them
    together meet a ceiling: beyond it no address gets another guess at the account, until
    the window slides (see the no-lockout test); other accounts are not affected."""
    settings = _throttled(
        login_per_account="2/minute",
        login_per_account_global="5/minute",
        login_per_address="100/minute",
    )
    async with make_server(settings) as server:
        for n in range(5):
            async with server.client_at(f"198.51.100.{n}") as bot:
                r = await bot.post("/session", json={"username": ALICE[0], "password": f"g{n}"})
                assert r.status_code == 401
        for address in ("198.51.100.7", "192.0.2.10"):
            async with server.client_at(address) as fresh:
                r = await fresh.post("/session", json={"username": ALICE[0], "password": "g"})
                assert r.status_code == 429
                assert 1 <= int(r.headers["retry-after"]) <= 60
                r = await fresh.post(
                    "/session", json={"username": "admin-user", "password": "nope"}
                )
                assert r.status_code == 401


SPELLINGS = ["alice", "ALICE", "\uff41lice", "\uff21\uff2c\uff29\uff23\uff25"]


async def test_s11_spelling_variants_share_the_account_allowance(
    make_server: ServerFactory,
) -> None:
    """Sign-in finds ``alice`` under every spelling PRECIS brings to it (capitals, fullwidth
    letters); the throttle counts them as one account, so a new spelling buys no new guesses.
    Mathematical and circled letters reach no account at all (see below)."""
    settings = _throttled(login_per_account="3/minute", login_per_address="100/minute")
    async with make_server(settings) as server:
        for spelling in SPELLINGS[1:]:  # each one does reach the account
            async with server.new_client() as other:  # no device cookie carried over
                r = await other.post("/session", json={"username": spelling, "password": ALICE[1]})
                assert r.status_code == 200, spelling
        for spelling in SPELLINGS[:3]:
            r = await server.client.post("/session", json={"username": spelling, "password": "x"})
            assert r.status_code == 401, spelling
        for spelling in SPELLINGS:
            r = await server.client.post(
                "/session", json={"username": spelling, "password": ALICE[1]}
            )
            assert r.status_code == 429, spelling
            r = await server.client.post(
                "/oauth/token",
                data={"grant_type": "password", "username": spelling, "password": "x"},
            )
            assert r.status_code == 429, spelling


async def test_s17_compatibility_spellings_reach_no_account(server: Server) -> None:
    """RFC 8265 refuses compatibility characters rather than mapping them: mathematical bold
    and circled letters do not sign in to alice, even with her password."""
    for spelling in ("\U0001d41alice", "\u24d0\u24db\u24d8\u24d2\u24d4"):
        r = await server.client.post("/session", json={"username": spelling, "password": ALICE[1]})
        assert r.status_code == 401, spelling


async def test_s11_per_address_throttle(make_server: ServerFactory) -> None:
    settings = _throttled(login_per_account="100/minute", login_per_address="4/minute")
    async with make_server(settings) as server:
        for i in range(4):
            r = await server.client.post(
                "/session", json={"username": f"user{i}", "password": "guess"}
            )
            assert r.status_code == 401
        r = await server.client.post("/session", json={"username": "user9", "password": "guess"})
        assert r.status_code == 429
        assert "retry-after" in r.headers


async def test_s11_forged_forwarded_for_entries_do_not_change_the_address(
    make_server: ServerFactory,
) -> None:
    """Behind a trusted proxy the address is the rightmost ``X-Forwarded-For`` entry, the one
    the proxy appended. A client that writes its own entries in front (or its own header line
    before the proxy's) gets no fresh per-address allowance from them."""
    settings = make_settings(
        server=ServerSettings(public_url=BASE, registration=True, trust_proxy_headers=True),
        rate_limits=RateLimitSettings(login_per_account="100/minute", login_per_address="3/minute"),
    )
    proxy_saw = "203.0.113.7"
    async with make_server(settings) as server:
        forged: list[list[tuple[str, str]]] = [
            [("X-Forwarded-For", f"198.51.100.1, {proxy_saw}")],
            [("X-Forwarded-For", f"10.0.0.1,192.0.2.55 , {proxy_saw}")],
            [("X-Forwarded-For", "198.51.100.2"), ("X-Forwarded-For", proxy_saw)],
        ]
        for headers in forged:
            r = await server.client.post(
                "/session", json={"username": "nobody", "password": "guess"}, headers=headers
            )
            assert r.status_code == 401
        r = await server.client.post(
            "/session",
            json={"username": ALICE[0], "password": ALICE[1]},
            headers={"X-Forwarded-For": f"198.51.100.3, {proxy_saw}"},
        )
        assert r.status_code == 429
        # another client behind the same proxy has its own allowance, and the address a
        # session records is the one the proxy saw
        r = await server.client.post(
            "/session",
            json={"username": ALICE[0], "password": ALICE[1]},
            headers={"X-Forwarded-For": f"{proxy_saw}, 192.0.2.20"},
        )
        assert r.status_code == 200
        assert r.json()["session"]["client_addr"] == "192.0.2.20"


async def test_s11_no_permanent_lockout(make_server: ServerFactory) -> None:
    """The windows slide: after the window, the owner signs in again, at the address that was
    throttled and after the account-wide ceiling was reached."""
    import asyncio

    settings = _throttled(
        login_per_account="2 per 1 second",
        login_per_account_global="3 per 1 second",
        login_per_address="100/minute",
    )
    async with make_server(settings) as server:
        for _ in range(2):
            await server.client.post("/session", json={"username": ALICE[0], "password": "guess"})
        r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
        assert r.status_code == 429
        await asyncio.sleep(1.1)
        r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
        assert r.status_code == 200
        for n in range(3):
            async with server.client_at(f"198.51.100.{n}") as bot:
                await bot.post("/session", json={"username": ALICE[0], "password": "guess"})
        async with server.client_at("192.0.2.10") as owner:
            r = await owner.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
            assert r.status_code == 429
            await asyncio.sleep(1.1)
            r = await owner.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
            assert r.status_code == 200


async def test_s11_refresh_endpoint_is_throttled(make_server: ServerFactory) -> None:
    settings = _throttled(refresh_per_address="3/minute")
    async with make_server(settings) as server:
        for _ in range(3):
            r = await server.client.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": "aw_rt_" + "B" * 43},
            )
            assert r.status_code == 400
        r = await server.client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": "aw_rt_" + "B" * 43},
        )
        assert r.status_code == 429
        assert r.headers["cache-control"] == "no-store"


# -- S13 leakage --------------------------------------------------------------------------------


async def test_s13_no_secret_in_logs_error_bodies_or_headers(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [ALICE[1], "a wrong password"]
    r = await server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]})
    secrets.append(r.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    bad = await server.client.post(
        "/session", json={"username": ALICE[0], "password": "a wrong password"}
    )
    tokens = await server.tokens(*ALICE)
    secrets += [tokens["access_token"], tokens["refresh_token"]]
    rotated = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    secrets += [rotated.json()["access_token"], rotated.json()["refresh_token"]]
    server.clock.advance(60)
    reuse = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    client, client_secret = await server.service.create_client("rs")
    secrets.append(client_secret)
    import base64

    wrong_basic = base64.b64encode(f"{client.client_id}:{client_secret}x".encode()).decode()
    introspect = await server.client.post(
        "/oauth/introspect",
        data={"token": tokens["access_token"]},
        headers={"Authorization": f"Basic {wrong_basic}"},
    )
    for response in (bad, reuse, introspect):
        assert response.status_code >= 400
        for secret in secrets:
            assert secret not in response.text
            assert all(secret not in v for v in response.headers.values())
    assert reuse.headers["cache-control"] == "no-store"
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "reuse" in logged  # the theft was logged...
    for secret in secrets:
        assert secret not in logged  # ...without any secret


async def test_s12_reprs_hold_no_password_hash_or_private_key(server: Server) -> None:
    """Records end up in log lines and tracebacks through ``repr``: the password hash (an
    offline cracking target) and the encrypted private keys stay out of it."""
    login = await server.service.login(*ALICE)
    grant = await server.service.password_grant(*ALICE)
    user = await server.service.get_user(login.user.id)
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")  # the hash is there, just not shown
    for value in (login, grant, user, login.user, grant.user):
        text = repr(value)
        assert "$argon2" not in text, type(value).__name__
        assert user.password_hash not in text
    keys = (await server.service.stores.keys.load()).records
    assert keys
    for key in keys:
        assert key.private_pem
        assert b"PRIVATE KEY" in key.private_pem
        assert "PRIVATE KEY" not in repr(key)
        assert key.private_pem.decode() not in repr(key)
        assert key.kid in repr(key)


async def test_s13_token_responses_are_not_stored(server: Server) -> None:
    """RFC 6749 section 5.1: every response carrying tokens, the password grant's and the
    refresh grant's, has ``Cache-Control: no-store`` and ``Pragma: no-cache``."""
    password = await server.client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": ALICE[0], "password": ALICE[1]},
    )
    assert password.status_code == 200
    refresh = await server.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": password.json()["refresh_token"]},
    )
    assert refresh.status_code == 200
    assert refresh.json()["refresh_token"] != password.json()["refresh_token"]
    for r in (password, refresh):
        assert r.json()["access_token"]
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["pragma"] == "no-cache"


async def test_s13_referrer_policy_and_nosniff_everywhere(server: Server) -> None:
    for path in ("/login", "/me", "/.well-known/jwks.json", "/nowhere"):
        r = await server.client.get(path)
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["strict-transport-security"].startswith("max-age="), path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path


# -- R01 store unreachable ---------------------------------------------------------------------


class Flaky:
    """Wraps a store; while ``down`` every coroutine method raises StoreUnavailable."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StoreUnavailable("connection refused")
            return await attr(*args, **kwargs)

        return call


async def test_r01_store_down_gives_503_and_recovers(server: Server) -> None:
    stores = server.service.stores
    flaky_users, flaky_sessions = Flaky(stores.users), Flaky(stores.sessions)
    server.service.stores = replace(stores, users=flaky_users, sessions=flaky_sessions)  # type: ignore[arg-type]
    server.app.state.context.cache.clear()
    alice = await server.login(*ALICE)
    server.app.state.context.cache.clear()
    flaky_users.down = flaky_sessions.down = True
    for call in (
        alice.get("/me"),
        server.client.post("/session", json={"username": ALICE[0], "password": ALICE[1]}),
        server.client.get("/health"),
    ):
        r = await call
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert "Traceback" not in r.text
    assert (await server.client.get("/health")).json() == {
        "status": "unavailable",
        "stores": {"database": "unavailable"},
    }
    flaky_users.down = flaky_sessions.down = False
    assert (await alice.get("/me")).status_code == 200
    assert (await server.client.get("/health")).json() == {
        "status": "ok",
        "stores": {"database": "ok"},
    }


async def test_unexpected_errors_are_generic_500s(server: Server) -> None:
    async def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internal detail")

    server.service.list_sessions = boom  # type: ignore[method-assign]
    alice = await server.login(*ALICE)
    transport = httpx.ASGITransport(app=server.app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url=BASE, cookies=alice.cookies)
    r = await client.get("/sessions")
    assert r.status_code == 500
    assert r.json() == {"error": "server_error", "error_description": "Internal error."}
    assert "secret internal detail" not in r.text
    # Sent from outside the middleware stack, the 500 still carries the security headers.
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


# What browsers really send on a same-origin POST from our pages (``Referrer-Policy:
# no-referrer`` makes the Origin ``null``), against what only a forgery sends.
BROWSER_LOGINS = [
    ({"Sec-Fetch-Site": "same-origin", "Origin": "null"}, 200),
    ({"Sec-Fetch-Site": "same-origin", "Origin": BASE}, 200),
    ({"Sec-Fetch-Site": "same-origin"}, 200),
    ({"Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "cross-site", "Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "same-site", "Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"}, 403),
]


@pytest.mark.parametrize(("headers", "status"), BROWSER_LOGINS)
async def test_s04_login_believes_sec_fetch_site(
    server: Server, headers: dict[str, str], status: int
) -> None:
    r = await server.client.post(
        "/session", json={"username": ALICE[0], "password": ALICE[1]}, headers=headers
    )
    assert r.status_code == status, r.text
    assert ("set-cookie" in r.headers) is (status == 200)


async def test_s04_same_origin_logout_with_a_null_origin_is_accepted(server: Server) -> None:
    alice, token = await _victim(server)
    r = await alice.delete(
        "/session",
        headers={"X-CSRF-Token": token, "Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 204


def test_loopback_public_urls_accept_every_loopback_name() -> None:
    local = ServerSettings(port=8123)
    assert local.origins == {
        "http://localhost:8123",
        "http://127.0.0.1:8123",
        "http://[::1]:8123",
    }
    assert ServerSettings(public_url="https://auth.example.com").origins == {
        "https://auth.example.com"
    }
