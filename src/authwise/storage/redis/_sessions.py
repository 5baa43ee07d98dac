"""Sessions in Redis: one hash per session in its user's slot, found through a digest pointer.

The session hash holds the record, including the digest of its current ID; that field is the
truth. The pointer ``{d:<digest>}`` only says where to look (user and handle), so a stale one
(left by a crash between two steps, or by a rotation) is harmless: a lookup whose digest no
longer matches the hash finds nothing. Rotation is a compare-and-set on the hash's digest
field inside a Lua script (one slot); the new pointer is written before it and the old one
removed after it, so at every instant exactly one ID leads to the session.
"""

from __future__ import annotations

from typing import Any

from authwise.errors import Conflict
from authwise.storage.base import SessionRecord
from authwise.storage.redis._client import RedisStore, unavailable

__all__ = ["RedisSessionStore"]

# KEYS[2] is the user's index; its TTL is stretched to outlive every session in it.
_EXTEND_INDEX = """
local function extend(index, ttl)
  if redis.call('TTL', index) < ttl then redis.call('EXPIRE', index, ttl) end
end
"""

_CREATE = (
    _EXTEND_INDEX
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
extend(KEYS[2], tonumber(ARGV[1]))
return 1
"""
)

_TOUCH = (
    _EXTEND_INDEX
    + """
if redis.call('HGET', KEYS[1], 'digest') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[2], 'expires_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
extend(KEYS[2], tonumber(ARGV[4]))
return 1
"""
)

_ROTATE = (
    _EXTEND_INDEX
    + """
if redis.call('HGET', KEYS[1], 'digest') ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], 'digest', ARGV[2], 'rotated_at', ARGV[3], 'last_seen', ARGV[3],
           'expires_at', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
