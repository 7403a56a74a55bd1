"""Background jobs: buffered in the request's transaction, run by a worker after commit.

- `enqueue(session, "name", key=value)` buffers a job on the session. The jobs
  are handed to the backend only when that transaction commits and are dropped
  when it rolls back, so a failed request never sends its mail.
- Backends: `memory` (an asyncio queue inside the web process, the embedded
  default) and `database` (a `job` table written in the same transaction, a
  transactional outbox that `sixty worker` can drain from another process).
  A RabbitMQ backend plugs in behind the same `JobBackend` interface.
- `Worker` runs handlers with retries and exponential backoff (a handler raises
  `PermanentJobError` when trying again cannot help); `Scheduler`
  enqueues periodic jobs; both run in the app (`SIXTY_JOBS_RUN_IN_APP`) or in
  `sixty worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import JSON, String, Text, delete, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from sixty.core.config import JobsBackend, Settings
from sixty.core.db import Database
from sixty.core.models import Base, utcnow

logger = logging.getLogger("sixty.jobs")

_BUFFER_KEY = "sixty.jobs.buffer"
_BACKEND_KEY = "sixty.jobs.backend"

Handler = Callable[..., Awaitable[None]]


class PermanentJobError(Exception):
    """Raised by a handler when trying again cannot help (a mail server's 5xx, say):
    the job is buried at once instead of being retried."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload."""

    db: Database
    settings: Settings
    attempt: int


@dataclass
class Job:
    name: str
    payload: dict[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    run_at: datetime = field(default_factory=utcnow)
    attempts: int = 0
    dedupe_key: str | None = None


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta


class JobRegistry:
    """Handlers by name, and the periodic schedule."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.periodic: dict[str, Periodic] = {}

    def task(self, name: str, *, every: timedelta | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.handlers and self.handlers[name] is not handler:
                raise ValueError(f"job {name!r} is already registered")
            self.handlers[name] = handler
            if every is not None:
                self.periodic[name] = Periodic(name, every)
            return handler

        return register


registry = JobRegistry()


class JobRecord(Base):
    """A job in the `database` backend: the transactional outbox and the work queue."""

    __tablename__ = "job"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    run_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


def enqueue(
    session: AsyncSession,
    name: str,
    *,
    delay: timedelta | None = None,
    **payload: Any,
) -> Job:
    """Buffer a job; it is handed over only if `session`'s transaction commits."""
    job = Job(name=name, payload=payload, run_at=utcnow() + (delay or timedelta()))
    sync_session = session.sync_session
    if not sync_session.in_transaction():
        # Start the (lazy, I/O-free) transaction now, so that its end, by commit, rollback
        # or close, always fires the events that hand the buffer over or drop it.
        sync_session.begin()
    sync_session.info.setdefault(_BUFFER_KEY, []).append(job)
    return job


class JobBackend(Protocol):
    async def submit(self, jobs: list[Job]) -> None: ...
    async def claim(self, wait: float) -> Job | None: ...
    async def complete(self, job: Job) -> None: ...
    async def retry(self, job: Job, error: str, run_at: datetime) -> None: ...
    async def bury(self, job: Job, error: str) -> None: ...


class MemoryBackend:
    """Jobs in an asyncio queue of this process; lost on restart (the embedded default)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.dead: list[tuple[Job, str]] = []

    def push(self, jobs: list[Job]) -> None:
        loop = asyncio.get_running_loop()
        for job in jobs:
            delay = (job.run_at - utcnow()).total_seconds()
            if delay > 0:
                loop.call_later(delay, self.queue.put_nowait, job)
            else:
                self.queue.put_nowait(job)

    async def submit(self, jobs: list[Job]) -> None:
        self.push(jobs)

    async def claim(self, wait: float) -> Job | None:
        try:
            return await asyncio.wait_for(self.queue.get(), wait)
        except TimeoutError:
            return None

    async def complete(self, job: Job) -> None:
        return None

    async def retry(self, job: Job, error: str, run_at: datetime) -> None:
        job.run_at = run_at
        self.push([job])

    async def bury(self, job: Job, error: str) -> None:
        self.dead.append((job, error))


class DatabaseBackend:
    """Jobs as rows of `job`, written in the request's own transaction."""

    lease = timedelta(minutes=5)

    def __init__(self, db: Database) -> None:
        self.db = db
        self.wakeup = asyncio.Event()

    @staticmethod
    def record(job: Job) -> JobRecord:
        return JobRecord(
            id=job.id,
            name=job.name,
            payload=job.payload,
            status="queued",
            run_at=job.run_at,
            attempts=job.attempts,
            dedupe_key=job.dedupe_key,
        )

    async def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            try:
                async with self.db.session() as session, session.begin():
                    session.add(self.record(job))
            except IntegrityError:  # the same dedupe key was enqueued already
                logger.debug("duplicate job skipped", extra={"dedupe_key": job.dedupe_key})
        self.wakeup.set()

    async def claim(self, wait: float) -> Job | None:
        now = utcnow()
        claimable = (
            select(JobRecord.id)
            .where(
                or_(
                    (JobRecord.status == "queued") & (JobRecord.run_at <= now),
                    (JobRecord.status == "running") & (JobRecord.locked_until < now),
                )
            )
            .order_by(JobRecord.run_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(JobRecord)
            .where(JobRecord.id == claimable)
            .values(status="running", locked_until=now + self.lease, attempts=JobRecord.attempts + 1)
            .returning(JobRecord.id, JobRecord.name, JobRecord.payload, JobRecord.attempts, JobRecord.run_at)
        )
        async with self.db.session() as session, session.begin():
            row = (await session.execute(statement)).first()
        if row is None:
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), wait)
            return None
        return Job(
            name=row.name, payload=row.payload, id=row.id, attempts=row.attempts - 1, run_at=row.run_at
        )

    async def _finish(self, job: Job, **values: Any) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(update(JobRecord).where(JobRecord.id == job.id).values(**values))

    async def complete(self, job: Job) -> None:
        await self._finish(job, status="done", finished_at=utcnow(), locked_until=None)

    async def retry(self, job: Job, error: str, run_at: datetime) -> None:
        await self._finish(job, status="queued", run_at=run_at, last_error=error, locked_until=None)

    async def bury(self, job: Job, error: str) -> None:
        await self._finish(job, status="dead", last_error=error, finished_at=utcnow(), locked_until=None)

    async def purge(self, older_than: datetime) -> int:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                delete(JobRecord).where(JobRecord.status == "done", JobRecord.finished_at < older_than)
            )
        return int(getattr(result, "rowcount", 0) or 0)


