"""The principal cache (PostgreSQL): answers remembered between requests, forgotten the moment
a session, an account or a grant changes, whichever process or statement changed it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sixty.auth import principals, service
from sixty.auth.models import User
from sixty.core.changefeed import APPLICATION_NAME
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.reader import Reader
from sixty.main import create_app
from tests.conftest import POSTGRES_URL
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.waiting import eventually

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="the principal cache is PostgreSQL's")

PREFIX = f"pc{uuid.uuid4().hex[:8]}"
NOTES = "/api/notes"
ROLES = "/api/admin/roles"
REVOKE_SESSIONS = (
    "UPDATE auth_session SET revoked_at = now()"
    " WHERE user_id = (SELECT id FROM auth_user WHERE email = :email)"
)


@dataclass
class Live:
    client: AsyncClient
    app: FastAPI
    db: Database
    other: AsyncEngine  # another client of the database: what it commits, this app only hears of

    @property
    def cache(self) -> principals.PrincipalCache:
        cache = self.db.session_info[principals.CACHE_KEY]
        assert isinstance(cache, principals.PrincipalCache)
        return cache

    async def account(self, name: str, *, roles: tuple[str, ...] = (service.DEFAULT_ROLE,)) -> dict[str, str]:
        email = f"{PREFIX}-{name}@example.com"
        async with self.db.session() as session:
            await create_user(session, self.app.state.auth, email=email, roles=roles)
            await session.commit()
        headers = bearer(await sign_in(self.client, email))
        # Signing in touched the account (its last sign-in); let the database's notice of that
        # arrive, or it may make a test's first kept answer be forgotten and read again.
        await asyncio.sleep(0.2)
        return headers

    async def elsewhere(self, sql: str, **params: Any) -> None:
        async with self.other.begin() as connection:
            await connection.execute(text(sql), params)


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    """The app on a database that really commits, its change feed listening."""
    db = Database(create_engine(settings))
    app = create_app(settings, db=db)
    other = create_async_engine(settings.effective_database_url)
    async with app.router.lifespan_context(app):

        async def listening() -> bool:
            return db.changes.live

        await eventually(listening)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
            yield Live(http, app, db, other)
        async with db.session() as session:
            await session.execute(delete(User).where(User.email.like(f"{PREFIX}%")))
            await session.commit()
    await other.dispose()


async def status(live: Live, headers: dict[str, str], path: str = NOTES) -> int:
    return (await live.client.get(path, headers=headers)).status_code


async def test_a_repeated_request_is_answered_from_memory(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await live.account("repeat")
    reads = 0
    real_load = principals.load_principal

    async def counted_load(reader: Reader, claims: Any, *, with_permissions: bool) -> Any:
        nonlocal reads
        reads += 1
        return await real_load(reader, claims, with_permissions=with_permissions)

    monkeypatch.setattr(principals, "load_principal", counted_load)
    assert [await status(live, headers) for _ in range(5)] == [200] * 5
    assert reads == 1
    assert len(live.cache) == 1


async def test_signing_out_is_refused_at_once_by_the_same_process(live: Live) -> None:
    headers = await live.account("logout")
    assert await status(live, headers) == 200
    assert (await live.client.post("/api/auth/logout", headers=headers)).status_code == 204
    # No wait: the process forgot as its own transaction committed.
    assert await status(live, headers) == 401


async def test_changes_committed_elsewhere_are_heard(live: Live) -> None:
    revoked, disabled = await live.account("revoked"), await live.account("disabled")
    for headers in (revoked, disabled):
        assert await status(live, headers) == 200
    await live.elsewhere(REVOKE_SESSIONS, email=f"{PREFIX}-revoked@example.com")
    await live.elsewhere(
        "UPDATE auth_user SET is_active = false WHERE email = :email", email=f"{PREFIX}-disabled@example.com"
    )
    for headers in (revoked, disabled):

        async def refused(headers: dict[str, str] = headers) -> bool:
            return await status(live, headers) == 401

        await eventually(refused)


async def test_a_grant_taken_away_elsewhere_is_heard(live: Live) -> None:
    headers = await live.account("admin", roles=(service.ADMIN_ROLE,))
    assert await status(live, headers, ROLES) == 200
    await live.elsewhere(
        "DELETE FROM auth_user_role WHERE user_id = (SELECT id FROM auth_user WHERE email = :email)",
        email=f"{PREFIX}-admin@example.com",
    )

    async def forbidden() -> bool:
        return await status(live, headers, ROLES) == 403

    await eventually(forbidden)


async def test_an_answer_read_while_a_change_commits_is_not_kept(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await live.account("race")
    reading, changed = asyncio.Event(), asyncio.Event()
    real_load = principals.load_principal

    async def load_across_a_change(reader: Reader, claims: Any, *, with_permissions: bool) -> Any:
        answer = await real_load(reader, claims, with_permissions=with_permissions)  # still open
        reading.set()
        await changed.wait()  # the session is revoked, and the change heard, before it returns
        return answer

    monkeypatch.setattr(principals, "load_principal", load_across_a_change)
    first = asyncio.create_task(status(live, headers))
    await reading.wait()
    generation = live.cache.generation
    await live.elsewhere(REVOKE_SESSIONS, email=f"{PREFIX}-race@example.com")

    async def heard() -> bool:
        return live.cache.generation > generation

    await eventually(heard)
    changed.set()
    assert await first == 200  # it was open when that request read it
    monkeypatch.setattr(principals, "load_principal", real_load)
    assert len(live.cache) == 0
    assert await status(live, headers) == 401


async def test_nothing_is_kept_while_the_feed_is_down_and_it_comes_back(live: Live) -> None:
    headers = await live.account("feed")
    assert await status(live, headers) == 200
    assert len(live.cache) == 1
    await live.elsewhere(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = :name",
        name=APPLICATION_NAME,
    )

    async def down() -> bool:
        return not live.db.changes.live

    await eventually(down)
    assert len(live.cache) == 0
    assert await status(live, headers) == 200  # read afresh, not kept
    assert len(live.cache) == 0

    async def back() -> bool:
        return live.db.changes.live

    await eventually(back)
    assert await status(live, headers) == 200
    assert len(live.cache) == 1


async def test_a_zero_ttl_turns_the_cache_off(settings: Settings) -> None:
    off = settings.model_copy(update={"principal_cache_ttl": timedelta(0)})
    app = create_app(off, db=Database(create_engine(off)))
    assert app.state.principal_resolver is principals.resolve_principal
    assert principals.CACHE_KEY not in app.state.db.session_info
