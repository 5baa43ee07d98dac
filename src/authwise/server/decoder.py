"""The web decoder at ``/decode``: a page that decodes, lints and verifies in the browser.

The server only hands out a static page, its script and stylesheet, and the rules document
(embedded in the page, and at ``/decode/rules.json`` for other tools). No route takes a token:
the page's policy lets it talk to this origin only, and the script's one request is for the
server's own JWKS. Mount with ``Starlette(routes=[*decoder.routes, ...])``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from authwise.core.rules import rules_document

__all__ = ["DECODER_CSP", "routes"]

_HERE = Path(__file__).parent
_STATIC = _HERE / "static"

# Stricter than the other pages: no forms at all, and Trusted Types so no script can write
# HTML from strings (the page builds every node with textContent).
DECODER_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": DECODER_CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def _script_json(data: object) -> Markup:
    # Inside <script type="application/json"> nothing is entity-decoded, so escape what could
    # end the element or start markup as JSON \u escapes instead.
    text = orjson.dumps(data).decode()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for the script-data context


@cache
def _page() -> str:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(default=True),
        auto_reload=False,
    )
    return env.get_template("decode.html").render(
        rules_json=_script_json(rules_document()),
        js_url="/decode/decode.js",
        css_url="/decode/decode.css",
    )


async def decode_page(request: Request) -> Response:
    return HTMLResponse(_page(), headers=_PAGE_HEADERS)


async def decode_js(request: Request) -> Response:
    return FileResponse(
        _STATIC / "decode.js", media_type="text/javascript; charset=utf-8", headers=_ASSET_HEADERS
    )


async def decode_css(request: Request) -> Response:
    return FileResponse(
        _STATIC / "decode.css", media_type="text/css; charset=utf-8", headers=_ASSET_HEADERS
    )


async def rules_json(request: Request) -> Response:
    return Response(
        orjson.dumps(rules_document()),
        media_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


routes: list[BaseRoute] = [
    Route("/decode", decode_page, methods=["GET"], name="decoder"),
    Route("/decode/decode.js", decode_js, methods=["GET"], name="decoder-js"),
    Route("/decode/decode.css", decode_css, methods=["GET"], name="decoder-css"),
    Route("/decode/rules.json", rules_json, methods=["GET"], name="decoder-rules"),
]
