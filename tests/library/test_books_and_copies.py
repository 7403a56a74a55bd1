"""Books and copies: ISBNs, search, pagination, stock management, and every bad input."""

from __future__ import annotations

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from sixty.library.models import Book, BookSubject, Copy
from sixty.library.schemas import InvalidIsbnError, normalize_isbn
from tests.factories.library import create_book, create_copy, create_member, lend
from tests.library.conftest import count

K_AND_R = {
    "isbn": "0-13-110362-8",
    "title": "The C Programming Language",
    "authors": ["Brian W. Kernighan", "Dennis M. Ritchie"],
    "subjects": ["Programming", "C", "programming"],
    "publication_year": 1988,
}


def assert_problem(response_json: dict[str, object], status: int, code: str) -> None:
    assert response_json["status"] == status
    assert response_json["code"] == code
    assert response_json["type"] == f"urn:sixty:problem:{code}"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0-13-110362-8", "9780131103627"),
        ("080442957X", "9780804429573"),
        ("080442957x", "9780804429573"),
        ("978-0-306-40615-7", "9780306406157"),
        ("979 10 90636 07 1", "9791090636071"),
    ],
)
def test_isbns_are_verified_and_normalised_to_isbn13(given: str, expected: str) -> None:
    assert normalize_isbn(given) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "0-13-110362-7",
        "9780306406158",
        "978030640615",
        "12345",
        "97803064061577",
        "1234567890123",
        "12345678X0",
    ],
)
def test_bad_isbns_are_refused(bad: str) -> None:
    with pytest.raises(InvalidIsbnError):
        normalize_isbn(bad)


async def test_librarian_adds_reads_and_updates_a_book(
    client: AsyncClient, librarian_headers: dict[str, str]
) -> None:
    created = await client.post("/api/library/books", json=K_AND_R, headers=librarian_headers)
    assert created.status_code == 201, created.text
    book = created.json()
    assert book["isbn"] == "9780131103627"
    assert book["subjects"] == ["Programming", "C"]  # repeats (any case) dropped
    assert book["copies_total"] == book["copies_available"] == 0
    assert created.headers["location"] == f"/api/library/books/{book['id']}"

    read = await client.get(created.headers["location"])
    assert read.status_code == 200
    assert read.json() == book

    patched = await client.patch(
        f"/api/library/books/{book['id']}",
        json={"subjects": ["Computing"], "publication_year": None, "title": " K&R "},
        headers=librarian_headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["subjects"] == ["Computing"]
    assert patched.json()["publication_year"] is None
    assert patched.json()["title"] == "K&R"
    found = await client.get("/api/library/books", params={"subject": "computing"})
    assert [item["id"] for item in found.json()["items"]] == [book["id"]]
    assert (await client.get("/api/library/books", params={"subject": "programming"})).json()["items"] == []


@pytest.mark.parametrize(
    ("isbn", "message"),
    [
        ("0-13-110362-7", "The ISBN's check digit is wrong."),
        ("9780306406158", "The ISBN's check digit is wrong."),
        ("978030640615", "An ISBN has 10 or 13 digits (hyphens and spaces are ignored)."),
        ("1234567890123", "An ISBN-13 starts with 978 or 979."),
        ("ISBN", "Has an invalid format."),
    ],
)
async def test_invalid_isbn_is_422_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str], isbn: str, message: str
) -> None:
    response = await client.post(
        "/api/library/books", json={**K_AND_R, "isbn": isbn}, headers=librarian_headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert_problem(body, 422, "validation_failed")
    assert body["errors"][0]["field"] == "isbn"
    assert body["errors"][0]["message"] == message
    assert await count(session, Book) == 0


async def test_duplicate_isbn_is_409_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str]
) -> None:
    await create_book(session)
    # The same book by its ISBN-10.
    response = await client.post("/api/library/books", json=K_AND_R, headers=librarian_headers)
    assert response.status_code == 409
    assert_problem(response.json(), 409, "isbn_taken")
    assert "9780131103627" in response.json()["detail"]
    assert await count(session, Book) == 1
    other = await create_book(session, isbn="9780306406157", title="Other")
    clash = await client.patch(
        f"/api/library/books/{other.id}", json={"isbn": "9780131103627"}, headers=librarian_headers
    )
    assert clash.status_code == 409
    assert (await client.get(f"/api/library/books/{other.id}")).json()["isbn"] == "9780306406157"


@pytest.mark.parametrize(
    "payload",
    [
        {**K_AND_R, "authors": []},
        {**K_AND_R, "title": "   "},
        {**K_AND_R, "publication_year": 3000},
        {**K_AND_R, "publication_year": 0},
        {**K_AND_R, "extra": 1},
        {k: v for k, v in K_AND_R.items() if k != "authors"},
        {**K_AND_R, "subjects": ["x"] * 21},
    ],
)
async def test_invalid_books_are_422_and_write_nothing(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str], payload: dict[str, object]
) -> None:
    response = await client.post("/api/library/books", json=payload, headers=librarian_headers)
    assert response.status_code == 422
    assert_problem(response.json(), 422, "validation_failed")
    assert await count(session, Book) == 0


