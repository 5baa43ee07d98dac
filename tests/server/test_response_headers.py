"""Headers that keep answers private (issue 11, item 15): JSON and HTML answers that name no
``Cache-Control`` get ``no-store``; HSTS ``includeSubDomains`` is a setting."""

from __future__ import annotations

from authwise.config import ServerSettings

from .conftest import ADMIN, BASE, ServerFactory, make_settings


async def test_authenticated_json_and_pages_are_not_stored(make_server: ServerFactory) -> None:
    async with make_server() as server:
        admin = await server.login(*ADMIN)
        user_id = (await admin.get("/me")).json()["sub"]
        answers = [
            await admin.get("/admin/users"),
            await admin.patch(f"/admin/users/{user_id}", json={"tenant": "t1"}),
            await admin.get("/sessions"),
            await admin.get("/account"),
            await admin.get("/admin"),
        ]
        for r in answers:
            assert r.status_code == 200, r.request.url
            assert r.headers["cache-control"] == "no-store", r.request.url
        # A response that sets its own policy keeps it.
        jwks = await server.client.get("/.well-known/jwks.json")
        assert jwks.headers["cache-control"].startswith("public")


async def test_hsts_include_subdomains_is_a_setting(make_server: ServerFactory) -> None:
    async with make_server() as server:
        r = await server.client.get("/health")
        assert r.headers["strict-transport-security"] == "max-age=63072000"
    settings = make_settings(server=ServerSettings(public_url=BASE, hsts_include_subdomains=True))
    async with make_server(settings) as server:
        r = await server.client.get("/health")
        assert r.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
