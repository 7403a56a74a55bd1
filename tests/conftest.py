"""Test fixtures: one migrated database per session, one rolled-back transaction per test.

The suite runs on the embedded default (a SQLite file, in-process cache) unless
SIXTY_TEST_POSTGRES_URL / SIXTY_TEST_REDIS_URL point at real services; then a
fresh PostgreSQL database is created for the session and dropped after it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from sixty.core import migrate
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app

POSTGRES_URL = os.environ.get("SIXTY_TEST_POSTGRES_URL") or None
REDIS_URL = os.environ.get("SIXTY_TEST_REDIS_URL") or None
TEST_SECRET = "test-secret-" + "x" * 40


def create_postgres_database(admin_url: str) -> str:
    """A new empty database next to the one in `admin_url`; returns its async URL."""
    name = f"sixty_test_{uuid.uuid4().hex[:12]}"
    url = make_url(admin_url)

    async def create() -> None:
        connection = await asyncpg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    url = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def drop() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("sixty-data")
    database_url = create_postgres_database(POSTGRES_URL) if POSTGRES_URL else None
    test_settings = Settings(
        env="test",
        secret_key=TEST_SECRET,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=REDIS_URL,
        jobs_run_in_app=False,  # tests run jobs explicitly, on the test's own connection
        access_log=False,
        # Tests about limits turn them on (tests/core/test_ratelimit.py); a run's Redis keys are its own.
        ratelimit_enabled=False,
        ratelimit_prefix=f"sixty-test:{uuid.uuid4().hex[:12]}:rl:",
        # Cheap hashing: tests are about behaviour; `make bench` measures the real parameters.
        argon2_time_cost=1,
        argon2_memory_kib=64,
        bcrypt_rounds=4,
        _env_file=None,
    )
    migrate.upgrade(test_settings)
    yield test_settings
    if POSTGRES_URL and database_url:
        drop_postgres_database(POSTGRES_URL, database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's outer transaction: everything the test writes is rolled back after it."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
async def db(settings: Settings, connection: AsyncConnection) -> AsyncIterator[Database]:
    database = Database(create_engine(settings))
    await database.bind(connection)
    yield database
    await database.engine.dispose()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction, for factories and direct service calls."""
    async with db.session() as session:
        yield session


@pytest.fixture
async def app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def auth_headers(app: FastAPI, session: AsyncSession, client: AsyncClient) -> dict[str, str]:
    """`Authorization` for a fresh account, for tests that need any signed-in caller."""
    from tests.factories.auth import bearer, create_user, sign_in

    await create_user(session, app.state.auth, email="member@example.com", username="member")
    return bearer(await sign_in(client, "member@example.com"))