async def test_null_for_a_field_that_cannot_be_null_is_422(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str]
) -> None:
    book = await create_book(session)
    response = await client.patch(
        f"/api/library/books/{book.id}", json={"title": None}, headers=librarian_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "Cannot be null; omit the field to keep its value."


async def test_stock_management_needs_the_librarian_role(
    client: AsyncClient, session: AsyncSession, settings: Settings, ann_headers: dict[str, str]
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    attempts = [
        client.post("/api/library/books", json={**K_AND_R, "isbn": "9780306406157"}, headers=ann_headers),
        client.patch(f"/api/library/books/{book.id}", json={"title": "Mine"}, headers=ann_headers),
        client.post(f"/api/library/books/{book.id}/copies", json={"barcode": "X-1"}, headers=ann_headers),
        client.patch(f"/api/library/copies/{copy.id}", json={"status": "lost"}, headers=ann_headers),
        client.post("/api/library/members", json={"name": "Eve"}, headers=ann_headers),
        client.get("/api/library/members", headers=ann_headers),
        client.get("/api/library/overdue", headers=ann_headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert_problem(response.json(), 403, "permission_denied")
        assert "library:manage" in response.json()["detail"]
    assert await count(session, Book) == 1
    assert await count(session, Copy) == 1
    assert (await client.get(f"/api/library/books/{book.id}")).json()["title"] == "The C Programming Language"
    assert (await client.get(f"/api/library/copies/{copy.id}")).json()["status"] == "available"


async def test_anonymous_callers_read_the_catalogue_but_manage_nothing(
    client: AsyncClient, session: AsyncSession
) -> None:
    book = await create_book(session)
    assert (await client.get(f"/api/library/books/{book.id}")).status_code == 200
    assert (await client.get(f"/api/library/books/{book.id}/copies")).status_code == 200
    response = await client.post("/api/library/books", json=K_AND_R)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/api/library/loans")).status_code == 401


async def test_unknown_and_malformed_ids(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str]
) -> None:
    missing = uuid.uuid4()
    for path in (
        f"/api/library/books/{missing}",
        f"/api/library/books/{missing}/copies",
        f"/api/library/copies/{missing}",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert_problem(response.json(), 404, "not_found")
    added = await client.post(
        f"/api/library/books/{missing}/copies", json={"barcode": "X-1"}, headers=librarian_headers
    )
    assert added.status_code == 404
    assert await count(session, Copy) == 0
    patched = await client.patch(
        f"/api/library/books/{missing}", json={"title": "x"}, headers=librarian_headers
    )
    assert patched.status_code == 404
    for path in ("/api/library/books/not-a-uuid", "/api/library/copies/42", "/api/library/loans/x"):
        response = await client.get(path, headers=librarian_headers)
        assert response.status_code == 422, path
        assert response.json()["errors"][0]["type"] == "uuid_parsing"


async def test_huge_bodies_are_413_and_write_nothing(
    client: AsyncClient, session: AsyncSession, settings: Settings, librarian_headers: dict[str, str]
) -> None:
    body = (
        '{"isbn": "9780131103627", "title": "' + "x" * (settings.max_body_bytes + 1) + '", "authors": ["A"]}'
    )
    response = await client.post(
        "/api/library/books",
        content=body,
        headers={**librarian_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert_problem(response.json(), 413, "content_too_large")
    assert await count(session, Book) == 0


async def test_wrong_media_type_is_415(client: AsyncClient, librarian_headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/library/books", content="isbn=1", headers={**librarian_headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_search_filters_and_cursor_pagination(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    sicp = await create_book(
        session,
        isbn="9780262510875",
        title="Structure and Interpretation of Computer Programs",
        authors=("Harold Abelson", "Gerald Jay Sussman"),
        subjects=("Programming", "Lisp"),
        year=1996,
    )
    kr = await create_book(session)
    godel = await create_book(
        session,
        isbn="9780465026562",
        title="Gödel, Escher, Bach",
        authors=("Douglas Hofstadter",),
        subjects=("Mathematics", "Cognitive science"),
        year=1979,
    )
    await create_copy(session, settings, sicp)
    kr_copy = await create_copy(session, settings, kr)
    await lend(session, settings, kr_copy, await create_member(session))

    async def titles(**params: str | int) -> list[str]:
        response = await client.get("/api/library/books", params=params)
        assert response.status_code == 200, response.text
        return [item["title"] for item in response.json()["items"]]

    assert await titles() == [godel.title, sicp.title, kr.title]  # by title, case-folded
    assert await titles(sort="-title") == [kr.title, sicp.title, godel.title]
    assert await titles(q="GÖDEL") == [godel.title]
    assert await titles(q="sussman") == [sicp.title]
    assert await titles(q="lisp") == [sicp.title]
    assert await titles(q="9780131103627") == [kr.title]
    assert await titles(q="100%") == []
    assert await titles(author="ritchie") == [kr.title]
    assert await titles(author="lisp") == []
    assert await titles(subject="PROGRAMMING") == [sicp.title, kr.title]
    assert await titles(isbn="0-13-110362-8") == [kr.title]
    assert await titles(isbn="0-13-110362-7") == []  # not an ISBN: no book has it
    assert await titles(available="true") == [sicp.title]
    assert await titles(year_from=1980) == [sicp.title, kr.title]
    assert await titles(year_from=1980, year_to=1990) == [kr.title]
    assert await titles(subject="programming", year_to=1990) == [kr.title]

    first = (await client.get("/api/library/books", params={"limit": 2, "sort": "created_at"})).json()
    assert [item["title"] for item in first["items"]] == [sicp.title, kr.title]
    rest = (
        await client.get(
            "/api/library/books", params={"limit": 2, "sort": "created_at", "cursor": first["next_cursor"]}
        )
    ).json()
    assert [item["title"] for item in rest["items"]] == [godel.title]
    assert rest["next_cursor"] is None
    book = (await client.get(f"/api/library/books/{kr.id}")).json()
    assert (book["copies_total"], book["copies_available"]) == (1, 0)


@pytest.mark.parametrize(
    "params",
    [
        {"isbn": "ISBN 0-13"},
        {"year_from": "0"},
        {"limit": "0"},
        {"sort": "price"},
        {"cursor": "forged.cursor"},
        {"q": ""},
        {"available": "maybe"},
    ],
)
async def test_bad_search_parameters_are_422(client: AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/api/library/books", params=params)
    assert response.status_code == 422
    assert_problem(response.json(), 422, "validation_failed")


async def test_copies_are_added_listed_and_taken_out_of_circulation(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str]
) -> None:
    book = await create_book(session)
    path = f"/api/library/books/{book.id}/copies"
    first = await client.post(path, json={"barcode": "LIB-1", "condition": "new"}, headers=librarian_headers)
    assert first.status_code == 201, first.text
    copy = first.json()
    assert copy["status"] == "available"
    assert first.headers["location"] == f"/api/library/copies/{copy['id']}"
    await client.post(path, json={"barcode": "LIB-2"}, headers=librarian_headers)

    listed = (await client.get(path, params={"limit": 1})).json()
    assert [item["barcode"] for item in listed["items"]] == ["LIB-1"]
    more = (await client.get(path, params={"limit": 1, "cursor": listed["next_cursor"]})).json()
    assert [item["barcode"] for item in more["items"]] == ["LIB-2"]
    assert more["items"][0]["condition"] == "good"

    lost = await client.patch(
        f"/api/library/copies/{copy['id']}",
        json={"status": "lost", "condition": "poor"},
        headers=librarian_headers,
    )
    assert lost.status_code == 200
    assert (lost.json()["status"], lost.json()["condition"]) == ("lost", "poor")
    counts = (await client.get(f"/api/library/books/{book.id}")).json()
    assert (counts["copies_total"], counts["copies_available"]) == (2, 1)
    found = await client.patch(
        f"/api/library/copies/{copy['id']}", json={"status": "available"}, headers=librarian_headers
    )
    assert found.json()["status"] == "available"


async def test_duplicate_barcode_is_409_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, settings: Settings, librarian_headers: dict[str, str]
) -> None:
    book = await create_book(session)
    await create_copy(session, settings, book, barcode="LIB-1")
    response = await client.post(
        f"/api/library/books/{book.id}/copies", json={"barcode": "LIB-1"}, headers=librarian_headers
    )
    assert response.status_code == 409
    assert_problem(response.json(), 409, "barcode_taken")
    assert await count(session, Copy) == 1


@pytest.mark.parametrize("payload", [{"barcode": "has space"}, {"barcode": ""}, {"condition": "mint"}])
async def test_invalid_copies_are_422(
    client: AsyncClient, session: AsyncSession, librarian_headers: dict[str, str], payload: dict[str, str]
) -> None:
    book = await create_book(session)
    response = await client.post(
        f"/api/library/books/{book.id}/copies", json={"barcode": "OK-1", **payload}, headers=librarian_headers
    )
    assert response.status_code == 422
    assert await count(session, Copy) == 0


async def test_a_copy_on_loan_cannot_be_withdrawn(
    client: AsyncClient, session: AsyncSession, settings: Settings, librarian_headers: dict[str, str]
) -> None:
    book = await create_book(session)
    copy = await create_copy(session, settings, book)
    await lend(session, settings, copy, await create_member(session))
    response = await client.patch(
        f"/api/library/copies/{copy.id}", json={"status": "withdrawn"}, headers=librarian_headers
    )
    assert response.status_code == 409
    assert_problem(response.json(), 409, "copy_in_use")
    assert (await client.get(f"/api/library/copies/{copy.id}")).json()["status"] == "on_loan"


async def test_subjects_are_indexed_case_folded(session: AsyncSession) -> None:
    book = await create_book(session, subjects=("Science Fiction", "Space"))
    subjects = await session.scalars(select(BookSubject.subject).where(BookSubject.book_id == book.id))
    assert sorted(subjects) == ["science fiction", "space"]
