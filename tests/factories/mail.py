"""Mail in tests: run the jobs that requests queued, then read what was sent from the outbox.

The test app does not run jobs by itself (`jobs_run_in_app=False`), so a test that
expects mail runs them explicitly:

    response = await client.post("/api/auth/signup", json=...)
    [mail] = await sent_mail(db, settings, to="ada@example.com")
    link = re.search(r"https://\\S+", mail.text)
"""

from __future__ import annotations

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.jobs import Worker, backend_for
from sixty.core.mail import OutboxMessageRead, latest_outbox_messages


async def run_due_jobs(db: Database, settings: Settings) -> int:
    """Run every job that is due now, as the worker would; returns how many ran.
    A job that fails is retried after its backoff, so it is not run again here."""
    backend = backend_for(db)
    if backend is None:
        raise RuntimeError("no jobs backend is bound to this database: create the app first")
    worker = Worker(backend, db=db, settings=settings)
    ran = 0
    while (job := await backend.claim(0.01)) is not None:
        await worker.run_one(job)
        ran += 1
    return ran


async def sent_mail(db: Database, settings: Settings, *, to: str, limit: int = 10) -> list[OutboxMessageRead]:
    """Deliver what is queued, then the newest mail in the outbox to `to`, newest first."""
    await run_due_jobs(db, settings)
    return await latest_outbox_messages(db.reader, to=to, limit=limit)
