"""Cross-site request forgery defences for cookie-authenticated requests (ASVS V3.5).

Two independent checks, both required for an unsafe method carrying the session cookie:

1. the request comes from our own origin. A browser that sends ``Sec-Fetch-Site`` (every
   current one) is believed: it must say ``same-origin`` (or ``none``), and its ``Origin``
   must be one of ours or ``null``. ``null`` is what a browser sends for a same-origin form
   or ``fetch`` POST from a page whose referrer policy is ``no-referrer``, as ours is; a page
   cannot forge either header. Without ``Sec-Fetch-Site``, ``Origin`` (when sent) must be
   exactly one of ours and ``null`` is refused (it also comes from sandboxed frames and
   ``data:`` URLs). Clients that send neither (curl, servers) go on to the second check.
2. an anti-forgery token in ``X-CSRF-Token`` matches the one bound to the session: an HMAC of
   the session's public handle under a server key, so nothing extra is stored and a token is
   useless for any other session. ``GET /session`` hands it out.

Bearer-token requests need neither: a browser never attaches a bearer token by itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from starlette.requests import Request

from authwise.core._b64 import b64url_encode

__all__ = ["CSRF_HEADER", "CsrfGuard"]

CSRF_HEADER = "x-csrf-token"
_DOMAIN = b"authwise/csrf/v1\x00"


class CsrfGuard:
    """Issues and checks anti-forgery tokens; ``origins`` are the server's own origins
    (``ServerSettings.origins``)."""

    def __init__(self, key: bytes, origins: Iterable[str]) -> None:
        if len(key) < 32:
            raise ValueError("the CSRF key must have at least 256 bits")
        self._key = hmac.new(key, _DOMAIN, hashlib.sha256).digest()
        self.origins = frozenset(o.lower() for o in origins)

    def token(self, session_handle: str) -> str:
        mac = hmac.new(self._key, session_handle.encode(), hashlib.sha256).digest()
        return b64url_encode(mac)

    def same_origin(self, request: Request) -> bool:
        """The origin half of the check (also used for login and registration)."""
        headers = request.headers
        site = headers.get("sec-fetch-site")
        origin = headers.get("origin")
        if site is not None:
            if site not in ("same-origin", "none"):
                return False
            return origin is None or origin == "null" or origin.lower() in self.origins
        return origin is None or origin.lower() in self.origins

    def check(self, request: Request, session_handle: str) -> bool:
        """Both halves, for an unsafe cookie-authenticated request."""
        if not self.same_origin(request):
            return False
        presented = request.headers.get(CSRF_HEADER)
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token(session_handle).encode())
