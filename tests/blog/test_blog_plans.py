"""Article lists are read off an index in their order (newest first), never sorted whole: the
unfiltered list off the articles' index, a tag's list off its links' index."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from sixty.blog import service
from sixty.core.reader import compile_read

PAGE = {"limit": 20, "offset": 0}


Shape = tuple[bool, bool, bool, bool]


async def plan(connection: AsyncConnection, shape: Shape, first_page_size: int | None, **params: Any) -> str:
    page: Any = service._page(shape, first_page_size).element
    compiled = compile_read(page, connection.dialect)
    args = tuple(compiled.bind({**PAGE, **params}))
    if connection.dialect.name == "sqlite":
        rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.sql, args)
        return "\n".join(str(row[-1]) for row in rows)
    # PostgreSQL picks by cost, and sorts a small table rather than walk an index: with sorting
    # and sequential scans priced out, a plan without a Sort shows an index can serve the order.
    await connection.exec_driver_sql("SET LOCAL enable_sort = off")
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = await connection.exec_driver_sql("EXPLAIN " + compiled.sql, args)
    return "\n".join(str(row[0]) for row in rows)


@pytest.mark.parametrize(
    ("shape", "params", "index"),
    [
        ((False, False, False, False), {}, "ix_blog_article_created_at_id"),
        (service.TAG_ONLY, {"tag": "dragons"}, "ix_blog_article_tag_tag_id_created_at"),
    ],
    ids=["all articles", "one tag"],
)
# The first page has its size in the statement; later pages take LIMIT and OFFSET as parameters.
@pytest.mark.parametrize("first_page_size", [20, None], ids=["first page", "any page"])
async def test_a_page_of_articles_is_read_off_an_index_in_order(
    connection: AsyncConnection,
    shape: Shape,
    params: dict[str, Any],
    index: str,
    first_page_size: int | None,
) -> None:
    explained = await plan(connection, shape, first_page_size, **params)
    assert index in explained, explained
    assert "TEMP B-TREE" not in explained, explained  # SQLite's sort
    assert "Sort" not in explained, explained  # PostgreSQL's
