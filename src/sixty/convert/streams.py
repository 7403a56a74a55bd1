"""The bridge between the event loop and the blocking converters: the request body as a file
that a worker thread reads, and an answer produced chunk by chunk in worker threads."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

T = TypeVar("T")


class BodyReader(io.RawIOBase):
    """The request body as a blocking binary file, for a worker thread started by anyio: each
    read waits for the event loop to receive the next chunk. Nothing is read ahead but the
    chunk being handed out, so memory stays flat and the client is paced by TCP."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._chunk = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    async def _next_chunk(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._chunk:
            if self._done:
                return 0
            chunk = anyio.from_thread.run(self._next_chunk)
            if chunk is None:
                self._done = True
                return 0
            self._chunk = memoryview(chunk)
        size = min(len(buffer), len(self._chunk))
        buffer[:size] = self._chunk[:size]
        self._chunk = self._chunk[size:]
        return size


def body_file(chunks: AsyncIterator[bytes]) -> io.BufferedReader:
    return io.BufferedReader(BodyReader(chunks), buffer_size=1 << 16)


async def run_in_thread(function: Callable[[], T], limiter: anyio.CapacityLimiter) -> T:
    return await anyio.to_thread.run_sync(function, limiter=limiter)


async def chunks_in_threads(
    chunks: Iterator[bytes], limiter: anyio.CapacityLimiter, *, first: bytes | None = None
) -> AsyncIterator[bytes]:
    """Each next chunk of a blocking iterator, produced in a worker thread."""
    try:
        if first:
            yield first
        while (chunk := await anyio.to_thread.run_sync(next, chunks, None, limiter=limiter)) is not None:
            yield chunk
    finally:
        # Runs the iterator's own clean-up (closing its spool) unless a thread is still in it;
        # then the garbage collector closes it once that thread is done.
        with contextlib.suppress(ValueError):
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
