"""Everything the routes share, built once per app by :func:`authwise.server.app.create_app`."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from authwise.config import Settings
from authwise.server.csrf import CsrfGuard
from authwise.server.device_cookie import DeviceCookies
from authwise.server.identity_cache import IdentityCache
from authwise.server.metrics import Metrics
from authwise.server.pages import Pages
from authwise.server.throttle import Throttle
from authwise.service import AuthService
from authwise.service.events import Subscription

__all__ = ["ServerContext", "derive_key"]


def derive_key(key_encryption_key: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose, derived from the deployment's key-encryption key (so
    every process of a deployment agrees without another secret to distribute)."""
    return hmac.new(key_encryption_key, f"authwise/{purpose}/v1".encode(), hashlib.sha256).digest()


@dataclass(kw_only=True)
class ServerContext:
    settings: Settings
    service: AuthService
    csrf: CsrfGuard
    devices: DeviceCookies
    throttle: Throttle
    metrics: Metrics
    pages: Pages
    cache: IdentityCache
    subscription: Subscription | None = field(default=None)

    @property
    def cookie_name(self) -> str:
        return self.settings.cookie.cookie_name
