"""Files: content-addressed blobs with reference counts, files, uploads in progress.

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "files_blob",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("refcount", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_blob")),
        sa.UniqueConstraint("sha256", name=op.f("uq_files_blob_sha256")),
        sa.UniqueConstraint("key", name=op.f("uq_files_blob_key")),
    )
    op.create_table(
        "files_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("namespace", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["auth_user.id"], name=op.f("fk_files_file_owner_id_auth_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["blob_id"], ["files_blob.id"], name=op.f("fk_files_file_blob_id_files_blob"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_file")),
    )
    with op.batch_alter_table("files_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_file_blob_id"), ["blob_id"], unique=False)
        batch_op.create_index(
            "ix_files_file_owner_id_namespace_created_at_id",
            ["owner_id", "namespace", "created_at", "id"],
            unique=False,
        )
    op.create_table(
        "files_upload",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("namespace", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("chunks", sa.JSON(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["auth_user.id"],
            name=op.f("fk_files_upload_owner_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files_file.id"],
            name=op.f("fk_files_upload_file_id_files_file"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_upload")),
    )
    with op.batch_alter_table("files_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_upload_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_upload_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("files_upload")
    op.drop_table("files_file")
    op.drop_table("files_blob")
