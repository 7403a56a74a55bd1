"""Object storage: one interface, two backends chosen by settings.

- `LocalStorage` (the default): a directory (`SIXTY_STORAGE_DIR`, default `<data_dir>/storage`).
  An object is written to a temporary file beside its final place, synced, then renamed, so a
  reader sees the whole object or none of it.
- `S3Storage`: any S3-compatible store through boto3 (bucket, region, endpoint URL, credentials,
  addressing style). boto3 blocks, so its calls run on the storage's own threads; objects past
  one part (`SIXTY_STORAGE_S3_PART_SIZE`) go up as multipart uploads, one part in memory at a time.

Keys are ours: `new_key()` makes them (random, never derived from a user's file name), and the
local backend refuses any key that is not of that shape or would resolve outside its root.

`put` takes the bytes as an async iterator of chunks and never holds more than a block or a
part of them; it answers the size and the SHA-256 computed on the way, refuses to grow past
`max_size` (`ObjectTooLarge`), and leaves nothing behind when it fails or the stream breaks.

Presigned URLs let a client move bytes without passing them through the app: S3's own, or,
on the local backend, our HMAC-signed expiring tokens (`SignedUrls`) that the app serves, so a
client's flow is the same on both.

Deleting bytes that the database no longer references happens after commit: `delete_after_commit`
enqueues the `storage.delete` job; `discard_unless_committed` deletes freshly written bytes when
the transaction that was to reference them rolls back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, TypeVar
from urllib.parse import quote

import orjson
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from sixty.core.config import Settings, StorageBackend
from sixty.core.jobs import JobContext, enqueue, registry

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("sixty.storage")

READ_SIZE = 1024 * 1024  # bytes per read of a stored object
WRITE_SIZE = 1024 * 1024  # local backend: bytes gathered before one write
DELETE_JOB = "storage.delete"
# Our keys: lower-case hex and slashes (`objects/3f/3f9c...`), optionally a suffix after a dash.
KEY_PATTERN = re.compile(r"^[a-z]+(?:/[0-9a-f]{2})?/[0-9a-f]{32}(?:-[a-z0-9]{1,40})?$")

T = TypeVar("T")
Chunks = AsyncIterable[bytes]


class StorageError(Exception):
    """A storage operation failed."""


class ObjectNotFound(StorageError):
    """No object under this key."""


class ObjectTooLarge(StorageError):
    """The stream went past `max_size`; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"object larger than {limit} bytes")
        self.limit = limit


class InvalidKey(StorageError):
    """A key that is not one of ours (or would leave the storage root)."""


class InvalidSignature(StorageError):
    """A signed URL token that was tampered with, or made for another method."""


class SignatureExpired(StorageError):
    """A signed URL token past its expiry."""


def new_key(prefix: str = "objects", *, suffix: str | None = None) -> str:
    """A fresh key, `<prefix>/<2 hex>/<32 hex>[-suffix]`: random, so never guessable from or
    derived from a user's input, and spread over 256 directories."""
    token = uuid.uuid4().hex
    key = f"{prefix}/{token[:2]}/{token}" + (f"-{suffix}" if suffix else "")
    check_key(key)
    return key


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise InvalidKey(f"not a storage key: {key!r}")
    return key


@dataclass(frozen=True)
class PutResult:
    key: str
    size: int
    sha256: str  # hex


@dataclass(frozen=True)
class ObjectStat:
    key: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class PresignedRequest:
    """A request the client makes itself: `method` on `url` with `headers`, until `expires_at`."""

    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class SignedObject:
    """What a verified local signed URL allows: `method` on `key` (a PUT of at most `size` bytes;
    a GET answered with `filename` and `content_type`)."""

    method: str
    key: str
    size: int | None
    filename: str | None
    content_type: str | None
    expires_at: datetime


