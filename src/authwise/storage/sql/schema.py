"""The SQL schema: one :class:`MetaData` holding every table authwise keeps in SQL.

This module is the single source of truth the migrations must reproduce (a test compares
``alembic upgrade head`` with it through Alembic's ``compare_metadata``). Conventions:

- times are ``BIGINT`` Unix seconds, as the storage contract passes them;
- secrets appear only as 32-byte SHA-256 digests (``LargeBinary``: BLOB / BYTEA), never raw;
- list-valued and map-valued fields (roles, audit detail) are JSON text, read back whole;
- constraint names follow one convention, so migrations can name what they alter.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "audit_events",
    "clients",
    "event_counter",
    "events",
    "keyring",
    "metadata",
    "receivers",
    "refresh_families",
    "refresh_tokens",
    "revocations",
    "sessions",
    "signing_keys",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only makes a rowid alias (and so an autoincrementing key) of a column typed INTEGER.
_ROWID = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", String(), primary_key=True),
    Column("username", String(), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("roles", Text, nullable=False),
    Column("tenant", String(), nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("not_before", BigInteger, nullable=False),
    # The confusable skeleton of the username (UTS #39): unique, so no two accounts look
    # alike; NULL only for older accounts whose skeleton another one already held.
    Column("skeleton", String(), nullable=True),
    Index("uq_users_skeleton", "skeleton", unique=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("handle", String(), primary_key=True),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("user_id", String(), nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("rotated_at", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
    Column("absolute_expires_at", BigInteger, nullable=False),
    Column("client_addr", String(), nullable=True),
    Column("user_agent", Text, nullable=True),
    # Revision 0004: the ID a rotation replaced, honoured for a few seconds after it.
    Column("previous_digest", LargeBinary(32), nullable=True, index=True),
)

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("family_id", String(), primary_key=True),
    Column("user_id", String(), nullable=False, index=True),
    Column("generation", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("rotated_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
    Column("revoked_at", BigInteger, nullable=True),
    Column("client_addr", String(), nullable=True),
    Column("user_agent", Text, nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column(
        "family_id",
        String(),
        ForeignKey("refresh_families.family_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("generation", BigInteger, nullable=False),
)

revocations = Table(
    "revocations",
    metadata,
    Column("kind", String(), primary_key=True),
    Column("issuer", String(), primary_key=True),
    Column("key", String(), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
    Column("not_before", BigInteger, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", _ROWID, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(), nullable=False),
    Column("user_id", String(), nullable=True),
    Column("actor_id", String(), nullable=True),
    Column("client_addr", String(), nullable=True),
    Column("detail", Text, nullable=False),
    # Revision 0002: a user's audit trail, newest first, without scanning everyone's.
    Index("ix_audit_events_user_id_id", "user_id", "id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("kid", String(), nullable=False, unique=True),
    Column("alg", String(), nullable=False),
    Column("state", String(), nullable=False),
    Column("since", BigInteger, nullable=False),
    Column("private_pem", LargeBinary, nullable=False),
)

keyring = Table(
    "keyring",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(), primary_key=True),
    Column("secret_digest", LargeBinary(32), nullable=False),
    Column("name", String(), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Revision 0004: the event log. ``seq`` is handed out from ``event_counter`` inside the writing
# transaction: the counter's row lock orders writers by commit, so sequence numbers are dense
# and a reader that sees N has seen everything before it (an autoincrement would leave holes
# for rolled-back writes and hand out numbers out of commit order).
events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(), nullable=False, unique=True),
    Column("at", BigInteger, nullable=False, index=True),
    Column("kind", String(), nullable=False),
    Column("user_id", String(), nullable=True),
    Column("sid", String(), nullable=True),
    Column("jti", String(), nullable=True),
    Column("issuer", String(), nullable=False),
    Column("not_before", BigInteger, nullable=False),
    Column("data", Text, nullable=False),
)

event_counter = Table(
    "event_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
)

# Revision 0004 too: each RFC 8936 poll receiver's acknowledged position (and the entries
# after it acknowledged out of order, as a JSON list).
receivers = Table(
    "receivers",
    metadata,
    Column("client_id", String(), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("acked", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
