"""JSON responses and the one error shape: ``{"error": code, "error_description": message}``.

Messages are generic and safe to show anyone; the detail a developer needs goes to the log
(without secrets). OAuth endpoints use the same shape, which is RFC 6749 section 5.2's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["NO_STORE", "ApiError", "error_response", "json_response"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_MESSAGES = {
    400: "The request is malformed.",
    401: "Authentication is required.",
    403: "This request is not allowed.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "The request body is too large.",
    415: "Unsupported content type.",
    429: "Too many requests; try again later.",
    500: "Internal error.",
    503: "The service is temporarily unavailable; try again shortly.",
}
_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "server_error",
    503: "temporarily_unavailable",
}


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content), status_code, headers=headers, media_type="application/json"
    )


def error_response(
    status_code: int,
    code: str | None = None,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {
        "error": code or _CODES.get(status_code, "error"),
        "error_description": message or _MESSAGES.get(status_code, "Request failed."),
    }
    return json_response(body, status_code, headers)


class ApiError(Exception):
    """Raised by route code to answer with an error; the app turns it into a response."""

    def __init__(
        self,
        status_code: int,
        code: str | None = None,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        super().__init__(code or str(status_code))

    def response(self) -> Response:
        return error_response(self.status_code, self.code, self.message, self.headers)
