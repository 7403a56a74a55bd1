"""B17 under concurrency, on a database that really commits: edits of one portfolio are serialised
(each takes the portfolio's row first), so projects added at once get distinct positions, one slug
goes to exactly one of the racers, and every edit gets an ETag of its own."""

from __future__ import annotations

import asyncio
import uuid

from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.portfolio.conftest import project

RACERS = 8


async def test_concurrent_edits_of_one_portfolio_are_serialised(settings: Settings) -> None:
    db = Database(create_engine(settings))
    app = create_app(settings, db=db)
    tag = uuid.uuid4().hex[:8]
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(
                session, app.state.auth, email=f"race-{tag}@example.com", username=f"race{tag}"
            )
            await session.commit()
            user_id = user.id
        try:
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
                http.headers.update(bearer(await sign_in(http, f"race-{tag}@example.com")))
                assert (await http.put("/api/portfolio/me", json={"published": True})).status_code == 201

                created = await asyncio.gather(
                    *(
                        http.post("/api/portfolio/me/projects", json=project(f"p{index}"))
                        for index in range(RACERS)
                    )
                )
                assert [response.status_code for response in created] == [201] * RACERS
                assert sorted(response.json()["position"] for response in created) == list(
                    range(1, RACERS + 1)
                )

                same = await asyncio.gather(
                    *(http.post("/api/portfolio/me/projects", json=project("same")) for _ in range(RACERS))
                )
                assert sorted(response.status_code for response in same) == [201] + [409] * (RACERS - 1)

                public = await http.get(f"/api/portfolio/race{tag}")
                assert [p["position"] for p in public.json()["projects"]] == list(range(1, RACERS + 2))
                # Version 1 at creation, one more per project that was added (refused racers roll back).
                assert public.headers["etag"].endswith(f'.{1 + RACERS + 1}.0"')
        finally:
            async with db.session() as session:
                await session.execute(delete(User).where(User.id == user_id))
                await session.commit()
    await db.dispose()
