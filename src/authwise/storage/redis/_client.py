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
    """Key names. The part in braces is the Redis Cluster hash tag: every key of one user's
    sessions shares ``{u:<user_id>}``; the revocation set shares ``{rev}``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.revocations = f"{prefix}:{{rev}}:entries".encode()
        self.revocation_expiry = f"{prefix}:{{rev}}:expiry".encode()
        self.events = f"{prefix}:events".encode()

    def session(self, user_id: str, handle: str) -> bytes:
        return f"{self.prefix}:{{u:{user_id}}}:s:{handle}".encode()

    def user_sessions(self, user_id: str) -> bytes:
        return f"{self.prefix}:{{u:{user_id}}}:sessions".encode()

    def digest(self, digest: bytes) -> bytes:
        return f"{self.prefix}:{{d:{digest.hex()}}}".encode()


class RedisConnection:
    """One client (and its connection pool) shared by the Redis stores of a bundle."""

    def __init__(self, url: str, *, prefix: str = "aw", cluster: bool = False) -> None:
        self.url = url
        self.keys = Keys(prefix)
        self.cluster = cluster
        # No automatic retries: a retried script may already have run (a rotation that won
        # would then report a loss). A failed call raises StoreUnavailable and the next one
        # reconnects.
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

    def pubsub_client(self) -> aioredis.Redis:
        """A separate client for a subscriber's long-lived connection (on a Cluster, to the
        node named in the URL: a classic PUBLISH reaches every node's subscribers)."""
        return aioredis.Redis.from_url(
            self.url,
            decode_responses=False,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=5,
        )

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
