"""Todos: the Todo-Backend list; `owner_id` NULL is the shared anonymous list.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 14:53:57.227314
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "todo",
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["auth_user.id"], name=op.f("fk_todo_owner_id_auth_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_todo")),
    )
    with op.batch_alter_table("todo", schema=None) as batch_op:
        batch_op.create_index(
            "ix_todo_owner_id_order_created_at", ["owner_id", "order", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("todo", schema=None) as batch_op:
        batch_op.drop_index("ix_todo_owner_id_order_created_at")
    op.drop_table("todo")
