"""Seed notes through sixty's own service layer, with the environment of the server to load.

Run by benchmarks/run.py as `python benchmarks/seed.py --count N`. Progress goes to
stderr; stdout holds one line, the id of the last note created, for the read scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.notes import service
from sixty.notes.schemas import NoteCreate

BATCH_SIZE = 500
PROGRESS_EVERY = 2_000
SENTENCES = (
    "Call the vendor about the overdue invoice.",
    "Draft the project plan for the next quarter.",
    "Buy milk, eggs, coffee and a loaf of bread.",
    "Review the pull request before the Friday deadline.",
    "Book the train tickets for the holiday weekend.",
    "Water the garden and fix the kitchen tap.",
    "Reply to the email from the school about the meeting.",
    "Renew the yearly insurance and file the receipt.",
    "Write down three questions for the team review.",
    "Schedule the dentist appointment for next month.",
    "Back up the laptop and clean out the downloads folder.",
)


def note_data(index: int) -> NoteCreate:
    """A deterministic but varied note: one to four sentences, so rows differ in size."""
    count = 1 + index % 4
    sentences = [SENTENCES[(index * 7 + offset * 3) % len(SENTENCES)] for offset in range(count)]
    title = f"Note {index}: {sentences[0].split(',')[0].rstrip('.')}"
    return NoteCreate(title=title, body=" ".join(sentences))


async def seed(count: int) -> str:
    db = Database(create_engine(Settings()))
    scope = service.NoteScope()
    last_id = ""
    try:
        for start in range(0, count, BATCH_SIZE):
            stop = min(start + BATCH_SIZE, count)
            async with db.session() as session:
                for index in range(start, stop):
                    note = await service.create_note(session, note_data(index), scope=scope)
                    last_id = str(note.id)
                await session.commit()
            if stop % PROGRESS_EVERY == 0 or stop == count:
                print(f"    seeded {stop:,} / {count:,} notes", file=sys.stderr, flush=True)
    finally:
        await db.dispose()
    return last_id


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=positive_int, default=10_000, help="notes to create (default 10000)")
    args = parser.parse_args()
    print(asyncio.run(seed(args.count)))


if __name__ == "__main__":
    main()
