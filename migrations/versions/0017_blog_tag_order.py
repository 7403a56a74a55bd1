"""Blog: each article's tag links carry the article's created_at, indexed per tag newest first,
so a tag's page of articles is read off the index instead of sorting all of the tag's articles.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("blog_article_tag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("article_created_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE blog_article_tag SET article_created_at = "
        "(SELECT created_at FROM blog_article WHERE blog_article.id = blog_article_tag.article_id)"
    )
    with op.batch_alter_table("blog_article_tag", schema=None) as batch_op:
        batch_op.alter_column("article_created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_index("ix_blog_article_tag_tag_id_article_id")
    # Outside the batch: SQLite's batch mode rebuilds the table and cannot carry a DESC index over.
    op.create_index(
        "ix_blog_article_tag_tag_id_created_at",
        "blog_article_tag",
        ["tag_id", sa.literal_column("article_created_at DESC"), sa.literal_column("article_id DESC")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_blog_article_tag_tag_id_created_at", table_name="blog_article_tag")
    with op.batch_alter_table("blog_article_tag", schema=None) as batch_op:
        batch_op.create_index("ix_blog_article_tag_tag_id_article_id", ["tag_id", "article_id"], unique=False)
        batch_op.drop_column("article_created_at")
