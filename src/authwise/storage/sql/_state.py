"""Sessions, refresh-token families and revocation entries in SQL.

Every atomic step of the contract is a single statement (an ``UPDATE``/``DELETE`` whose
``WHERE`` is the compare-and-set, with ``RETURNING``), or a short write transaction that begins
with such a statement, so the database's row locks decide which of two racing callers wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from authwise.errors import Conflict
from authwise.storage.base import (
    RefreshFamily,
    RevocationKind,
    RevocationRecord,
    SessionRecord,
    time_of,
)
from authwise.storage.sql._engine import SqlStore
from authwise.storage.sql.schema import refresh_families, refresh_tokens, revocations, sessions

__all__ = ["SqlRefreshStore", "SqlRevocationStore", "SqlSessionStore"]


def _session(row: Mapping[Any, Any]) -> SessionRecord:
    return SessionRecord(
        digest=bytes(row["digest"]),
        handle=row["handle"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        rotated_at=row["rotated_at"],
        last_seen=row["last_seen"],
        expires_at=row["expires_at"],
        absolute_expires_at=row["absolute_expires_at"],
        client_addr=row["client_addr"],
        user_agent=row["user_agent"],
        previous_digest=None if row["previous_digest"] is None else bytes(row["previous_digest"]),
    )


def _family(row: Mapping[Any, Any]) -> RefreshFamily:
    return RefreshFamily(
        family_id=row["family_id"],
        user_id=row["user_id"],
        generation=row["generation"],
        created_at=row["created_at"],
        rotated_at=row["rotated_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        client_addr=row["client_addr"],
        user_agent=row["user_agent"],
    )


def _by_created(found: list[Any], tiebreak: str) -> list[Any]:
    return sorted(found, key=lambda r: (r.created_at, getattr(r, tiebreak)))


class SqlSessionStore(SqlStore):
    async def create(self, session: SessionRecord) -> None:
        async with self._db.write("session") as conn:
            await conn.execute(
                insert(sessions).values(
                    handle=session.handle,
                    digest=session.digest,
                    user_id=session.user_id,
                    created_at=session.created_at,
                    rotated_at=session.rotated_at,
                    last_seen=session.last_seen,
                    expires_at=session.expires_at,
                    absolute_expires_at=session.absolute_expires_at,
                    client_addr=session.client_addr,
                    user_agent=session.user_agent,
                )
            )

    async def get(self, digest: bytes) -> SessionRecord | None:
        async with self._db.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(sessions).where(
                            (sessions.c.digest == digest) | (sessions.c.previous_digest == digest)
                        )
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _session(row)

    async def touch(self, digest: bytes, *, last_seen: int, expires_at: int) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(sessions)
                .where(sessions.c.digest == digest)
                .values(last_seen=last_seen, expires_at=expires_at)
            )
        return result.rowcount == 1

    async def rotate(
        self, old_digest: bytes, new_digest: bytes, *, now: int, expires_at: int
    ) -> SessionRecord | None:
        # One statement swaps the digest: the row lock makes it the compare-and-set, and a
        # new digest that is taken already fails the unique index (nothing changes).
        statement = (
            update(sessions)
            .where(sessions.c.digest == old_digest)
            .values(
                digest=new_digest,
                previous_digest=old_digest,
                rotated_at=now,
                last_seen=now,
                expires_at=expires_at,
            )
            .returning(*sessions.c)
        )
        try:
            async with self._db.write() as conn:
                row = (await conn.execute(statement)).mappings().first()
        except Conflict:
            return None
        return None if row is None else _session(row)

    async def delete(self, digest: bytes) -> SessionRecord | None:
        return await self._delete_one(sessions.c.digest == digest)

    async def delete_by_handle(self, user_id: str, handle: str) -> SessionRecord | None:
        return await self._delete_one(
            (sessions.c.handle == handle) & (sessions.c.user_id == user_id)
        )

    async def _delete_one(self, condition: Any) -> SessionRecord | None:
        async with self._db.write() as conn:
            row = (
                (await conn.execute(delete(sessions).where(condition).returning(*sessions.c)))
                .mappings()
                .first()
            )
        return None if row is None else _session(row)

    async def list_for_user(self, user_id: str) -> list[SessionRecord]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(sessions)
                    .where(sessions.c.user_id == user_id)
                    .order_by(sessions.c.created_at, self._db.binary(sessions.c.handle))
                )
            ).mappings()
            return [_session(row) for row in rows]

    async def delete_for_user(
        self, user_id: str, *, keep_handle: str | None = None
    ) -> list[SessionRecord]:
        condition = sessions.c.user_id == user_id
        if keep_handle is not None:
            condition &= sessions.c.handle != keep_handle
        async with self._db.write() as conn:
            rows = (
                await conn.execute(delete(sessions).where(condition).returning(*sessions.c))
            ).mappings()
            deleted = [_session(row) for row in rows]
        return _by_created(deleted, "handle")

    async def prune(self, now: int) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
        return result.rowcount


class SqlRefreshStore(SqlStore):
    async def create(self, family: RefreshFamily, digest: bytes) -> None:
        async with self._db.begin("family") as conn:
            await conn.execute(
                insert(refresh_families).values(
                    family_id=family.family_id,
                    user_id=family.user_id,
                    generation=family.generation,
                    created_at=family.created_at,
                    rotated_at=family.rotated_at,
                    expires_at=family.expires_at,
                    revoked_at=family.revoked_at,
                    client_addr=family.client_addr,
                    user_agent=family.user_agent,
                )
            )
            await conn.execute(
                insert(refresh_tokens).values(
                    digest=digest, family_id=family.family_id, generation=family.generation
                )
            )

    async def get(self, family_id: str) -> RefreshFamily | None:
        async with self._db.read() as conn:
            return await self._get(conn, family_id)

    async def _get(self, conn: AsyncConnection, family_id: str) -> RefreshFamily | None:
        query = select(refresh_families).where(refresh_families.c.family_id == family_id)
        row = (await conn.execute(query)).mappings().first()
        return None if row is None else _family(row)

    async def find(self, digest: bytes) -> tuple[RefreshFamily, int] | None:
        query = (
            select(refresh_families, refresh_tokens.c.generation.label("token_generation"))
            .join(refresh_tokens, refresh_tokens.c.family_id == refresh_families.c.family_id)
            .where(refresh_tokens.c.digest == digest)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else (_family(row), row["token_generation"])

    async def rotate(
        self,
        family_id: str,
        expected_generation: int,
        new_digest: bytes,
        now: int | Callable[[], int],
    ) -> RefreshFamily | None:
        try:
            async with self._db.begin() as conn:
                # Read once the connection (and on SQLite, the write lock) is ours: the wait for
                # them is not part of the grace window that counts from rotated_at.
                rotated_at = time_of(now)
                # The compare-and-set: racing rotations of one generation serialise on the row
                # lock, and only the first still finds ``generation = expected`` once it is free.
                row = (
                    (
                        await conn.execute(
                            update(refresh_families)
                            .where(
                                (refresh_families.c.family_id == family_id)
                                & (refresh_families.c.generation == expected_generation)
                                & refresh_families.c.revoked_at.is_(None)
                            )
                            .values(generation=expected_generation + 1, rotated_at=rotated_at)
                            .returning(*refresh_families.c)
                        )
                    )
                    .mappings()
                    .first()
                )
                if row is None:
                    return None
                # A digest that exists already fails its primary key and undoes the update.
                await conn.execute(
                    insert(refresh_tokens).values(
                        digest=new_digest, family_id=family_id, generation=expected_generation + 1
                    )
                )
        except Conflict:
            return None
        return _family(row)

    async def revoke(self, family_id: str, now: int) -> RefreshFamily | None:
        revoked = await self._revoke(refresh_families.c.family_id == family_id, now)
        return revoked[0] if revoked else None

    async def revoke_for_user(self, user_id: str, now: int) -> list[RefreshFamily]:
        return await self._revoke(refresh_families.c.user_id == user_id, now)

    async def _revoke(self, condition: Any, now: int) -> list[RefreshFamily]:
        async with self._db.write() as conn:
            rows = (
                await conn.execute(
                    update(refresh_families)
                    .where(condition & refresh_families.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                    .returning(*refresh_families.c)
                )
            ).mappings()
            # Like the memory backend, hand back each family as it was while still live.
            revoked = [_family({**row, "revoked_at": None}) for row in rows]
        return _by_created(revoked, "family_id")

    async def list_for_user(self, user_id: str) -> list[RefreshFamily]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(refresh_families)
                    .where(refresh_families.c.user_id == user_id)
                    .order_by(
                        refresh_families.c.created_at,
                        self._db.binary(refresh_families.c.family_id),
                    )
                )
            ).mappings()
            return [_family(row) for row in rows]

    async def prune(self, now: int, *, revoked_before: int | None = None) -> int:
        families = refresh_families.c
        condition = families.expires_at <= now
        if revoked_before is not None:
            condition = condition | (families.revoked_at <= revoked_before)
        doomed = select(families.family_id).where(condition)
        async with self._db.begin() as conn:
            # Explicit, so pruning does not depend on the foreign keys' ON DELETE CASCADE.
            await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.family_id.in_(doomed)))
            result = await conn.execute(delete(refresh_families).where(condition))
        return result.rowcount


class SqlRevocationStore(SqlStore):
    async def add(self, record: RevocationRecord) -> None:
        upsert: Any = sqlite_insert if self._db.is_sqlite else pg_insert
        statement = upsert(revocations).values(
            kind=record.kind.value,
            issuer=record.issuer,
            key=record.key,
            expires_at=record.expires_at,
            not_before=record.not_before,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[revocations.c.kind, revocations.c.issuer, revocations.c.key],
            set_={
                "expires_at": self._db.greatest(
                    revocations.c.expires_at, statement.excluded.expires_at
                ),
                "not_before": self._db.greatest(
                    revocations.c.not_before, statement.excluded.not_before
                ),
            },
        )
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def live(self, now: int) -> list[RevocationRecord]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(select(revocations).where(revocations.c.expires_at > now))
            ).mappings()
            return [
                RevocationRecord(
                    kind=RevocationKind(row["kind"]),
                    key=row["key"],
                    issuer=row["issuer"],
                    expires_at=row["expires_at"],
                    not_before=row["not_before"],
                )
                for row in rows
            ]

    async def prune(self, now: int) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(delete(revocations).where(revocations.c.expires_at <= now))
        return result.rowcount
