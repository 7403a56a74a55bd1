"""Seed the blog for the load benchmark, with the environment of the server to load.

Run by benchmarks/run.py as `python benchmarks/seed_blog.py --articles N`: N articles by N/10
authors, five comments per article, three tags of twenty per article, a few favorites, and a
reader who follows fifty authors. The bulk rows go in with Core `INSERT`s in batches (the
services would hash a password per author and take minutes); the reader signs up and in
through the auth service, so its token is a real one. Progress goes to stderr; stdout holds
one JSON line: a slug, a tag and the reader's token, for the scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as accounts
from sixty.auth.models import User
from sixty.auth.passwords import PasswordHasher
from sixty.auth.schemas import Registration
from sixty.blog import service as blog
from sixty.blog.models import Article, ArticleTag, BlogProfile, Comment, Favorite, Follow, Tag
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.security import TokenCodec

BATCH_SIZE = 5_000
READER_PASSWORD = "bench reader password"  # noqa: S105 - a throwaway benchmark account
COMMENTS_PER_ARTICLE = 5
TAGS_PER_ARTICLE = 3
FOLLOWED_AUTHORS = 50
TAGS = (
    "dragons", "training", "python", "databases", "cooking", "travel", "music", "gardening", "design",
    "testing", "security", "history", "science", "books", "movies", "health", "sports", "finance",
    "photography", "languages",
)  # fmt: skip
WORDS = (
    "the", "quick", "brown", "dragon", "learns", "to", "fly", "over", "seven", "quiet", "rivers",
    "while", "its", "trainer", "writes", "notes", "about", "patience", "and", "courage",
)  # fmt: skip


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


async def bulk(session: AsyncSession, table: Any, rows: list[dict[str, Any]], label: str) -> None:
    for start in range(0, len(rows), BATCH_SIZE):
        await session.execute(insert(table), rows[start : start + BATCH_SIZE])
    print(f"    {len(rows):,} {label}", file=sys.stderr, flush=True)


async def bulk_ids(session: AsyncSession, table: Any, rows: list[dict[str, Any]], label: str) -> list[int]:
    """Inserts the rows and answers their generated ids, in the rows' order."""
    ids: list[int] = []
    statement = insert(table).returning(table.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), BATCH_SIZE):
        ids += (await session.execute(statement, rows[start : start + BATCH_SIZE])).scalars().all()
    print(f"    {len(rows):,} {label}", file=sys.stderr, flush=True)
    return ids


async def seed(articles: int) -> dict[str, str]:
    settings = Settings()
    rng = random.Random(20261126)
    db = Database(create_engine(settings))
    auth = accounts.AuthContext(
        settings=settings, hasher=PasswordHasher(settings), codec=TokenCodec.from_settings(settings)
    )
    now = datetime.now(UTC)
    authors = max(1, articles // 10)
    try:
        async with db.session() as session:
            # One real hash for every author: they all share the benchmark's password.
            password_hash = auth.hasher.hash("bench author password")
            author_ids = [uuid.uuid4() for _ in range(authors)]
            await bulk(
                session,
                User,
                [
                    {
                        "id": author_id,
                        "email": f"author{index}@bench.example",
                        "username": f"author{index}",
                        "username_key": f"author{index}",
                        "password_hash": password_hash,
                        "is_active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for index, author_id in enumerate(author_ids)
                ],
                "authors",
            )
            await bulk(
                session,
                BlogProfile,
                [
                    {"user_id": author_id, "bio": sentence(rng, 8), "image": None}
                    for author_id in author_ids[::2]
                ],
                "profiles",
            )
            tag_ids = await bulk_ids(session, Tag, [{"name": name} for name in TAGS], "tags")
            article_rows: list[dict[str, Any]] = []
            for index in range(articles):
                created = now - timedelta(minutes=articles - index)
                article_rows.append(
                    {
                        "slug": f"article-{index}-{rng.choice(WORDS)}",
                        "title": f"Article {index}: {sentence(rng, 5)}",
                        "description": sentence(rng, 12),
                        "body": " ".join(sentence(rng, 15) for _ in range(1 + index % 8)),
                        "author_id": author_ids[index % authors],
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            article_ids = await bulk_ids(session, Article, article_rows, "articles")
            tag_rows, comment_rows, favorite_rows = [], [], []
            for article_id, article in zip(article_ids, article_rows, strict=True):
                for tag_id in rng.sample(tag_ids, TAGS_PER_ARTICLE):
                    at = article["created_at"]
                    tag_rows.append({"article_id": article_id, "tag_id": tag_id, "article_created_at": at})
                for offset in range(COMMENTS_PER_ARTICLE):
                    written: datetime = article["created_at"] + timedelta(seconds=offset + 1)
                    comment_rows.append(
                        {
                            "article_id": article_id,
                            "author_id": rng.choice(author_ids),
                            "body": sentence(rng, 10),
                            "created_at": written,
                            "updated_at": written,
                        }
                    )
                for fan in rng.sample(author_ids, min(2, authors)):
                    favorite_rows.append({"article_id": article_id, "user_id": fan})
            await bulk(session, ArticleTag, tag_rows, "article tags")
            await bulk(session, Comment, comment_rows, "comments")
            await bulk(session, Favorite, favorite_rows, "favorites")
            await session.commit()

        async with db.session() as session:
            reader = await accounts.register(
                session,
                Registration(email="reader@bench.example", password=READER_PASSWORD, username="reader"),
                auth=auth,
            )
            tokens = await accounts.open_session(
                session, reader, auth=auth, client=accounts.Client(), access_ttl=settings.blog_token_ttl
            )
            await bulk(
                session,
                Follow,
                [
                    {"follower_id": reader.id, "followee_id": author_id}
                    for author_id in author_ids[:FOLLOWED_AUTHORS]
                ],
                "follows",
            )
            await session.commit()
        async with db.session() as session:  # the articles' counts, one row per tag, as the job leaves them
            await blog.compact_counts(session)
            await session.commit()
        # Fresh statistics (and, on PostgreSQL, a visibility map for index-only counts), as a
        # database that has been running a while would have.
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))
    finally:
        await db.dispose()
    middle = article_rows[len(article_rows) // 2]
    return {"slug": str(middle["slug"]), "tag": TAGS[0], "token": tokens.access_token}


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=positive_int, default=10_000, help="articles (default 10000)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(seed(args.articles))))


if __name__ == "__main__":
    main()
