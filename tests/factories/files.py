"""Bytes of each kind, files made through the service, and what storage and the tables hold."""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.core.reader import Row
from sixty.core.storage import Storage
from sixty.files import service
from sixty.files.models import Blob, StoredFile, Upload


def png(seed: int = 0, *, size: int = 200) -> bytes:
    """A PNG signature and header followed by `size` bytes that differ per seed."""
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    filler = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    return header + filler[:size]


def pdf(seed: int = 0) -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + zlib.compress(str(seed).encode() * 50) + b"\n%%EOF\n"


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
TEXT = "Plain text, ünïcode too.\n".encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def store_file(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    owner_id: uuid.UUID,
    data: bytes,
    *,
    name: str = "cat.png",
) -> Row:
    return await service.store_stream(
        session,
        storage,
        chunks(data),
        owner_id=owner_id,
        name=name,
        policy=service.UploadPolicy.from_settings(settings),
    )


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    """Rows of files, blobs and uploads."""
    return (
        int(await session.scalar(select(func.count()).select_from(StoredFile)) or 0),
        int(await session.scalar(select(func.count()).select_from(Blob)) or 0),
        int(await session.scalar(select(func.count()).select_from(Upload)) or 0),
    )
