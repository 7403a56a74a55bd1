"""Portfolio: one per account (unique name), projects with ordered images from the file store,
skills, dated experience and education entries (start <= end checked), testimonials.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 02:20:43.301012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portfolio",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("headline", sa.String(length=160), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("bio_html", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["auth_user.id"], name=op.f("fk_portfolio_user_id_auth_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio")),
        sa.UniqueConstraint("user_id", name=op.f("uq_portfolio_user_id")),
        sa.UniqueConstraint("username", name=op.f("uq_portfolio_username")),
    )
    op.create_table(
        "portfolio_entry",
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("kind IN ('experience', 'education')", name=op.f("ck_portfolio_entry_kind")),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date <= end_date", name=op.f("ck_portfolio_entry_dates")
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolio.id"],
            name=op.f("fk_portfolio_entry_portfolio_id_portfolio"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_entry")),
    )
    with op.batch_alter_table("portfolio_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portfolio_entry_portfolio_id_kind_start_date",
            ["portfolio_id", "kind", "start_date"],
            unique=False,
        )

    op.create_table(
        "portfolio_project",
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolio.id"],
            name=op.f("fk_portfolio_project_portfolio_id_portfolio"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_project")),
        sa.UniqueConstraint("portfolio_id", "slug", name=op.f("uq_portfolio_project_portfolio_id_slug")),
    )
    with op.batch_alter_table("portfolio_project", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portfolio_project_portfolio_id_position", ["portfolio_id", "position"], unique=False
        )

    op.create_table(
        "portfolio_skill",
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("name_key", sa.String(length=60), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "level IN ('beginner', 'intermediate', 'advanced', 'expert')",
            name=op.f("ck_portfolio_skill_level"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolio.id"],
            name=op.f("fk_portfolio_skill_portfolio_id_portfolio"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_skill")),
        sa.UniqueConstraint(
            "portfolio_id", "name_key", name=op.f("uq_portfolio_skill_portfolio_id_name_key")
        ),
    )
    op.create_table(
        "portfolio_testimonial",
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("author_title", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["auth_user.id"],
            name=op.f("fk_portfolio_testimonial_author_user_id_auth_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolio.id"],
            name=op.f("fk_portfolio_testimonial_portfolio_id_portfolio"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_testimonial")),
    )
    with op.batch_alter_table("portfolio_testimonial", schema=None) as batch_op:
        batch_op.create_index(
            "ix_portfolio_testimonial_portfolio_id_created_at_id",
            ["portfolio_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "portfolio_project_image",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files_file.id"],
            name=op.f("fk_portfolio_project_image_file_id_files_file"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["portfolio_project.id"],
            name=op.f("fk_portfolio_project_image_project_id_portfolio_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "file_id", name=op.f("pk_portfolio_project_image")),
    )
    with op.batch_alter_table("portfolio_project_image", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portfolio_project_image_file_id"), ["file_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portfolio_project_image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portfolio_project_image_file_id"))

    op.drop_table("portfolio_project_image")
    with op.batch_alter_table("portfolio_testimonial", schema=None) as batch_op:
        batch_op.drop_index("ix_portfolio_testimonial_portfolio_id_created_at_id")

    op.drop_table("portfolio_testimonial")
    op.drop_table("portfolio_skill")
    with op.batch_alter_table("portfolio_project", schema=None) as batch_op:
        batch_op.drop_index("ix_portfolio_project_portfolio_id_position")

    op.drop_table("portfolio_project")
    with op.batch_alter_table("portfolio_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_portfolio_entry_portfolio_id_kind_start_date")

    op.drop_table("portfolio_entry")
    op.drop_table("portfolio")
