"""Seed a user and notes through sixty's own service layer, with the environment of the server to load.

Run by benchmarks/run.py as `python benchmarks/seed.py --count N --user-email E --user-password P`.
Progress goes to stderr; stdout holds one line, the id of the newest note, for the read scenarios.
The user is registered through the auth service (verified, role `user`), so its password is
hashed with the scheme and parameters of these settings; the notes are created as its own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from sqlalchemy import select

from sixty.auth import service as auth_service
from sixty.auth.passwords import PasswordHasher
from sixty.auth.schemas import Registration
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.security import TokenCodec
from sixty.modules import import_all_models
from sixty.notes import service
from sixty.notes.models import Note
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


async def create_user(db: Database, settings: Settings, email: str, password: str) -> uuid.UUID:
    auth = auth_service.AuthContext(
        settings=settings, hasher=PasswordHasher(settings), codec=TokenCodec.from_settings(settings)
    )
    async with db.session(write=True) as session:
        data = Registration(email=email, password=password)
        user = await auth_service.register(session, data, auth=auth, verified=True)
        await session.commit()
    print(f"    registered {email}", file=sys.stderr, flush=True)
    return user.id


async def seed(count: int, email: str, password: str) -> str:
    import_all_models()  # as `sixty create-admin` does: every mapper known before the first session
    settings = Settings()
    db = Database(create_engine(settings))
    try:
        scope = service.NoteScope(owner_id=await create_user(db, settings, email, password))
        for start in range(0, count, BATCH_SIZE):
            stop = min(start + BATCH_SIZE, count)
            async with db.session() as session:
                for index in range(start, stop):
                    await service.create_note(session, note_data(index), scope=scope)
                await session.commit()
            if stop % PROGRESS_EVERY == 0 or stop == count:
                print(f"    seeded {stop:,} / {count:,} notes", file=sys.stderr, flush=True)
        async with db.session() as session:
            newest = await session.scalar(select(Note.id).order_by(Note.created_at.desc()).limit(1))
    finally:
        await db.dispose()
    return str(newest)


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=positive_int, default=10_000, help="notes to create (default 10000)")
    parser.add_argument("--user-email", required=True, help="the user to register, who owns the notes")
    parser.add_argument("--user-password", required=True, help="the user's password")
    args = parser.parse_args()
    print(asyncio.run(seed(args.count, args.user_email, args.user_password)))


if __name__ == "__main__":
    main()
