"""Reading requests safely: bounded bodies, JSON or form fields, the client's address."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request

from authwise.server.responses import ApiError

__all__ = [
    "ascii_int",
    "client_addr",
    "optional_text",
    "read_fields",
    "read_json_object",
    "required_text",
    "user_agent",
]

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
# ASCII digits only: str.isdigit() and int() also take "²", "٣" or "1_000".
_DIGITS = re.compile(r"[0-9]{1,18}")


def ascii_int(text: str) -> int | None:
    """``text`` as a non-negative integer when it is 1 to 18 ASCII digits, else None."""
    return int(text) if _DIGITS.fullmatch(text) else None


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        declared = ascii_int(length)
        if declared is None:
            raise ApiError(400, message="Content-Length is not a number.")
        if declared > limit:
            raise ApiError(413)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413)
            chunks.append(chunk)
    except ClientDisconnect:
        # The body broke off: the client went away, or its framing was bad and the HTTP
        # server has answered 400 and closed. A client's doing, not an internal error.
        raise ApiError(400, message="The request body ended early.") from None
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _form(body: bytes) -> dict[str, str]:
    try:
        # errors="strict": percent-escapes that are not UTF-8 are refused like raw bytes,
        # not replaced with U+FFFD (which would make all such passwords one password).
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, errors="strict"
        )
    except UnicodeDecodeError:
        raise ApiError(400, message="The form is not valid UTF-8.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            # RFC 6749 section 3.2: parameters must not be included more than once.
            raise ApiError(400, message=f"The parameter {name!r} is repeated.")
        fields[name] = value
    return fields


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as one JSON object (415 for another content type, 400 for bad JSON)."""
    if _media_type(request) != _JSON:
        raise ApiError(415, message="Send application/json.")
    body = await _read_body(request, limit)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, message="The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError(400, message="The body must be a JSON object.")
    # orjson keeps the last of two equal names, another parser the first: one body, two
    # meanings. Re-serialising gives back the input when it was compact and had no
    # duplicates; any other body is checked member by member.
    if orjson.dumps(value) != body:
        json.loads(body, object_pairs_hook=_no_duplicates)
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ApiError(400, message="The body repeats a member name.")
    return obj


async def read_fields(request: Request, limit: int, *, json: bool = True) -> dict[str, Any]:
    """Form fields (``application/x-www-form-urlencoded``), or a JSON object when allowed."""
    media_type = _media_type(request)
    if media_type == _FORM:
        return _form(await _read_body(request, limit))
    if json and media_type == _JSON:
        return await read_json_object(request, limit)
    if not media_type and not await _read_body(request, limit):
        return {}  # no body at all: every required field is missing (400, not 415)
    expected = "application/x-www-form-urlencoded or application/json" if json else _FORM
    raise ApiError(415, message=f"Send {expected}.")


def client_addr(request: Request, trust_proxy: bool) -> str:
    """The client's address: the socket peer, or, when the server is told to trust its proxy,
    the rightmost ``X-Forwarded-For`` entry.

    A proxy appends the address it saw to whatever the client sent, so only the last entry is
    the proxy's word; the ones before it are the client's and cannot be trusted. The server
    reads the header itself rather than ``request.client``: uvicorn resolves the client only
    when the peer is in its ``forwarded_allow_ips`` and granian not at all, and then every
    client would share the proxy's address (and its throttle allowance). Several header lines
    are one list (RFC 9110 section 5.3), so the last line's last entry counts.
    """
    if trust_proxy:
        lines = request.headers.getlist("x-forwarded-for")
        if lines:
            last = lines[-1].rsplit(",", 1)[-1].strip()[:64]
            if last:
                return last
    client = request.client
    return client.host if client is not None else "unknown"


def user_agent(request: Request) -> str | None:
    value = request.headers.get("user-agent")
    return value[:256] if value else None


def optional_text(fields: dict[str, Any], name: str, *, max_length: int) -> str | None:
    """A string field of 1..``max_length`` characters without NUL, or None when absent."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= max_length or "\x00" in value:
        raise ApiError(400, "invalid_request", f"The field {name!r} is not valid.")
    return value


def required_text(fields: dict[str, Any], name: str, *, max_length: int) -> str:
    """Like :func:`optional_text`, but absent is a 400 too."""
    value = optional_text(fields, name, max_length=max_length)
    if value is None:
        raise ApiError(400, "invalid_request", f"The field {name!r} is required.")
    return value
