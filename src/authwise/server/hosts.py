"""The ``Host`` header, refused unless it names this server (S18).

A server that answers any ``Host`` builds links and redirects to wherever the client said it
was (``Host: evil.example`` on ``/account/`` redirected to ``http://evil.example/account``),
which poisons caches and password-reset style links. Requests whose ``Host`` the settings do not allow
(:meth:`~authwise.config.ServerSettings.allows_host`: the host of ``server.public_url``,
``server.allowed_hosts``, and any loopback name when the public URL is a loopback one) get 400
before any route runs; the redirects the router makes itself (a trailing slash) are
rebuilt on ``server.public_url``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authwise.config import ServerSettings
from authwise.server.responses import error_response

__all__ = ["TrustedHostMiddleware"]


class TrustedHostMiddleware:
    def __init__(self, app: ASGIApp, *, settings: ServerSettings) -> None:
        self.app = app
        self._allows = settings.allows_host
        self._public_url = settings.public_url.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the server has no websockets
            await self.app(scope, receive, send)
            return
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                if host is not None:
                    host = None  # two Host lines (RFC 9112 section 3.2): refused
                    break
                host = value
        text = host.decode("latin-1").lower() if host is not None else ""
        if not self._allows(text):
            response = error_response(400, "invalid_host", "Unknown host.")
            await response(scope, receive, send)
            return
        scheme = scope.get("scheme", "http").encode()
        # What Starlette puts in front of a path when it builds an absolute URL from the request.
        request_origin = scheme + b"://" + text.encode("latin-1")

        async def send_rebased(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = []
                for name, value in message.get("headers", ()):
                    if name.lower() == b"location" and value.lower().startswith(request_origin):
                        rest = value[len(request_origin) :]
                        if not rest or rest.startswith((b"/", b"?")):
                            value = self._public_url + rest
                    headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_rebased)
