"""Fixtures for the decoder, linter and advisor tests.

``site`` serves the decoder's routes and a JWKS from a real uvicorn server on a free localhost
port, for the CLI's ``--jwks URL`` and the browser tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authwise import KeySet, PrivateKey
from authwise.server import decoder


@pytest.fixture(scope="session")
def es256() -> PrivateKey:
    return PrivateKey.generate("ES256")


@pytest.fixture(scope="session")
def ed25519() -> PrivateKey:
    return PrivateKey.generate("Ed25519")


@pytest.fixture(scope="session")
def rs256() -> PrivateKey:
    return PrivateKey.generate("RS256", rsa_bits=2048)


@dataclass
class Site:
    url: str
    requests: list[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def site(es256: PrivateKey, ed25519: PrivateKey) -> Iterator[Site]:
    seen: list[str] = []
    jwks = KeySet([es256.public, ed25519.public]).to_jwks()

    async def jwks_route(request: Request) -> Response:
        return JSONResponse(jwks)

    async def big_jwks(request: Request) -> Response:
        return Response(b"{" + b" " * 300_000 + b"}", media_type="application/json")

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": "/.well-known/jwks.json"})

    app = Starlette(
        routes=[
            *decoder.routes,
            Route("/.well-known/jwks.json", jwks_route),
            Route("/big-jwks.json", big_jwks),
            Route("/redirect-jwks.json", redirect),
        ]
    )

    async def record(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            seen.append(
                scope["path"]
                + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
            )
        await app(scope, receive, send)

    port = _free_port()
    config = uvicorn.Config(
        record,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http="h11",
        ws="none",
        lifespan="off",
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Site(f"http://127.0.0.1:{port}", seen)
    server.should_exit = True
    thread.join(timeout=5)
