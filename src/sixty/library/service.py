"""B4 library: the logic. No HTTP here; the caller's unit of work commits.

Lending a copy is one conditional UPDATE of the copy's status (`available` -> `on_loan`,
or `held` -> `on_loan` for the member it is held for), then the loan row, which a partial
unique index allows only once per copy while it is open. Of any number of concurrent
checkouts of one copy exactly one commits; the others answer 409.

Every change to a book's copies, loans or holds first locks the book's row (`SELECT ...
FOR UPDATE` on PostgreSQL; SQLite's write transactions are serial already), so a return
and a new hold cannot pass each other: a copy that comes back always goes to the first
waiting member, and copies stay on the shelf only while nobody is waiting.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, cast

from babel.numbers import get_currency_precision
from sqlalchemy import (
    BindParameter,
    CursorResult,
    Integer,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sixty.auth import service as auth_service
from sixty.core.config import Settings
from sixty.core.errors import Conflict, Forbidden, NotFound
from sixty.core.i18n import N_
from sixty.core.models import UTCDateTime
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row
from sixty.library.models import Book, BookSubject, Copy, Hold, Loan, Member
from sixty.library.schemas import (
    BookCreate,
    BookSort,
    BookUpdate,
    CopyCreate,
    CopyUpdate,
    InvalidIsbnError,
    LoanSort,
    MemberCreate,
    MemberSort,
    MemberUpdate,
    Money,
    normalize_isbn,
)

MANAGE = "library:manage"
ACTIVE_HOLD_STATUSES = ("waiting", "ready")
# Spelled out rather than IN (...): the reader runs statements compiled once, without expanding binds.
ACTIVE_HOLD = or_(Hold.status == "waiting", Hold.status == "ready")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LibraryPolicy:
    """The lending rules, from settings (`SIXTY_LIBRARY_*`)."""

    loan_days: int
    max_renewals: int
    fine_per_day: int
    fine_cap: int
    currency: str
    pickup_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> LibraryPolicy:
        return cls(
            loan_days=settings.library_loan_days,
            max_renewals=settings.library_max_renewals,
            fine_per_day=settings.library_fine_per_day,
            fine_cap=settings.library_fine_cap,
            currency=settings.library_currency,
            pickup_days=settings.library_hold_pickup_days,
        )

    @property
    def loan_period(self) -> timedelta:
        return timedelta(days=self.loan_days)

    @property
    def pickup_window(self) -> timedelta:
        return timedelta(days=self.pickup_days)

    def days_overdue(self, due_at: datetime, until: datetime) -> int:
        """Started days past the due time: one second late is one day."""
        late = (until - due_at).total_seconds()
        return math.ceil(late / 86_400) if late > 0 else 0

    def fine(self, due_at: datetime, until: datetime) -> int:
        """The fine in minor units: so much per started day late, capped."""
        return min(self.days_overdue(due_at, until) * self.fine_per_day, self.fine_cap)


def money(minor: int, currency: str) -> Money:
    """Minor units shown as a decimal string in the currency's major unit (`125` EUR -> `1.25`)."""
    precision = get_currency_precision(currency)
    return Money(amount=f"{Decimal(minor).scaleb(-precision):.{precision}f}", currency=currency)


@dataclass(frozen=True)
class Caller:
    """Who acts: an account, and whether it manages the library (permission `library:manage`)."""

    user_id: uuid.UUID
    librarian: bool


def fold(text: str) -> str:
    return text.casefold()