def create_backend(settings: Settings, db: Database) -> JobBackend:
    """The configured backend, bound to `db` so its sessions hand their jobs over on commit."""
    backend: JobBackend = (
        DatabaseBackend(db) if settings.jobs_backend is JobsBackend.database else MemoryBackend()
    )
    db.session_info[_BACKEND_KEY] = backend
    return backend


def backend_for(db: Database) -> JobBackend | None:
    """The backend that `create_backend` bound to `db`, if any."""
    backend: JobBackend | None = db.session_info.get(_BACKEND_KEY)
    return backend


@event.listens_for(Session, "before_commit")
def _write_outbox(session: Session) -> None:
    # The database backend stores jobs in the same transaction: they commit or vanish with it.
    backend = session.info.get(_BACKEND_KEY)
    if isinstance(backend, DatabaseBackend) and session.info.get(_BUFFER_KEY):
        session.add_all(DatabaseBackend.record(job) for job in session.info.pop(_BUFFER_KEY))


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    jobs: list[Job] = session.info.pop(_BUFFER_KEY, [])
    backend = session.info.get(_BACKEND_KEY)
    if isinstance(backend, MemoryBackend) and jobs:
        backend.push(jobs)
    elif isinstance(backend, DatabaseBackend):
        backend.wakeup.set()


