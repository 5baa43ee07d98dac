"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"; S15).

After a successful sign-in the browser gets a cookie that says "this device signed in to
this account before": a random nonce and an HMAC over the account's normal form and the
nonce, under a key derived from the key-encryption key, so every process of a deployment can
check it and nothing is stored. A later sign-in to the same account that presents it is
throttled under that device's own allowance instead of the account-wide ceiling
(:class:`~authwise.server.throttle.Throttle`): an attacker guessing from many addresses
spends the ceiling for everyone else, not for the owner's browser. The cookie is no
credential: it never signs anyone in, it only decides which counter a sign-in uses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from authwise.config import Settings
from authwise.core._b64 import b64url_encode

__all__ = ["DeviceCookies"]

_DOMAIN = b"authwise/device-cookie/v1\x00"
_VERSION = "d1"
_NONCE_BYTES = 16
_MAX_VALUE = 96  # "d1." + 22 + "." + 43 characters, with room to spare


class DeviceCookies:
    """Issues and recognises device cookies; ``key`` is at least 256 bits."""

    def __init__(self, key: bytes, settings: Settings) -> None:
        if len(key) < 32:
            raise ValueError("the device-cookie key must have at least 256 bits")
        self._key = hmac.new(key, _DOMAIN, hashlib.sha256).digest()
        cookie = settings.cookie
        self._secure = cookie.secure
        self.name = f"__Host-{cookie.name}_device" if cookie.secure else f"{cookie.name}_device"
        self.max_age = settings.rate_limits.device_cookie_ttl

    @property
    def enabled(self) -> bool:
        return self.max_age > 0

    def _mac(self, account: str, nonce: str) -> str:
        message = account.encode() + b"\x00" + nonce.encode()
        return b64url_encode(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(self, account: str) -> str:
        """A ``Set-Cookie`` value for a new device cookie bound to ``account`` (its normal
        form): ``__Host-`` prefixed and Secure unless the session cookie is not, HttpOnly,
        SameSite=Strict (only sign-in, a same-origin request, ever reads it)."""
        nonce = b64url_encode(secrets.token_bytes(_NONCE_BYTES))
        parts = [
            f"{self.name}={_VERSION}.{nonce}.{self._mac(account, nonce)}",
            "Path=/",
            f"Max-Age={self.max_age}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if self._secure:
            parts.append("Secure")
        return "; ".join(parts)

    def device(self, value: str | None, account: str) -> str | None:
        """The device's nonce when ``value`` (the cookie named :attr:`name`) is a valid device
        cookie for ``account`` (its normal form), else ``None``: a missing, malformed, forged
        cookie, or one issued for another account, counts as no device at all."""
        if not self.enabled or value is None or len(value) > _MAX_VALUE:
            return None
        version, _, rest = value.partition(".")
        nonce, _, mac = rest.partition(".")
        if version != _VERSION or not nonce or not mac:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(account, nonce).encode()):
            return None
        return nonce
