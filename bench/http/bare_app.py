"""The baseline for bench/http_me.py: a bare Starlette route returning the same JSON (and the
same headers) as authwise's GET /me, with no middleware, no lookup and no check at all.

The body comes from ``BENCH_ME_JSON`` so it is byte for byte what the server answered.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = os.environ.get("BENCH_ME_JSON", '{"sub":"x"}').encode()


async def me(request: Request) -> Response:
    return Response(BODY, media_type="application/json", headers={"Cache-Control": "no-store"})


app = Starlette(routes=[Route("/me", me, methods=["GET"])])
