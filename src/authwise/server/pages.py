"""Jinja2 rendering for the HTML pages (autoescaped, with the strict page CSP)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from authwise.server.headers import PAGE_CSP

__all__ = ["Pages"]


class Pages:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("authwise.server", "templates"),
            autoescape=select_autoescape(default=True),
            auto_reload=False,
        )

    def render(
        self,
        template: str,
        context: Mapping[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        all_headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
        all_headers.update(headers or {})
        return HTMLResponse(html, status_code, headers=all_headers)
