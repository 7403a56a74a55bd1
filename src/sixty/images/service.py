"""I14 image compressor: the logic. No HTTP here.

Pillow's work (codec.py) is CPU-bound and blocking: it runs in worker threads, at most
`images_max_concurrent` at once per process (`ImageWorkers.limiter`; more requests wait their
turn), so the event loop keeps answering while images are decoded and encoded.

Variants of stored files (the files module's files) come only from an allowlist of presets
(`SIXTY_IMAGES_PRESETS`) through signed links: an HMAC-SHA256, with a key derived from the app
secret, over the owner, the file, the preset and the expiry. Nobody can ask for an arbitrary
size, and a link cannot be bent to another file, preset or lifetime. A variant is made once and
kept in storage under a key derived from the file's content and the preset's definition, so
identical files share it and a changed preset makes a new one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import IO

import anyio
import anyio.to_thread
import orjson

from sixty.core.config import ImagePreset, Settings
from sixty.core.errors import ContentTooLarge, Forbidden, Gone, NotFound, Unprocessable, UnsupportedMediaType
from sixty.core.i18n import N_
from sixty.core.reader import Reader
from sixty.core.sniff import SNIFF_BYTES, sniff
from sixty.core.storage import Storage, check_key
from sixty.files import service as files
from sixty.images import codec

SPOOL_MEMORY = 1024 * 1024  # bytes of a stored original kept in memory before spilling to disk
VARIANT_VERSION = "1"  # part of every variant key: bump when the encoding itself changes


# --- errors ----------------------------------------------------------------------------------------


class ImageUploadTooLarge(ContentTooLarge):
    code = "file_too_large"


class UnsupportedImage(UnsupportedMediaType):
    code = "unsupported_image_type"


class EmptyImage(Unprocessable):
    code = "empty_file"


class NotAnImage(Unprocessable):
    code = "not_an_image"


def unsupported(content_type: str) -> UnsupportedImage:
    return UnsupportedImage(
        N_("Files of type {content_type} are not images this service reads (read from the content)."),
        content_type=content_type,
    )


def unknown_preset(name: str) -> NotFound:
    return NotFound(N_("There is no image preset {preset}."), preset=name, code="unknown_preset")


# --- workers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int
    max_dimension: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageLimits:
        return cls(max_pixels=settings.images_max_pixels, max_dimension=settings.images_max_dimension)


class ImageWorkers:
    """The process's share of image work: a cap on threads busy with Pillow, and one flight per
    variant being made (concurrent first requests for it wait for the one that makes it)."""

    def __init__(self, settings: Settings) -> None:
        self.limiter = anyio.CapacityLimiter(settings.images_max_concurrent)
        self.limits = ImageLimits.from_settings(settings)
        self.presets: dict[str, ImagePreset] = dict(settings.images_presets)
        self._flights: dict[str, asyncio.Lock] = {}

    async def run(self, function: partial[codec.Result]) -> codec.Result:
        return await anyio.to_thread.run_sync(function, limiter=self.limiter)

    def flight(self, key: str) -> asyncio.Lock:
        lock = self._flights.get(key)
        if lock is None:
            lock = self._flights[key] = asyncio.Lock()
        return lock

    def landed(self, key: str, lock: asyncio.Lock) -> None:
        if not lock.locked() and self._flights.get(key) is lock:
            del self._flights[key]


def formats() -> dict[str, list[dict[str, object]]]:
    """What this installation reads and writes (AVIF depends on the installed Pillow)."""

    def describe(item: codec.Codec) -> dict[str, object]:
        return {
            "format": item.name,
            "media_type": item.media_type,
            "extension": item.extension,
            "lossy": item.lossy,
            "default_quality": item.default_quality,
        }

    return {
        "inputs": [describe(item) for item in codec.available_inputs()],
        "outputs": [describe(item) for item in codec.available_outputs()],
    }


def check_output(name: str | None) -> None:
    """A format the schema allows but this Pillow cannot write (AVIF without libavif)."""
    if name is not None and name not in {item.name for item in codec.available_outputs()}:
        raise Unprocessable(
            N_("This installation cannot write {format} images; see /api/images/formats."),
            format=name,
            code="unsupported_output",
        )


def _source_codec(content_type: str) -> codec.Codec:
    source = codec.BY_MEDIA_TYPE.get(content_type)
    if source is None or source not in codec.available_inputs():
        raise unsupported(content_type)
    return source


def _sniffed(file: IO[bytes]) -> str:
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head:
        raise EmptyImage(N_("The file is empty."))
    return sniff(head, complete=len(head) < SNIFF_BYTES)


async def compress_file(workers: ImageWorkers, file: IO[bytes], request: codec.Request) -> codec.Result:
    """Compress an uploaded image (spooled to `file`): its type sniffed from the content, never
    taken from its name or claimed type. Raises UnsupportedImage (415), EmptyImage,
    InvalidImage, ImageTooLarge, TargetUnreachable (422)."""
    check_output(request.output)
    content_type = await anyio.to_thread.run_sync(_sniffed, file)
    source = _source_codec(content_type)
    return await workers.run(
        partial(codec.compress, file, source, request, max_pixels=workers.limits.max_pixels)
    )


# --- signed variant links --------------------------------------------------------------------------


class LinkSigner:
    """HMAC-SHA256 over owner, file, preset and expiry, keyed by a key derived from the app secret
    (never the secret itself), compared in constant time."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"sixty.images.variant:" + secret.encode()).digest()

    def sign(self, *, owner_id: uuid.UUID, file_id: uuid.UUID, preset: str, expires: int) -> str:
        message = f"{owner_id}\n{file_id}\n{preset}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(
        self,
        *,
        owner_id: uuid.UUID,
        file_id: uuid.UUID,
        preset: str,
        expires: int,
        signature: str,
        now: float | None = None,
    ) -> None:
        expected = self.sign(owner_id=owner_id, file_id=file_id, preset=preset, expires=expires)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise Forbidden(N_("This link is not valid."), code="invalid_signature")
        if expires <= (now if now is not None else time.time()):
            raise Gone(N_("This link has expired."), code="link_expired")


