"""Cross-site request forgery defences for cookie-authenticated requests (ASVS V3.5).

Two independent checks, both required for an unsafe method carrying the session cookie:

1. the request comes from our own origin: ``Sec-Fetch-Site`` (when sent) is ``same-origin``
   or ``none``, and ``Origin`` (when sent) is exactly the server's public origin; ``Origin:
   null`` is refused. Clients that send neither (curl, servers) go on to the second check.
2. an anti-forgery token in ``X-CSRF-Token`` matches the one bound to the session: an HMAC of
   the session's public handle under a server key, so nothing extra is stored and a token is
   useless for any other session. ``GET /session`` hands it out.

Bearer-token requests need neither: a browser never attaches a bearer token by itself.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from authwise.core._b64 import b64url_encode

__all__ = ["CSRF_HEADER", "CsrfGuard"]

CSRF_HEADER = "x-csrf-token"
_DOMAIN = b"authwise/csrf/v1\x00"


class CsrfGuard:
    """Issues and checks anti-forgery tokens; ``origin`` is the server's public origin."""

    def __init__(self, key: bytes, origin: str) -> None:
        if len(key) < 32:
            raise ValueError("the CSRF key must have at least 256 bits")
        self._key = hmac.new(key, _DOMAIN, hashlib.sha256).digest()
        self.origin = origin

    def token(self, session_handle: str) -> str:
        mac = hmac.new(self._key, session_handle.encode(), hashlib.sha256).digest()
        return b64url_encode(mac)

    def same_origin(self, request: Request) -> bool:
        """The origin half of the check (also used for login and registration)."""
        headers = request.headers
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = headers.get("origin")
        return origin is None or origin.lower() == self.origin

    def check(self, request: Request, session_handle: str) -> bool:
        """Both halves, for an unsafe cookie-authenticated request."""
        if not self.same_origin(request):
            return False
        presented = request.headers.get(CSRF_HEADER)
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token(session_handle).encode())
