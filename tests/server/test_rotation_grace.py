"""A role change rotates the session ID; a busy page's requests in flight with the old cookie
must all go through (issue: 4 of 6 got 401), on the embedded default and across processes."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx

from .live import LiveServer, live_server
from .test_durability import scale_out  # noqa: F401 - a fixture
from .test_event_log import PASSWORD, cli

COOKIE = "authwise_session"


def check_parallel_requests_after_a_role_change(servers: Sequence[LiveServer]) -> None:
    env = dict(servers[0].env)
    cli(env, "users", "create", "busy", "--password-stdin", stdin=PASSWORD)
    signed_in = httpx.post(
        f"{servers[0].url}/session", json={"username": "busy", "password": PASSWORD}
    )
    assert signed_in.status_code == 200
    old = signed_in.cookies[COOKIE]
    for live in servers:  # cached everywhere
        assert httpx.get(f"{live.url}/me", cookies={COOKIE: old}).status_code == 200
    cli(env, "users", "set-roles", "busy", "editor")

    def request(i: int) -> httpx.Response:
        live = servers[i % len(servers)]
        return httpx.get(f"{live.url}/me", cookies={COOKIE: old})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(request, range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert all(a.json()["roles"] == ["editor"] for a in answers)
    # Every answer hands the page the same new cookie, whichever process rotated.
    new = {a.cookies.get(COOKIE) for a in answers}
    assert len(new) == 1
    [new_id] = new
    assert new_id is not None
    assert new_id != old
    for live in servers:
        me = httpx.get(f"{live.url}/me", cookies={COOKIE: new_id})
        assert me.status_code == 200
        assert COOKIE not in me.cookies  # no second rotation


def test_parallel_requests_survive_a_rotation_on_sqlite(tmp_path: Path) -> None:
    with live_server(tmp_path / "data", "--dev") as live:
        check_parallel_requests_after_a_role_change([live])


def test_parallel_requests_survive_a_rotation_across_processes(
    tmp_path: Path,
    scale_out: dict[str, str],  # noqa: F811 - the fixture
) -> None:
    env = {**scale_out, "AUTHWISE_SERVER_PUBLIC_URL": "http://localhost:8000"}
    with ExitStack() as stack:
        servers = [
            stack.enter_context(live_server(tmp_path / "data", "--dev", env=env)) for _ in range(2)
        ]
        check_parallel_requests_after_a_role_change(servers)
