"""B12 resumes: PDF and DOCX by content, text and fields read, versions per position, search by
position, skill and words, downloads, the candidate's own view and deletion; each bad input
refused with nothing kept. Runs on both storage backends (tests/fixtures/storage.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service as auth_service
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.storage import Storage, storage_for
from sixty.main import create_app
from tests.factories.auth import bearer, create_user, sign_in
from tests.factories.files import HTML, counts, png
from tests.factories.resumes import (
    ADA,
    damaged_pdf,
    encrypted_pdf,
    make_docx,
    make_pdf,
    many_entries,
    resume_counts,
    zip_bomb,
    zip_without_document,
)

LIMIT = 200_000
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
GRACE = [
    "Grace Hopper",
    "grace@example.com",
    "Compilers, COBOL and Kubernetes; fond of Python too.",
]


@pytest.fixture
async def app(files_settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    settings = files_settings.model_copy(
        update={
            "resumes_max_bytes": LIMIT,
            "resumes_max_pages": 2,
            "resumes_skills": ["python", "postgresql", "docker", "kubernetes", "aws", "machine learning"],
        }
    )
    application = create_app(settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def storage(app: FastAPI) -> Storage:
    """The app's own storage (its settings differ from the files tests'), so `settle()` waits for
    the deletes it started."""
    return storage_for(app.state.settings)


@pytest.fixture
async def employer(app: FastAPI, session: AsyncSession) -> AsyncIterator[AsyncClient]:
    context: auth_service.AuthContext = app.state.auth
    await create_user(session, context, email="hr@example.com", username="hiring", roles=("user", "employer"))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        http.headers.update(bearer(await sign_in(http, "hr@example.com")))
        yield http


@pytest.fixture
async def position(employer: AsyncClient) -> dict[str, Any]:
    response = await employer.post(
        "/api/resumes/positions", json={"title": "Backend engineer", "description": "Python."}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _upload(
    client: AsyncClient, position_id: str, data: bytes, name: str = "cv.pdf", content_type: str = PDF
) -> Any:
    return await client.post(
        f"/api/resumes?position_id={position_id}", files={"file": (name, data, content_type)}
    )


async def _nothing_kept(storage: Storage, session: AsyncSession, keys_before: list[str]) -> None:
    await storage.settle()
    assert await storage.keys() == keys_before
    assert await counts(session) == (0, 0, 0)
    assert await resume_counts(session) == (0, 0, 0)


# --- uploading and reading -------------------------------------------------------------------------


async def test_pdf_resume_is_stored_with_its_text_and_fields(
    client: AsyncClient, position: dict[str, Any], session: AsyncSession
) -> None:
    data = make_pdf(ADA)
    response = await _upload(client, position["id"], data, "ada.pdf", "application/octet-stream")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["position"] == {"id": position["id"], "title": "Backend engineer"}
    assert body["version"] == 1
    current = body["current"]
    assert current["name"] == "Ada Lovelace"
    assert current["email"] == "ada@example.com"
    assert current["phone"] == "+44 20 7946 0958"
    assert current["skills"] == ["docker", "postgresql", "python"]
    assert current["pages"] == 1
    assert current["file"]["content_type"] == PDF
    assert current["file"]["size"] == len(data)
    content = await client.get(f"/api/resumes/{body['id']}/content")
    assert content.status_code == 200
    assert content.content == data
    assert content.headers["content-type"] == PDF
    assert content.headers["content-disposition"].startswith("attachment")
    assert content.headers["x-content-type-options"] == "nosniff"
    # The bytes are a file of the resumes namespace: not in the user's own file list.
    assert (await client.get("/api/files")).json()["items"] == []
    assert await resume_counts(session) == (1, 1, 3)


async def test_docx_resume_raw_body_with_tables_read(client: AsyncClient, position: dict[str, Any]) -> None:
    data = make_docx(GRACE, table=[["Skills", "AWS, machine learning"]])
    response = await client.post(
        f"/api/resumes?position_id={position['id']}&name=grace.docx",
        content=data,
        headers={"Content-Type": "application/pdf"},  # a lie: the content decides
    )
    assert response.status_code == 201, response.text
    current = response.json()["current"]
    assert current["file"]["content_type"] == DOCX
    assert current["name"] == "Grace Hopper"
    assert current["phone"] is None
    assert current["pages"] is None
    assert current["skills"] == ["aws", "kubernetes", "machine learning", "python"]


async def test_pages_past_the_limit_are_not_read(
    client: AsyncClient, stranger_client: AsyncClient, position: dict[str, Any]
) -> None:
    one = (await _upload(client, position["id"], make_pdf(ADA))).json()["current"]
    five = (await _upload(stranger_client, position["id"], make_pdf(ADA, pages=5))).json()["current"]
    assert five["pages"] == 5
    # Two pages read (resumes_max_pages), not five.
    assert 2 * one["characters"] <= five["characters"] < 3 * one["characters"]


async def test_uploading_again_makes_a_new_version_and_keeps_the_old(
    client: AsyncClient, position: dict[str, Any], session: AsyncSession
) -> None:
    first = make_pdf(ADA)
    second = make_docx(GRACE)
    one = (await _upload(client, position["id"], first)).json()
    two = await _upload(client, position["id"], second, "v2.docx", DOCX)
    assert two.status_code == 201
    assert two.json()["id"] == one["id"]
    assert two.json()["version"] == 2
    assert two.json()["current"]["name"] == "Grace Hopper"
    versions = await client.get(f"/api/resumes/{one['id']}/versions")
    assert [item["number"] for item in versions.json()["items"]] == [2, 1]
    old = await client.get(f"/api/resumes/{one['id']}/versions/1/content")
    assert old.content == first
    assert (await client.get(f"/api/resumes/{one['id']}/content")).content == second
    assert (await client.get(f"/api/resumes/{one['id']}/versions/3/content")).status_code == 404
    mine = (await client.get("/api/resumes/mine")).json()["items"]
    assert [(item["id"], item["version"]) for item in mine] == [(one["id"], 2)]
    assert (await resume_counts(session))[:2] == (1, 2)


# --- employers -------------------------------------------------------------------------------------


async def test_employers_search_by_position_skill_and_words(
    client: AsyncClient, stranger_client: AsyncClient, employer: AsyncClient, position: dict[str, Any]
) -> None:
    other = (await employer.post("/api/resumes/positions", json={"title": "Data engineer"})).json()
    ada = (await _upload(client, position["id"], make_pdf(ADA))).json()
    grace = (await _upload(stranger_client, other["id"], make_docx(GRACE), "g.docx", DOCX)).json()

    async def ids(query: str) -> list[str]:
        response = await employer.get(f"/api/resumes{query}")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("") == [grace["id"], ada["id"]]
    assert await ids(f"?position_id={position['id']}") == [ada["id"]]
    assert await ids("?skill=Python") == [grace["id"], ada["id"]]
    assert await ids("?skill=kubernetes") == [grace["id"]]
    assert await ids("?skill=cobol") == []
    assert await ids("?q=analytical%20engines") == [ada["id"]]
    assert await ids("?q=COBOL") == [grace["id"]]
    assert await ids("?q=compilers%20engines") == []  # every word must appear
    assert await ids(f"?q=python&skill=docker&position_id={position['id']}") == [ada["id"]]
    page = await employer.get("/api/resumes?limit=1")
    assert len(page.json()["items"]) == 1
    rest = await employer.get(f"/api/resumes?limit=1&cursor={page.json()['next_cursor']}")
    assert [item["id"] for item in rest.json()["items"]] == [ada["id"]]
    assert rest.json()["next_cursor"] is None
    # Employers read and download any resume, and its versions.
    assert (await employer.get(f"/api/resumes/{ada['id']}")).json()["current"]["email"] == "ada@example.com"
    assert (await employer.get(f"/api/resumes/{ada['id']}/content")).content == make_pdf(ADA)
    assert (await employer.get(f"/api/resumes/{ada['id']}/versions")).status_code == 200
    # ... but only the candidate deletes.
    refused = await employer.delete(f"/api/resumes/{ada['id']}")
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_the_candidate"


async def test_employer_endpoints_need_the_permission(
    client: AsyncClient, anonymous: AsyncClient, position: dict[str, Any]
) -> None:
    for response in (
        await client.get("/api/resumes"),
        await client.get("/api/resumes?q=python"),
        await client.post("/api/resumes/positions", json={"title": "Sneaky"}),
    ):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (await anonymous.get("/api/resumes")).status_code == 401
    assert (await anonymous.post(f"/api/resumes?position_id={position['id']}&name=a.pdf")).status_code == 401
    listed = await anonymous.get("/api/resumes/positions")
    assert [item["id"] for item in listed.json()["items"]] == [position["id"]]


async def test_another_candidates_resume_is_not_found(
    client: AsyncClient, stranger_client: AsyncClient, position: dict[str, Any]
) -> None:
    ada = (await _upload(client, position["id"], make_pdf(ADA))).json()
    for path in ("", "/content", "/versions", "/versions/1/content"):
        response = await stranger_client.get(f"/api/resumes/{ada['id']}{path}")
        assert response.status_code == 404, path
    assert (await stranger_client.delete(f"/api/resumes/{ada['id']}")).status_code == 404
    assert (await stranger_client.get("/api/resumes/mine")).json()["items"] == []
    assert (await client.get(f"/api/resumes/{uuid.uuid4()}")).status_code == 404


async def test_candidate_deletes_and_shared_bytes_stay_until_unreferenced(
    client: AsyncClient,
    stranger_client: AsyncClient,
    employer: AsyncClient,
    position: dict[str, Any],
    storage: Storage,
    session: AsyncSession,
) -> None:
    before = await storage.keys()
    data = make_pdf(ADA)
    mine = (await _upload(client, position["id"], data)).json()
    await _upload(client, position["id"], make_docx(GRACE), "v2.docx", DOCX)
    theirs = (await _upload(stranger_client, position["id"], data)).json()  # same bytes: one blob
    await storage.settle()
    assert len(await storage.keys()) == len(before) + 2
    deleted = await client.delete(f"/api/resumes/{mine['id']}")
    assert deleted.status_code == 204
    assert (await client.get(f"/api/resumes/{mine['id']}")).status_code == 404
    assert (await employer.get(f"/api/resumes/{mine['id']}")).status_code == 404
    assert await counts(session) == (1, 1, 0)
    # The stranger's copy still downloads: the shared bytes are still referenced.
    assert (await stranger_client.get(f"/api/resumes/{theirs['id']}/content")).content == data
    assert (await stranger_client.delete(f"/api/resumes/{theirs['id']}")).status_code == 204
    assert await counts(session) == (0, 0, 0)
    assert await resume_counts(session) == (0, 0, 0)


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (HTML, "cv.pdf", 415, "unsupported_file_type"),
        (png(1), "cv.pdf", 415, "unsupported_file_type"),
        (b"Just plain text, no document.", "cv.docx", 415, "unsupported_file_type"),
        (b"", "cv.pdf", 422, "empty_file"),
        (damaged_pdf(), "cv.pdf", 422, "corrupt_resume"),
        (make_pdf(ADA)[:300], "cv.pdf", 422, "corrupt_resume"),
        (encrypted_pdf(ADA), "cv.pdf", 422, "encrypted_resume"),
        (zip_bomb(unpacked=60 * 1024 * 1024), "cv.docx", 422, "archive_too_large"),
        (many_entries(600), "cv.docx", 422, "archive_too_large"),
        (zip_without_document(), "cv.docx", 422, "corrupt_resume"),
        (make_docx([]), "cv.docx", 422, "no_text"),
        (make_docx(["   ", ""]), "cv.docx", 422, "no_text"),
        (make_pdf([]), "cv.pdf", 422, "no_text"),
    ],
    ids=[
        "html-named-pdf",
        "png",
        "plain-text",
        "empty",
        "damaged-pdf",
        "truncated-pdf",
        "encrypted-pdf",
        "zip-bomb-named-docx",
        "zip-too-many-entries",
        "zip-without-document",
        "docx-without-text",
        "docx-blank",
        "pdf-without-text",
    ],
)
async def test_bad_documents_are_refused_with_nothing_kept(
    client: AsyncClient,
    position: dict[str, Any],
    storage: Storage,
    session: AsyncSession,
    data: bytes,
    name: str,
    status: int,
    code: str,
) -> None:
    before = await storage.keys()
    response = await _upload(client, position["id"], data, name)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    await _nothing_kept(storage, session, before)


async def test_oversized_resume_is_413_with_nothing_kept(
    client: AsyncClient, position: dict[str, Any], storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    big = make_pdf(ADA) + b"%" + b"x" * LIMIT
    response = await _upload(client, position["id"], big)
    assert response.status_code == 413, response.text
    raw = await client.post(f"/api/resumes?position_id={position['id']}&name=big.pdf", content=big)
    assert raw.status_code == 413
    await _nothing_kept(storage, session, before)


async def test_unknown_or_malformed_position_is_422_with_nothing_kept(
    client: AsyncClient, position: dict[str, Any], storage: Storage, session: AsyncSession
) -> None:
    before = await storage.keys()
    unknown = await _upload(client, str(uuid.uuid4()), make_pdf(ADA))
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["query", "position_id"]
    malformed = await _upload(client, "not-a-uuid", make_pdf(ADA))
    assert malformed.status_code == 422
    missing = await client.post("/api/resumes", files={"file": ("cv.pdf", make_pdf(ADA), PDF)})
    assert missing.status_code == 422
    no_name = await client.post(f"/api/resumes?position_id={position['id']}", content=make_pdf(ADA))
    assert no_name.status_code == 422
    no_file = await client.post(f"/api/resumes?position_id={position['id']}", files={"other": ("x", b"x")})
    assert no_file.status_code == 422
    await _nothing_kept(storage, session, before)


async def test_bad_positions_and_filters_are_422(employer: AsyncClient) -> None:
    for body in ({}, {"title": ""}, {"title": "   "}, {"title": "x", "extra": 1}, {"title": "x" * 201}):
        assert (await employer.post("/api/resumes/positions", json=body)).status_code == 422, body
    for query in ("?position_id=nope", "?q=", "?skill=", "?sort=name", "?limit=0", "?cursor=zzz"):
        assert (await employer.get(f"/api/resumes{query}")).status_code == 422, query
