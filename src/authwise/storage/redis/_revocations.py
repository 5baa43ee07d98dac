"""Revocation entries in Redis: one hash of entries and one sorted set of their expiry times,
both under the hash tag ``{rev}`` (the whole set is small: it only holds entries a still-valid
token could need, and every verifier reads all of it)."""

from __future__ import annotations

from typing import Any

import orjson

from authwise.storage.base import RevocationKind, RevocationRecord
from authwise.storage.redis._client import RedisStore, unavailable

__all__ = ["RedisRevocationStore"]

# Values are "expires_at not_before"; both only ever grow.
_ADD = """
local exp, nb = tonumber(ARGV[2]), tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local sep = string.find(old, ' ', 1, true)
  exp = math.max(exp, tonumber(string.sub(old, 1, sep - 1)))
  nb = math.max(nb, tonumber(string.sub(old, sep + 1)))
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d %d', exp, nb))
redis.call('ZADD', KEYS[2], exp, ARGV[1])
-- A TTL set by an earlier prune may end before this entry does: only prune, which knows the
-- caller's clock, may set one again.
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
return 1
"""

_LIVE = """
local fields = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local out = {}
for i, f in ipairs(fields) do
  local v = redis.call('HGET', KEYS[1], f)
  if v then
    out[#out + 1] = f
    out[#out + 1] = v
  end
end
return out
"""

# Drops what is dead at ARGV[1] and sets both keys to expire with their last entry, so an
# idle deployment's revocation set disappears on its own.
_PRUNE = """
local doomed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for i, f in ipairs(doomed) do redis.call('HDEL', KEYS[1], f) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #last == 2 then
  local ttl = tonumber(last[2]) - tonumber(ARGV[1])
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return #doomed
"""


def _field(record: RevocationRecord) -> bytes:
    return orjson.dumps([record.kind.value, record.issuer, record.key])


def _entry(field: bytes, value: bytes) -> RevocationRecord:
    kind, issuer, key = orjson.loads(field)
    expires_at, not_before = value.split(b" ")
    return RevocationRecord(
        kind=RevocationKind(kind),
        issuer=issuer,
        key=key,
        expires_at=int(expires_at),
        not_before=int(not_before),
    )


class RevocationStoreScripts:
    def __init__(self, redis: Any) -> None:
        self.add = redis.register_script(_ADD)
        self.live = redis.register_script(_LIVE)
        self.prune = redis.register_script(_PRUNE)


class RedisRevocationStore(RedisStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scripts = RevocationStoreScripts(self._redis)
        self._both = [self._keys.revocations, self._keys.revocation_expiry]

    async def add(self, record: RevocationRecord) -> None:
        async with unavailable():
            await self._scripts.add(
                keys=self._both, args=[_field(record), record.expires_at, record.not_before]
            )

    async def live(self, now: int) -> list[RevocationRecord]:
        async with unavailable():
            raw = await self._scripts.live(keys=self._both, args=[now])
        return [_entry(f, v) for f, v in zip(raw[::2], raw[1::2], strict=True)]

    async def prune(self, now: int) -> int:
        async with unavailable():
            return int(await self._scripts.prune(keys=self._both, args=[now]))
