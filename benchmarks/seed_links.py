"""Seed short links for the redirect scenarios, with the environment of the server to load.

Run by benchmarks/run.py as `python benchmarks/seed_links.py --count N`. The codes are
`b000000`..`b{N-1:06d}` (so benchmarks/redirect.lua can pick one at random), anonymous, with public
IP-literal targets and no cap: the redirect's common case. Progress goes to stderr; stdout holds one
JSON line: {"prefix": "b", "count": N}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid

from sqlalchemy import insert

from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.models import utcnow
from sixty.modules import import_all_models
from sixty.shortener.models import ShortLink

PREFIX = "b"
BATCH_SIZE = 5_000


def code_of(index: int) -> str:
    return f"{PREFIX}{index:06d}"


async def seed(count: int) -> None:
    import_all_models()
    db = Database(create_engine(Settings()))
    now = utcnow()
    try:
        for start in range(0, count, BATCH_SIZE):
            rows = [
                {
                    "id": uuid.uuid4(),
                    "code": code_of(index),
                    "owner_id": None,
                    "target": f"https://93.184.215.14/articles/{index}?utm_source=bench",
                    "redirect_status": 302,
                    "expires_at": None,
                    "max_visits": None,
                    "visits": 0,
                    "password_hash": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for index in range(start, min(start + BATCH_SIZE, count))
            ]
            async with db.session(write=True) as session:
                await session.execute(insert(ShortLink), rows)
                await session.commit()
            print(f"seeded {min(start + BATCH_SIZE, count):,} links", file=sys.stderr, flush=True)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(seed(args.count))
    print(json.dumps({"prefix": PREFIX, "count": args.count}))


if __name__ == "__main__":
    main()