extend(KEYS[2], tonumber(ARGV[5]))
return redis.call('HGETALL', KEYS[1])
"""
)

# ARGV[1] is the digest the caller holds, or '' to delete whatever ID the session has.
_DELETE = """
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest or (ARGV[1] ~= '' and digest ~= ARGV[1]) then return false end
local record = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return record
"""

_DELETE_MANY = """
local deleted = {}
for i = 2, #KEYS do
  local record = redis.call('HGETALL', KEYS[i])
  if #record > 0 then
    redis.call('DEL', KEYS[i])
    deleted[#deleted + 1] = record
  end
  redis.call('ZREM', KEYS[1], ARGV[i - 1])
end
return deleted
"""

# A sweep for what the TTLs left behind (callers whose clock runs ahead of Redis's): the
# session goes only if it is still expired by the caller's ``now`` when the script runs.
# Single-node Redis only: the lookup in one round trip. The script reads a key it was not
# given (the session hash named by the pointer), which a Cluster forbids: there it is two calls.
_GET = """
local where = redis.call('GET', KEYS[1])
if not where then return false end
local sep = string.find(where, ' ', 1, true)
local key = ARGV[1] .. ':{u:' .. string.sub(where, sep + 1) .. '}:s:' .. string.sub(where, 1, sep - 1)
if redis.call('HGET', key, 'digest') ~= ARGV[2] then return false end
return redis.call('HGETALL', key)
"""

# KEYS[1] is a user's index, KEYS[2..] the hashes of ARGV[2..] (its handles); returns the
# digests of the sessions it deleted ('' for a handle whose hash had already expired).
_PRUNE_USER = """
local now, pruned = tonumber(ARGV[1]), {}
for i = 2, #KEYS do
  local expires_at = tonumber(redis.call('HGET', KEYS[i], 'expires_at'))
  if not expires_at or expires_at <= now then
    pruned[#pruned + 1] = redis.call('HGET', KEYS[i], 'digest') or ''
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return pruned
"""

_INT_FIELDS = ("created_at", "rotated_at", "last_seen", "expires_at", "absolute_expires_at")


def _ttl(expires_at: int, now: int) -> int:
    # Relative to the caller's clock, never Redis's: the contract's times come from the caller.
    return max(expires_at - now, 1)


def _fields(session: SessionRecord) -> list[bytes | str | int]:
    fields: list[bytes | str | int] = [
        "digest",
        session.digest,
        "user_id",
        session.user_id,
        "handle",
        session.handle,
    ]
    for name in _INT_FIELDS:
        fields += [name, getattr(session, name)]
    if session.client_addr is not None:
        fields += ["client_addr", session.client_addr]
    if session.user_agent is not None:
        fields += ["user_agent", session.user_agent]
    return fields


def _record(raw: Any) -> SessionRecord | None:
    if not raw:
        return None
    if isinstance(raw, list):
        raw = dict(zip(raw[::2], raw[1::2], strict=True))
    values = {k.decode(): v for k, v in raw.items()}
    client_addr = values.get("client_addr")
    user_agent = values.get("user_agent")
    return SessionRecord(
        digest=bytes(values["digest"]),
        handle=values["handle"].decode(),
        user_id=values["user_id"].decode(),
        client_addr=None if client_addr is None else client_addr.decode(),
        user_agent=None if user_agent is None else user_agent.decode(),
        **{name: int(values[name]) for name in _INT_FIELDS},
    )


def _pointer(user_id: str, handle: str) -> bytes:
    # A handle is base64url, so the first space ends it; the user ID may contain anything.
    return f"{handle} {user_id}".encode()


class RedisSessionStore(RedisStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create = self._redis.register_script(_CREATE)
        self._touch = self._redis.register_script(_TOUCH)
        self._rotate = self._redis.register_script(_ROTATE)
        self._delete = self._redis.register_script(_DELETE)
        self._delete_many = self._redis.register_script(_DELETE_MANY)
        self._prune_user = self._redis.register_script(_PRUNE_USER)
        self._get = None if self._conn.cluster else self._redis.register_script(_GET)

    def _keys_for(self, user_id: str, handle: str) -> list[bytes]:
        return [self._keys.session(user_id, handle), self._keys.user_sessions(user_id)]

    async def _locate(self, digest: bytes) -> tuple[str, str] | None:
        raw = await self._redis.get(self._keys.digest(digest))
        if raw is None:
            return None
        handle, _, user_id = raw.decode().partition(" ")
        return user_id, handle

    async def create(self, session: SessionRecord) -> None:
        ttl = _ttl(session.expires_at, session.last_seen)
        pointer = self._keys.digest(session.digest)
        async with unavailable():
            if not await self._redis.set(
                pointer, _pointer(session.user_id, session.handle), nx=True, ex=ttl
            ):
                raise Conflict("session")
            created = await self._create(
                keys=self._keys_for(session.user_id, session.handle),
                args=[ttl, session.created_at, session.handle, *_fields(session)],
            )
            if not created:
                await self._redis.delete(pointer)
                raise Conflict("session")

    async def get(self, digest: bytes) -> SessionRecord | None:
        async with unavailable():
            if self._get is not None:
                raw = await self._get(
                    keys=[self._keys.digest(digest)], args=[self._keys.prefix, digest]
                )
                return _record(raw)
            where = await self._locate(digest)
            if where is None:
                return None
            record = _record(await self._redis.hgetall(self._keys.session(*where)))
        return record if record is not None and record.digest == digest else None

    async def touch(self, digest: bytes, *, last_seen: int, expires_at: int) -> bool:
        ttl = _ttl(expires_at, last_seen)
        async with unavailable():
            where = await self._locate(digest)
            if where is None:
                return False
            touched = await self._touch(
                keys=self._keys_for(*where), args=[digest, last_seen, expires_at, ttl]
            )
            if touched:
                await self._redis.expire(self._keys.digest(digest), ttl)
        return bool(touched)

    async def rotate(
        self, old_digest: bytes, new_digest: bytes, *, now: int, expires_at: int
    ) -> SessionRecord | None:
        ttl = _ttl(expires_at, now)
        new_pointer = self._keys.digest(new_digest)
        async with unavailable():
            where = await self._locate(old_digest)
            if where is None:
                return None
            if not await self._redis.set(new_pointer, _pointer(*where), nx=True, ex=ttl):
                return None
            raw = await self._rotate(
                keys=self._keys_for(*where), args=[old_digest, new_digest, now, expires_at, ttl]
            )
            if raw is None:
                await self._redis.delete(new_pointer)
                return None
            await self._redis.delete(self._keys.digest(old_digest))
        return _record(raw)

    async def _delete_at(
        self, user_id: str, handle: str, digest: bytes | None
    ) -> SessionRecord | None:
        raw = await self._delete(keys=self._keys_for(user_id, handle), args=[digest or b"", handle])
        record = _record(raw)
        if record is not None:
            await self._redis.delete(self._keys.digest(record.digest))
        return record

    async def delete(self, digest: bytes) -> SessionRecord | None:
        async with unavailable():
            where = await self._locate(digest)
            if where is None:
                return None
            return await self._delete_at(*where, digest)

    async def delete_by_handle(self, user_id: str, handle: str) -> SessionRecord | None:
        async with unavailable():
            return await self._delete_at(user_id, handle, None)

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        index = self._keys.user_sessions(user_id)
        async with unavailable():
            handles = [h.decode() for h in await self._redis.zrange(index, 0, -1)]
            pipe = self._redis.pipeline(transaction=False)
            for handle in handles:
                pipe.hgetall(self._keys.session(user_id, handle))
            found = await pipe.execute() if handles else []
            gone = [h for h, raw in zip(handles, found, strict=True) if not raw]
            if gone:
                # Sessions that expired by TTL leave their handle behind in the index.
                await self._redis.zrem(index, *gone)
        # The index is ordered by (created_at, handle), as the contract's listing is.
        return [r for r in map(_record, found) if r is not None]

    async def delete_for_user(
        self, user_id: str, *, keep_handle: str | None = None
    ) -> list[SessionRecord]:
        async with unavailable():
            index = self._keys.user_sessions(user_id)
            handles = [h.decode() for h in await self._redis.zrange(index, 0, -1)]
            handles = [h for h in handles if h != keep_handle]
            if not handles:
                return []
            raw = await self._delete_many(
                keys=[index, *(self._keys.session(user_id, h) for h in handles)], args=handles
            )
            deleted = [r for r in map(_record, raw) if r is not None]
            if deleted:
                pipe = self._redis.pipeline(transaction=False)
                for record in deleted:
                    pipe.delete(self._keys.digest(record.digest))
                await pipe.execute()
        return sorted(deleted, key=lambda s: (s.created_at, s.handle))

    async def prune(self, now: int) -> int:
        """Delete sessions with ``expires_at <= now``. Their TTLs normally did so already; this
        sweep (a SCAN over the users' indexes, so run it from a background job, not per
        request) catches the rest when the caller's clock is ahead of Redis's."""
        pattern = self._keys.user_sessions("*")
        pruned = 0
        async with unavailable():
            async for index in self._redis.scan_iter(match=pattern, count=1000):
                user_id = index.decode()[len(self._keys.prefix) + 4 : -len("}:sessions")]
                handles = [h.decode() for h in await self._redis.zrange(index, 0, -1)]
                if not handles:
                    continue
                # One call per user; the script re-checks each session's deadline itself.
                digests = await self._prune_user(
                    keys=[index, *(self._keys.session(user_id, h) for h in handles)],
                    args=[now, *handles],
                )
                pruned += sum(1 for d in digests if d)
                for digest in (d for d in digests if d):
                    await self._redis.delete(self._keys.digest(digest))
        return pruned
