"""Background jobs: handed over on commit only, run with retries, scheduled once per slot."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import JobsBackend, Settings
from sixty.core.db import Database
from sixty.core.jobs import (
    DatabaseBackend,
    Job,
    JobContext,
    JobRecord,
    JobRegistry,
    JobRunner,
    MemoryBackend,
    PermanentJobError,
    Scheduler,
    Worker,
    backend_for,
    create_backend,
    enqueue,
    registry,
)
from sixty.core.models import utcnow
from sixty.notes.models import Note
from tests.factories.waiting import eventually

Calls = list[tuple[str, dict[str, Any]]]


async def some_work(session: AsyncSession) -> Note:
    """A write in the session, as a request would do before enqueueing a job."""
    note = Note(title="work")
    session.add(note)
    await session.flush()
    return note


@pytest.fixture
def memory_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jobs_backend": JobsBackend.memory, "jobs_max_attempts": 3})


@pytest.fixture
def database_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jobs_backend": JobsBackend.database, "jobs_max_attempts": 3})


@pytest.fixture
def memory_backend(memory_settings: Settings, db: Database) -> MemoryBackend:
    backend = create_backend(memory_settings, db)
    assert isinstance(backend, MemoryBackend)
    return backend


@pytest.fixture
def database_backend(database_settings: Settings, db: Database) -> DatabaseBackend:
    backend = create_backend(database_settings, db)
    assert isinstance(backend, DatabaseBackend)
    return backend


@pytest.fixture
def calls() -> Calls:
    return []


@pytest.fixture
def jobs(calls: Calls) -> JobRegistry:
    """A fresh registry: `record` succeeds and remembers its payload, `fail` always raises."""
    jobs = JobRegistry()

    @jobs.task("record")
    async def record(ctx: JobContext, **payload: Any) -> None:
        calls.append(("record", {**payload, "attempt": ctx.attempt}))

    @jobs.task("fail")
    async def fail(ctx: JobContext, **payload: Any) -> None:
        calls.append(("fail", {**payload, "attempt": ctx.attempt}))
        raise RuntimeError(f"boom {ctx.attempt}")

    return jobs


async def commit_job(db: Database, name: str, **payload: Any) -> Job:
    """Enqueue one job in a session that commits (a request that succeeded)."""
    async with db.session() as session:
        job = enqueue(session, name, **payload)
        await session.commit()
    return job


async def get_record(db: Database, job_id: uuid.UUID) -> JobRecord | None:
    async with db.session() as session:
        return await session.get(JobRecord, job_id)


async def job_count(db: Database, **where: Any) -> int:
    statement = select(func.count()).select_from(JobRecord).filter_by(**where)
    async with db.session() as session:
        return int((await session.scalar(statement)) or 0)


async def make_due(db: Database, job_id: uuid.UUID) -> None:
    """Move a retried job's `run_at` into the past, as if its backoff had elapsed."""
    async with db.session() as session, session.begin():
        await session.execute(
            update(JobRecord).where(JobRecord.id == job_id).values(run_at=utcnow() - timedelta(seconds=1))
        )


async def claim(backend: DatabaseBackend) -> Job:
    job = await backend.claim(0.01)
    assert job is not None, "a due job was not claimed"
    return job


# --- enqueue: jobs leave the session only when its transaction commits ----------------------------


async def test_memory_job_is_handed_over_on_commit_only(memory_backend: MemoryBackend, db: Database) -> None:
    async with db.session() as session:
        await some_work(session)
        job = enqueue(session, "record", to="ada@example.com")
        assert job.payload == {"to": "ada@example.com"}
        await session.flush()
        assert memory_backend.queue.empty()  # not before commit
        await session.commit()
        assert memory_backend.queue.qsize() == 1

    handed_over = memory_backend.queue.get_nowait()
    assert handed_over is job
    assert handed_over.name == "record"


