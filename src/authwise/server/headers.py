"""Security headers on every response, as one thin ASGI layer.

JSON answers get a CSP that allows nothing; HTML pages set their own strict policy (scripts
and styles from this origin only, no inline code). ``Referrer-Policy: no-referrer`` keeps URLs
out of other sites' logs (S13). JSON and HTML answers that name no ``Cache-Control`` get
``no-store``: most are about the caller (admin lists, sessions, the account page), and a
shared cache or the browser's history must not keep them. A response that already names a
header keeps its own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PAGE_CSP", "SecurityHeadersMiddleware", "add_security_headers", "security_headers"]

API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


_NO_STORE = (b"cache-control", b"no-store")
_PRIVATE_TYPES = (b"application/json", b"text/html")


def security_headers(*, hsts: bool, include_subdomains: bool = False) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries (HSTS only when the server is reached over https,
    for its subdomains too with ``include_subdomains``)."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"content-security-policy", API_CSP.encode()),
    ]
    if hsts:
        value = (
            b"max-age=63072000; includeSubDomains" if include_subdomains else b"max-age=63072000"
        )
        headers.append((b"strict-transport-security", value))
    return headers


def add_security_headers(
    raw: list[tuple[bytes, bytes]], headers: list[tuple[bytes, bytes]]
) -> None:
    """Add to ``raw`` each of ``headers`` it does not name already, and ``Cache-Control:
    no-store`` to a JSON or HTML answer that names no ``Cache-Control``."""
    present = {name.lower(): value for name, value in raw}
    raw.extend(h for h in headers if h[0] not in present)
    if b"cache-control" not in present and present.get(b"content-type", b"").startswith(
        _PRIVATE_TYPES
    ):
        raw.append(_NO_STORE)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool, include_subdomains: bool = False) -> None:
        self.app = app
        self._headers = security_headers(hsts=hsts, include_subdomains=include_subdomains)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                add_security_headers(raw, self._headers)
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, with_headers)
