"""The body deadline layer used under granian (issue 11, item 11): it ends the wait for a
body that stalls, and never for anything after the body (a stream waiting for the client to
go away)."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope, Send

from authwise.server.guards import BodyDeadlineMiddleware

SCOPE: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}


async def _run(messages: list[tuple[float, Message]], reads: int) -> list[Message]:
    """The middleware over an app that calls receive() ``reads`` times; each of ``messages``
    arrives after its delay in seconds."""
    queue = list(messages)
    seen: list[Message] = []

    async def receive() -> Message:
        delay, message = queue.pop(0)
        await asyncio.sleep(delay)
        return message

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(reads):
            seen.append(await receive())

    async def send(message: Message) -> None:
        pass

    await asyncio.wait_for(BodyDeadlineMiddleware(app, seconds=0.05)(SCOPE, receive, send), 2)
    return seen


async def test_a_stalled_body_reads_as_a_disconnect() -> None:
    first = {"type": "http.request", "body": b"{", "more_body": True}
    rest = {"type": "http.request", "body": b"}", "more_body": False}
    seen = await _run([(0, first), (3600, rest)], reads=2)
    assert seen == [first, {"type": "http.disconnect"}]


async def test_after_the_body_receive_is_left_alone() -> None:
    body = {"type": "http.request", "body": b"{}", "more_body": False}
    # The client goes away well after the deadline: that is what the app must see.
    gone = {"type": "http.disconnect", "from": "the client"}
    seen = await _run([(0, body), (0.2, gone)], reads=2)
    assert seen == [body, gone]


async def test_other_scopes_pass_through() -> None:
    calls: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    await BodyDeadlineMiddleware(app, seconds=0.05)({"type": "lifespan"}, receive, send)
    assert calls == ["lifespan"]