async def test_memory_job_of_a_rolled_back_session_is_dropped(
    memory_backend: MemoryBackend, db: Database
) -> None:
    async with db.session() as session:
        await some_work(session)  # the request did some work, then failed
        enqueue(session, "record", n=1)
        await session.rollback()
        assert memory_backend.queue.empty()

        # The dropped job does not resurface with the session's next commit.
        await some_work(session)
        enqueue(session, "record", n=2)
        await session.commit()
    queued = memory_backend.queue.get_nowait()
    assert queued.payload == {"n": 2}
    assert memory_backend.queue.empty()


async def test_memory_job_of_a_session_closed_without_commit_is_dropped(
    memory_backend: MemoryBackend, db: Database
) -> None:
    async with db.session() as session:
        enqueue(session, "record")
    assert memory_backend.queue.empty()


async def test_memory_delayed_job_arrives_after_its_delay(
    memory_backend: MemoryBackend, db: Database
) -> None:
    await commit_job(db, "record", delay=timedelta(seconds=0.2))
    assert memory_backend.queue.empty()
    job = await memory_backend.claim(2.0)
    assert job is not None
    assert job.name == "record"


async def test_database_job_row_is_written_in_the_same_transaction(
    database_backend: DatabaseBackend, db: Database
) -> None:
    job = await commit_job(db, "record", to="ada@example.com")

    record = await get_record(db, job.id)
    assert record is not None
    assert record.status == "queued"
    assert record.name == "record"
    assert record.payload == {"to": "ada@example.com"}
    assert record.attempts == 0
    assert record.finished_at is None


async def test_database_job_row_vanishes_with_a_rollback(
    database_backend: DatabaseBackend, db: Database
) -> None:
    async with db.session() as session:
        note = await some_work(session)
        job = enqueue(session, "record", to="ada@example.com")
        await session.rollback()

        # The session's next transaction commits without the dropped job.
        await some_work(session)
        kept = enqueue(session, "record", n=2)
        await session.commit()

    async with db.session() as session:
        assert await session.get(Note, note.id) is None
    assert await get_record(db, job.id) is None
    assert await get_record(db, kept.id) is not None
    assert await job_count(db) == 1


@pytest.mark.parametrize("backend_name", ["memory", "database"])
@pytest.mark.parametrize("discard", ["rollback", "close"])
async def test_job_enqueued_before_any_sql_is_dropped_by_rollback(
    backend_name: str, discard: str, settings: Settings, db: Database
) -> None:
    backend = create_backend(settings.model_copy(update={"jobs_backend": JobsBackend(backend_name)}), db)
    async with db.session() as session:
        dropped = enqueue(session, "record", n=1)  # nothing else happened in this session yet
        await (session.rollback() if discard == "rollback" else session.close())
        await session.commit()  # an empty transaction: must hand over nothing

    if isinstance(backend, MemoryBackend):
        assert backend.queue.empty()
    else:
        assert await get_record(db, dropped.id) is None


# --- the worker on the database backend -------------------------------------------------------------


async def test_worker_runs_a_database_job_and_marks_it_done(
    database_backend: DatabaseBackend,
    database_settings: Settings,
    db: Database,
    jobs: JobRegistry,
    calls: Calls,
) -> None:
    job = await commit_job(db, "record", to="ada@example.com", count=2)

    worker = Worker(database_backend, db=db, settings=database_settings, jobs=jobs)
    claimed = await claim(database_backend)
    assert claimed.id == job.id
    assert claimed.payload == {"to": "ada@example.com", "count": 2}

    running = await get_record(db, job.id)
    assert running is not None
    assert running.status == "running"
    assert running.locked_until is not None
    assert running.locked_until > utcnow()

    assert await worker.run_one(claimed) is True
    assert calls == [("record", {"to": "ada@example.com", "count": 2, "attempt": 1})]
    record = await get_record(db, job.id)
    assert record is not None
    assert record.status == "done"
    assert record.attempts == 1
    assert record.finished_at is not None
    assert record.locked_until is None
    assert await database_backend.claim(0.01) is None  # nothing left


