"""The event log: every change other processes must hear of, numbered densely in commit order;
the poll receivers' acknowledged positions; and the session ID a rotation replaced.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("previous_digest", sa.LargeBinary(32), nullable=True))
        batch.create_index("ix_sessions_previous_digest", ["previous_digest"])
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("sid", sa.String(), nullable=True),
        sa.Column("jti", sa.String(), nullable=True),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("not_before", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_table(
        "event_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_counter"),
    )
    op.execute("INSERT INTO event_counter (id, seq) VALUES (1, 0)")
    op.create_table(
        "receivers",
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("acked", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_receivers"),
    )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_previous_digest")
        batch.drop_column("previous_digest")
    op.drop_table("receivers")
    op.drop_table("event_counter")
    op.drop_index("ix_events_at", table_name="events")
    op.drop_table("events")
