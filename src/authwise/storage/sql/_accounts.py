"""Users, OAuth clients, the signing-key ring and the audit trail in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from authwise.errors import Conflict
from authwise.storage.base import (
    UNSET,
    AuditEvent,
    AuditKind,
    ClientRecord,
    KeyRecord,
    KeyRingSnapshot,
    Unset,
    UserRecord,
)
from authwise.storage.sql._engine import SqlStore
from authwise.storage.sql.schema import audit_events, clients, keyring, signing_keys, users

__all__ = ["SqlAuditStore", "SqlClientStore", "SqlKeyStore", "SqlUserStore"]

_RING_ROW = 1
_AUDIT_PRUNE_BATCH = 10_000


def _user(row: RowMapping) -> UserRecord:
    return UserRecord(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        roles=tuple(orjson.loads(row["roles"])),
        tenant=row["tenant"],
        disabled=bool(row["disabled"]),
        not_before=row["not_before"],
        skeleton=row["skeleton"],
    )


class SqlUserStore(SqlStore):
    async def create(self, user: UserRecord) -> None:
        try:
            async with self._db.write("user") as conn:
                await conn.execute(
                    insert(users).values(
                        id=user.id,
                        username=user.username,
                        password_hash=user.password_hash,
                        created_at=user.created_at,
                        updated_at=user.updated_at,
                        roles=orjson.dumps(list(user.roles)).decode(),
                        tenant=user.tenant,
                        disabled=user.disabled,
                        not_before=user.not_before,
                        skeleton=user.skeleton,
                    )
                )
        except Conflict:
            # Which unique value was taken: the username (or its skeleton, a look-alike name)
            # is the one a caller can act on.
            id_free = await self.get(user.id) is None
            raise Conflict("username" if id_free else "user") from None

    async def get(self, user_id: str) -> UserRecord | None:
        return await self._one(users.c.id == user_id)

    async def get_by_username(self, username: str) -> UserRecord | None:
        return await self._one(users.c.username == username)

    async def _one(self, condition: Any) -> UserRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(users).where(condition))).mappings().first()
        return None if row is None else _user(row)

    async def update(
        self,
        user_id: str,
        *,
        now: int,
        roles: tuple[str, ...] | Unset = UNSET,
        tenant: str | Unset | None = UNSET,
        disabled: bool | Unset = UNSET,
        password_hash: str | Unset = UNSET,
        not_before: int | Unset = UNSET,
    ) -> UserRecord | None:
        changes: dict[str, Any] = {"updated_at": now}
        if not isinstance(roles, Unset):
            changes["roles"] = orjson.dumps(list(roles)).decode()
        if not isinstance(tenant, Unset):
            changes["tenant"] = tenant
        if not isinstance(disabled, Unset):
            changes["disabled"] = disabled
        if not isinstance(password_hash, Unset):
            changes["password_hash"] = password_hash
        if not isinstance(not_before, Unset):
            changes["not_before"] = self._db.greatest(users.c.not_before, not_before)
        async with self._db.write() as conn:
            row = (
                (
                    await conn.execute(
                        update(users)
                        .where(users.c.id == user_id)
                        .values(**changes)
                        .returning(*users.c)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _user(row)

    async def list_users(self, *, after: str | None = None, limit: int = 100) -> list[UserRecord]:
        query = select(users).order_by(self._db.binary(users.c.username)).limit(max(limit, 0))
        if after is not None:
            query = query.where(self._db.binary(users.c.username) > after)
        async with self._db.read() as conn:
            return [_user(row) for row in (await conn.execute(query)).mappings()]


class SqlAuditStore(SqlStore):
    async def append(self, event: AuditEvent) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                insert(audit_events).values(
                    at=event.at,
                    kind=event.kind.value,
                    user_id=event.user_id,
                    actor_id=event.actor_id,
                    client_addr=event.client_addr,
                    detail=orjson.dumps(dict(event.detail)).decode(),
                )
            )

    async def recent(self, *, limit: int = 100, user_id: str | None = None) -> list[AuditEvent]:
        # Append order is the id order: newest first, as the contract asks.
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(max(limit, 0))
        if user_id is not None:
            query = query.where(audit_events.c.user_id == user_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings()
            return [
                AuditEvent(
                    at=row["at"],
                    kind=AuditKind(row["kind"]),
                    user_id=row["user_id"],
                    actor_id=row["actor_id"],
                    client_addr=row["client_addr"],
                    detail=orjson.loads(row["detail"]),
                )
                for row in rows
            ]

    async def prune(self, *, before: int, max_rows: int) -> int:
        ids = audit_events.c.id
        async with self._db.read(snapshot=True) as conn:
            oldest = await conn.scalar(select(func.min(ids)))
            newest = await conn.scalar(select(func.max(ids)))
            # Walks the primary key from the oldest row to the first one young enough: the
            # rows read are the rows about to go, so no index on ``at`` is needed.
            first_kept = await conn.scalar(
                select(ids).where(audit_events.c.at >= before).order_by(ids).limit(1)
            )
        if oldest is None or newest is None:
            return 0
        # IDs only grow, so the newest max_rows rows all have an ID above newest - max_rows.
        bound = max(newest + 1 if first_kept is None else first_kept, newest - max_rows + 1)
        count = 0
        # In batches, so that no single statement holds the (SQLite: only) connection long.
        for start in range(oldest, bound, _AUDIT_PRUNE_BATCH):
            end = min(start + _AUDIT_PRUNE_BATCH, bound)
            async with self._db.write() as conn:
                result = await conn.execute(delete(audit_events).where(ids < end))
            count += result.rowcount
        return count


class SqlKeyStore(SqlStore):
    async def load(self) -> KeyRingSnapshot:
        async with self._db.read(snapshot=True) as conn:
            version = await conn.scalar(select(keyring.c.version).where(keyring.c.id == _RING_ROW))
            rows = (
                await conn.execute(select(signing_keys).order_by(signing_keys.c.position))
            ).mappings()
            records = tuple(
                KeyRecord(
                    kid=row["kid"],
                    alg=row["alg"],
                    state=row["state"],
                    since=row["since"],
                    private_pem=bytes(row["private_pem"]),
                )
                for row in rows
            )
        return KeyRingSnapshot(version or 0, records)

    async def save(self, records: Sequence[KeyRecord], *, expected_version: int) -> bool:
        try:
            async with self._db.begin("keyring") as conn:
                if expected_version == 0:
                    # The first save creates the version row; a racing first save hits its key.
                    exists = await conn.scalar(
                        select(keyring.c.version).where(keyring.c.id == _RING_ROW)
                    )
                    if exists is not None:
                        return False
                    await conn.execute(insert(keyring).values(id=_RING_ROW, version=1))
                else:
                    result = await conn.execute(
                        update(keyring)
                        .where(
                            (keyring.c.id == _RING_ROW) & (keyring.c.version == expected_version)
                        )
                        .values(version=expected_version + 1)
                    )
                    if result.rowcount != 1:
                        return False
                await conn.execute(delete(signing_keys))
                if records:
                    await conn.execute(
                        insert(signing_keys),
                        [
                            {
                                "position": i,
                                "kid": r.kid,
                                "alg": r.alg,
                                "state": r.state,
                                "since": r.since,
                                "private_pem": r.private_pem,
                            }
                            for i, r in enumerate(records)
                        ],
                    )
        except Conflict as exc:
            if exc.what == "keyring" and expected_version == 0:
                return False
            raise
        return True


def _client(row: RowMapping) -> ClientRecord:
    return ClientRecord(
        client_id=row["client_id"],
        secret_digest=bytes(row["secret_digest"]),
        name=row["name"],
        created_at=row["created_at"],
    )


class SqlClientStore(SqlStore):
    async def create(self, client: ClientRecord) -> None:
        async with self._db.write("client") as conn:
            await conn.execute(
                insert(clients).values(
                    client_id=client.client_id,
                    secret_digest=client.secret_digest,
                    name=client.name,
                    created_at=client.created_at,
                )
            )

    async def get(self, client_id: str) -> ClientRecord | None:
        async with self._db.read() as conn:
            query = select(clients).where(clients.c.client_id == client_id)
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _client(row)

    async def list_clients(self) -> list[ClientRecord]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(select(clients).order_by(self._db.binary(clients.c.client_id)))
            ).mappings()
            return [_client(row) for row in rows]

    async def replace_secret(self, client_id: str, secret_digest: bytes) -> ClientRecord | None:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(clients)
                .where(clients.c.client_id == client_id)
                .values(secret_digest=secret_digest)
                .returning(*clients.c)
            )
            row = result.mappings().first()
        return None if row is None else _client(row)

    async def delete(self, client_id: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(delete(clients).where(clients.c.client_id == client_id))
        return result.rowcount == 1
