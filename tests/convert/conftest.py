"""Fixtures of the converter tests: an app whose spool files go to a directory of the test's own,
a check that every test closed them, and an app built with other limits."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app

MakeClient = Callable[..., AbstractAsyncContextManager[AsyncClient]]


def open_spools(directory: Path) -> list[str]:
    """The files this process holds open in `directory` (spools are unnamed: `#123 (deleted)`)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            found.append(target)
    return found


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "spool"
    directory.mkdir()
    return directory


@pytest.fixture(autouse=True)
def spools_are_closed(spool_dir: Path) -> Any:
    """Every conversion, finished or refused, closes (and so deletes) its spool file."""
    yield
    assert open_spools(spool_dir) == []
    assert list(spool_dir.iterdir()) == []


@pytest.fixture
def make_client(settings: Settings, db: Database, spool_dir: Path) -> MakeClient:
    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[AsyncClient]:
        own = settings.model_copy(update={"convert_spool_dir": spool_dir, **overrides})
        application: FastAPI = create_app(own, db=db)
        async with application.router.lifespan_context(application):
            transport = ASGITransport(app=application)
            async with AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield http

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> AsyncIterator[AsyncClient]:
    async with make_client() as http:
        yield http


def rows(text: str, **options: Any) -> list[list[str]]:
    """Parsed CSV, to compare cells rather than quoting."""
    csv.field_size_limit(10**9)  # for the tests' own large cells
    return list(csv.reader(io.StringIO(text, newline=""), **options))


async def in_pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    """A body sent in `size`-byte pieces, with no Content-Length (chunked)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
