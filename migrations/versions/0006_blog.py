"""Blog (RealWorld): profiles, follows, articles (slug unique, newest-first index), tags,
favorites and comments; accounts are auth_user's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 14:53:17.511403
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blog_tag",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blog_tag")),
        sa.UniqueConstraint("name", name=op.f("uq_blog_tag_name")),
    )
    op.create_table(
        "blog_article",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["auth_user.id"],
            name=op.f("fk_blog_article_author_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blog_article")),
        sa.UniqueConstraint("slug", name=op.f("uq_blog_article_slug")),
    )
    with op.batch_alter_table("blog_article", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blog_article_author_id_created_at", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_blog_article_created_at_id",
            [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
            unique=False,
        )

    op.create_table(
        "blog_follow",
        sa.Column("follower_id", sa.Uuid(), nullable=False),
        sa.Column("followee_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["followee_id"],
            ["auth_user.id"],
            name=op.f("fk_blog_follow_followee_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["auth_user.id"],
            name=op.f("fk_blog_follow_follower_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("follower_id", "followee_id", name=op.f("pk_blog_follow")),
    )
    with op.batch_alter_table("blog_follow", schema=None) as batch_op:
        batch_op.create_index("ix_blog_follow_followee_id", ["followee_id"], unique=False)

    op.create_table(
        "blog_profile",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("image", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["auth_user.id"], name=op.f("fk_blog_profile_user_id_auth_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_blog_profile")),
    )
    op.create_table(
        "blog_article_tag",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["blog_article.id"],
            name=op.f("fk_blog_article_tag_article_id_blog_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["blog_tag.id"], name=op.f("fk_blog_article_tag_tag_id_blog_tag"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", "tag_id", name=op.f("pk_blog_article_tag")),
    )
    with op.batch_alter_table("blog_article_tag", schema=None) as batch_op:
        batch_op.create_index("ix_blog_article_tag_tag_id_article_id", ["tag_id", "article_id"], unique=False)

    op.create_table(
        "blog_comment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["blog_article.id"],
            name=op.f("fk_blog_comment_article_id_blog_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["auth_user.id"],
            name=op.f("fk_blog_comment_author_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blog_comment")),
    )
    with op.batch_alter_table("blog_comment", schema=None) as batch_op:
        batch_op.create_index("ix_blog_comment_article_id_id", ["article_id", "id"], unique=False)

    op.create_table(
        "blog_favorite",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["blog_article.id"],
            name=op.f("fk_blog_favorite_article_id_blog_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["auth_user.id"], name=op.f("fk_blog_favorite_user_id_auth_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", "user_id", name=op.f("pk_blog_favorite")),
    )
    with op.batch_alter_table("blog_favorite", schema=None) as batch_op:
        batch_op.create_index("ix_blog_favorite_user_id_article_id", ["user_id", "article_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("blog_favorite", schema=None) as batch_op:
        batch_op.drop_index("ix_blog_favorite_user_id_article_id")

    op.drop_table("blog_favorite")
    with op.batch_alter_table("blog_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_blog_comment_article_id_id")

    op.drop_table("blog_comment")
    with op.batch_alter_table("blog_article_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_blog_article_tag_tag_id_article_id")

    op.drop_table("blog_article_tag")
    op.drop_table("blog_profile")
    with op.batch_alter_table("blog_follow", schema=None) as batch_op:
        batch_op.drop_index("ix_blog_follow_followee_id")

    op.drop_table("blog_follow")
    with op.batch_alter_table("blog_article", schema=None) as batch_op:
        batch_op.drop_index("ix_blog_article_created_at_id")
        batch_op.drop_index("ix_blog_article_author_id_created_at")

    op.drop_table("blog_article")
    op.drop_table("blog_tag")