async def test_worker_retries_a_failing_database_job_then_marks_it_dead(
    database_backend: DatabaseBackend,
    database_settings: Settings,
    db: Database,
    jobs: JobRegistry,
    calls: Calls,
) -> None:
    assert database_settings.jobs_max_attempts == 3
    job = await commit_job(db, "fail", n=1)
    worker = Worker(database_backend, db=db, settings=database_settings, jobs=jobs)

    for attempt in (1, 2):
        before = utcnow()
        assert await worker.run_one(await claim(database_backend)) is False
        record = await get_record(db, job.id)
        assert record is not None
        assert record.status == "queued"
        assert record.attempts == attempt
        assert record.run_at > before + worker.backoff(attempt) - timedelta(seconds=1)
        assert record.last_error == f"RuntimeError: boom {attempt}"
        assert record.locked_until is None
        assert await database_backend.claim(0.01) is None  # backing off: not due yet
        await make_due(db, job.id)

    assert await worker.run_one(await claim(database_backend)) is False
    record = await get_record(db, job.id)
    assert record is not None
    assert record.status == "dead"
    assert record.attempts == 3
    assert record.last_error == "RuntimeError: boom 3"
    assert record.finished_at is not None
    assert [payload["attempt"] for _, payload in calls] == [1, 2, 3]
    await make_due(db, job.id)
    assert await database_backend.claim(0.01) is None  # a dead job is never claimed again


async def test_worker_buries_an_unknown_job_at_once(
    database_backend: DatabaseBackend,
    database_settings: Settings,
    db: Database,
    jobs: JobRegistry,
    calls: Calls,
) -> None:
    job = await commit_job(db, "no.such.job", n=1)
    worker = Worker(database_backend, db=db, settings=database_settings, jobs=jobs)

    assert await worker.run_one(await claim(database_backend)) is False
    record = await get_record(db, job.id)
    assert record is not None
    assert record.status == "dead"
    assert record.last_error is not None
    assert "no.such.job" in record.last_error
    assert record.finished_at is not None
    assert calls == []


async def test_claim_returns_none_quickly_when_nothing_is_due(
    database_backend: DatabaseBackend, db: Database
) -> None:
    await commit_job(db, "record", delay=timedelta(hours=1))
    assert await job_count(db, status="queued") == 1

    started = time.monotonic()
    assert await database_backend.claim(0.05) is None
    assert time.monotonic() - started < 1.0


async def test_claim_takes_the_oldest_due_job_first(database_backend: DatabaseBackend, db: Database) -> None:
    late = Job(name="record", payload={"n": 2}, run_at=utcnow() - timedelta(minutes=1))
    early = Job(name="record", payload={"n": 1}, run_at=utcnow() - timedelta(minutes=2))
    await database_backend.submit([late, early])
    assert (await claim(database_backend)).id == early.id
    assert (await claim(database_backend)).id == late.id
    assert await database_backend.claim(0.01) is None  # both are running now


