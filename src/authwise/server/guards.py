"""A deadline on reading request bodies, for ASGI servers that have none (granian).

uvicorn gets its header and body deadlines from :mod:`authwise.server.uvicorn_guard`;
granian has a header deadline and size cap of its own but lets a client take forever over a
body it announced. This layer gives the app's ``receive()`` a deadline, ``server.body_timeout``
seconds from the request's start, until the body is complete; past it the app is told the
client went away (it answers 400), and nothing further waits on that body.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyDeadlineMiddleware"]


class BodyDeadlineMiddleware:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self._seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._seconds
        body_done = False

        async def receive_by_deadline() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()  # e.g. a stream waiting for the disconnect
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                body_done = True
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, receive_by_deadline, send)