@event.listens_for(Session, "after_transaction_end")
def _drop_buffer(session: Session, transaction: SessionTransaction) -> None:
    # Whatever is still buffered when the outermost transaction ends was not committed
    # (after_commit has already taken what was): rollback, close, or a failed commit.
    if transaction.parent is None:
        session.info.pop(_BUFFER_KEY, None)


class Worker:
    """Claims jobs and runs their handlers, retrying with exponential backoff."""

    def __init__(
        self,
        backend: JobBackend,
        *,
        db: Database,
        settings: Settings,
        jobs: JobRegistry = registry,
    ) -> None:
        self.backend = backend
        self.db = db
        self.settings = settings
        self.jobs = jobs

    def backoff(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(2**attempt, 3600))

    async def run_one(self, job: Job) -> bool:
        """Run `job` once; True when it succeeded."""
        handler = self.jobs.handlers.get(job.name)
        if handler is None:
            await self.backend.bury(job, f"no handler registered for {job.name!r}")
            logger.error("unknown job", extra={"job": job.name, "job_id": str(job.id)})
            return False
        job.attempts += 1
        context = JobContext(db=self.db, settings=self.settings, attempt=job.attempts)
        try:
            await handler(context, **job.payload)
        except Exception as exc:  # a failing job must never kill the worker
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, PermanentJobError) or job.attempts >= self.settings.jobs_max_attempts:
                logger.exception("job failed for good", extra={"job": job.name, "job_id": str(job.id)})
                await self.backend.bury(job, error)
            else:
                logger.warning("job failed, will retry", extra={"job": job.name, "attempt": job.attempts})
                await self.backend.retry(job, error, utcnow() + self.backoff(job.attempts))
            return False
        await self.backend.complete(job)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            job = await self.backend.claim(self.settings.jobs_poll_interval)
            if job is not None:
                await self.run_one(job)


class Scheduler:
    """Enqueues each periodic job once per period; a dedupe key per slot keeps
    several schedulers (app and worker processes) from enqueueing it twice."""

    def __init__(self, backend: JobBackend, *, jobs: JobRegistry = registry, tick: float = 1.0) -> None:
        self.backend = backend
        self.jobs = jobs
        self.tick = tick
        self.last_slot: dict[str, int] = {}

    async def enqueue_due(self, now: datetime | None = None) -> list[Job]:
        now = now or utcnow()
        due: list[Job] = []
        for periodic in self.jobs.periodic.values():
            slot = int(now.timestamp() // periodic.every.total_seconds())
            if self.last_slot.get(periodic.name) == slot:
                continue
            self.last_slot[periodic.name] = slot
            due.append(Job(name=periodic.name, payload={}, dedupe_key=f"periodic:{periodic.name}:{slot}"))
        if due:
            await self.backend.submit(due)
        return due

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.enqueue_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.tick)


@registry.task("jobs.purge", every=timedelta(hours=1))
async def purge_finished_jobs(ctx: JobContext) -> None:
    """Delete finished jobs past the retention period (database backend only)."""
    backend = backend_for(ctx.db)
    if isinstance(backend, DatabaseBackend):
        removed = await backend.purge(utcnow() - timedelta(days=ctx.settings.jobs_retention_days))
        logger.info("purged finished jobs", extra={"removed": removed})


class JobRunner:
    """The worker and scheduler as background tasks, started and stopped together."""

    def __init__(self, worker: Worker, scheduler: Scheduler) -> None:
        self.worker = worker
        self.scheduler = scheduler
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.worker.run(self.stop), name="sixty-worker"),
            asyncio.create_task(self.scheduler.run(self.stop), name="sixty-scheduler"),
        ]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