async def test_a_running_job_whose_lease_expired_is_claimed_again(
    database_backend: DatabaseBackend, db: Database
) -> None:
    job = Job(name="record", payload={})
    await database_backend.submit([job])
    first = await claim(database_backend)
    assert first.attempts == 0
    assert await database_backend.claim(0.01) is None  # leased

    async with db.session() as session, session.begin():  # the worker holding it died
        await session.execute(
            update(JobRecord)
            .where(JobRecord.id == job.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    again = await claim(database_backend)
    assert again.id == job.id
    assert again.attempts == 1  # the lost run counts as an attempt


async def test_submit_wakes_a_waiting_claim(database_backend: DatabaseBackend) -> None:
    database_backend.wakeup.set()
    waiting = asyncio.create_task(database_backend.claim(5.0))
    # claim() clears the event once its query found nothing, then waits on it.
    await eventually(lambda: not database_backend.wakeup.is_set(), within=3.0)
    await asyncio.sleep(0.01)
    assert not waiting.done()
    started = time.monotonic()
    await database_backend.submit([Job(name="record", payload={})])
    assert await asyncio.wait_for(waiting, 2.0) is None  # woken: it returns to poll again
    assert time.monotonic() - started < 2.0
    assert (await claim(database_backend)).name == "record"


# --- the worker on the memory backend -------------------------------------------------------------


async def test_memory_worker_runs_a_job(
    memory_backend: MemoryBackend, memory_settings: Settings, db: Database, jobs: JobRegistry, calls: Calls
) -> None:
    worker = Worker(memory_backend, db=db, settings=memory_settings, jobs=jobs)
    await commit_job(db, "record", x=1)
    job = await memory_backend.claim(0.1)
    assert job is not None
    assert await worker.run_one(job) is True
    assert calls == [("record", {"x": 1, "attempt": 1})]
    assert memory_backend.dead == []


async def test_memory_worker_retries_with_delay_then_buries(
    memory_backend: MemoryBackend, memory_settings: Settings, db: Database, jobs: JobRegistry, calls: Calls
) -> None:
    settings = memory_settings.model_copy(update={"jobs_max_attempts": 2})
    worker = Worker(memory_backend, db=db, settings=settings, jobs=jobs)
    job = Job(name="fail", payload={"n": 1})

    before = utcnow()
    assert await worker.run_one(job) is False
    assert job.attempts == 1
    assert job.run_at >= before + worker.backoff(1) - timedelta(milliseconds=50)
    assert memory_backend.queue.empty()  # re-queued only after the backoff
    assert memory_backend.dead == []

    started = time.monotonic()
    retried = await memory_backend.claim(5.0)
    assert retried is job
    assert time.monotonic() - started >= worker.backoff(1).total_seconds() - 0.5

    assert await worker.run_one(retried) is False
    assert memory_backend.dead == [(job, "RuntimeError: boom 2")]
    assert [payload["attempt"] for _, payload in calls] == [1, 2]
    assert await memory_backend.claim(0.05) is None  # not re-queued


async def test_memory_worker_buries_an_unknown_job(
    memory_backend: MemoryBackend, memory_settings: Settings, db: Database, jobs: JobRegistry
) -> None:
    worker = Worker(memory_backend, db=db, settings=memory_settings, jobs=jobs)
    job = Job(name="nope", payload={})
    assert await worker.run_one(job) is False
    assert len(memory_backend.dead) == 1
    assert memory_backend.dead[0][0] is job
    assert "nope" in memory_backend.dead[0][1]


@pytest.fixture
def refusing(jobs: JobRegistry, calls: Calls) -> JobRegistry:
    """`jobs` plus `refuse`, which fails in a way that retrying cannot fix."""

    @jobs.task("refuse")
    async def refuse(ctx: JobContext, **payload: Any) -> None:
        calls.append(("refuse", {**payload, "attempt": ctx.attempt}))
        raise PermanentJobError("550 no such user")

    return jobs


async def test_a_permanent_error_buries_a_memory_job_at_once(
    memory_backend: MemoryBackend,
    memory_settings: Settings,
    db: Database,
    refusing: JobRegistry,
    calls: Calls,
) -> None:
    worker = Worker(memory_backend, db=db, settings=memory_settings, jobs=refusing)
    job = Job(name="refuse", payload={})
    assert await worker.run_one(job) is False
    assert memory_backend.dead == [(job, "PermanentJobError: 550 no such user")]
    assert await memory_backend.claim(0.05) is None  # not re-queued
    assert calls == [("refuse", {"attempt": 1})]


async def test_a_permanent_error_buries_a_database_job_at_once(
    database_backend: DatabaseBackend, database_settings: Settings, db: Database, refusing: JobRegistry
) -> None:
    job = await commit_job(db, "refuse")
    worker = Worker(database_backend, db=db, settings=database_settings, jobs=refusing)
    assert await worker.run_one(await claim(database_backend)) is False
    record = await get_record(db, job.id)
    assert record is not None
    assert (record.status, record.attempts, record.last_error) == (
        "dead",
        1,
        "PermanentJobError: 550 no such user",
    )


async def test_backend_for_finds_the_bound_backend(memory_settings: Settings, db: Database) -> None:
    assert backend_for(db) is None
    backend = create_backend(memory_settings, db)
    assert backend_for(db) is backend


async def test_backoff_grows_exponentially_and_is_capped(
    memory_backend: MemoryBackend, memory_settings: Settings, db: Database
) -> None:
    worker = Worker(memory_backend, db=db, settings=memory_settings)
    assert [worker.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert worker.backoff(30) == timedelta(hours=1)


# --- the scheduler ------------------------------------------------------------------------------


@pytest.fixture
def periodic(jobs: JobRegistry) -> JobRegistry:
    @jobs.task("tick", every=timedelta(minutes=5))
    async def tick(ctx: JobContext) -> None:
        return None

    return jobs


SLOT_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # a multiple of five minutes


async def test_scheduler_enqueues_once_per_slot(memory_backend: MemoryBackend, periodic: JobRegistry) -> None:
    scheduler = Scheduler(memory_backend, jobs=periodic)

    first = await scheduler.enqueue_due(SLOT_START + timedelta(seconds=10))
    assert [job.name for job in first] == ["tick"]
    assert memory_backend.queue.qsize() == 1

    assert await scheduler.enqueue_due(SLOT_START + timedelta(minutes=4, seconds=59)) == []
    assert memory_backend.queue.qsize() == 1

    second = await scheduler.enqueue_due(SLOT_START + timedelta(minutes=5))
    assert [job.name for job in second] == ["tick"]
    assert second[0].dedupe_key != first[0].dedupe_key
    assert memory_backend.queue.qsize() == 2


async def test_scheduler_ignores_registries_without_periodic_jobs(
    memory_backend: MemoryBackend, jobs: JobRegistry
) -> None:
    assert await Scheduler(memory_backend, jobs=jobs).enqueue_due(SLOT_START) == []
    assert memory_backend.queue.empty()


async def test_two_schedulers_enqueue_one_database_job_per_slot(
    database_backend: DatabaseBackend, db: Database, periodic: JobRegistry
) -> None:
    app_scheduler = Scheduler(database_backend, jobs=periodic)
    worker_scheduler = Scheduler(database_backend, jobs=periodic)

    assert len(await app_scheduler.enqueue_due(SLOT_START)) == 1
    await worker_scheduler.enqueue_due(SLOT_START + timedelta(minutes=1))  # same slot, duplicate swallowed
    assert await job_count(db, name="tick") == 1

    await worker_scheduler.enqueue_due(SLOT_START + timedelta(minutes=5))
    await app_scheduler.enqueue_due(SLOT_START + timedelta(minutes=6))
    assert await job_count(db, name="tick") == 2

    # The test transaction is still usable after the swallowed IntegrityErrors.
    assert (await claim(database_backend)).name == "tick"


async def test_a_duplicate_dedupe_key_does_not_stop_the_rest_of_the_batch(
    database_backend: DatabaseBackend, db: Database
) -> None:
    await database_backend.submit([Job(name="record", payload={}, dedupe_key="k1")])
    await database_backend.submit(
        [Job(name="record", payload={"n": 1}, dedupe_key="k1"), Job(name="record", payload={"n": 2})]
    )
    assert await job_count(db) == 2
    assert await job_count(db, dedupe_key="k1") == 1


# --- purging finished jobs ------------------------------------------------------------------------


async def add_finished_jobs(db: Database) -> dict[str, uuid.UUID]:
    now = utcnow()
    rows = {
        "old_done": ("done", now - timedelta(days=30)),
        "recent_done": ("done", now - timedelta(hours=1)),
        "old_dead": ("dead", now - timedelta(days=30)),
        "queued": ("queued", None),  # not due yet
    }
    ids: dict[str, uuid.UUID] = {}
    async with db.session() as session, session.begin():
        for label, (status, finished_at) in rows.items():
            record = DatabaseBackend.record(Job(name=label, payload={}, run_at=now + timedelta(days=1)))
            record.status = status
            record.finished_at = finished_at
            session.add(record)
            ids[label] = record.id
    return ids


async def test_purge_deletes_only_done_jobs_finished_before_the_cutoff(
    database_backend: DatabaseBackend, db: Database
) -> None:
    ids = await add_finished_jobs(db)
    removed = await database_backend.purge(utcnow() - timedelta(days=7))
    assert removed == 1
    assert await get_record(db, ids["old_done"]) is None
    for label in ("recent_done", "old_dead", "queued"):
        assert await get_record(db, ids[label]) is not None, label


async def test_builtin_purge_job_runs_in_a_worker(
    database_backend: DatabaseBackend, database_settings: Settings, db: Database
) -> None:
    assert "jobs.purge" in registry.handlers
    assert registry.periodic["jobs.purge"].every == timedelta(hours=1)
    ids = await add_finished_jobs(db)
    purge = Job(name="jobs.purge", payload={})
    await database_backend.submit([purge])

    worker = Worker(database_backend, db=db, settings=database_settings)  # the global registry
    claimed = await claim(database_backend)
    assert claimed.id == purge.id  # the seeded rows are all finished or not due
    assert await worker.run_one(claimed) is True

    assert await get_record(db, ids["old_done"]) is None
    assert await get_record(db, ids["recent_done"]) is not None
    assert await get_record(db, ids["old_dead"]) is not None
    record = await get_record(db, purge.id)
    assert record is not None
    assert record.status == "done"  # recent: kept for the retention period


# --- the registry -------------------------------------------------------------------------------


async def test_registry_refuses_a_second_handler_under_a_name() -> None:
    jobs = JobRegistry()

    async def first(ctx: JobContext) -> None:
        return None

    async def second(ctx: JobContext) -> None:
        return None

    jobs.task("send")(first)
    jobs.task("send")(first)  # registering the same handler again is harmless
    assert jobs.handlers == {"send": first}
    with pytest.raises(ValueError, match="send"):
        jobs.task("send")(second)
    assert jobs.handlers["send"] is first
    assert jobs.periodic == {}


async def test_registry_records_periodic_tasks() -> None:
    jobs = JobRegistry()

    async def tick(ctx: JobContext) -> None:
        return None

    assert jobs.task("tick", every=timedelta(minutes=1))(tick) is tick
    assert jobs.handlers["tick"] is tick
    assert jobs.periodic["tick"].every == timedelta(minutes=1)


# --- the runner -----------------------------------------------------------------------------------


async def test_job_runner_runs_jobs_and_the_schedule_then_stops(
    memory_backend: MemoryBackend, memory_settings: Settings, db: Database, calls: Calls
) -> None:
    jobs = JobRegistry()
    ticks: list[int] = []

    @jobs.task("record")
    async def record(ctx: JobContext, **payload: Any) -> None:
        calls.append(("record", payload))

    @jobs.task("tick", every=timedelta(hours=1))
    async def tick(ctx: JobContext) -> None:
        ticks.append(ctx.attempt)

    settings = memory_settings.model_copy(update={"jobs_poll_interval": 0.05})
    runner = JobRunner(
        Worker(memory_backend, db=db, settings=settings, jobs=jobs),
        Scheduler(memory_backend, jobs=jobs, tick=0.05),
    )
    runner.start()
    try:
        await commit_job(db, "record", x=1)
        await eventually(lambda: bool(calls) and bool(ticks), within=3.0)
    finally:
        started = time.monotonic()
        await runner.close()
    assert time.monotonic() - started < 2.0
    assert calls == [("record", {"x": 1})]
    assert ticks == [1]  # scheduled once for this hour
    assert memory_backend.dead == []
    assert len(runner.tasks) == 2
    for task in runner.tasks:
        assert task.done()
        assert not task.cancelled()
        assert task.exception() is None


async def test_job_runner_survives_a_failing_job(
    memory_backend: MemoryBackend, memory_settings: Settings, db: Database, jobs: JobRegistry, calls: Calls
) -> None:
    settings = memory_settings.model_copy(update={"jobs_poll_interval": 0.05, "jobs_max_attempts": 1})
    runner = JobRunner(
        Worker(memory_backend, db=db, settings=settings, jobs=jobs),
        Scheduler(memory_backend, jobs=jobs, tick=0.05),
    )
    runner.start()
    try:
        await memory_backend.submit([Job(name="fail", payload={}), Job(name="record", payload={"y": 2})])
        await eventually(lambda: len(calls) == 2, within=3.0)
    finally:
        await runner.close()
    assert [name for name, _ in calls] == ["fail", "record"]
    assert len(memory_backend.dead) == 1
    for task in runner.tasks:
        assert task.exception() is None
