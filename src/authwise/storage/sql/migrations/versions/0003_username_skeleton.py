"""Usernames' confusable skeletons (UTS #39), unique: no two accounts whose names look alike.

Existing accounts get their skeleton computed here, oldest first. Should two of them already
look alike (made before the rule), the older keeps the skeleton and the younger keeps NULL:
both still sign in, and no new account can take a name like either.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from authwise.core.accounts import username_skeleton

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("skeleton", sa.String(), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.String()),
        sa.column("username", sa.String()),
        sa.column("created_at", sa.BigInteger()),
        sa.column("skeleton", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(users.c.id, users.c.username).order_by(users.c.created_at, users.c.id)
    ).all()
    held: set[str] = set()
    for user_id, username in rows:
        skeleton = username_skeleton(username)
        if skeleton in held:
            continue
        held.add(skeleton)
        conn.execute(users.update().where(users.c.id == user_id).values(skeleton=skeleton))
    op.create_index("uq_users_skeleton", "users", ["skeleton"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_skeleton", table_name="users")
    op.drop_column("users", "skeleton")
