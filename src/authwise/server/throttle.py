"""Login and refresh throttling (S11, S15), on the ``limits`` library.

Per account, only *failed* attempts count, and every window slides: a flood of wrong passwords
slows sign-in for a minute, never locks it out for good, and a correct password never uses up
the allowance. The per-account allowance is kept per account *and client address*, so
whoever floods an account with wrong passwords throttles themselves, not the owner signing in
from elsewhere; an account-wide ceiling, much higher, bounds guessing spread over many
addresses. A browser that signed in to the account before presents its device cookie
(:mod:`authwise.server.device_cookie`): its attempts count under that device's own allowance
instead, so an attacker who spends the account-wide ceiling does not keep the owner out, and
a device cookie that keeps failing is itself throttled for the window (OWASP, "Slow Down
Online Guessing Attacks with Device Cookies").

Per client address, every attempt counts, and that count is taken with the limiter's atomic
hit (one Lua script on Redis, one lock in memory): however many sign-ins race, no more than
the limit get through. Refresh grants are throttled per address the same way. State is in
memory, or in Redis when one is configured (shared by every process).
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool

from authwise.config import RateLimitSettings
from authwise.core.accounts import normalize_username
from authwise.errors import InvalidInput, StoreUnavailable
from authwise.server.responses import ApiError

__all__ = ["Throttle", "account_key"]

REDIS_TIMEOUT_S = 2.0


def account_key(username: str) -> str:
    """The name the per-account counters use: the account's normal form, the one sign-in looks
    it up by, so every spelling that reaches an account (capitals, fullwidth letters) shares
    its allowance. A name no account can have (normalisation refuses it) falls back to its
    case fold: it still counts, it just reaches no account."""
    try:
        return normalize_username(username)
    except InvalidInput:
        return username.casefold()


class Throttle:
    def __init__(self, settings: RateLimitSettings, redis_url: str = "") -> None:
        self.enabled = settings.enabled
        storage: Storage
        self._pool: ConnectionPool | None = None
        if redis_url:
            # Our own pool, so close() can release its connections; bounded waits, so a Redis
            # that stops answering (paused, partitioned) fails the request with 503 after the
            # timeout instead of holding it forever.
            self._pool = ConnectionPool.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
            options: dict[str, Any] = {"connection_pool": self._pool}
            shared = storage_from_string(
                f"async+{redis_url}", implementation="redispy", wrap_exceptions=True, **options
            )
            assert isinstance(shared, Storage)  # noqa: S101 - "async+" names an aio storage
            storage = shared
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self.per_account = parse(settings.login_per_account)
        self.per_account_global = parse(settings.login_per_account_global)
        self.per_device = parse(settings.login_per_device)
        self.per_address = parse(settings.login_per_address)
        self.refresh = parse(settings.refresh_per_address)

    async def _too_many(self, item: RateLimitItem, *keys: str) -> ApiError:
        stats = await self._limiter.get_window_stats(item, *keys)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        return ApiError(
            429,
            "too_many_requests",
            "Too many attempts; try again later.",
            {"Retry-After": str(retry)},
        )

    async def _refuse_if_spent(self, item: RateLimitItem, *keys: str) -> None:
        if not await self._limiter.test(item, *keys):
            raise await self._too_many(item, *keys)

    async def _take(self, item: RateLimitItem, *keys: str) -> None:
        # One atomic test-and-count: a test followed by a hit lets every racing request pass
        # the test before any of them is counted.
        if not await self._limiter.hit(item, *keys):
            raise await self._too_many(item, *keys)

    async def before_login(self, username: str, address: str, device: str | None = None) -> None:
        """429 when this account has used up its allowance (from this ``device`` when the
        caller presented a valid device cookie, else from this address and from everywhere),
        or when this address has; otherwise the attempt is counted against the address. The
        password is not checked on a 429, so the answer says nothing about it."""
        if not self.enabled:
            return
        account = account_key(username)
        if device is not None:
            await self._refuse_if_spent(self.per_device, "login-device", account, device)
        else:
            await self._refuse_if_spent(self.per_account, "login-user", account, address)
            await self._refuse_if_spent(self.per_account_global, "login-user-all", account)
        await self._take(self.per_address, "login-addr", address)

    async def login_failed(self, username: str, address: str, device: str | None = None) -> None:
        """Count a wrong password against the allowances :meth:`before_login` checked."""
        if not self.enabled:
            return
        account = account_key(username)
        if device is not None:
            await self._limiter.hit(self.per_device, "login-device", account, device)
            return
        await self._limiter.hit(self.per_account, "login-user", account, address)
        await self._limiter.hit(self.per_account_global, "login-user-all", account)

    async def before_registration(self, address: str) -> None:
        """Registration costs a password hash: it shares the per-address sign-in allowance."""
        if self.enabled:
            await self._take(self.per_address, "login-addr", address)

    async def before_refresh(self, address: str) -> None:
        if self.enabled:
            await self._take(self.refresh, "refresh-addr", address)

    async def check(self) -> None:
        """Raise :class:`~authwise.errors.StoreUnavailable` when the store the counts live in
        (Redis, when one is configured) does not answer a ping."""
        if not await self._storage.check():
            raise StoreUnavailable("rate-limit store unavailable")

    async def reset(self) -> None:
        await self._storage.reset()

    async def close(self) -> None:
        """Close the connections to Redis, if any."""
        if self._pool is not None:
            await self._pool.disconnect()
