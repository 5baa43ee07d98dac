"""The Redis connection, the key layout, and errors mapped to the contract's."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout
from redis.retry import Retry

from authwise.errors import StoreUnavailable

__all__ = ["Keys", "RedisConnection", "RedisStore", "unavailable"]

SOCKET_TIMEOUT_S = 2.0
UNREACHABLE = (RedisConnectionError, RedisTimeout, OSError, TimeoutError)


@contextlib.asynccontextmanager
async def unavailable() -> AsyncIterator[None]:
    """Map a Redis that cannot be reached to :class:`StoreUnavailable`."""
    try:
        yield
    except UNREACHABLE as exc:
        raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc


class Keys:
    """Key names, all under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.events = f"{prefix}:events".encode()


class RedisConnection:
    """One client (and its connection pool) shared by the Redis stores of a bundle."""

    def __init__(self, url: str, *, prefix: str = "aw", cluster: bool = False) -> None:
        self.url = url
        self.keys = Keys(prefix)
        self.cluster = cluster
        # No automatic retries: a failed call raises StoreUnavailable and the next one
        # reconnects (the relay simply tries again on its next round).
        self.client: Any
        if cluster:
            self.client = RedisCluster.from_url(
                url,
                decode_responses=False,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
                retry=Retry(NoBackoff(), 0),
            )
        else:
            self.client = aioredis.Redis.from_url(
                url,
                decode_responses=False,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=15,
            )
        self._closed = False

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self.client.aclose()


class RedisStore:
    """Base of the Redis stores: they share one :class:`RedisConnection`."""

    backend = "redis"

    def __init__(self, conn: RedisConnection) -> None:
        self._conn = conn
        # redis-py's return types are unions over every reply shape: read them as Any.
        self._redis: Any = conn.client
        self._keys = conn.keys

    async def aclose(self) -> None:
        await self._conn.aclose()
