"""The host and the counters are not the client's to choose (issue 11, items 8 and 10):
an unknown ``Host`` gets 400 and redirects are built on ``server.public_url``; ``/metrics``
is 404 unless ``server.metrics_token`` is set, and then needs that bearer token."""

from __future__ import annotations

import pytest

from authwise.config import Secret, ServerSettings

from .conftest import BASE, ServerFactory, make_settings

TOKEN = "m" * 24


@pytest.mark.parametrize("path", ["/account/", "/health", "/.well-known/jwks.json", "/login"])
async def test_unknown_host_is_refused(make_server: ServerFactory, path: str) -> None:
    async with make_server() as server:
        r = await server.client.get(path, headers={"Host": "evil.example"})
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_host"
        assert "location" not in r.headers
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_trailing_slash_redirect_is_built_on_the_public_url(
    make_server: ServerFactory,
) -> None:
    settings = make_settings(
        server=ServerSettings(public_url=BASE, allowed_hosts=("internal.test:8443",))
    )
    async with make_server(settings) as server:
        for host in ("auth.test", "AUTH.test", "internal.test:8443"):
            r = await server.client.get("/account/?x=1", headers={"Host": host})
            assert r.status_code in (307, 308), host
            assert r.headers["location"] == f"{BASE}/account?x=1", host


async def test_known_hosts_are_served(make_server: ServerFactory) -> None:
    settings = make_settings(server=ServerSettings(public_url="https://auth.test:8443"))
    async with make_server(settings) as server:
        r = await server.client.get("/health", headers={"Host": "auth.test:8443"})
        assert r.status_code == 200
        for host in (
            "auth.test",
            "auth.test:443",
            "localhost:8443",
            "127.0.0.1",
            "a.auth.test:8443",
        ):
            r = await server.client.get("/health", headers={"Host": host})
            assert r.status_code == 400, host


async def test_a_loopback_public_url_allows_every_loopback_host(
    make_server: ServerFactory,
) -> None:
    # Development and tests: the server is reached at whatever port it was started on.
    settings = make_settings(server=ServerSettings(public_url="http://localhost:8000"))
    async with make_server(settings) as server:
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "localhost", "127.0.0.1:9"):
            r = await server.client.get("/health", headers={"Host": host})
            assert r.status_code == 200, host
        for host in ("localhost.evil.example:8000", "evil.example", "127.0.0.2:8000", "[::1]x"):
            r = await server.client.get("/health", headers={"Host": host})
            assert r.status_code == 400, host


async def test_a_request_without_one_host_is_refused(make_server: ServerFactory) -> None:
    async with make_server() as server:
        for headers in ([], [(b"host", b"auth.test"), (b"host", b"auth.test")]):
            messages: list[dict[str, object]] = []
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.0",
                "method": "GET",
                "scheme": "https",
                "path": "/health",
                "raw_path": b"/health",
                "query_string": b"",
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 40000),
                "server": ("auth.test", 443),
            }

            async def receive() -> dict[str, object]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(
                message: dict[str, object], sink: list[dict[str, object]] = messages
            ) -> None:
                sink.append(message)

            await server.app(scope, receive, send)
            assert messages[0]["status"] == 400


def test_server_hosts_cover_the_default_port() -> None:
    hosts = ServerSettings(public_url="https://Auth.Example.com").hosts
    assert {"auth.example.com", "auth.example.com:443"} <= hosts
    assert "auth.example.com:80" not in hosts
    with pytest.raises(ValueError, match="allowed_hosts"):
        ServerSettings(allowed_hosts=("evil.example/path",))


async def test_metrics_are_off_by_default(make_server: ServerFactory) -> None:
    async with make_server() as server:
        r = await server.client.get("/metrics")
        assert r.status_code == 404
        assert "authwise_" not in r.text
        r = await server.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 404


async def test_metrics_need_their_bearer_token(make_server: ServerFactory) -> None:
    settings = make_settings(server=ServerSettings(public_url=BASE, metrics_token=Secret(TOKEN)))
    async with make_server(settings) as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = await server.client.get("/metrics", headers=headers)
            assert r.status_code == 401
            assert "authwise_" not in r.text
        r = await server.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200
        assert "authwise_http_requests_total" in r.text


def test_metrics_token_is_long_enough() -> None:
    with pytest.raises(ValueError, match="metrics_token"):
        ServerSettings(metrics_token=Secret("short"))
