"""Notes: an owner (auth account) per note, tags, read-only share links.

Notes written before accounts existed have no owner and are seen by nobody; give them one with
`UPDATE note SET owner_id = '<account id>' WHERE owner_id IS NULL`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 14:52:19.569878
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "note_share",
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["note_id"], ["note.id"], name=op.f("fk_note_share_note_id_note"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("note_id", name=op.f("pk_note_share")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_note_share_token_hash")),
    )
    op.create_table(
        "note_tag",
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"], ["note.id"], name=op.f("fk_note_tag_note_id_note"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("note_id", "tag", name=op.f("pk_note_tag")),
    )
    with op.batch_alter_table("note_tag", schema=None) as batch_op:
        batch_op.create_index("ix_note_tag_tag_note_id", ["tag", "note_id"], unique=False)

    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Uuid(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_note_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_note_updated_at_id"))
        batch_op.create_index(
            "ix_note_owner_id_created_at_id", ["owner_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_note_owner_id_updated_at_id", ["owner_id", "updated_at", "id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_note_owner_id_auth_user"), "auth_user", ["owner_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_note_owner_id_auth_user"), type_="foreignkey")
        batch_op.drop_index("ix_note_owner_id_updated_at_id")
        batch_op.drop_index("ix_note_owner_id_created_at_id")
        batch_op.create_index(batch_op.f("ix_note_updated_at_id"), ["updated_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_note_created_at_id"), ["created_at", "id"], unique=False)
        batch_op.drop_column("owner_id")

    with op.batch_alter_table("note_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_note_tag_tag_note_id")

    op.drop_table("note_tag")
    op.drop_table("note_share")
