"""The Redis backend: sessions, revocation state and the event bus (the scale-out mode).

PostgreSQL keeps users, refresh families, keys, audit and clients; Redis takes the hot,
short-lived state and the push channel::

    stores = await open_redis_stores("redis://cache:6379/0", await open_sql_stores(pg_url))

Key layout (``aw`` is the default prefix; the part in braces is the Redis Cluster hash tag,
so every multi-key script touches exactly one slot):

==============================  ======  ====================================================
key                             type    holds
==============================  ======  ====================================================
``aw:{u:<user_id>}:s:<handle>`` hash    one session: its current ID digest (the truth), user,
                                        handle, times, client address, user agent
``aw:{u:<user_id>}:sessions``   zset    the user's session handles by ``created_at``
``aw:{d:<digest-hex>}``         string  ``"<handle> <user_id>"``: where the session of this
                                        ID digest lives (a hint; checked against the hash)
``aw:{rev}:entries``            hash    revocation entries: ``[kind, issuer, key]`` (JSON)
                                        to ``"<expires_at> <not_before>"``
``aw:{rev}:expiry``             zset    the same entries by ``expires_at``
``aw:events``                   pubsub  the event bus channel (``BusEvent`` JSON)
==============================  ======  ====================================================

Every session key carries a TTL from the record's own times (``expires_at - last_seen``, or
``- now`` on rotation), relative so that the caller's clock, not Redis's, decides; the user's
index lives as long as its longest session. Revocation entries are dropped by ``prune(now)``,
which also sets both revocation keys to expire with their last entry (an ``add`` lifts that TTL
until the next prune: the new entry may outlive it). Raw session IDs never
reach Redis: only their SHA-256 digests (S12).

Atomic steps are Lua scripts on one slot: session create, touch, rotate (a compare-and-set on
the hash's digest field), delete, delete-for-user, and the revocation upsert (which keeps the
larger ``expires_at`` and ``not_before``). Finding a session by digest reads the pointer, then
the hash: one script call on a single Redis, two calls on a Cluster (a Cluster script may only
touch the keys it is given); the hot path caches sessions in process, invalidated through the
bus.

Known difference from the memory backend: a session handle is unique per user (handles are
128 random bits, so a clash between users does not happen in practice).
"""

from __future__ import annotations

import dataclasses

from authwise.storage.base import Stores
from authwise.storage.redis._client import Keys, RedisConnection
from authwise.storage.redis._events import RedisEventBus, RedisSubscription
from authwise.storage.redis._revocations import RedisRevocationStore
from authwise.storage.redis._sessions import RedisSessionStore

__all__ = [
    "Keys",
    "RedisConnection",
    "RedisEventBus",
    "RedisRevocationStore",
    "RedisSessionStore",
    "RedisSubscription",
    "open_redis_stores",
]


async def open_redis_stores(
    url: str, base: Stores, *, prefix: str = "aw", cluster: bool = False
) -> Stores:
    """``base`` with its sessions, revocations and event bus moved to the Redis at ``url``
    (``redis://host:port/db``, ``rediss://`` for TLS). ``prefix`` starts every key name.
    With ``cluster``, ``url`` names any node of a Redis Cluster.

    Nothing connects until the first call; an unreachable Redis then raises
    :class:`~authwise.errors.StoreUnavailable`. Closing the bundle closes the connection.
    """
    conn = RedisConnection(url, prefix=prefix, cluster=cluster)
    return dataclasses.replace(
        base,
        sessions=RedisSessionStore(conn),
        revocations=RedisRevocationStore(conn),
        events=RedisEventBus(conn),
    )
