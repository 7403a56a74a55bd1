"""Blog: the author index carries the article id, so an author's newest articles come from it alone.

`(author_id, created_at)` became `(author_id, created_at, id)`: the list sort's tie-breaker is
the id, so an author's page and each followed author's newest articles in the feed (PostgreSQL
reads them per followee, `LATERAL`) are a backward index-only scan, with no heap visit and no
sort (the benchmark reader's feed page: 1.1 -> 0.2 ms).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27 16:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_blog_article_author_id_created_at_id"), "blog_article", ["author_id", "created_at", "id"]
    )
    op.drop_index(op.f("ix_blog_article_author_id_created_at"), table_name="blog_article")


def downgrade() -> None:
    op.create_index(op.f("ix_blog_article_author_id_created_at"), "blog_article", ["author_id", "created_at"])
    op.drop_index(op.f("ix_blog_article_author_id_created_at_id"), table_name="blog_article")
