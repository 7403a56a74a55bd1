"""Waiting in a test for something another task or process does (a notification, a job, a
background write): poll a condition, fail with a clear message when it never comes true."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def eventually(condition: Callable[[], bool | Awaitable[bool]], *, within: float = 5.0) -> None:
    """Return once `condition()` (a plain or an async function) is true; AssertionError after
    `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.01)
