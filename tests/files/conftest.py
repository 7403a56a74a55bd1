"""Files tests run on both storage backends: a local directory, and S3 on a real S3-compatible
server on loopback (moto's server mode, started here from the venv; or the server at
`SIXTY_TEST_S3_URL`). With `SIXTY_REQUIRE_SERVICES=1` (CI) the S3 runs may not be skipped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.storage import Storage, release_storage, storage_for
from sixty.main import create_app
from tests.conftest import _free_port
from tests.factories.auth import bearer, create_user, sign_in

S3_ACCESS_KEY = "testing-access-key"
S3_SECRET_KEY = "testing-secret-key"


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """The URL of an S3-compatible server, or None when none can be had (the S3 runs skip)."""
    external = os.environ.get("SIXTY_TEST_S3_URL")
    if external:
        yield external
        return
    port = _free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    log = log_path.open("w")
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                message = f"moto server did not start: {log_path.read_text()[-2000:]}"
                if os.environ.get("SIXTY_REQUIRE_SERVICES") == "1":
                    pytest.fail(message)
                yield None
                return
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def s3_settings(settings: Settings, endpoint: str, bucket: str) -> Settings:
    return settings.model_copy(
        update={
            "storage_backend": "s3",
            "storage_s3_bucket": bucket,
            "storage_s3_region": "us-east-1",
            "storage_s3_endpoint_url": endpoint,
            "storage_s3_access_key_id": S3_ACCESS_KEY,
            "storage_s3_secret_access_key": S3_SECRET_KEY,
            "storage_s3_addressing_style": "path",
            "storage_s3_part_size": 5 * 1024 * 1024,
        }
    )


def create_bucket(endpoint: str, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )
    client.create_bucket(Bucket=bucket)


@pytest.fixture(scope="session", params=["local", "s3"])
async def files_settings(
    request: pytest.FixtureRequest,
    settings: Settings,
    s3_endpoint: str | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Settings]:
    """The suite's settings on one storage backend (each test runs once per backend)."""
    limits = {"files_max_bytes": 256 * 1024, "files_max_per_request": 5}
    if request.param == "local":
        chosen = settings.model_copy(
            update={"storage_backend": "local", "storage_dir": tmp_path_factory.mktemp("storage"), **limits}
        )
    else:
        if s3_endpoint is None:
            pytest.skip("no S3-compatible server (moto) could be started")
        bucket = f"sixty-test-{uuid.uuid4().hex[:12]}"
        create_bucket(s3_endpoint, bucket)
        chosen = s3_settings(settings, s3_endpoint, bucket).model_copy(update=limits)
    yield chosen
    await release_storage(chosen)


@pytest.fixture
def storage(files_settings: Settings) -> Storage:
    return storage_for(files_settings)


@pytest.fixture
async def app(files_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(files_settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def owner(app: FastAPI, session: AsyncSession) -> User:
    context: auth_service.AuthContext = app.state.auth
    return await create_user(session, context, email="owner@example.com", username="owner")


@pytest.fixture
async def stranger(app: FastAPI, session: AsyncSession) -> User:
    context: auth_service.AuthContext = app.state.auth
    return await create_user(session, context, email="stranger@example.com", username="stranger")


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def client(app: FastAPI, owner: User) -> AsyncIterator[AsyncClient]:
    """The owner's client."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        http.headers.update(bearer(await sign_in(http, "owner@example.com")))
        yield http


@pytest.fixture
async def stranger_client(app: FastAPI, stranger: User) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        http.headers.update(bearer(await sign_in(http, "stranger@example.com")))
        yield http


def storage_root(files_settings: Settings) -> Path:
    return files_settings.effective_storage_dir
