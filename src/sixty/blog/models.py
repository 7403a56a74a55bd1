"""Tables of the blog. Accounts are the auth module's (`auth_user`), referenced by id only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid, column, table
from sqlalchemy.orm import Mapped, mapped_column

from sixty.core.models import Base, Timestamps

USER_FK = "auth_user.id"

# The columns of the auth module's accounts that the blog's reads join to (by table name only:
# the blog never imports the auth module's models).
AUTH_USER = table(
    "auth_user",
    column("id", Uuid()),
    column("username", String()),
    column("username_key", String()),
)


class BlogProfile(Base):
    """What RealWorld adds to an account: `bio` and `image`. No row means both are unset."""

    __tablename__ = "blog_profile"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)
    bio: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(2000))


class Follow(Base):
    __tablename__ = "blog_follow"

    follower_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)
    followee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_blog_follow_followee_id", "followee_id"),)


class Article(Timestamps, Base):
    __tablename__ = "blog_article"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"))

    # An author's articles newest first, ids included: an author's page, and each followed
    # author's newest in the feed, are read from the index alone.
    __table_args__ = (Index("ix_blog_article_author_id_created_at_id", "author_id", "created_at", "id"),)


# Every list is newest first (ties by id): this index serves that sort.
Index("ix_blog_article_created_at_id", Article.created_at.desc(), Article.id.desc())


class Tag(Base):
    __tablename__ = "blog_tag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class ArticleTag(Base):
    __tablename__ = "blog_article_tag"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("blog_article.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("blog_tag.id", ondelete="CASCADE"), primary_key=True)
    # The article's `created_at` (which never changes), copied so that the index below holds each
    # tag's articles newest first: a tag's page is read off it, never sorted.
    article_created_at: Mapped[datetime]


Index(
    "ix_blog_article_tag_tag_id_created_at",
    ArticleTag.tag_id,
    ArticleTag.article_created_at.desc(),
    ArticleTag.article_id.desc(),
)


class ArticleCount(Base):
    """How many articles there are (`tag_id` NULL) and how many each tag has, kept as a ledger
    by the database: triggers (migration 0018) add a row of +n or -n for every statement that
    writes or deletes articles or tag links, deletions cascading from an account included. A
    count is the sum of its key's rows; `service.compact_counts` folds them into one row per key.
    Writers only ever insert here, so concurrent writers never wait on one another, and a count
    is exact in every snapshot.

    SQLite's batch mode (`op.batch_alter_table`) rebuilds a table without its triggers: a
    migration that batch-alters `blog_article` or `blog_article_tag` must create them again
    (migrations/versions/0018_blog_article_counts.py has them)."""

    __tablename__ = "blog_article_count"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tag_id: Mapped[int | None] = mapped_column(Integer, index=True)
    delta: Mapped[int] = mapped_column(Integer)


class Favorite(Base):
    __tablename__ = "blog_favorite"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("blog_article.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_blog_favorite_user_id_article_id", "user_id", "article_id"),)


class Comment(Timestamps, Base):
    __tablename__ = "blog_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("blog_article.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_blog_comment_article_id_id", "article_id", "id"),)
