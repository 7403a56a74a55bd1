"""Test fixtures: one migrated database per session, one rolled-back transaction per test.

The suite runs on the embedded default (a SQLite file, in-process cache) unless
SIXTY_TEST_POSTGRES_URL / SIXTY_TEST_REDIS_URL point at real services; then a
fresh PostgreSQL database is created for the session and dropped after it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from sixty.cli import EVENT_LOOP
from sixty.core import migrate
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app

POSTGRES_URL = os.environ.get("SIXTY_TEST_POSTGRES_URL") or None
REDIS_URL = os.environ.get("SIXTY_TEST_REDIS_URL") or None
TEST_SECRET = "test-secret-" + "x" * 40
LIVE_ADMIN_EMAIL = "schemathesis@example.com"
LIVE_ADMIN_PASSWORD = "a long schemathesis passphrase"
ROOT = Path(__file__).resolve().parents[1]
# Storage backends (local directory, S3 on loopback) for the tests that store bytes.
pytest_plugins = ["tests.fixtures.storage"]

# Where the outside services (weather, exchange rates) point unless a test starts a fake of its
# own: a loopback port nothing listens on, so no test can reach the internet by accident.
UNREACHABLE = "http://127.0.0.1:9"
OUTSIDE_SERVICES = {
    "weather_geocoding_url": f"{UNREACHABLE}/v1/search",
    "weather_forecast_url": f"{UNREACHABLE}/v1/forecast",
    "currency_ecb_url": f"{UNREACHABLE}/stats/eurofxref/",
}


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
        weather_geocoding_url=OUTSIDE_SERVICES["weather_geocoding_url"],
        weather_forecast_url=OUTSIDE_SERVICES["weather_forecast_url"],
        currency_ecb_url=OUTSIDE_SERVICES["currency_ecb_url"],
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The app under uvicorn on loopback, on a database of its own (what it writes is
    committed, and must not leak into the suite's database)."""
    port = _free_port()
    database_url = create_postgres_database(POSTGRES_URL) if POSTGRES_URL else None
    own = settings.model_copy(update={"data_dir": tmp_path, "database_url": database_url})
    migrate.upgrade(own)
    env = {
        **os.environ,
        "SIXTY_ENV": "test",
        "SIXTY_SECRET_KEY": settings.secret_key,
        "SIXTY_DATA_DIR": str(tmp_path),
        "SIXTY_DATABASE_URL": own.effective_database_url,
        "SIXTY_ACCESS_LOG": "false",
        "SIXTY_LOG_LEVEL": "WARNING",
        # An admin to sign in as, so protected and admin operations can be driven too.
        "SIXTY_ADMIN_EMAIL": LIVE_ADMIN_EMAIL,
        "SIXTY_ADMIN_PASSWORD": LIVE_ADMIN_PASSWORD,
        "SIXTY_ARGON2_MEMORY_KIB": "64",
        "SIXTY_ARGON2_TIME_COST": "1",
        "SIXTY_RATELIMIT_ENABLED": "false",
        **{f"SIXTY_{name.upper()}": url for name, url in OUTSIDE_SERVICES.items()},
        "SIXTY_HTTP_MAX_ATTEMPTS": "1",  # the unreachable services fail at once
        # Short links to the schema's example hosts without DNS (tests/shortener checks the refusals).
        "SIXTY_SHORTENER_ALLOW_PRIVATE_TARGETS": "true",
    }
    if settings.redis_url:
        env["SIXTY_REDIS_URL"] = settings.redis_url
        # Limits of its own, like its database: one server's sign-ups must not use up the next's.
        env["SIXTY_RATELIMIT_PREFIX"] = f"{settings.ratelimit_prefix}{port}:"
    command = [sys.executable, "-m", "uvicorn", "sixty.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--loop", EVENT_LOOP]  # as `sixty serve` runs it
    log_path = tmp_path / "server.log"
    log = log_path.open("w")  # a file, not a pipe: an unread pipe fills up and stalls the server
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: importing every module takes seconds, and far longer on a loaded machine.
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log_path.read_text()[-4000:]}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if POSTGRES_URL and database_url:
            drop_postgres_database(POSTGRES_URL, database_url)
