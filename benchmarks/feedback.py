"""What the feedback collector's reads cost as responses pile up: the summary (computed by the
database) and the streamed CSV export, beside the cost of taking one response.

Seeds a fresh database (a SQLite file, or a new PostgreSQL database with `--postgres`) with one
form of the five question kinds and N responses, then times each step.

    .venv/bin/python benchmarks/feedback.py [--responses N] [--postgres ADMIN_URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from sixty.core import migrate
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.feedback import service
from sixty.feedback.models import FeedbackAnswer, FeedbackAnswerChoice, FeedbackResponse
from sixty.feedback.schemas import FormCreate, ResponseCreate

QUESTIONS: list[dict[str, Any]] = [
    {"kind": "rating", "prompt": "Rating", "required": True},
    {"kind": "nps", "prompt": "NPS"},
    {"kind": "text", "prompt": "Comment"},
    {"kind": "single_choice", "prompt": "Day", "choices": ["Friday", "Saturday", "Sunday"]},
    {"kind": "multiple_choice", "prompt": "Sessions", "choices": ["Keynote", "Workshop", "Panel", "Dinner"]},
]
BATCH = 5_000


async def timed(step: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """The median of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def seed(db: Database, count: int) -> tuple[uuid.UUID, str, list[uuid.UUID]]:
    """A published form and `count` responses, inserted in bulk (seeding, not what is measured)."""
    rng = random.Random(20261126)
    async with db.session() as session:
        data = FormCreate.model_validate({"title": "Benchmark", "questions": QUESTIONS})
        form = await service.create_form(session, data, by=None, moment=service.now())
        await service.publish_form(session, form.id, moment=service.now())
        await session.commit()
        ids = [row["id"] for row in (await service.form_view(session, form.id))["questions"]]
    start = service.now() - timedelta(days=30)
    for first in range(0, count, BATCH):
        responses, answers, choices = [], [], []
        for index in range(first, min(first + BATCH, count)):
            response_id = uuid.uuid4()
            responses.append(
                {
                    "id": response_id,
                    "form_id": form.id,
                    "hidden": index % 50 == 0,
                    "created_at": start + timedelta(seconds=index),
                }
            )
            numbers = {ids[0]: rng.randint(1, 5), ids[1]: rng.randint(0, 10)}
            answers += [
                {"response_id": response_id, "question_id": q, "form_id": form.id, "number": n, "text": None}
                for q, n in numbers.items()
            ]
            answers.append(
                {
                    "response_id": response_id,
                    "question_id": ids[2],
                    "form_id": form.id,
                    "number": None,
                    "text": f"comment {index}",
                }
            )
            picks = [("Friday", ids[3])] + [
                (choice, ids[4]) for choice in rng.sample(QUESTIONS[4]["choices"], 2)
            ]
            for question_id in (ids[3], ids[4]):
                answers.append(
                    {
                        "response_id": response_id,
                        "question_id": question_id,
                        "form_id": form.id,
                        "number": None,
                        "text": None,
                    }
                )
            choices += [
                {"response_id": response_id, "question_id": q, "choice": c, "form_id": form.id}
                for c, q in picks
            ]
        async with db.session() as session:
            await session.execute(insert(FeedbackResponse), responses)
            await session.execute(insert(FeedbackAnswer), answers)
            await session.execute(insert(FeedbackAnswerChoice), choices)
            await session.commit()
    return form.id, form.public_id, ids


async def run(settings: Settings, count: int) -> None:
    db = Database(create_engine(settings))
    await db.connect()
    try:
        form_id, public_id, ids = await seed(db, count)

        async def summary() -> None:
            await service.summarize(db.reader, form_id)

        exported = {"bytes": 0}

        async def export() -> None:
            exported["bytes"] = 0
            async for chunk in service.export_rows(db.reader, form_id):
                exported["bytes"] += len(chunk.encode())

        async def respond() -> None:
            async with db.session() as session:
                answers = {
                    str(ids[0]): 4,
                    str(ids[1]): 9,
                    str(ids[3]): "Sunday",
                    str(ids[4]): ["Keynote", "Panel"],
                }
                await service.submit_response(
                    session,
                    public_id,
                    ResponseCreate(answers=answers),
                    respondent=service.Respondent(),
                    moment=service.now(),
                )
                await session.commit()

        summary_s = await timed(summary, 5)
        export_s = await timed(export, 3)
        respond_s = await timed(respond, 200)
        visible = count - len(range(0, count, 50))
        print(f"{count:,} responses on {settings.effective_database_url.split(':')[0]}")
        print(f"  summary (5 questions, in SQL)   {summary_s * 1000:9.1f} ms")
        rate = f"{visible / export_s:10,.0f} rows/s  {exported['bytes'] / export_s / 1e6:6.1f} MB/s"
        print(f"  CSV export ({visible:,} rows)      {export_s * 1000:9.1f} ms  {rate}")
        print(f"  one response (checked, stored)  {respond_s * 1000:9.2f} ms")
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--responses", type=int, default=20_000)
    parser.add_argument(
        "--postgres", help="an admin URL: a fresh database is made beside it and dropped after"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        if not options.postgres:
            settings = Settings(data_dir=Path(data_dir), _env_file=None)
            migrate.upgrade(settings)
            asyncio.run(run(settings, options.responses))
            return
        admin = make_url(options.postgres).set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"sixty_bench_{uuid.uuid4().hex[:8]}"

        async def execute(statement: str) -> None:
            connection = await asyncpg.connect(admin)
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(execute(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(options.postgres).set(drivername="postgresql+asyncpg", database=name)
            settings = Settings(
                data_dir=Path(data_dir),
                database_url=url.render_as_string(hide_password=False),
                _env_file=None,
            )
            migrate.upgrade(settings)
            asyncio.run(run(settings, options.responses))
        finally:
            asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
