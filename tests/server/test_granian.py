"""``authwise serve --server granian``: the same app under granian, over real HTTP.

uvicorn is the default and most tests use it; this runs the whole sign-in path once under
granian so the option stays a working one.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from .live import live_server

PASSWORD = "correct horse battery staple"


def test_serve_with_granian_signs_in_by_cookie_and_by_token(tmp_path: Path) -> None:
    with live_server(tmp_path / "data", "--dev", "--registration", "--server", "granian") as live:
        assert "granian" in live.log.read_text().lower()
        with httpx.Client(base_url=live.url) as client:
            r = client.post("/users", json={"username": "gran", "password": PASSWORD})
            assert r.status_code == 202
            r = client.post("/session", json={"username": "gran", "password": PASSWORD})
            assert r.status_code == 200, r.text
            me = client.get("/me")
            assert me.status_code == 200
            assert me.json()["auth_method"] == "session"
        tokens = httpx.post(
            f"{live.url}/oauth/token",
            data={"grant_type": "password", "username": "gran", "password": PASSWORD},
        )
        assert tokens.status_code == 200
        assert tokens.headers["cache-control"] == "no-store"
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        me = httpx.get(f"{live.url}/me", headers=bearer)
        assert me.status_code == 200
        assert me.json()["auth_method"] == "bearer"
        revoked = httpx.post(
            f"{live.url}/oauth/revoke", data={"token": tokens.json()["refresh_token"]}
        )
        assert revoked.status_code == 200
        assert httpx.get(f"{live.url}/me", headers=bearer).status_code == 401
