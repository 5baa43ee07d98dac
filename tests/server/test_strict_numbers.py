"""Numbers in the API are ASCII digits only (issue 11, item 12): ``str.isdigit()`` and
``int()`` take superscripts, other scripts' digits and underscores, which made
``GET /admin/users?limit=²`` a 500."""

from __future__ import annotations

import pytest

from authwise.config import ConfigError, load_settings
from authwise.server.requests import ascii_int

from .conftest import ADMIN, Server

# Superscript two, Arabic-Indic three, fullwidth ten, ...
NOT_ASCII_NUMBERS = [
    "\u00b2",
    "\u0663",
    "\uff11\uff10",
    "1_0",
    "+5",
    "-1",
    " 5",
    "5 ",
    "",
    "0x10",
    "9" * 19,
]


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_ascii_int_refuses_everything_but_ascii_digits(text: str) -> None:
    assert ascii_int(text) is None


def test_ascii_int_reads_ascii_digits() -> None:
    assert ascii_int("0") == 0
    assert ascii_int("0042") == 42
    assert ascii_int("9" * 18) == 10**18 - 1


@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "\uff11\uff10", "1_0", "+5"])
async def test_admin_users_limit_in_other_digits_is_a_400(server: Server, limit: str) -> None:
    admin = await server.login(*ADMIN)
    r = await admin.get("/admin/users", params={"limit": limit})
    assert r.status_code == 400
    assert r.json()["error_description"] == "limit must be an integer from 1 to 500."


@pytest.mark.parametrize("length", ["\u00b2", "\u0661\u0660", "1_0"])
async def test_content_length_in_other_digits_is_a_400(server: Server, length: str) -> None:
    # httpx would replace a Content-Length it can compute, so the request is sent raw.
    messages: list[dict[str, object]] = []
    body = b'{"username": "a", "password": "b"}'
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/session",
        "raw_path": b"/session",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"auth.test"),
            (b"origin", b"https://auth.test"),
            (b"content-type", b"application/json"),
            (b"content-length", length.encode("utf-8")),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("auth.test", 443),
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        messages.append(message)

    await server.app(scope, receive, send)
    assert messages[0]["status"] == 400
    assert b"Content-Length" in messages[1]["body"]  # type: ignore[operator]


@pytest.mark.parametrize("value", ["\u0668\u0660\u0660\u0660", "8_000"])
def test_settings_numbers_are_ascii_too(value: str) -> None:
    with pytest.raises(ConfigError, match="AUTHWISE_SERVER_PORT: expected a number"):
        load_settings(environ={"AUTHWISE_SERVER_PORT": value})
