"""The ASGI server's access log, without query strings.

uvicorn logs each request as ``client - "METHOD /path?query HTTP/1.1" status``. A client that
puts a credential in the query (``?access_token=``, ``?client_secret=``; authwise reads none
from there, but clients make mistakes) would have it written to the log (S13). The filter
keeps the path and replaces the query with a marker, so a log line still shows that one was
sent.
"""

from __future__ import annotations

import logging

__all__ = ["ACCESS_LOGGER", "RedactQuery", "install"]

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "?[query omitted]"


class RedactQuery(logging.Filter):
    """Rewrites uvicorn's access-log record so its path carries no query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's record: (client, method, path with query, HTTP version, status).
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            if sep:
                record.args = (*args[:2], path + REDACTED, *args[3:])
        return True


def install() -> None:
    """Put the filter on the access logger of this process (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQuery) for f in logger.filters):
        logger.addFilter(RedactQuery())
