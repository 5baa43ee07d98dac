"""The authwise HTTP server: a thin Starlette app over :class:`authwise.service.AuthService`.

``create_app(settings, service)`` builds it; ``authwise.server.asgi:application`` is the
factory ``authwise serve`` hands to uvicorn or granian.
"""

from authwise.server.app import build_service, create_app

__all__ = ["build_service", "create_app"]