@dataclass(frozen=True)
class VariantLink:
    file_id: uuid.UUID
    preset: str
    owner_id: uuid.UUID
    expires: int
    signature: str


async def create_link(
    reader: Reader,
    signer: LinkSigner,
    file_id: uuid.UUID,
    *,
    owner_id: uuid.UUID,
    preset: str,
    presets: dict[str, ImagePreset],
    expires: int,
) -> VariantLink:
    """A signed link to `preset` of one of `owner_id`'s images. NotFound (404) for anyone else's
    file; NotAnImage (422) for a file that is not an image we read."""
    if preset not in presets:
        raise unknown_preset(preset)
    file = await files.file_for(reader, file_id, owner_id=owner_id)
    content_type = str(file["content_type"])
    if content_type not in {item.media_type for item in codec.available_inputs()}:
        raise NotAnImage(
            N_("File {id} is a {content_type}, not an image."), id=str(file_id), content_type=content_type
        )
    signature = signer.sign(owner_id=owner_id, file_id=file_id, preset=preset, expires=expires)
    return VariantLink(
        file_id=file_id, preset=preset, owner_id=owner_id, expires=expires, signature=signature
    )


# --- variants --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    key: str
    size: int
    media_type: str
    extension: str
    etag: str
    name: str


def variant_key(sha256: str, preset: ImagePreset) -> str:
    """Derived from the content and the preset's definition (never from a request's text)."""
    definition = orjson.dumps(preset.model_dump(), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(f"{VARIANT_VERSION}\n{sha256}\n".encode() + definition).hexdigest()
    return check_key(f"variants/{digest[:2]}/{digest[:32]}-{preset.format}")


async def _spool(chunks: AsyncIterator[bytes]) -> IO[bytes]:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - returned
    try:
        async for chunk in chunks:
            await anyio.to_thread.run_sync(spool.write, chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


async def variant(
    reader: Reader,
    storage: Storage,
    workers: ImageWorkers,
    file_id: uuid.UUID,
    *,
    owner_id: uuid.UUID,
    preset_name: str,
) -> Variant:
    """The variant, made and stored on first use, from storage after that."""
    preset = workers.presets.get(preset_name)
    if preset is None:
        raise unknown_preset(preset_name)
    file = await files.file_for(reader, file_id, owner_id=owner_id)
    output = codec.CODECS[preset.format]
    key = variant_key(str(file["sha256"]), preset)
    stem = str(file["name"]).rsplit(".", 1)[0] or "image"
    name = f"{stem}-{preset_name}.{output.extension}"
    lock = workers.flight(key)
    try:
        async with lock:
            stat = await storage.stat(key)
            if stat is None:
                check_output(preset.format)
                source = _source_codec(str(file["content_type"]))
                request = codec.Request(
                    output=preset.format,
                    width=preset.width,
                    height=preset.height,
                    fit=preset.fit,
                    quality=preset.quality,
                    target_bytes=None,
                    keep_metadata=False,
                )
                spool = await _spool(files.open_content(storage, file))
                try:
                    result = await workers.run(
                        partial(codec.compress, spool, source, request, max_pixels=workers.limits.max_pixels)
                    )
                finally:
                    spool.close()

                async def body() -> AsyncIterator[bytes]:
                    yield result.data

                size = (await storage.put(key, body())).size
            else:
                size = stat.size
    finally:
        workers.landed(key, lock)
    return Variant(
        key=key,
        size=size,
        media_type=output.media_type,
        extension=output.extension,
        etag=f'"{key.rsplit("/", 1)[-1]}"',
        name=name,
    )


def open_variant(storage: Storage, item: Variant, offset: int, length: int | None) -> AsyncIterator[bytes]:
    return storage.get(item.key, offset=offset, length=length)
