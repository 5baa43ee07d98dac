"""A small reader of Server-Sent Events for the tests (the WHATWG event-stream format)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Message:
    event: str
    data: str
    id: str | None


def messages(lines: Iterator[str]) -> Iterator[Message]:
    """Each event of the stream: fields gathered up to the blank line; comments skipped."""
    event, data, last_id = "message", [], None
    for line in lines:
        if not line:
            if data:
                yield Message(event, "\n".join(data), last_id)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            last_id = value


def open_stream(
    url: str, auth: tuple[str, str], *, last_event_id: int | None = None, timeout: float = 15
) -> tuple[httpx.Client, httpx.Response]:
    """``GET /revocations`` as an event stream; the caller closes the client."""
    client = httpx.Client(timeout=timeout)
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    request = client.build_request("GET", f"{url}/revocations", headers=headers)
    response = client.send(request, stream=True, auth=auth)
    return client, response
