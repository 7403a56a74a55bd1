"""Resume versions under concurrency, on a database that really commits: uploads for the same
position at the same moment all succeed, as one resume with versions 1..N."""

from __future__ import annotations

import asyncio
import uuid

from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, select

from sixty.auth.models import User
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.files import service as files_service
from sixty.files.models import Resume, ResumePosition, ResumeVersion, StoredFile
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.resumes import ADA, make_pdf

RACERS = 6


async def test_concurrent_uploads_become_distinct_versions(files_settings: Settings) -> None:
    db = Database(create_engine(files_settings))
    app = create_app(files_settings, db=db)
    tag = uuid.uuid4().hex[:8]
    async with app.router.lifespan_context(app):
        async with db.session() as session:
            user = await create_user(session, app.state.auth, email=f"cv-{tag}@example.com")
            position = ResumePosition(id=uuid.uuid4(), title=f"Race {tag}")
            session.add(position)
            await session.commit()
            user_id, position_id = user.id, position.id
        try:
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
                http.headers.update(bearer(await sign_in(http, f"cv-{tag}@example.com")))

                async def upload(index: int) -> str:
                    data = make_pdf([*ADA, f"Draft {tag} {index}"])
                    response = await http.post(
                        f"/api/resumes?position_id={position_id}",
                        files={"file": ("cv.pdf", data, "application/pdf")},
                    )
                    assert response.status_code == 201, response.text
                    resume_id: str = response.json()["id"]
                    return resume_id

                ids = await asyncio.gather(*(upload(index) for index in range(RACERS)))
                assert len(set(ids)) == 1
                async with db.session() as session:
                    numbers = (
                        await session.scalars(
                            select(ResumeVersion.number).where(ResumeVersion.resume_id == uuid.UUID(ids[0]))
                        )
                    ).all()
                    assert sorted(numbers) == list(range(1, RACERS + 1))
                    resume = await session.get(Resume, uuid.UUID(ids[0]))
                    assert resume is not None
                    assert resume.version == RACERS
                assert (await http.delete(f"/api/resumes/{ids[0]}")).status_code == 204
        finally:
            async with db.session() as session:
                await session.execute(delete(Resume).where(Resume.candidate_id == user_id))
                files = (
                    await session.scalars(select(StoredFile.id).where(StoredFile.owner_id == user_id))
                ).all()
                for file_id in files:
                    await files_service.delete_file(session, file_id, owner_id=user_id, namespace="resumes")
                await session.execute(delete(ResumePosition).where(ResumePosition.id == position_id))
                await session.execute(delete(User).where(User.id == user_id))
                await session.commit()
    await db.dispose()