class SignedUrls:
    """HMAC-SHA256 tokens for the local backend's presigned URLs: the key, the method, an expiry
    and the limits, signed with a key derived from the app secret. Verified in constant time."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"sixty.storage.url:" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> str:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(
        self,
        method: str,
        key: str,
        *,
        expires_at: datetime,
        size: int | None = None,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        body = {"m": method, "k": check_key(key), "e": int(expires_at.timestamp())}
        body.update(
            {name: value for name, value in (("s", size), ("n", filename), ("t", content_type)) if value}
        )
        payload = base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=")
        return f"{payload.decode()}.{self._sign(payload)}"

    def verify(self, token: str, method: str, *, now: float | None = None) -> SignedObject:
        payload, _dot, signature = token.partition(".")
        expected = self._sign(payload.encode())
        if not payload or not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise InvalidSignature("bad signature")
        try:
            body = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            signed = SignedObject(
                method=str(body["m"]),
                key=check_key(str(body["k"])),
                size=int(body["s"]) if "s" in body else None,
                filename=str(body["n"]) if "n" in body else None,
                content_type=str(body["t"]) if "t" in body else None,
                expires_at=datetime.fromtimestamp(int(body["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError, InvalidKey, orjson.JSONDecodeError) as error:
            raise InvalidSignature("malformed token") from error
        if signed.method != method:
            raise InvalidSignature(f"signed for {signed.method}, used for {method}")
        if signed.expires_at.timestamp() <= (now if now is not None else time.time()):
            raise SignatureExpired("expired")
        return signed


# The policy sent with every download of stored bytes: nothing in them may load, run or reach out,
# even when a browser renders them (a sandboxed, resource-less document).
DOWNLOAD_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback name (quotes, backslashes and non-ASCII replaced) and the
    exact name as RFC 8187 `filename*`."""
    fallback = "".join(char if 32 <= ord(char) < 127 and char not in '"\\%' else "_" for char in filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class Storage(ABC):
    """Where bytes live. Every method is safe to call concurrently."""

    backend: StorageBackend

    def __init__(self, *, threads: int, signed_urls: SignedUrls) -> None:
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sixty-storage")
        self.signed_urls = signed_urls
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking I/O on the storage's threads (not the loop's default pool, which
        password hashing and the database driver use)."""
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, partial(function, *args, **kwargs)
        )

    @abstractmethod
    async def put(self, key: str, chunks: Chunks, *, max_size: int | None = None) -> PutResult:
        """Store the stream under `key` (replacing any object there). Raises `ObjectTooLarge`
        past `max_size`; on any failure, including the stream raising, nothing is kept."""

    @abstractmethod
    def get(self, key: str, *, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes from `offset`, `length` of them (all when None), in chunks.
        Raises `ObjectNotFound` on the first iteration when there is no such object."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; no error when there is none."""

    @abstractmethod
    async def move(self, source: str, target: str) -> None:
        """Move an object to another key (inside the store: the bytes do not pass through here)."""

    @abstractmethod
    async def stat(self, key: str) -> ObjectStat | None:
        """Size and modification time, or None when there is no such object."""

    @abstractmethod
    async def keys(self, prefix: str = "") -> list[str]:
        """Every key under `prefix` (sweeps, tests); unfinished local writes included."""

    @abstractmethod
    async def presign_get(
        self,
        key: str,
        *,
        expires_in: timedelta,
        base_url: str,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
    ) -> PresignedRequest:
        """A URL anyone holding it may GET the object with until it expires. `base_url` is
        where the app serves local signed URLs (ignored by S3)."""

    @abstractmethod
    async def presign_put(
        self, key: str, *, size: int, expires_in: timedelta, base_url: str
    ) -> PresignedRequest:
        """A URL to PUT exactly `size` bytes to `key` with, until it expires."""

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    async def read(self, key: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """A small piece of an object in memory (the first bytes, to sniff its type)."""
        return b"".join([chunk async for chunk in self.get(key, offset=offset, length=length)])

    async def digest(self, key: str) -> tuple[int, str]:
        """Size and SHA-256 of a stored object, read through once (bytes the client sent
        straight to the store, which the app never saw)."""
        hasher = hashlib.sha256()
        size = 0
        async for chunk in self.get(key):
            size += len(chunk)
            await self.run(hasher.update, chunk)
        return size, hasher.hexdigest()

    def delete_soon(self, key: str) -> None:
        """Delete in the background (bytes of a transaction that rolled back). `settle()` waits."""
        task = asyncio.get_running_loop().create_task(self._delete_logged(key))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _delete_logged(self, key: str) -> None:
        try:
            await self.delete(key)
        except Exception:  # the periodic sweep gets it later; never break the caller's loop
            logger.exception("could not delete an unreferenced object", extra={"key": key})

    async def settle(self) -> None:
        """Wait for background deletes to finish."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        await self.settle()
        self.executor.shutdown(wait=True)


# --- local directory -------------------------------------------------------------------------------


class LocalStorage(Storage):
    backend = StorageBackend.local

    def __init__(self, root: Path, *, threads: int, signed_urls: SignedUrls, fsync: bool = True) -> None:
        super().__init__(threads=threads, signed_urls=signed_urls)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.fsync = fsync

    def path(self, key: str) -> Path:
        """The file of `key`; refuses anything but our keys, and anything resolving outside the root."""
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidKey(f"key outside the storage root: {key!r}")
        return path

    async def put(self, key: str, chunks: Chunks, *, max_size: int | None = None) -> PutResult:
        path = self.path(key)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        hasher = hashlib.sha256()
        size = 0
        file: BinaryIO | None = None

        def write(block: bytes) -> None:
            assert file is not None  # noqa: S101 - opened before the first write
            hasher.update(block)  # releases the GIL for big blocks, like the write
            file.write(block)

        def open_temporary() -> BinaryIO:
            path.parent.mkdir(parents=True, exist_ok=True)
            return temporary.open("xb")

        def finish() -> None:
            assert file is not None  # noqa: S101
            file.flush()
            if self.fsync:
                os.fsync(file.fileno())
            file.close()
            os.replace(temporary, path)

        try:
            file = await self.run(open_temporary)
            pending: asyncio.Future[None] | None = None  # one block written while the next arrives
            block: list[bytes] = []
            gathered = 0
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise ObjectTooLarge(max_size)
                block.append(chunk)
                gathered += len(chunk)
                if gathered >= WRITE_SIZE:
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(self.run(write, b"".join(block)))
                    block, gathered = [], 0
            if pending is not None:
                await pending
            if block:
                await self.run(write, b"".join(block))
            await self.run(finish)
        except BaseException:
            if pending is not None and not pending.done():
                await asyncio.gather(pending, return_exceptions=True)
            await asyncio.shield(self.run(self._discard, file, temporary))
            raise
        return PutResult(key=key, size=size, sha256=hasher.hexdigest())

    @staticmethod
    def _discard(file: BinaryIO | None, temporary: Path) -> None:
        if file is not None:
            file.close()
        temporary.unlink(missing_ok=True)

    async def get(self, key: str, *, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            file: BinaryIO = await self.run(path.open, "rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        try:
            await self.run(file.seek, offset)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = await self.run(
                    file.read, READ_SIZE if remaining is None else min(READ_SIZE, remaining)
                )
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        await self.run(self.path(key).unlink, missing_ok=True)

    async def move(self, source: str, target: str) -> None:
        source_path, target_path = self.path(source), self.path(target)

        def rename() -> None:
            target_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source_path, target_path)

        try:
            await self.run(rename)
        except FileNotFoundError:
            raise ObjectNotFound(source) from None

    async def stat(self, key: str) -> ObjectStat | None:
        try:
            result = await self.run(self.path(key).stat)
        except FileNotFoundError:
            return None
        return ObjectStat(key=key, size=result.st_size, modified=datetime.fromtimestamp(result.st_mtime, UTC))

    async def keys(self, prefix: str = "") -> list[str]:
        def walk() -> list[str]:
            return sorted(
                path.relative_to(self.root).as_posix()
                for path in self.root.rglob("*")
                if path.is_file() and path.relative_to(self.root).as_posix().startswith(prefix)
            )

        return await self.run(walk)

    async def digest(self, key: str) -> tuple[int, str]:
        def hash_file() -> tuple[int, str]:
            with self.path(key).open("rb") as file:
                digest = hashlib.file_digest(file, "sha256")
                return file.tell(), digest.hexdigest()

        try:
            return await self.run(hash_file)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    async def presign_get(
        self,
        key: str,
        *,
        expires_in: timedelta,
        base_url: str,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
    ) -> PresignedRequest:
        expires_at = datetime.now(UTC) + expires_in
        token = self.signed_urls.issue(
            "GET", key, expires_at=expires_at, filename=filename, content_type=content_type
        )
        return PresignedRequest("GET", f"{base_url.rstrip('/')}/{token}", {}, expires_at)

    async def presign_put(
        self, key: str, *, size: int, expires_in: timedelta, base_url: str
    ) -> PresignedRequest:
        expires_at = datetime.now(UTC) + expires_in
        token = self.signed_urls.issue("PUT", key, expires_at=expires_at, size=size)
        headers = {"Content-Length": str(size)}
        return PresignedRequest("PUT", f"{base_url.rstrip('/')}/{token}", headers, expires_at)


# --- S3 --------------------------------------------------------------------------------------------


class S3Storage(Storage):
    backend = StorageBackend.s3

    def __init__(
        self, client: S3Client, bucket: str, *, part_size: int, threads: int, signed_urls: SignedUrls
    ) -> None:
        super().__init__(threads=threads, signed_urls=signed_urls)
        self.client = client
        self.bucket = bucket
        self.part_size = part_size

    @classmethod
    def from_settings(cls, settings: Settings, signed_urls: SignedUrls) -> S3Storage:
        import boto3
        from botocore.config import Config

        secret = settings.storage_s3_secret_access_key
        client = boto3.session.Session().client(
            "s3",
            region_name=settings.storage_s3_region,
            endpoint_url=settings.storage_s3_endpoint_url,
            aws_access_key_id=settings.storage_s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": settings.storage_s3_addressing_style},
                connect_timeout=settings.storage_s3_timeout,
                read_timeout=settings.storage_s3_timeout,
                retries={"max_attempts": 4, "mode": "standard"},
                max_pool_connections=settings.storage_threads,
            ),
        )
        assert settings.storage_s3_bucket is not None  # noqa: S101 - checked by Settings
        return cls(
            client,
            settings.storage_s3_bucket,
            part_size=settings.storage_s3_part_size,
            threads=settings.storage_threads,
            signed_urls=signed_urls,
        )

    @staticmethod
    def _missing(error: Exception) -> bool:
        response = getattr(error, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    async def put(self, key: str, chunks: Chunks, *, max_size: int | None = None) -> PutResult:
        check_key(key)
        hasher = hashlib.sha256()
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        pending: asyncio.Future[None] | None = None  # one part uploading while the next arrives

        def send_part(number: int, body: bytes) -> None:
            assert upload_id is not None  # noqa: S101
            hasher.update(body)
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            block: list[bytes] = []
            gathered = 0
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise ObjectTooLarge(max_size)
                block.append(chunk)
                gathered += len(chunk)
                if gathered >= self.part_size:
                    if upload_id is None:
                        created = await self.run(
                            self.client.create_multipart_upload, Bucket=self.bucket, Key=key
                        )
                        upload_id = created["UploadId"]
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(self.run(send_part, len(parts) + 1, b"".join(block)))
                    block, gathered = [], 0
            if pending is not None:
                await pending
                pending = None
            body = b"".join(block)
            if upload_id is None:  # small enough for one request
                hasher.update(body)
                await self.run(self.client.put_object, Bucket=self.bucket, Key=key, Body=body)
            else:
                if body:
                    await self.run(send_part, len(parts) + 1, body)
                ordered = sorted(parts, key=lambda part: int(part["PartNumber"]))
                await self.run(
                    self.client.complete_multipart_upload,
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": ordered},
                )
        except BaseException:
            if pending is not None and not pending.done():
                await asyncio.gather(pending, return_exceptions=True)
            await asyncio.shield(self._abort(key, upload_id))
            raise
        return PutResult(key=key, size=size, sha256=hasher.hexdigest())

    async def _abort(self, key: str, upload_id: str | None) -> None:
        try:
            if upload_id is not None:
                await self.run(
                    self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id
                )
            else:
                await self.run(self.client.delete_object, Bucket=self.bucket, Key=key)
        except Exception:
            logger.exception("could not clean up a failed upload", extra={"key": key})

    async def get(self, key: str, *, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if length is not None:
            if length <= 0:
                return
            arguments["Range"] = f"bytes={offset}-{offset + length - 1}"
        elif offset:
            arguments["Range"] = f"bytes={offset}-"
        try:
            answer = await self.run(self.client.get_object, **arguments)
        except Exception as error:
            if self._missing(error):
                raise ObjectNotFound(key) from None
            raise
        body = answer["Body"]
        try:
            while chunk := await self.run(body.read, READ_SIZE):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self.run(self.client.delete_object, Bucket=self.bucket, Key=check_key(key))

    async def move(self, source: str, target: str) -> None:
        # boto3's managed copy: one CopyObject, or a multipart copy past its threshold.
        copy_source: Any = {"Bucket": self.bucket, "Key": check_key(source)}
        try:
            await self.run(self.client.copy, copy_source, self.bucket, check_key(target))
        except Exception as error:
            if self._missing(error):
                raise ObjectNotFound(source) from None
            raise
        await self.delete(source)

    async def stat(self, key: str) -> ObjectStat | None:
        try:
            answer = await self.run(self.client.head_object, Bucket=self.bucket, Key=check_key(key))
        except Exception as error:
            if self._missing(error):
                return None
            raise
        return ObjectStat(
            key=key, size=int(answer["ContentLength"]), modified=answer["LastModified"].astimezone(UTC)
        )

    async def keys(self, prefix: str = "") -> list[str]:
        def list_keys() -> list[str]:
            paginator = self.client.get_paginator("list_objects_v2")
            return sorted(
                item["Key"]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for item in page.get("Contents", [])
            )

        return await self.run(list_keys)

    async def presign_get(
        self,
        key: str,
        *,
        expires_in: timedelta,
        base_url: str,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
    ) -> PresignedRequest:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename, inline=inline)
        if content_type is not None:
            params["ResponseContentType"] = content_type
        url = await self.run(
            self.client.generate_presigned_url,
            "get_object",
            Params=params,
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return PresignedRequest("GET", url, {}, datetime.now(UTC) + expires_in)

    async def presign_put(
        self, key: str, *, size: int, expires_in: timedelta, base_url: str
    ) -> PresignedRequest:
        # The length is part of the signature: S3 refuses a body of any other size.
        url = await self.run(
            self.client.generate_presigned_url,
            "put_object",
            Params={"Bucket": self.bucket, "Key": check_key(key), "ContentLength": size},
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return PresignedRequest("PUT", url, {"Content-Length": str(size)}, datetime.now(UTC) + expires_in)


# --- the app's storage, jobs, transactions ---------------------------------------------------------

# One storage per settings object, kept with it (the settings are kept alive in the value, so
# their id cannot be reused while the entry exists).
_STORAGES: dict[int, tuple[Settings, Storage]] = {}


def create_storage(settings: Settings) -> Storage:
    signed_urls = SignedUrls(settings.secret_key)
    if settings.storage_backend == StorageBackend.s3:
        return S3Storage.from_settings(settings, signed_urls)
    return LocalStorage(
        settings.effective_storage_dir, threads=settings.storage_threads, signed_urls=signed_urls
    )


def storage_for(settings: Settings) -> Storage:
    """The storage the settings describe, made once per settings object."""
    entry = _STORAGES.get(id(settings))
    if entry is None:
        entry = (settings, create_storage(settings))
        _STORAGES[id(settings)] = entry
    return entry[1]


async def release_storage(settings: Settings) -> None:
    """Close the storage made for `settings` (its threads), if any."""
    entry = _STORAGES.pop(id(settings), None)
    if entry is not None:
        await entry[1].close()


async def get_storage(request: Request) -> Storage:
    return storage_for(request.app.state.settings)


StorageDep = Annotated[Storage, Depends(get_storage)]


def delete_after_commit(session: AsyncSession, key: str) -> None:
    """Delete the object once `session`'s transaction commits (a job: retried if the store is
    down); nothing happens if it rolls back."""
    enqueue(session, DELETE_JOB, key=check_key(key))


@registry.task(DELETE_JOB)
async def delete_object(ctx: JobContext, key: str) -> None:
    await storage_for(ctx.settings).delete(key)


_DISCARD_KEY = "sixty.storage.discard"


def discard_unless_committed(session: AsyncSession, storage: Storage, key: str) -> None:
    """Delete the object just written under `key` if `session`'s transaction does not commit
    (the rows that were to reference it are gone with the rollback)."""
    sync_session = session.sync_session
    if not sync_session.in_transaction():
        sync_session.begin()  # lazy and I/O-free: its end always fires the events below
    sync_session.info.setdefault(_DISCARD_KEY, []).append((storage, key))


@event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    session.info.pop(_DISCARD_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _discard_rolled_back(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for storage, key in session.info.pop(_DISCARD_KEY, []):
            storage.delete_soon(key)
