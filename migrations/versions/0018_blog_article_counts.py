"""Blog: article counts kept by the database, as a ledger of +n/-n rows written by triggers.

`articlesCount` of the unfiltered list counted every article on every request (an index-only
scan of the whole table: about 0.7 ms for 10,000 on PostgreSQL, growing with the table), and a
tag's list every link of the tag. Triggers on `blog_article` and `blog_article_tag` now add a
row to `blog_article_count` for each statement (PostgreSQL) or row (SQLite) that inserts,
deletes or re-tags them, cascades from a deleted account included; a count sums its key's few
rows. Only inserts: no writer waits on another's counter row, and no lock order to deadlock on.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL: statement-level triggers over transition tables, so a bulk insert or a cascade
# writes one row per tag (and one for all articles), not one per article.
POSTGRESQL = [
    """
    CREATE FUNCTION blog_articles_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO blog_article_count (tag_id, delta)
            SELECT NULL, count(*) FROM added HAVING count(*) > 0;
        ELSE
            INSERT INTO blog_article_count (tag_id, delta)
            SELECT NULL, -count(*) FROM removed HAVING count(*) > 0;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION blog_article_tags_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            INSERT INTO blog_article_count (tag_id, delta)
            SELECT tag_id, -count(*) FROM removed GROUP BY tag_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO blog_article_count (tag_id, delta)
            SELECT tag_id, count(*) FROM added GROUP BY tag_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER blog_article_added AFTER INSERT ON blog_article REFERENCING NEW TABLE AS added"
    " FOR EACH STATEMENT EXECUTE FUNCTION blog_articles_counted()",
    "CREATE TRIGGER blog_article_removed AFTER DELETE ON blog_article REFERENCING OLD TABLE AS removed"
    " FOR EACH STATEMENT EXECUTE FUNCTION blog_articles_counted()",
    "CREATE TRIGGER blog_article_tag_added AFTER INSERT ON blog_article_tag REFERENCING NEW TABLE AS added"
    " FOR EACH STATEMENT EXECUTE FUNCTION blog_article_tags_counted()",
    "CREATE TRIGGER blog_article_tag_removed AFTER DELETE ON blog_article_tag"
    " REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION blog_article_tags_counted()",
    "CREATE TRIGGER blog_article_tag_moved AFTER UPDATE ON blog_article_tag"
    " REFERENCING OLD TABLE AS removed NEW TABLE AS added"
    " FOR EACH STATEMENT EXECUTE FUNCTION blog_article_tags_counted()",
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER blog_article_tag_moved ON blog_article_tag",
    "DROP TRIGGER blog_article_tag_removed ON blog_article_tag",
    "DROP TRIGGER blog_article_tag_added ON blog_article_tag",
    "DROP TRIGGER blog_article_removed ON blog_article",
    "DROP TRIGGER blog_article_added ON blog_article",
    "DROP FUNCTION blog_article_tags_counted()",
    "DROP FUNCTION blog_articles_counted()",
]

# SQLite has row-level triggers only (they fire for foreign-key cascades too).
SQLITE = [
    "CREATE TRIGGER blog_article_added AFTER INSERT ON blog_article"
    " BEGIN INSERT INTO blog_article_count (tag_id, delta) VALUES (NULL, 1); END",
    "CREATE TRIGGER blog_article_removed AFTER DELETE ON blog_article"
    " BEGIN INSERT INTO blog_article_count (tag_id, delta) VALUES (NULL, -1); END",
    "CREATE TRIGGER blog_article_tag_added AFTER INSERT ON blog_article_tag"
    " BEGIN INSERT INTO blog_article_count (tag_id, delta) VALUES (NEW.tag_id, 1); END",
    "CREATE TRIGGER blog_article_tag_removed AFTER DELETE ON blog_article_tag"
    " BEGIN INSERT INTO blog_article_count (tag_id, delta) VALUES (OLD.tag_id, -1); END",
    "CREATE TRIGGER blog_article_tag_moved AFTER UPDATE OF tag_id ON blog_article_tag"
    " WHEN OLD.tag_id IS NOT NEW.tag_id BEGIN"
    " INSERT INTO blog_article_count (tag_id, delta) VALUES (OLD.tag_id, -1);"
    " INSERT INTO blog_article_count (tag_id, delta) VALUES (NEW.tag_id, 1); END",
]
TRIGGERS = (
    "blog_article_tag_moved",
    "blog_article_tag_removed",
    "blog_article_tag_added",
    "blog_article_removed",
    "blog_article_added",
)
SQLITE_DOWN = ["DROP TRIGGER " + name for name in TRIGGERS]


def upgrade() -> None:
    op.create_table(
        "blog_article_count",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blog_article_count")),
    )
    op.create_index(op.f("ix_blog_article_count_tag_id"), "blog_article_count", ["tag_id"], unique=False)
    postgresql = op.get_context().dialect.name == "postgresql"
    if postgresql:  # no write between the count of what there is and the triggers (SQLite: one writer)
        op.execute("LOCK TABLE blog_article, blog_article_tag IN SHARE ROW EXCLUSIVE MODE")
    # What there is now, then every change from here on.
    op.execute("INSERT INTO blog_article_count (tag_id, delta) SELECT NULL, count(*) FROM blog_article")
    op.execute(
        "INSERT INTO blog_article_count (tag_id, delta)"
        " SELECT tag_id, count(*) FROM blog_article_tag GROUP BY tag_id"
    )
    for statement in POSTGRESQL if postgresql else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    for statement in POSTGRESQL_DOWN if op.get_context().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index(op.f("ix_blog_article_count_tag_id"), table_name="blog_article_count")
    op.drop_table("blog_article_count")
