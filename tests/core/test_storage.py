"""core/storage on both backends (a local directory, S3 on moto), core/sniff and core/ranges."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.ranges import ByteRange, parse_range
from sixty.core.sniff import sniff
from sixty.core.storage import (
    InvalidKey,
    InvalidSignature,
    LocalStorage,
    ObjectNotFound,
    ObjectTooLarge,
    SignatureExpired,
    SignedUrls,
    Storage,
    content_disposition,
    discard_unless_committed,
    new_key,
)
from tests.factories.files import HTML, chunks, pdf, png


async def test_put_get_stat_delete(storage: Storage) -> None:
    data = bytes(range(256)) * 400
    key = new_key()
    result = await storage.put(key, chunks(data, 7000))
    assert (result.size, result.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await storage.exists(key)
    stat = await storage.stat(key)
    assert stat is not None
    assert stat.size == len(data)
    assert b"".join([chunk async for chunk in storage.get(key)]) == data
    assert await storage.read(key, offset=1000, length=50) == data[1000:1050]
    assert await storage.read(key, offset=len(data) - 10) == data[-10:]
    assert await storage.digest(key) == (len(data), result.sha256)
    await storage.delete(key)
    await storage.delete(key)  # twice is fine
    assert not await storage.exists(key)
    assert await storage.stat(key) is None
    with pytest.raises(ObjectNotFound):
        await storage.read(key)


async def test_large_objects_go_up_in_parts(storage: Storage, files_settings: Settings) -> None:
    data = hashlib.sha256(b"seed").digest() * (12 * 1024 * 1024 // 32)  # past two 5 MiB parts
    key = new_key()
    result = await storage.put(key, chunks(data, 256 * 1024))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (
        await storage.read(key, offset=5 * 1024 * 1024 - 3, length=6)
        == data[5 * 1024 * 1024 - 3 : 5 * 1024 * 1024 + 3]
    )
    await storage.delete(key)


async def test_too_large_and_broken_streams_leave_nothing(storage: Storage) -> None:
    before = await storage.keys()
    with pytest.raises(ObjectTooLarge):
        await storage.put(new_key(), chunks(bytes(7 * 1024 * 1024), 512 * 1024), max_size=6 * 1024 * 1024)

    async def broken() -> AsyncIterator[bytes]:
        yield bytes(3 * 1024 * 1024)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.put(new_key(), broken())
    assert await storage.keys() == before


async def test_move(storage: Storage) -> None:
    source, target = new_key("incoming"), new_key()
    await storage.put(source, chunks(b"moved bytes"))
    await storage.move(source, target)
    assert not await storage.exists(source)
    assert await storage.read(target) == b"moved bytes"
    with pytest.raises(ObjectNotFound):
        await storage.move(source, new_key())
    await storage.delete(target)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "objects/../../x",
        "objects/ab/" + "0" * 31,
        "Objects/ab/" + "0" * 32,
        "",
    ],
)
async def test_only_our_keys_are_accepted(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        await storage.put(key, chunks(b"x"))
    with pytest.raises(InvalidKey):
        await storage.delete(key)


async def test_local_paths_stay_under_the_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("root")
    local = LocalStorage(root, threads=2, signed_urls=SignedUrls("s" * 32))
    key = new_key()
    assert local.path(key).is_relative_to(root.resolve())
    (root / "objects").mkdir()
    (root / "objects" / "ab").symlink_to(root.parent)  # a directory that escapes the root
    with pytest.raises(InvalidKey):
        local.path("objects/ab/" + "a" * 32)
    await local.close()


async def test_presigned_urls_answer_a_request_to_make(storage: Storage) -> None:
    key = new_key()
    put = await storage.presign_put(
        key, size=10, expires_in=timedelta(minutes=5), base_url="http://app/api/files/signed"
    )
    assert put.method == "PUT"
    assert put.headers["Content-Length"] == "10"
    get = await storage.presign_get(
        key, expires_in=timedelta(minutes=5), base_url="http://app/api/files/signed", filename="a.png"
    )
    assert get.expires_at > datetime.now(UTC)
    if storage.backend == "local":
        assert get.url.startswith("http://app/api/files/signed/")
    else:
        assert "X-Amz-Signature=" in get.url


def test_signed_url_tokens() -> None:
    urls = SignedUrls("k" * 32)
    key = new_key()
    token = urls.issue(
        "PUT", key, expires_at=datetime.now(UTC) + timedelta(minutes=1), size=5, filename="ä.png"
    )
    signed = urls.verify(token, "PUT")
    assert (signed.key, signed.size, signed.filename) == (key, 5, "ä.png")
    with pytest.raises(InvalidSignature):
        urls.verify(token, "GET")
    with pytest.raises(InvalidSignature):
        SignedUrls("other" * 8).verify(token, "PUT")
    with pytest.raises(InvalidSignature):
        urls.verify(token[:-3] + "AAA", "PUT")
    with pytest.raises(InvalidSignature):
        urls.verify("garbage", "PUT")
    with pytest.raises(SignatureExpired):
        urls.verify(token, "PUT", now=datetime.now(UTC).timestamp() + 120)


async def test_bytes_of_a_rolled_back_transaction_are_discarded(storage: Storage, db: Database) -> None:
    kept, dropped = new_key(), new_key()
    for key in (kept, dropped):
        await storage.put(key, chunks(b"bytes"))
    async with db.session() as session:
        discard_unless_committed(session, storage, kept)
        await session.commit()
    async with db.session() as session:
        discard_unless_committed(session, storage, dropped)
        await session.rollback()
    await storage.settle()
    assert await storage.exists(kept)
    assert not await storage.exists(dropped)
    await storage.delete(kept)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (png(1), "image/png"),
        (pdf(1), "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40), "image/jpeg"),
        (b"GIF89a" + bytes(40), "image/gif"),
        (HTML, "text/html"),
        (b"\xef\xbb\xbf  <p>hello", "text/html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (b'<?xml version="1.0"?><note/>', "application/xml"),
        ("plain ünïcode text\n".encode(), "text/plain"),
        (b"PK\x03\x04" + bytes(60), "application/zip"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "image/avif"),
        (bytes(range(256)), "application/octet-stream"),
        (b"", "application/x-empty"),
    ],
)
def test_sniffing(head: bytes, expected: str) -> None:
    assert sniff(head, complete=True) == expected


def test_text_cut_inside_a_character_is_still_text() -> None:
    assert sniff("é".encode() * 10 + "é".encode()[:1]) == "text/plain"


def test_content_disposition() -> None:
    assert content_disposition("a.png", inline=True) == "inline; filename=\"a.png\"; filename*=UTF-8''a.png"
    assert (
        content_disposition('x"\\é.pdf')
        == "attachment; filename=\"x___.pdf\"; filename*=UTF-8''x%22%5C%C3%A9.pdf"
    )


def test_range_parsing() -> None:
    assert parse_range("bytes=0-9", 100) == [ByteRange(0, 9)]
    assert parse_range("bytes=-5", 100) == [ByteRange(95, 99)]
    assert parse_range("bytes=90-", 100) == [ByteRange(90, 99)]
    assert parse_range("bytes=0-0,-1", 100) == [ByteRange(0, 0), ByteRange(99, 99)]
    assert parse_range("bytes=100-", 100) == []
    assert parse_range("bytes=-0", 100) == []
    assert parse_range("bytes=5-1", 100) is None
    assert parse_range("bytes=x", 100) is None
    assert parse_range("lines=1-2", 100) is None
