"""Login and refresh throttling (S11), on the ``limits`` library.

Per account, only *failed* attempts count, and every window slides: a flood of wrong passwords
slows sign-in for a minute, never locks it out for good, and a correct password never uses up
the allowance. The per-account allowance is kept per account *and client address*, so
whoever floods an account with wrong passwords throttles themselves, not the owner signing in
from elsewhere; an account-wide ceiling, much higher, bounds guessing spread over many
addresses. Per client address, every attempt counts. Refresh grants are throttled per
address. State is in memory, or in Redis when one is configured (shared by every process).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from authwise.config import RateLimitSettings
from authwise.core.accounts import normalize_username
from authwise.errors import InvalidInput, StoreUnavailable
from authwise.server.responses import ApiError

__all__ = ["Throttle", "account_key"]

REDIS_TIMEOUT_S = 2.0


def account_key(username: str) -> str:
    """The name the per-account counters use: the account's normal form, the one sign-in looks
    it up by, so every spelling that reaches an account (capitals, fullwidth, mathematical or
    circled letters) shares its allowance. A name no account can have (normalisation refuses
    it) falls back to its case fold: it still counts, it just reaches no account."""
    try:
        return normalize_username(username)
    except InvalidInput:
        return username.casefold()


class Throttle:
    def __init__(self, settings: RateLimitSettings, redis_url: str = "") -> None:
        self.enabled = settings.enabled
        storage: Storage
        if redis_url:
            # Bounded waits: a Redis that stops answering (paused, partitioned) fails the
            # request with 503 after the timeout instead of holding it forever.
            shared = storage_from_string(
                f"async+{redis_url}",
                implementation="redispy",
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
            assert isinstance(shared, Storage)  # noqa: S101 - "async+" names an aio storage
            storage = shared
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self.per_account = parse(settings.login_per_account)
        self.per_account_global = parse(settings.login_per_account_global)
        self.per_address = parse(settings.login_per_address)
        self.refresh = parse(settings.refresh_per_address)

    async def _refuse_if_spent(self, item: RateLimitItem, *keys: str) -> None:
        if await self._limiter.test(item, *keys):
            return
        stats = await self._limiter.get_window_stats(item, *keys)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(
            429,
            "too_many_requests",
            "Too many attempts; try again later.",
            {"Retry-After": str(retry)},
        )

    async def before_login(self, username: str, address: str) -> None:
        """429 when this address, this account from this address, or this account from
        everywhere has used up its allowance. The password is not checked then, so the answer
        says nothing about it."""
        if not self.enabled:
            return
        account = account_key(username)
        await self._refuse_if_spent(self.per_address, "login-addr", address)
        await self._refuse_if_spent(self.per_account, "login-user", account, address)
        await self._refuse_if_spent(self.per_account_global, "login-user-all", account)
        await self._limiter.hit(self.per_address, "login-addr", address)

    async def login_failed(self, username: str, address: str) -> None:
        if self.enabled:
            account = account_key(username)
            await self._limiter.hit(self.per_account, "login-user", account, address)
            await self._limiter.hit(self.per_account_global, "login-user-all", account)

    async def before_registration(self, address: str) -> None:
        """Registration costs a password hash: it shares the per-address sign-in allowance."""
        if not self.enabled:
            return
        await self._refuse_if_spent(self.per_address, "login-addr", address)
        await self._limiter.hit(self.per_address, "login-addr", address)

    async def before_refresh(self, address: str) -> None:
        if not self.enabled:
            return
        await self._refuse_if_spent(self.refresh, "refresh-addr", address)
        await self._limiter.hit(self.refresh, "refresh-addr", address)

    async def check(self) -> None:
        """Raise :class:`~authwise.errors.StoreUnavailable` when the store the counts live in
        (Redis, when one is configured) does not answer a ping."""
        if not await self._storage.check():
            raise StoreUnavailable("rate-limit store unavailable")

    async def aclose(self) -> None:
        """Close the connections to the shared store (Redis), if there is one."""
        # limits has no close of its own: its Redis client is the bridge's.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()

    async def reset(self) -> None:
        await self._storage.reset()