def search_pattern(q: str) -> str:
    """A LIKE pattern matching the case-folded `q` literally anywhere (its % and _ escaped)."""
    escaped = fold(q).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _flush_unique(session: AsyncSession, conflict: Conflict) -> None:
    """Flush in a savepoint; a unique violation (a concurrent request won) is `conflict`."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise conflict from None


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


# --- books ------------------------------------------------------------------------------------

_copies = aliased(Copy)
COPIES_TOTAL = (
    select(func.count(_copies.id))
    .where(_copies.book_id == Book.id, _copies.status != "withdrawn")
    .scalar_subquery()
    .label("copies_total")
)
COPIES_AVAILABLE = (
    select(func.count(_copies.id))
    .where(_copies.book_id == Book.id, _copies.status == "available")
    .scalar_subquery()
    .label("copies_available")
)
BOOK_COLUMNS = (
    Book.id,
    Book.isbn,
    Book.title,
    Book.title_key,
    Book.authors,
    Book.subjects,
    Book.publication_year,
    Book.created_at,
    Book.updated_at,
    COPIES_TOTAL,
    COPIES_AVAILABLE,
)
BOOK_SORTS = sort_keys(Book.id, title=Book.title_key, created_at=Book.created_at)
BOOK_BY_ID = select(*BOOK_COLUMNS).where(Book.id == bindparam("book_id"))


@dataclass(frozen=True)
class BookFilters:
    q: str | None = None
    author: str | None = None
    subject: str | None = None
    isbn: str | None = None
    available: bool = False
    year_from: int | None = None
    year_to: int | None = None

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.q:
            values["pattern"] = search_pattern(self.q)
        if self.author:
            values["author_pattern"] = search_pattern(self.author)
        if self.subject:
            values["subject"] = fold(self.subject.strip())
        if self.isbn:
            try:
                values["isbn"] = normalize_isbn(self.isbn)
            except InvalidIsbnError:
                values["isbn"] = self.isbn  # matches nothing: every stored ISBN is valid
        if self.year_from is not None:
            values["year_from"] = self.year_from
        if self.year_to is not None:
            values["year_to"] = self.year_to
        return values


@cache
def _books_statement(shape: frozenset[str], available: bool, sort: BookSort, after: bool) -> AnySelect:
    """The statement of one filter shape (which filters are set), built once."""
    statement = select(*BOOK_COLUMNS)
    if "pattern" in shape:
        statement = statement.where(Book.search_text.like(bindparam("pattern", type_=String()), escape="\\"))
    if "author_pattern" in shape:
        statement = statement.where(
            Book.author_text.like(bindparam("author_pattern", type_=String()), escape="\\")
        )
    if "subject" in shape:
        statement = statement.where(
            Book.id.in_(select(BookSubject.book_id).where(BookSubject.subject == bindparam("subject")))
        )
    if "isbn" in shape:
        statement = statement.where(Book.isbn == bindparam("isbn", type_=String()))
    if "year_from" in shape:
        statement = statement.where(Book.publication_year >= bindparam("year_from", type_=Integer()))
    if "year_to" in shape:
        statement = statement.where(Book.publication_year <= bindparam("year_to", type_=Integer()))
    if available:
        statement = statement.where(exists().where(_copies.book_id == Book.id, _copies.status == "available"))
    return keyset_page(statement, BOOK_SORTS[sort], after=after)


async def list_books(
    reader: Reader, *, filters: BookFilters, params: PageParams, codec: CursorCodec, sort: BookSort = "title"
) -> tuple[list[Row], str | None]:
    values = filters.values()
    shape = frozenset(values)
    return await paginate(
        reader,
        lambda after: _books_statement(shape, filters.available, sort, after),
        sort=BOOK_SORTS[sort],
        params=params,
        codec=codec,
        **values,
    )


async def read_book(reader: Reader, book_id: uuid.UUID) -> Row:
    row = await reader.one(BOOK_BY_ID, book_id=book_id)
    if row is None:
        raise book_not_found(book_id)
    return row


def book_not_found(book_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Book {id} was not found."), id=str(book_id))


def _duplicate_isbn(isbn: str) -> Conflict:
    return Conflict(N_("A book with ISBN {isbn} already exists."), code="isbn_taken", isbn=isbn)


def _index_book(book: Book) -> None:
    book.title_key = fold(book.title)
    book.author_text = "\n".join(fold(author) for author in book.authors)
    book.search_text = "\n".join(
        [fold(book.title), book.author_text, *(fold(subject) for subject in book.subjects), book.isbn]
    )


async def _set_subjects(session: AsyncSession, book: Book, subjects: Sequence[str]) -> None:
    wanted = {fold(subject) for subject in subjects}
    current = set(
        (await session.scalars(select(BookSubject.subject).where(BookSubject.book_id == book.id))).all()
    )
    for subject in current - wanted:
        await session.delete(await session.get_one(BookSubject, (book.id, subject)))
    for subject in wanted - current:
        session.add(BookSubject(book_id=book.id, subject=subject))


async def book_view(session: AsyncSession, book: Book) -> Row:
    """The book as GET answers it, read in the unit of work (its changes are not committed yet)."""
    row = (await session.execute(select(*BOOK_COLUMNS).where(Book.id == book.id))).mappings().one()
    return dict(row)


async def create_book(session: AsyncSession, data: BookCreate) -> Book:
    if await session.scalar(select(Book.id).where(Book.isbn == data.isbn)) is not None:
        raise _duplicate_isbn(data.isbn)
    book = Book(
        isbn=data.isbn,
        title=data.title,
        authors=list(data.authors),
        subjects=list(data.subjects),
        publication_year=data.publication_year,
    )
    _index_book(book)
    session.add(book)
    await _flush_unique(session, _duplicate_isbn(data.isbn))
    await _set_subjects(session, book, data.subjects)
    await session.flush()
    return book


async def get_book(session: AsyncSession, book_id: uuid.UUID, *, lock: bool = False) -> Book:
    book = await session.get(Book, book_id, with_for_update=lock or None)
    if book is None:
        raise book_not_found(book_id)
    return book


async def update_book(session: AsyncSession, book_id: uuid.UUID, data: BookUpdate) -> Book:
    book = await get_book(session, book_id)
    changes = data.model_dump(exclude_unset=True)
    new_isbn = changes.get("isbn", book.isbn)
    if new_isbn != book.isbn and await session.scalar(select(Book.id).where(Book.isbn == new_isbn)):
        raise _duplicate_isbn(new_isbn)
    for field, value in changes.items():
        setattr(book, field, value)
    _index_book(book)
    if "subjects" in changes:
        await _set_subjects(session, book, changes["subjects"])
    await _flush_unique(session, _duplicate_isbn(book.isbn))
    return book


# --- copies -----------------------------------------------------------------------------------

COPY_COLUMNS = (
    Copy.id,
    Copy.book_id,
    Copy.barcode,
    Copy.condition,
    Copy.status,
    Copy.created_at,
    Copy.updated_at,
)
COPY_SORTS = sort_keys(Copy.id, created_at=Copy.created_at)
COPY_BY_ID = select(*COPY_COLUMNS).where(Copy.id == bindparam("copy_id"))


@cache
def _copies_statement(after: bool) -> AnySelect:
    return keyset_page(
        select(*COPY_COLUMNS).where(Copy.book_id == bindparam("book_id")),
        COPY_SORTS["created_at"],
        after=after,
    )


def copy_not_found(copy_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Copy {id} was not found."), id=str(copy_id))


async def read_copy(reader: Reader, copy_id: uuid.UUID) -> Row:
    row = await reader.one(COPY_BY_ID, copy_id=copy_id)
    if row is None:
        raise copy_not_found(copy_id)
    return row


async def list_copies(
    reader: Reader, book_id: uuid.UUID, *, params: PageParams, codec: CursorCodec
) -> tuple[list[Row], str | None]:
    await read_book(reader, book_id)
    return await paginate(
        reader, _copies_statement, sort=COPY_SORTS["created_at"], params=params, codec=codec, book_id=book_id
    )


def _duplicate_barcode(barcode: str) -> Conflict:
    return Conflict(
        N_("A copy with barcode {barcode} already exists."), code="barcode_taken", barcode=barcode
    )


async def add_copy(
    session: AsyncSession, book_id: uuid.UUID, data: CopyCreate, *, policy: LibraryPolicy, moment: datetime
) -> Copy:
    """A new copy on the shelf; when members are waiting for the book it is set aside for the first."""
    await get_book(session, book_id, lock=True)
    if await session.scalar(select(Copy.id).where(Copy.barcode == data.barcode)) is not None:
        raise _duplicate_barcode(data.barcode)
    copy = Copy(book_id=book_id, barcode=data.barcode, condition=data.condition, status="available")
    session.add(copy)
    await _flush_unique(session, _duplicate_barcode(data.barcode))
    await _expire_ready_holds(session, book_id, policy=policy, moment=moment)
    await _shelve(session, copy, policy=policy, moment=moment)
    await session.flush()
    return copy


async def update_copy(
    session: AsyncSession, copy_id: uuid.UUID, data: CopyUpdate, *, policy: LibraryPolicy, moment: datetime
) -> Copy:
    copy = await session.get(Copy, copy_id)
    if copy is None:
        raise copy_not_found(copy_id)
    await get_book(session, copy.book_id, lock=True)
    await session.refresh(copy)
    if data.condition is not None:
        copy.condition = data.condition
    if data.status is not None and data.status != copy.status:
        if copy.status in ("on_loan", "held"):
            raise Conflict(
                N_("Copy {id} is {status}; return the loan or cancel the hold first."),
                code="copy_in_use",
                id=str(copy_id),
                status=copy.status,
            )
        if data.status == "available":
            await _expire_ready_holds(session, copy.book_id, policy=policy, moment=moment)
            await _shelve(session, copy, policy=policy, moment=moment)
        else:
            copy.status = data.status
    await session.flush()
    return copy


# --- members ----------------------------------------------------------------------------------

MEMBER_COLUMNS = (
    Member.id,
    Member.name,
    Member.name_key,
    Member.email,
    Member.user_id,
    Member.created_at,
    Member.updated_at,
)
MEMBER_SORTS = sort_keys(Member.id, name=Member.name_key, created_at=Member.created_at)
MEMBER_BY_ID = select(*MEMBER_COLUMNS).where(Member.id == bindparam("member_id"))
MEMBER_BY_USER = select(*MEMBER_COLUMNS).where(Member.user_id == bindparam("user_id"))


def member_not_found(member_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Member {id} was not found."), id=str(member_id))


def _account_linked(user_id: uuid.UUID | None) -> Conflict:
    return Conflict(
        N_("Account {user_id} is already linked to another member."),
        code="account_linked",
        user_id=str(user_id),
    )


@cache
def _members_statement(search: bool, sort: MemberSort, after: bool) -> AnySelect:
    statement = select(*MEMBER_COLUMNS)
    if search:
        pattern: BindParameter[str] = bindparam("pattern", type_=String())
        statement = statement.where(
            or_(Member.name_key.like(pattern, escape="\\"), Member.email.like(pattern, escape="\\"))
        )
    return keyset_page(statement, MEMBER_SORTS[sort], after=after)


async def list_members(
    reader: Reader, *, params: PageParams, codec: CursorCodec, q: str | None = None, sort: MemberSort = "name"
) -> tuple[list[Row], str | None]:
    filters = {"pattern": search_pattern(q)} if q else {}
    return await paginate(
        reader,
        lambda after: _members_statement(bool(q), sort, after),
        sort=MEMBER_SORTS[sort],
        params=params,
        codec=codec,
        **filters,
    )


async def read_member(reader: Reader, member_id: uuid.UUID, *, caller: Caller) -> Row:
    """A librarian sees every member; anyone else only their own (others are 404)."""
    row = await reader.one(MEMBER_BY_ID, member_id=member_id)
    if row is None or not (caller.librarian or row["user_id"] == caller.user_id):
        raise member_not_found(member_id)
    return row


async def member_of(reader: Reader, user_id: uuid.UUID) -> Row | None:
    return await reader.one(MEMBER_BY_USER, user_id=user_id)


async def _check_account(session: AsyncSession, user_id: uuid.UUID, *, member_id: uuid.UUID | None) -> None:
    await auth_service.get_user(session, user_id)  # 404 for an unknown account
    linked = await session.scalar(select(Member.id).where(Member.user_id == user_id))
    if linked is not None and linked != member_id:
        raise _account_linked(user_id)


async def create_member(session: AsyncSession, data: MemberCreate) -> Member:
    if data.user_id is not None:
        await _check_account(session, data.user_id, member_id=None)
    member = Member(name=data.name, name_key=fold(data.name), email=data.email, user_id=data.user_id)
    session.add(member)
    await _flush_unique(session, _account_linked(data.user_id))  # a concurrent link won
    return member


async def get_member(session: AsyncSession, member_id: uuid.UUID) -> Member:
    member = await session.get(Member, member_id)
    if member is None:
        raise member_not_found(member_id)
    return member


async def update_member(session: AsyncSession, member_id: uuid.UUID, data: MemberUpdate) -> Member:
    member = await get_member(session, member_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("user_id") is not None:
        await _check_account(session, changes["user_id"], member_id=member.id)
    for field, value in changes.items():
        setattr(member, field, value)
    member.name_key = fold(member.name)
    await _flush_unique(session, _account_linked(member.user_id))
    return member


async def _member_for(session: AsyncSession, caller: Caller, member_id: uuid.UUID | None) -> Member:
    """The member a loan or hold is for: any member when a librarian names one; otherwise the
    caller's own member record (403 when the account is not linked to one, or names another)."""
    if member_id is not None and caller.librarian:
        return await get_member(session, member_id)
    own = await session.scalar(select(Member).where(Member.user_id == caller.user_id))
    if own is None:
        raise Forbidden(
            N_("Your account is not linked to a library member; ask a librarian."), code="not_a_member"
        )
    if member_id is not None and member_id != own.id:
        raise Forbidden(
            N_("You need the permission {permission} for this."), code="permission_denied", permission=MANAGE
        )
    return own


