"""Files management (I4): folders, versions, share links, quota; files get a folder and a trash time.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "files_folder",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("parent_key", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["auth_user.id"],
            name=op.f("fk_files_folder_owner_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["files_folder.id"],
            name=op.f("fk_files_folder_parent_id_files_folder"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_folder")),
        sa.UniqueConstraint(
            "owner_id", "parent_key", "name", name=op.f("uq_files_folder_owner_id_parent_key_name")
        ),
    )
    with op.batch_alter_table("files_folder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_folder_parent_id"), ["parent_id"], unique=False)

    with op.batch_alter_table("files_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("folder_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("trashed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_files_file_folder_id_files_folder"),
            "files_folder",
            ["folder_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_files_file_folder_id"), ["folder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_file_trashed_at"), ["trashed_at"], unique=False)

    op.create_table(
        "files_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files_file.id"],
            name=op.f("fk_files_version_file_id_files_file"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["files_blob.id"],
            name=op.f("fk_files_version_blob_id_files_blob"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_version")),
        sa.UniqueConstraint("file_id", "number", name=op.f("uq_files_version_file_id_number")),
    )
    with op.batch_alter_table("files_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_version_blob_id"), ["blob_id"], unique=False)

    op.create_table(
        "files_share",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files_file.id"], name=op.f("fk_files_share_file_id_files_file"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["auth_user.id"], name=op.f("fk_files_share_owner_id_auth_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_share")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_files_share_token_hash")),
    )
    with op.batch_alter_table("files_share", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_share_file_id"), ["file_id"], unique=False)

    op.create_table(
        "files_account",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["auth_user.id"],
            name=op.f("fk_files_account_owner_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_files_account")),
    )
    op.create_table(
        "files_quota_hold",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("upload_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["auth_user.id"],
            name=op.f("fk_files_quota_hold_owner_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["files_upload.id"],
            name=op.f("fk_files_quota_hold_upload_id_files_upload"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_quota_hold")),
    )
    with op.batch_alter_table("files_quota_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_quota_hold_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_quota_hold_upload_id"), ["upload_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_quota_hold_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("files_quota_hold")
    op.drop_table("files_account")
    op.drop_table("files_share")
    op.drop_table("files_version")
    with op.batch_alter_table("files_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_file_trashed_at"))
        batch_op.drop_index(batch_op.f("ix_files_file_folder_id"))
        batch_op.drop_constraint(batch_op.f("fk_files_file_folder_id_files_folder"), type_="foreignkey")
        batch_op.drop_column("trashed_at")
        batch_op.drop_column("folder_id")
    op.drop_table("files_folder")
