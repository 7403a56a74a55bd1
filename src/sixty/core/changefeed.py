"""Changes the database announces: PostgreSQL `LISTEN`, on a connection of its own.

A cache of rows that every process keeps (the principals behind access tokens, for one) stays
true across processes by forgetting what the database says has changed: a trigger calls
`pg_notify(channel, payload)`, and PostgreSQL delivers the payload to every listening process
when the writing transaction commits. A notification sent while a process is not listening
(starting up, connection lost, reconnecting) is lost to it, so the feed is `live` only while it
listens, and tells its subscribers to forget everything each time that changes: a cache keeps
nothing while the feed is not live, and nothing read before it went live.

SQLite has no such thing (and no need: its reads never leave the process), nor does a database
bound to a test's transaction (nothing commits there); their feed never goes live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("sixty.changefeed")

# A connection the server closed is noticed at once; one that silently stopped answering
# (a dropped network path) by this keepalive, which also bounds how long a lost one goes unseen.
KEEPALIVE_SECONDS = 10.0
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
APPLICATION_NAME = "sixty change feed"  # how its connection shows in pg_stat_activity


@dataclass(frozen=True)
class Subscriber:
    channel: str
    on_change: Callable[[str], None]  # the payload of one notification
    on_reset: Callable[[], None]  # forget everything: the feed went live, or stopped being live


class ChangeFeed:
    """Notifications of the channels subscribed to, from one listening connection per process."""

    def __init__(self) -> None:
        self.live = False
        self._subscribers: list[Subscriber] = []
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, channel: str, on_change: Callable[[str], None], on_reset: Callable[[], None]) -> None:
        """Subscribe before the feed starts (modules do it while they are installed)."""
        self._subscribers.append(Subscriber(channel, on_change, on_reset))

    def start(self, dsn: str) -> None:
        """Listen on `dsn` (a plain `postgresql://` URL) in the background, reconnecting as
        needed. Nothing to do without subscribers."""
        if self._task is None and self._subscribers:
            self._task = asyncio.create_task(self._listen(dsn), name="sixty.changefeed")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_live(False)

    def _set_live(self, live: bool) -> None:
        if live == self.live:
            return
        self.live = live
        for subscriber in self._subscribers:
            subscriber.on_reset()

    def _dispatch(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        for subscriber in self._subscribers:
            if subscriber.channel == channel:
                subscriber.on_change(payload)

    async def _listen(self, dsn: str) -> None:
        import asyncpg

        failures = 0
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(
                    dsn, timeout=KEEPALIVE_SECONDS, server_settings={"application_name": APPLICATION_NAME}
                )
                await self._serve(connection)
                failures = 0
                logger.warning("change feed connection closed; reconnecting")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                logger.warning("change feed unavailable; retrying", extra={"cause": repr(error)})
            except Exception:  # anything else: still not listening, so keep trying, loudly
                logger.exception("change feed failed; retrying")
            finally:
                self._set_live(False)
                if connection is not None:
                    connection.terminate()
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1

    async def _serve(self, connection: Any) -> None:
        """Listen on one connection until it closes (or stops answering the keepalive)."""
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_close(_connection: Any) -> None:
            if not closed.done():
                closed.set_result(None)

        connection.add_termination_listener(on_close)
        for channel in sorted({subscriber.channel for subscriber in self._subscribers}):
            await connection.add_listener(channel, self._dispatch)
        self._set_live(True)
        while not closed.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(closed), KEEPALIVE_SECONDS)
            if not closed.done():
                await connection.execute("SELECT 1", timeout=KEEPALIVE_SECONDS)
