"""Resumes (B12): positions, one resume per candidate and position with numbered versions (each a
file of the files module), the skills of each version; a GIN full-text index on PostgreSQL; the
`employer` role with `resumes:read` and `resumes:manage`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "files_resume_position",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["auth_user.id"],
            name=op.f("fk_files_resume_position_created_by_auth_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_resume_position")),
    )
    with op.batch_alter_table("files_resume_position", schema=None) as batch_op:
        batch_op.create_index("ix_files_resume_position_created_at_id", ["created_at", "id"], unique=False)

    op.create_table(
        "files_resume",
        sa.Column("candidate_id", sa.Uuid(), nullable=False),
        sa.Column("position_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["auth_user.id"],
            name=op.f("fk_files_resume_candidate_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["files_resume_position.id"],
            name=op.f("fk_files_resume_position_id_files_resume_position"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_resume")),
    )
    with op.batch_alter_table("files_resume", schema=None) as batch_op:
        batch_op.create_index(
            "ix_files_resume_candidate_id_position_id", ["candidate_id", "position_id"], unique=True
        )
        batch_op.create_index(
            "ix_files_resume_candidate_id_updated_at_id", ["candidate_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index("ix_files_resume_updated_at_id", ["updated_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_resume_position_id"), ["position_id"], unique=False)

    op.create_table(
        "files_resume_version",
        sa.Column("resume_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files_file.id"],
            name=op.f("fk_files_resume_version_file_id_files_file"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["resume_id"],
            ["files_resume.id"],
            name=op.f("fk_files_resume_version_resume_id_files_resume"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files_resume_version")),
    )
    with op.batch_alter_table("files_resume_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_resume_version_file_id"), ["file_id"], unique=False)
        batch_op.create_index(
            "ix_files_resume_version_resume_id_number", ["resume_id", "number"], unique=True
        )

    op.create_table(
        "files_resume_skill",
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("skill", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["files_resume_version.id"],
            name=op.f("fk_files_resume_skill_version_id_files_resume_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "skill", name=op.f("pk_files_resume_skill")),
    )
    with op.batch_alter_table("files_resume_skill", schema=None) as batch_op:
        batch_op.create_index("ix_files_resume_skill_skill_version_id", ["skill", "version_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # Serves `q` (resumes/service.py: to_tsvector('simple', ..) @@ plainto_tsquery(..)).
        op.execute(
            "CREATE INDEX ix_files_resume_version_search ON files_resume_version "
            "USING gin (to_tsvector('simple', search_text))"
        )

    op.bulk_insert(
        sa.table("auth_role", sa.column("name", sa.String), sa.column("description", sa.String)),
        [{"name": "employer", "description": "Opens positions; reads, searches and downloads resumes."}],
    )
    op.bulk_insert(
        sa.table("auth_role_permission", sa.column("role", sa.String), sa.column("permission", sa.String)),
        [
            {"role": "employer", "permission": "resumes:read"},
            {"role": "employer", "permission": "resumes:manage"},
        ],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auth_user_role WHERE role = 'employer'"))
    op.execute(sa.text("DELETE FROM auth_role_permission WHERE role = 'employer'"))
    op.execute(sa.text("DELETE FROM auth_role WHERE name = 'employer'"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_files_resume_version_search")
    with op.batch_alter_table("files_resume_skill", schema=None) as batch_op:
        batch_op.drop_index("ix_files_resume_skill_skill_version_id")
    op.drop_table("files_resume_skill")
    with op.batch_alter_table("files_resume_version", schema=None) as batch_op:
        batch_op.drop_index("ix_files_resume_version_resume_id_number")
        batch_op.drop_index(batch_op.f("ix_files_resume_version_file_id"))
    op.drop_table("files_resume_version")
    with op.batch_alter_table("files_resume", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_resume_position_id"))
        batch_op.drop_index("ix_files_resume_updated_at_id")
        batch_op.drop_index("ix_files_resume_candidate_id_updated_at_id")
        batch_op.drop_index("ix_files_resume_candidate_id_position_id")
    op.drop_table("files_resume")
    with op.batch_alter_table("files_resume_position", schema=None) as batch_op:
        batch_op.drop_index("ix_files_resume_position_created_at_id")
    op.drop_table("files_resume_position")
