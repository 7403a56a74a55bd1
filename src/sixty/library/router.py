"""B4 Book library: `/api/library`. HTTP only: parse, call the service, shape the response.

The catalogue (books, copies) is public to read. Librarians (permission `library:manage`)
manage stock and members and lend, return and renew for any member; a signed-in account
linked to a member borrows, renews and places holds for itself and sees only its own
loans and holds.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from pydantic.config import JsonDict

from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.routing import module_router
from sixty.core.security import Principal, require
from sixty.core.text import NO_NUL
from sixty.library import service
from sixty.library.schemas import (
    BOOK_EXAMPLE,
    COPY_EXAMPLE,
    HOLD_EXAMPLE,
    LOAN_EXAMPLE,
    MEMBER_EXAMPLE,
    MONEY_EXAMPLE,
    BookCreate,
    BookPage,
    BookRead,
    BookSort,
    BookUpdate,
    CopyCreate,
    CopyPage,
    CopyRead,
    CopyUpdate,
    HoldCreate,
    HoldPage,
    HoldRead,
    LoanCreate,
    LoanPage,
    LoanRead,
    LoanSort,
    MemberAccount,
    MemberCreate,
    MemberPage,
    MemberRead,
    MemberSort,
    MemberUpdate,
)
from sixty.library.service import Caller, LibraryPolicy

router = module_router("/api/library", "library")

CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]


async def library_policy(settings: SettingsDep) -> LibraryPolicy:
    return LibraryPolicy.from_settings(settings)


async def librarian(principal: Annotated[Principal, Depends(require(service.MANAGE))]) -> Caller:
    return Caller(user_id=principal.user_id, librarian=True)


async def caller(principal: Annotated[Principal, Depends(require())]) -> Caller:
    return Caller(user_id=principal.user_id, librarian=principal.can(service.MANAGE))


PolicyDep = Annotated[LibraryPolicy, Depends(library_policy)]
LibrarianDep = Annotated[Caller, Depends(librarian)]
CallerDep = Annotated[Caller, Depends(caller)]


def _ok(example: JsonDict | dict[str, Any], *statuses: int, code: int = 200) -> dict[int | str, Any]:
    return {code: {"content": {"application/json": {"example": example}}}, **problem_responses(*statuses)}


def _page(example: JsonDict) -> JsonDict:
    return {"items": [example], "next_cursor": None}


def _location(request: Request, response: Response, name: str, **ids: uuid.UUID) -> None:
    response.headers["Location"] = str(request.url_for(name, **{k: str(v) for k, v in ids.items()}).path)


LOCATION = {"Location": {"description": "The new resource's URL.", "schema": {"type": "string"}}}


def _created(example: JsonDict, *statuses: int) -> dict[int | str, Any]:
    responses = _ok(example, *statuses, code=201)
    responses[201]["headers"] = LOCATION
    return responses


# --- books ------------------------------------------------------------------------------------


@router.post(
    "/books",
    status_code=status.HTTP_201_CREATED,
    summary="Add a book",
    description="Adds a title to the catalogue (librarians). The ISBN may be ISBN-10 or ISBN-13, with or "
    "without hyphens; its check digit is verified and it is stored as ISBN-13. 409 when a book with "
    "the same ISBN exists.",
    response_model=BookRead,
    responses=_created(BOOK_EXAMPLE, 401, 403, 409, 413, 415, 422),
)
async def create_book(
    data: BookCreate, request: Request, response: Response, session: SessionDep, _: LibrarianDep
) -> BookRead:
    book = await service.create_book(session, data)
    _location(request, response, "get_book", book_id=book.id)
    return BookRead.model_validate(await service.book_view(session, book))


@router.get(
    "/books",
    summary="Search the catalogue",
    description="Books ordered by title (or `sort=created_at`, `-` for descending). `q` finds text in the "
    "title, authors, subjects or ISBN (case-insensitive); `author` in the authors only; `subject` is "
    "one exact subject (any case); `isbn` an exact ISBN-10 or ISBN-13; `available=true` keeps books "
    "with a copy on the shelf; `year_from`/`year_to` bound the publication year. Cursor-paginated.",
    response_model=BookPage,
    responses=_ok(_page(BOOK_EXAMPLE), 422),
)
async def list_books(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    author: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    subject: Annotated[str | None, Query(min_length=1, max_length=100, pattern=NO_NUL)] = None,
    isbn: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=20,
            pattern=r"^[0-9Xx -]*$",
            description="ISBN-10 or ISBN-13; one that is not a valid ISBN matches no book.",
        ),
    ] = None,
    available: Annotated[bool, Query(description="Only books with a copy on the shelf now.")] = False,
    year_from: Annotated[int | None, Query(ge=1, le=9999)] = None,
    year_to: Annotated[int | None, Query(ge=1, le=9999)] = None,
    sort: Annotated[BookSort, Query(description="Sort key; `-` prefix for descending.")] = "title",
) -> BookPage:
    filters = service.BookFilters(
        q=q,
        author=author,
        subject=subject,
        isbn=isbn,
        available=available,
        year_from=year_from,
        year_to=year_to,
    )
    books, next_cursor = await service.list_books(
        reader, filters=filters, params=page, codec=codec, sort=sort
    )
    return BookPage.model_validate({"items": books, "next_cursor": next_cursor})


@router.get(
    "/books/{book_id}",
    name="get_book",
    summary="Read a book",
    description="The book with how many copies the library holds and how many are on the shelf.",
    response_model=BookRead,
    responses=_ok(BOOK_EXAMPLE, 404, 422),
)
async def get_book(book_id: uuid.UUID, reader: ReaderDep) -> BookRead:
    return BookRead.model_validate(await service.read_book(reader, book_id))


@router.patch(
    "/books/{book_id}",
    summary="Update a book",
    description="Changes only the fields sent (librarians); `publication_year: null` clears it. "
    "409 when the new ISBN belongs to another book.",
    response_model=BookRead,
    responses=_ok(BOOK_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def update_book(book_id: uuid.UUID, data: BookUpdate, session: SessionDep, _: LibrarianDep) -> BookRead:
    book = await service.update_book(session, book_id, data)
    return BookRead.model_validate(await service.book_view(session, book))


# --- copies -----------------------------------------------------------------------------------


@router.post(
    "/books/{book_id}/copies",
    status_code=status.HTTP_201_CREATED,
    summary="Add a copy of a book",
    description="A new copy with its barcode (unique) and condition (librarians). When members are "
    "waiting for the book, the copy is set aside for the first of them (`status: held`).",
    response_model=CopyRead,
    responses=_created(COPY_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def add_copy(
    book_id: uuid.UUID,
    data: CopyCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    policy: PolicyDep,
    _: LibrarianDep,
) -> CopyRead:
    copy = await service.add_copy(session, book_id, data, policy=policy, moment=service.now())
    _location(request, response, "get_copy", copy_id=copy.id)
    return CopyRead.model_validate(copy)


@router.get(
    "/books/{book_id}/copies",
    summary="List a book's copies",
    description="Every copy of the book with its condition and status, oldest first. Cursor-paginated.",
    response_model=CopyPage,
    responses=_ok(_page(COPY_EXAMPLE), 404, 422),
)
async def list_copies(
    book_id: uuid.UUID, reader: ReaderDep, page: PageParamsDep, codec: CodecDep
) -> CopyPage:
    copies, next_cursor = await service.list_copies(reader, book_id, params=page, codec=codec)
    return CopyPage.model_validate({"items": copies, "next_cursor": next_cursor})


@router.get(
    "/copies/{copy_id}",
    name="get_copy",
    summary="Read a copy",
    description="One copy: its book, barcode, condition and status.",
    response_model=CopyRead,
    responses=_ok(COPY_EXAMPLE, 404, 422),
)
async def get_copy(copy_id: uuid.UUID, reader: ReaderDep) -> CopyRead:
    return CopyRead.model_validate(await service.read_copy(reader, copy_id))


@router.patch(
    "/copies/{copy_id}",
    summary="Update a copy",
    description="Changes the condition, or takes a copy out of circulation (`maintenance`, `lost`, "
    "`withdrawn`) and back (`available`, which sets it aside for the first waiting member, if any). "
    "Librarians only; 409 for a copy on loan or set aside for a hold.",
    response_model=CopyRead,
    responses=_ok(COPY_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def update_copy(
    copy_id: uuid.UUID, data: CopyUpdate, session: SessionDep, policy: PolicyDep, _: LibrarianDep
) -> CopyRead:
    copy = await service.update_copy(session, copy_id, data, policy=policy, moment=service.now())
    return CopyRead.model_validate(copy)


# --- members ----------------------------------------------------------------------------------


@router.post(
    "/members",
    status_code=status.HTTP_201_CREATED,
    summary="Register a member",
    description="A library member (librarians). `user_id` links the account that borrows as this member: "
    "404 when there is no such account, 409 when it is linked to another member already.",
    response_model=MemberRead,
    responses=_created(MEMBER_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def create_member(
    data: MemberCreate, request: Request, response: Response, session: SessionDep, _: LibrarianDep
) -> MemberRead:
    member = await service.create_member(session, data)
    _location(request, response, "get_member", member_id=member.id)
    return MemberRead.model_validate(member)


@router.get(
    "/members",
    summary="List members",
    description="Members by name (or `sort=created_at`); `q` finds text in names and emails. "
    "Librarians only.",
    response_model=MemberPage,
    responses=_ok(_page(MEMBER_EXAMPLE), 401, 403, 422),
)
async def list_members(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    _: LibrarianDep,
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    sort: Annotated[MemberSort, Query(description="Sort key; `-` prefix for descending.")] = "name",
) -> MemberPage:
    members, next_cursor = await service.list_members(reader, params=page, codec=codec, q=q, sort=sort)
    return MemberPage.model_validate({"items": members, "next_cursor": next_cursor})


@router.get(
    "/members/{member_id}",
    name="get_member",
    summary="Read a member",
    description="Librarians read any member; a member reads their own record (others are 404).",
    response_model=MemberRead,
    responses=_ok(MEMBER_EXAMPLE, 401, 404, 422),
)
async def get_member(member_id: uuid.UUID, reader: ReaderDep, who: CallerDep) -> MemberRead:
    return MemberRead.model_validate(await service.read_member(reader, member_id, caller=who))


@router.patch(
    "/members/{member_id}",
    summary="Update a member",
    description="Changes only the fields sent (librarians); `email: null` clears it, `user_id: null` "
    "unlinks the account.",
    response_model=MemberRead,
    responses=_ok(MEMBER_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def update_member(
    member_id: uuid.UUID, data: MemberUpdate, session: SessionDep, _: LibrarianDep
) -> MemberRead:
    return MemberRead.model_validate(await service.update_member(session, member_id, data))


@router.get(
    "/me",
    summary="My library account",
    description="The caller's member record, how many loans are open and overdue, active holds, and the "
    "fines due (unpaid fines of returned loans plus what open overdue loans have accrued). 404 when "
    "the account is not linked to a member.",
    response_model=MemberAccount,
    responses=_ok(
        {
            "member": MEMBER_EXAMPLE,
            "open_loans": 2,
            "overdue_loans": 1,
            "active_holds": 1,
            "fines_due": MONEY_EXAMPLE,
        },
        401,
        404,
    ),
)
async def my_account(reader: ReaderDep, who: CallerDep, policy: PolicyDep) -> MemberAccount:
    account = await service.member_account(reader, caller=who, policy=policy, moment=service.now())
    return MemberAccount.model_validate(account)


# --- loans ------------------------------------------------------------------------------------


@router.post(
    "/loans",
    status_code=status.HTTP_201_CREATED,
    summary="Lend a copy",
    description="Lends a copy for `SIXTY_LIBRARY_LOAN_DAYS`. Librarians lend to any `member_id`; a member "
    "(an account linked to one) borrows for themself. The copy must be on the shelf, or set aside for "
    "this member's ready hold (which is then fulfilled). 409 when it is not: a copy is never lent twice "
    "at once, however many requests race for it.",
    response_model=LoanRead,
    responses=_created(LOAN_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def create_loan(
    data: LoanCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    who: CallerDep,
    policy: PolicyDep,
) -> LoanRead:
    moment = service.now()
    loan = await service.checkout(
        session, data.copy_id, caller=who, member_id=data.member_id, policy=policy, moment=moment
    )
    _location(request, response, "get_loan", loan_id=loan.id)
    return LoanRead.model_validate(service.loan_view(loan, policy, moment))


@router.get(
    "/loans",
    summary="List loans",
    description="Librarians see every loan (filter by `member_id`, `book_id`); members see their own. "
    "`open=true` keeps loans not yet returned. Newest first by default. Fines of open loans are "
    "computed at read time.",
    response_model=LoanPage,
    responses=_ok(_page(LOAN_EXAMPLE), 401, 422),
)
async def list_loans(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    who: CallerDep,
    policy: PolicyDep,
    member_id: uuid.UUID | None = None,
    book_id: uuid.UUID | None = None,
    open_only: Annotated[bool, Query(alias="open", description="Only loans not yet returned.")] = False,
    sort: Annotated[LoanSort, Query(description="Sort key; `-` prefix for descending.")] = "-loaned_at",
) -> LoanPage:
    loans, next_cursor = await service.list_loans(
        reader,
        caller=who,
        params=page,
        codec=codec,
        policy=policy,
        moment=service.now(),
        member_id=member_id,
        book_id=book_id,
        open_only=open_only,
        sort=sort,
    )
    return LoanPage.model_validate({"items": loans, "next_cursor": next_cursor})


@router.get(
    "/loans/{loan_id}",
    name="get_loan",
    summary="Read a loan",
    description="The loan with its due time, renewals left, lateness and fine. Another member's loan is 404.",
    response_model=LoanRead,
    responses=_ok(LOAN_EXAMPLE, 401, 404, 422),
)
async def get_loan(loan_id: uuid.UUID, reader: ReaderDep, who: CallerDep, policy: PolicyDep) -> LoanRead:
    loan = await service.read_loan(reader, loan_id, caller=who, policy=policy, moment=service.now())
    return LoanRead.model_validate(loan)


@router.post(
    "/loans/{loan_id}/return",
    summary="Return a loan",
    description="Ends the loan (librarians, at the desk): its fine is fixed "
    "(`SIXTY_LIBRARY_FINE_PER_DAY` per started day late, at most `SIXTY_LIBRARY_FINE_CAP`), and the "
    "copy is set aside for the first member waiting for the book (for "
    "`SIXTY_LIBRARY_HOLD_PICKUP_DAYS`) or goes back on the shelf. 409 when it was returned already.",
    response_model=LoanRead,
    responses=_ok(LOAN_EXAMPLE, 401, 403, 404, 409, 422),
)
async def return_loan(
    loan_id: uuid.UUID, session: SessionDep, who: LibrarianDep, policy: PolicyDep
) -> LoanRead:
    moment = service.now()
    loan = await service.return_loan(session, loan_id, caller=who, policy=policy, moment=moment)
    return LoanRead.model_validate(service.loan_view(loan, policy, moment))


@router.post(
    "/loans/{loan_id}/renew",
    summary="Renew a loan",
    description="Moves the due time one loan period later (the borrower or a librarian). 409 when the loan "
    "is returned, overdue (return it and settle the fine instead), has used its "
    "`SIXTY_LIBRARY_MAX_RENEWALS`, or when another member is waiting for the book.",
    response_model=LoanRead,
    responses=_ok(LOAN_EXAMPLE, 401, 404, 409, 422),
)
async def renew_loan(loan_id: uuid.UUID, session: SessionDep, who: CallerDep, policy: PolicyDep) -> LoanRead:
    moment = service.now()
    loan = await service.renew_loan(session, loan_id, caller=who, policy=policy, moment=moment)
    return LoanRead.model_validate(service.loan_view(loan, policy, moment))


@router.post(
    "/loans/{loan_id}/fine/pay",
    summary="Record a fine as paid",
    description="Marks a returned loan's fine as paid (librarians). 409 when it has no unpaid fine.",
    response_model=LoanRead,
    responses=_ok(LOAN_EXAMPLE, 401, 403, 404, 409, 422),
)
async def pay_fine(loan_id: uuid.UUID, session: SessionDep, who: LibrarianDep, policy: PolicyDep) -> LoanRead:
    moment = service.now()
    loan = await service.pay_fine(session, loan_id, caller=who, moment=moment)
    return LoanRead.model_validate(service.loan_view(loan, policy, moment))


@router.get(
    "/overdue",
    summary="List overdue loans",
    description="Open loans past their due time, the longest overdue first, each with its fine so far "
    "(librarians). Cursor-paginated.",
    response_model=LoanPage,
    responses=_ok(_page(LOAN_EXAMPLE), 401, 403, 422),
)
async def list_overdue(
    reader: ReaderDep, page: PageParamsDep, codec: CodecDep, _: LibrarianDep, policy: PolicyDep
) -> LoanPage:
    loans, next_cursor = await service.list_overdue(
        reader, params=page, codec=codec, policy=policy, moment=service.now()
    )
    return LoanPage.model_validate({"items": loans, "next_cursor": next_cursor})


# --- holds ------------------------------------------------------------------------------------


@router.post(
    "/holds",
    status_code=status.HTTP_201_CREATED,
    summary="Place a hold",
    description="Joins the book's queue (first come, first served). Librarians place holds for any "
    "`member_id`; a member for themself. With a copy on the shelf it is set aside at once "
    "(`status: ready`); otherwise the hold waits (`position` in the queue) until a copy comes back. "
    "409 when the member already holds or borrows the book.",
    response_model=HoldRead,
    responses=_created(HOLD_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def place_hold(
    data: HoldCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    who: CallerDep,
    policy: PolicyDep,
) -> HoldRead:
    moment = service.now()
    hold = await service.place_hold(
        session, data.book_id, caller=who, member_id=data.member_id, policy=policy, moment=moment
    )
    _location(request, response, "get_hold", hold_id=hold.id)
    return HoldRead.model_validate(await service.hold_view(session, hold))


@router.get(
    "/holds",
    summary="List holds",
    description="Librarians see every hold (filter by `book_id`, `member_id`); members see their own. "
    "`active=true` keeps waiting and ready holds. Oldest first: the queue order.",
    response_model=HoldPage,
    responses=_ok(_page(HOLD_EXAMPLE), 401, 422),
)
async def list_holds(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    who: CallerDep,
    book_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    active: Annotated[bool, Query(description="Only waiting and ready holds.")] = False,
) -> HoldPage:
    holds, next_cursor = await service.list_holds(
        reader,
        caller=who,
        params=page,
        codec=codec,
        moment=service.now(),
        book_id=book_id,
        member_id=member_id,
        active=active,
    )
    return HoldPage.model_validate({"items": holds, "next_cursor": next_cursor})


@router.get(
    "/holds/{hold_id}",
    name="get_hold",
    summary="Read a hold",
    description="The hold with its place in the queue, or the copy set aside and until when. Another "
    "member's hold is 404.",
    response_model=HoldRead,
    responses=_ok(HOLD_EXAMPLE, 401, 404, 422),
)
async def get_hold(hold_id: uuid.UUID, reader: ReaderDep, who: CallerDep) -> HoldRead:
    return HoldRead.model_validate(await service.read_hold(reader, hold_id, caller=who, moment=service.now()))


@router.delete(
    "/holds/{hold_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Cancel a hold",
    description="Leaves the queue (the member or a librarian); a copy set aside for it goes to the next "
    "member. 409 when the hold is no longer waiting or ready.",
    response_class=Response,
    responses={204: {"description": "Cancelled."}, **problem_responses(401, 404, 409, 422)},
)
async def cancel_hold(hold_id: uuid.UUID, session: SessionDep, who: CallerDep, policy: PolicyDep) -> None:
    await service.cancel_hold(session, hold_id, caller=who, policy=policy, moment=service.now())