# --- holds ------------------------------------------------------------------------------------

_ahead = aliased(Hold)
HOLD_POSITION = case(
    (
        Hold.status == "waiting",
        select(func.count(_ahead.id))
        .where(
            _ahead.book_id == Hold.book_id,
            _ahead.status == "waiting",
            or_(
                _ahead.created_at < Hold.created_at,
                and_(_ahead.created_at == Hold.created_at, _ahead.id <= Hold.id),
            ),
        )
        .scalar_subquery(),
    ),
    else_=null(),
).label("position")
HOLD_COLUMNS = (
    Hold.id,
    Hold.book_id,
    Hold.member_id,
    Hold.status,
    HOLD_POSITION,
    Hold.copy_id,
    Hold.created_at,
    Hold.ready_at,
    Hold.expires_at,
)
HOLD_SORTS = sort_keys(Hold.id, created_at=Hold.created_at)


def hold_not_found(hold_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Hold {id} was not found."), id=str(hold_id))


def _own_members() -> Any:
    """Ids of the caller's member record (`:user_id`): what a member may see."""
    return select(Member.id).where(Member.user_id == bindparam("user_id"))


@cache
def _hold_statement(librarian: bool) -> AnySelect:
    statement = select(*HOLD_COLUMNS).where(Hold.id == bindparam("hold_id"))
    return statement if librarian else statement.where(Hold.member_id.in_(_own_members()))


@cache
def _holds_statement(librarian: bool, by_book: bool, by_member: bool, active: bool, after: bool) -> AnySelect:
    statement = select(*HOLD_COLUMNS)
    if not librarian:
        statement = statement.where(Hold.member_id.in_(_own_members()))
    if by_book:
        statement = statement.where(Hold.book_id == bindparam("book_id"))
    if by_member:
        statement = statement.where(Hold.member_id == bindparam("member_id"))
    if active:
        statement = statement.where(ACTIVE_HOLD)
    return keyset_page(statement, HOLD_SORTS["created_at"], after=after)


def present_hold(row: Row, moment: datetime) -> Row:
    """A ready hold past its pickup time reads as expired, before any write notices."""
    if row["status"] == "ready" and row["expires_at"] is not None and row["expires_at"] <= moment:
        return {**row, "status": "expired", "position": None}
    return row


async def read_hold(reader: Reader, hold_id: uuid.UUID, *, caller: Caller, moment: datetime) -> Row:
    row = await reader.one(_hold_statement(caller.librarian), hold_id=hold_id, user_id=caller.user_id)
    if row is None:
        raise hold_not_found(hold_id)
    return present_hold(row, moment)


async def list_holds(
    reader: Reader,
    *,
    caller: Caller,
    params: PageParams,
    codec: CursorCodec,
    moment: datetime,
    book_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    active: bool = False,
) -> tuple[list[Row], str | None]:
    values: dict[str, Any] = {"user_id": caller.user_id} if not caller.librarian else {}
    if book_id is not None:
        values["book_id"] = book_id
    if member_id is not None:
        values["member_id"] = member_id
    rows, cursor = await paginate(
        reader,
        lambda after: _holds_statement(
            caller.librarian, book_id is not None, member_id is not None, active, after
        ),
        sort=HOLD_SORTS["created_at"],
        params=params,
        codec=codec,
        **values,
    )
    return [present_hold(row, moment) for row in rows], cursor


async def hold_view(session: AsyncSession, hold: Hold) -> Row:
    """The hold as GET answers it, read in the unit of work."""
    row = (await session.execute(select(*HOLD_COLUMNS).where(Hold.id == hold.id))).mappings().one()
    return dict(row)


async def _first_waiting(session: AsyncSession, book_id: uuid.UUID) -> Hold | None:
    hold: Hold | None = await session.scalar(
        select(Hold)
        .where(Hold.book_id == book_id, Hold.status == "waiting")
        .order_by(Hold.created_at, Hold.id)
        .limit(1)
    )
    return hold


async def _shelve(session: AsyncSession, copy: Copy, *, policy: LibraryPolicy, moment: datetime) -> None:
    """A copy that comes free goes to the first waiting member for the pickup window, else to the shelf.
    The caller holds the book's lock."""
    hold = await _first_waiting(session, copy.book_id)
    if hold is None:
        copy.status = "available"
        return
    copy.status = "held"
    hold.status = "ready"
    hold.copy_id = copy.id
    hold.ready_at = moment
    hold.expires_at = moment + policy.pickup_window


async def _expire_ready_holds(
    session: AsyncSession, book_id: uuid.UUID, *, policy: LibraryPolicy, moment: datetime
) -> bool:
    """Ready holds whose pickup window has passed end; their copies go to the next in the queue.

    Answers whether any did: a request refused afterwards still keeps that (`keep_changes`),
    since it is true whatever the request wanted."""
    stale = (
        await session.scalars(
            select(Hold)
            .where(Hold.book_id == book_id, Hold.status == "ready", Hold.expires_at <= moment)
            .order_by(Hold.expires_at)
        )
    ).all()
    for hold in stale:
        hold.status = "expired"
        hold.closed_at = moment
        copy_id, hold.copy_id = hold.copy_id, None
        await session.flush()  # the copy's ready-hold slot is free before the next takes it
        copy = await session.get(Copy, copy_id) if copy_id is not None else None
        if copy is not None and copy.status == "held":
            await _shelve(session, copy, policy=policy, moment=moment)
            await session.flush()
    return bool(stale)


def _already_holding(*, keep_changes: bool = False) -> Conflict:
    return Conflict(
        N_("This member already has a hold on this book."), code="hold_exists", keep_changes=keep_changes
    )


async def place_hold(
    session: AsyncSession,
    book_id: uuid.UUID,
    *,
    caller: Caller,
    member_id: uuid.UUID | None,
    policy: LibraryPolicy,
    moment: datetime,
) -> Hold:
    """Joins the book's queue. With a copy on the shelf (nobody waiting), that copy is set aside
    for the member at once (`ready`). 409 when the member already holds or borrows the book."""
    member = await _member_for(session, caller, member_id)
    await get_book(session, book_id, lock=True)
    expired = await _expire_ready_holds(session, book_id, policy=policy, moment=moment)
    active = await session.scalar(
        select(Hold.id).where(Hold.book_id == book_id, Hold.member_id == member.id, ACTIVE_HOLD)
    )
    if active is not None:
        raise _already_holding(keep_changes=expired)
    borrowing = await session.scalar(
        select(Loan.id).where(
            Loan.book_id == book_id, Loan.member_id == member.id, Loan.returned_at.is_(None)
        )
    )
    if borrowing is not None:
        raise Conflict(
            N_("This member already has this book on loan."), code="already_borrowed", keep_changes=expired
        )
    hold = Hold(book_id=book_id, member_id=member.id, status="waiting", created_at=moment)
    session.add(hold)
    await _flush_unique(session, _already_holding())
    shelf = await session.scalar(
        select(Copy)
        .where(Copy.book_id == book_id, Copy.status == "available")
        .order_by(Copy.created_at)
        .limit(1)
    )
    if shelf is not None:
        await _shelve(session, shelf, policy=policy, moment=moment)
        await session.flush()
    return hold


async def _get_hold(session: AsyncSession, hold_id: uuid.UUID, *, caller: Caller) -> Hold:
    hold = await session.get(Hold, hold_id)
    if hold is None or not (caller.librarian or await _owns(session, hold.member_id, caller)):
        raise hold_not_found(hold_id)
    return hold


async def _owns(session: AsyncSession, member_id: uuid.UUID, caller: Caller) -> bool:
    return (await session.scalar(select(Member.user_id).where(Member.id == member_id))) == caller.user_id


async def cancel_hold(
    session: AsyncSession, hold_id: uuid.UUID, *, caller: Caller, policy: LibraryPolicy, moment: datetime
) -> None:
    """Leaves the queue (a ready hold's copy goes to the next member). 409 when it is no longer active."""
    hold = await _get_hold(session, hold_id, caller=caller)
    await get_book(session, hold.book_id, lock=True)
    await session.refresh(hold)
    if hold.status not in ACTIVE_HOLD_STATUSES:
        raise Conflict(
            N_("Hold {id} is {status} and cannot be cancelled."),
            code="hold_closed",
            id=str(hold_id),
            status=hold.status,
        )
    copy_id = hold.copy_id
    hold.status = "cancelled"
    hold.closed_at = moment
    hold.copy_id = None
    await session.flush()
    copy = await session.get(Copy, copy_id) if copy_id is not None else None
    if copy is not None and copy.status == "held":
        await _shelve(session, copy, policy=policy, moment=moment)
    await session.flush()


# --- loans ------------------------------------------------------------------------------------

LOAN_COLUMNS = (
    Loan.id,
    Loan.copy_id,
    Loan.book_id,
    Loan.member_id,
    Loan.loaned_at,
    Loan.due_at,
    Loan.returned_at,
    Loan.renewals,
    Loan.fine_minor,
    Loan.fine_currency,
    Loan.fine_paid_at,
)
LOAN_SORTS = sort_keys(Loan.id, loaned_at=Loan.loaned_at, due_at=Loan.due_at)


def loan_not_found(loan_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Loan {id} was not found."), id=str(loan_id))


@cache
def _loan_statement(librarian: bool) -> AnySelect:
    statement = select(*LOAN_COLUMNS).where(Loan.id == bindparam("loan_id"))
    return statement if librarian else statement.where(Loan.member_id.in_(_own_members()))


@cache
def _loans_statement(
    librarian: bool, by_member: bool, by_book: bool, open_only: bool, sort: LoanSort, after: bool
) -> AnySelect:
    statement = select(*LOAN_COLUMNS)
    if not librarian:
        statement = statement.where(Loan.member_id.in_(_own_members()))
    if by_member:
        statement = statement.where(Loan.member_id == bindparam("member_id"))
    if by_book:
        statement = statement.where(Loan.book_id == bindparam("book_id"))
    if open_only:
        statement = statement.where(Loan.returned_at.is_(None))
    return keyset_page(statement, LOAN_SORTS[sort], after=after)


@cache
def _overdue_statement(after: bool) -> AnySelect:
    statement = select(*LOAN_COLUMNS).where(
        Loan.returned_at.is_(None), Loan.due_at < bindparam("moment", type_=UTCDateTime())
    )
    return keyset_page(statement, LOAN_SORTS["due_at"], after=after)


def present_loan(row: Row, policy: LibraryPolicy, moment: datetime) -> Row:
    """The loan with its renewals left, lateness and fine: computed until it is returned, then fixed."""
    returned_at: datetime | None = row["returned_at"]
    until = returned_at or moment
    if returned_at is not None and row["fine_minor"] is not None:
        fine = money(row["fine_minor"], row["fine_currency"] or policy.currency)
    else:
        fine = money(policy.fine(row["due_at"], until), policy.currency)
    return {
        **row,
        "renewals_left": max(policy.max_renewals - row["renewals"], 0),
        "overdue": returned_at is None and row["due_at"] < moment,
        "days_overdue": policy.days_overdue(row["due_at"], until),
        "fine": fine,
    }


def _loan_row(loan: Loan) -> Row:
    return {column.key: getattr(loan, column.key) for column in LOAN_COLUMNS}


def loan_view(loan: Loan, policy: LibraryPolicy, moment: datetime) -> Row:
    return present_loan(_loan_row(loan), policy, moment)


async def read_loan(
    reader: Reader, loan_id: uuid.UUID, *, caller: Caller, policy: LibraryPolicy, moment: datetime
) -> Row:
    """A librarian sees every loan; a member only their own (others' are 404)."""
    row = await reader.one(_loan_statement(caller.librarian), loan_id=loan_id, user_id=caller.user_id)
    if row is None:
        raise loan_not_found(loan_id)
    return present_loan(row, policy, moment)


async def list_loans(
    reader: Reader,
    *,
    caller: Caller,
    params: PageParams,
    codec: CursorCodec,
    policy: LibraryPolicy,
    moment: datetime,
    member_id: uuid.UUID | None = None,
    book_id: uuid.UUID | None = None,
    open_only: bool = False,
    sort: LoanSort = "-loaned_at",
) -> tuple[list[Row], str | None]:
    values: dict[str, Any] = {"user_id": caller.user_id} if not caller.librarian else {}
    if member_id is not None:
        values["member_id"] = member_id
    if book_id is not None:
        values["book_id"] = book_id
    rows, cursor = await paginate(
        reader,
        lambda after: _loans_statement(
            caller.librarian, member_id is not None, book_id is not None, open_only, sort, after
        ),
        sort=LOAN_SORTS[sort],
        params=params,
        codec=codec,
        **values,
    )
    return [present_loan(row, policy, moment) for row in rows], cursor


async def list_overdue(
    reader: Reader, *, params: PageParams, codec: CursorCodec, policy: LibraryPolicy, moment: datetime
) -> tuple[list[Row], str | None]:
    """Open loans past their due time, the longest overdue first."""
    rows, cursor = await paginate(
        reader, _overdue_statement, sort=LOAN_SORTS["due_at"], params=params, codec=codec, moment=moment
    )
    return [present_loan(row, policy, moment) for row in rows], cursor


def _unavailable(copy_id: uuid.UUID, status: str, *, keep_changes: bool = False) -> Conflict:
    return Conflict(
        N_("Copy {id} cannot be lent: it is {status}."),
        code="copy_unavailable",
        id=str(copy_id),
        status=status,
        keep_changes=keep_changes,
    )


async def checkout(
    session: AsyncSession,
    copy_id: uuid.UUID,
    *,
    caller: Caller,
    member_id: uuid.UUID | None,
    policy: LibraryPolicy,
    moment: datetime,
) -> Loan:
    """Lends a copy: one on the shelf, or one set aside for this member's ready hold.

    The copy's status changes only where it still is what was read (a conditional UPDATE),
    and the new loan must be the copy's only open one (a partial unique index): a copy
    cannot be lent twice at once, however many requests race for it."""
    member = await _member_for(session, caller, member_id)
    copy = await session.get(Copy, copy_id)
    if copy is None:
        raise copy_not_found(copy_id)
    await get_book(session, copy.book_id, lock=True)
    expired = await _expire_ready_holds(session, copy.book_id, policy=policy, moment=moment)
    await session.refresh(copy)
    own_hold = await session.scalar(
        select(Hold).where(Hold.book_id == copy.book_id, Hold.member_id == member.id, ACTIVE_HOLD)
    )
    if copy.status == "held" and (own_hold is None or own_hold.copy_id != copy.id):
        raise Conflict(
            N_("Copy {id} is set aside for another member's hold."),
            code="copy_held",
            id=str(copy_id),
            keep_changes=expired,
        )
    if copy.status not in ("available", "held"):
        raise _unavailable(copy_id, copy.status, keep_changes=expired)
    claimed = await session.execute(
        update(Copy)
        .where(Copy.id == copy_id, Copy.status == copy.status)
        .values(status="on_loan", updated_at=moment)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(claimed) != 1:  # another checkout changed it since we read it
        raise _unavailable(copy_id, "on_loan")
    loan = Loan(
        copy_id=copy_id,
        book_id=copy.book_id,
        member_id=member.id,
        loaned_at=moment,
        due_at=moment + policy.loan_period,
        renewals=0,
    )
    session.add(loan)
    await _flush_unique(session, _unavailable(copy_id, "on_loan"))
    await session.refresh(copy)
    if own_hold is not None:
        other_copy = own_hold.copy_id if own_hold.copy_id != copy_id else None
        own_hold.status = "fulfilled"
        own_hold.closed_at = moment
        own_hold.copy_id = None
        await session.flush()
        released = await session.get(Copy, other_copy) if other_copy is not None else None
        if released is not None and released.status == "held":
            await _shelve(session, released, policy=policy, moment=moment)
            await session.flush()
    return loan


async def _get_loan(session: AsyncSession, loan_id: uuid.UUID, *, caller: Caller) -> Loan:
    loan = await session.get(Loan, loan_id)
    if loan is None or not (caller.librarian or await _owns(session, loan.member_id, caller)):
        raise loan_not_found(loan_id)
    return loan


def _already_returned(loan_id: uuid.UUID) -> Conflict:
    return Conflict(N_("Loan {id} has already been returned."), code="loan_returned", id=str(loan_id))


async def return_loan(
    session: AsyncSession, loan_id: uuid.UUID, *, caller: Caller, policy: LibraryPolicy, moment: datetime
) -> Loan:
    """Ends a loan: its fine is fixed, and the copy goes to the first member waiting for the book
    (for the pickup window) or back to the shelf. 409 when it was returned already."""
    loan = await _get_loan(session, loan_id, caller=caller)
    await get_book(session, loan.book_id, lock=True)
    fine = policy.fine(loan.due_at, moment)
    ended = await session.execute(
        update(Loan)
        .where(Loan.id == loan_id, Loan.returned_at.is_(None))
        .values(returned_at=moment, fine_minor=fine, fine_currency=policy.currency)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(ended) != 1:
        raise _already_returned(loan_id)
    await session.refresh(loan)
    await _expire_ready_holds(session, loan.book_id, policy=policy, moment=moment)
    copy = await session.get_one(Copy, loan.copy_id)
    await session.refresh(copy)
    if copy.status == "on_loan":
        await _shelve(session, copy, policy=policy, moment=moment)
    await session.flush()
    return loan


async def renew_loan(
    session: AsyncSession, loan_id: uuid.UUID, *, caller: Caller, policy: LibraryPolicy, moment: datetime
) -> Loan:
    """Extends an open loan by one loan period from its due time. 409 when it is returned, overdue,
    out of renewals, or when a member is waiting for the book."""
    loan = await _get_loan(session, loan_id, caller=caller)
    await get_book(session, loan.book_id, lock=True)
    await session.refresh(loan)
    if loan.returned_at is not None:
        raise _already_returned(loan_id)
    if loan.due_at <= moment:
        raise Conflict(
            N_("Loan {id} is overdue; return the copy instead of renewing it."),
            code="loan_overdue",
            id=str(loan_id),
        )
    if loan.renewals >= policy.max_renewals:
        raise Conflict(
            N_("Loan {id} has been renewed {limit} times already, the most allowed."),
            code="renewal_limit",
            id=str(loan_id),
            limit=policy.max_renewals,
        )
    if await _first_waiting(session, loan.book_id) is not None:
        raise Conflict(
            N_("Another member is waiting for this book; it cannot be renewed."), code="book_on_hold"
        )
    renewed = await session.execute(
        update(Loan)
        .where(Loan.id == loan_id, Loan.returned_at.is_(None), Loan.renewals == loan.renewals)
        .values(renewals=loan.renewals + 1, due_at=loan.due_at + policy.loan_period)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(renewed) != 1:
        raise Conflict(
            N_("Loan {id} changed meanwhile; read it again."), code="loan_changed", id=str(loan_id)
        )
    await session.refresh(loan)
    return loan


async def pay_fine(session: AsyncSession, loan_id: uuid.UUID, *, caller: Caller, moment: datetime) -> Loan:
    """Records that a returned loan's fine was paid. 409 when there is nothing to pay."""
    loan = await _get_loan(session, loan_id, caller=caller)
    paid = await session.execute(
        update(Loan)
        .where(
            Loan.id == loan_id,
            Loan.returned_at.is_not(None),
            Loan.fine_minor > 0,
            Loan.fine_paid_at.is_(None),
        )
        .values(fine_paid_at=moment)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(paid) != 1:
        raise Conflict(
            N_("Loan {id} has no unpaid fine (a fine is due once the loan is returned)."),
            code="no_fine_due",
            id=str(loan_id),
        )
    await session.refresh(loan)
    return loan


# --- a member's account -----------------------------------------------------------------------

ACCOUNT_OPEN_LOANS = select(Loan.due_at).where(
    Loan.member_id == bindparam("member_id"), Loan.returned_at.is_(None)
)
ACCOUNT_UNPAID_FINES = select(Loan.fine_minor, Loan.fine_currency).where(
    Loan.member_id == bindparam("member_id"),
    Loan.returned_at.is_not(None),
    Loan.fine_minor > 0,
    Loan.fine_paid_at.is_(None),
)
ACCOUNT_ACTIVE_HOLDS = select(func.count(Hold.id).label("count")).where(
    Hold.member_id == bindparam("member_id"), ACTIVE_HOLD
)


async def member_account(reader: Reader, *, caller: Caller, policy: LibraryPolicy, moment: datetime) -> Row:
    """The caller's member record with counts and fines due (404 when the account is not a member)."""
    member = await member_of(reader, caller.user_id)
    if member is None:
        raise NotFound(N_("Your account is not linked to a library member."), code="not_a_member")
    open_loans = await reader.all(ACCOUNT_OPEN_LOANS, member_id=member["id"])
    unpaid = await reader.all(ACCOUNT_UNPAID_FINES, member_id=member["id"])
    holds = await reader.one(ACCOUNT_ACTIVE_HOLDS, member_id=member["id"])
    accrued = sum(policy.fine(row["due_at"], moment) for row in open_loans)
    # Fines are frozen in the currency of their day; only those in today's currency add up here.
    owed = sum(row["fine_minor"] for row in unpaid if row["fine_currency"] == policy.currency)
    return {
        "member": member,
        "open_loans": len(open_loans),
        "overdue_loans": sum(1 for row in open_loans if row["due_at"] < moment),
        "active_holds": holds["count"] if holds else 0,
        "fines_due": money(accrued + owed, policy.currency),
    }
