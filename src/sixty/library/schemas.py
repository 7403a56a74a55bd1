"""What clients send to and receive from the library."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from sixty.auth.schemas import Email
from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.core.text import NOT_BLANK, strip_blank


class InvalidIsbnError(ValueError):
    pass


def _isbn13_check_digit(first12: str) -> int:
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first12))
    return (10 - total % 10) % 10


def normalize_isbn(value: str) -> str:
    """An ISBN-10 or ISBN-13 (hyphens and spaces allowed) as the 13 digits of its ISBN-13.

    Check digits are verified; an ISBN-10 is converted (978 prefix, new check digit)."""
    compact = value.replace("-", "").replace(" ", "").upper()
    if len(compact) == 10:
        if not (compact[:9].isdigit() and (compact[9].isdigit() or compact[9] == "X")):
            raise InvalidIsbnError(N_("An ISBN-10 has 9 digits and a check digit (0-9 or X)."))
        digits = [int(char) for char in compact[:9]] + [10 if compact[9] == "X" else int(compact[9])]
        if sum(weight * digit for weight, digit in zip(range(10, 0, -1), digits, strict=True)) % 11:
            raise InvalidIsbnError(N_("The ISBN's check digit is wrong."))
        first12 = "978" + compact[:9]
        return first12 + str(_isbn13_check_digit(first12))
    if len(compact) == 13:
        if not compact.isascii() or not compact.isdigit():
            raise InvalidIsbnError(N_("An ISBN-13 has 13 digits."))
        if not compact.startswith(("978", "979")):
            raise InvalidIsbnError(N_("An ISBN-13 starts with 978 or 979."))
        if _isbn13_check_digit(compact[:12]) != int(compact[12]):
            raise InvalidIsbnError(N_("The ISBN's check digit is wrong."))
        return compact
    raise InvalidIsbnError(N_("An ISBN has 10 or 13 digits (hyphens and spaces are ignored)."))


def _isbn(value: str) -> str:
    try:
        return normalize_isbn(value)
    except InvalidIsbnError as error:
        raise ValueError(str(error)) from None


def _year(value: int) -> int:
    if value > datetime.now(UTC).year + 1:
        raise ValueError(N_("The publication year is in the future."))
    return value


def _distinct(values: list[str]) -> list[str]:
    """Order kept, repeats (ignoring case) dropped."""
    seen: set[str] = set()
    kept = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            kept.append(value)
    return kept


Isbn = Annotated[
    str,
    StringConstraints(min_length=1, max_length=20, pattern=r"^[0-9Xx -]*$"),
    AfterValidator(_isbn),
]
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=300, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
PersonName = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
Subject = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
Authors = Annotated[list[PersonName], Field(min_length=1, max_length=20), AfterValidator(_distinct)]
Subjects = Annotated[list[Subject], Field(max_length=20), AfterValidator(_distinct)]
Year = Annotated[int, Field(ge=1, le=9999), AfterValidator(_year)]
Barcode = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
Condition = Literal["new", "good", "fair", "poor", "damaged"]
CopyStatus = Literal["available", "on_loan", "held", "maintenance", "lost", "withdrawn"]
# The statuses a librarian sets by hand; `on_loan` and `held` follow loans and holds.
SettableCopyStatus = Literal["available", "maintenance", "lost", "withdrawn"]
HoldStatus = Literal["waiting", "ready", "fulfilled", "cancelled", "expired"]

BookSort = Literal["title", "-title", "created_at", "-created_at"]
MemberSort = Literal["name", "-name", "created_at", "-created_at"]
LoanSort = Literal["loaned_at", "-loaned_at", "due_at", "-due_at"]

BOOK_ID = "3f1c9a0e-5b8d-4c2a-9e7f-1a2b3c4d5e6f"
COPY_ID = "7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f"
MEMBER_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
USER_ID = "5d3a9a55-1f0c-4f6e-9b59-2a0a4c1e7b11"
LOAN_ID = "a1b2c3d4-e5f6-4789-8abc-def012345678"
HOLD_ID = "b2c3d4e5-f6a7-4890-9bcd-ef0123456789"
NOW = "2026-11-26T09:30:00.123456Z"

BOOK_EXAMPLE: JsonDict = {
    "id": BOOK_ID,
    "isbn": "9780131103627",
    "title": "The C Programming Language",
    "authors": ["Brian W. Kernighan", "Dennis M. Ritchie"],
    "subjects": ["Programming", "C"],
    "publication_year": 1988,
    "copies_total": 3,
    "copies_available": 1,
    "created_at": NOW,
    "updated_at": NOW,
}
COPY_EXAMPLE: JsonDict = {
    "id": COPY_ID,
    "book_id": BOOK_ID,
    "barcode": "LIB-000123",
    "condition": "good",
    "status": "available",
    "created_at": NOW,
    "updated_at": NOW,
}
MEMBER_EXAMPLE: JsonDict = {
    "id": MEMBER_ID,
    "name": "Ann Example",
    "email": "ann@example.com",
    "user_id": USER_ID,
    "created_at": NOW,
    "updated_at": NOW,
}
MONEY_EXAMPLE: JsonDict = {"amount": "0.75", "currency": "EUR"}
LOAN_EXAMPLE: JsonDict = {
    "id": LOAN_ID,
    "copy_id": COPY_ID,
    "book_id": BOOK_ID,
    "member_id": MEMBER_ID,
    "loaned_at": "2026-11-02T10:00:00Z",
    "due_at": "2026-11-23T10:00:00Z",
    "returned_at": None,
    "renewals": 0,
    "renewals_left": 2,
    "overdue": True,
    "days_overdue": 3,
    "fine": MONEY_EXAMPLE,
    "fine_paid_at": None,
}
HOLD_EXAMPLE: JsonDict = {
    "id": HOLD_ID,
    "book_id": BOOK_ID,
    "member_id": MEMBER_ID,
    "status": "waiting",
    "position": 1,
    "copy_id": None,
    "created_at": NOW,
    "ready_at": None,
    "expires_at": None,
}


class _NoNull(BaseModel):
    """PATCH bodies: omitted means "keep"; an explicit null is refused for fields that cannot be null."""

    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value


class BookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "isbn": "0-13-110362-8",
                    "title": "The C Programming Language",
                    "authors": ["Brian W. Kernighan", "Dennis M. Ritchie"],
                    "subjects": ["Programming", "C"],
                    "publication_year": 1988,
                }
            ]
        },
    )

    isbn: Isbn = Field(description="ISBN-10 or ISBN-13; stored as ISBN-13 digits. Unique.")
    title: Title = Field(description="1..300 characters.")
    authors: Authors = Field(description="1..20 names, in credit order.")
    subjects: Subjects = Field(default_factory=list, description="Up to 20 subjects.")
    publication_year: Year | None = Field(default=None, description="Not later than next year.")


class BookUpdate(_NoNull):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"subjects": ["Programming"]}]})
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"publication_year"})

    isbn: Isbn | SkipJsonSchema[None] = None
    title: Title | SkipJsonSchema[None] = None
    authors: Authors | SkipJsonSchema[None] = None
    subjects: Subjects | SkipJsonSchema[None] = None
    publication_year: Year | None = Field(default=None, description="null clears it.")


class BookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [BOOK_EXAMPLE]})

    id: uuid.UUID
    isbn: str = Field(description="ISBN-13, digits only.")
    title: str
    authors: list[str]
    subjects: list[str]
    publication_year: int | None
    copies_total: int = Field(description="Copies the library holds (withdrawn ones excluded).")
    copies_available: int = Field(description="Copies on the shelf that can be borrowed now.")
    created_at: datetime
    updated_at: datetime


class BookPage(Page[BookRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [BOOK_EXAMPLE], "next_cursor": None}]}
    )


class CopyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"barcode": "LIB-000123", "condition": "good"}]}
    )

    barcode: Barcode = Field(description="1..40 letters, digits and `-`; unique.")
    condition: Condition = "good"


class CopyUpdate(_NoNull):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"condition": "fair", "status": "maintenance"}]}
    )

    condition: Condition | SkipJsonSchema[None] = None
    status: SettableCopyStatus | SkipJsonSchema[None] = Field(
        default=None, description="Only for a copy that is not on loan or set aside for a hold."
    )


class CopyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [COPY_EXAMPLE]})

    id: uuid.UUID
    book_id: uuid.UUID
    barcode: str
    condition: Condition
    status: CopyStatus
    created_at: datetime
    updated_at: datetime


class CopyPage(Page[CopyRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [COPY_EXAMPLE], "next_cursor": None}]}
    )


class MemberCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Ann Example", "email": "ann@example.com", "user_id": USER_ID}]
        },
    )

    name: PersonName
    email: Email | None = None
    user_id: uuid.UUID | None = Field(
        default=None, description="The account that acts as this member (one member per account)."
    )


class MemberUpdate(_NoNull):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"user_id": USER_ID}]})
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"email", "user_id"})

    name: PersonName | SkipJsonSchema[None] = None
    email: Email | None = Field(default=None, description="null clears it.")
    user_id: uuid.UUID | None = Field(default=None, description="null unlinks the account.")


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [MEMBER_EXAMPLE]})

    id: uuid.UUID
    name: str
    email: str | None
    user_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class MemberPage(Page[MemberRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [MEMBER_EXAMPLE], "next_cursor": None}]}
    )


class Money(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [MONEY_EXAMPLE]})

    amount: str = Field(description="Decimal string in the currency's major unit, e.g. `0.75`.")
    currency: str = Field(description="ISO 4217 code.")


class MemberAccount(BaseModel):
    """A member's own view: who they are, how many loans and holds, and what they owe."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member": MEMBER_EXAMPLE,
                    "open_loans": 2,
                    "overdue_loans": 1,
                    "active_holds": 1,
                    "fines_due": MONEY_EXAMPLE,
                }
            ]
        }
    )

    member: MemberRead
    open_loans: int
    overdue_loans: int
    active_holds: int
    fines_due: Money = Field(
        description="Unpaid fines of returned loans plus what open overdue loans have accrued so far."
    )


class LoanCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"copy_id": COPY_ID, "member_id": MEMBER_ID}, {"copy_id": COPY_ID}]},
    )

    copy_id: uuid.UUID
    member_id: uuid.UUID | None = Field(
        default=None, description="Librarians lend to any member; omitted, the caller borrows for themself."
    )


class LoanRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [LOAN_EXAMPLE]})

    id: uuid.UUID
    copy_id: uuid.UUID
    book_id: uuid.UUID
    member_id: uuid.UUID
    loaned_at: datetime
    due_at: datetime
    returned_at: datetime | None
    renewals: int
    renewals_left: int
    overdue: bool = Field(description="Open and past its due time.")
    days_overdue: int = Field(description="Started days past the due time (until returned).")
    fine: Money = Field(description="Accrued so far for an open loan; fixed when it is returned.")
    fine_paid_at: datetime | None


class LoanPage(Page[LoanRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [LOAN_EXAMPLE], "next_cursor": None}]}
    )


class HoldCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"book_id": BOOK_ID}, {"book_id": BOOK_ID, "member_id": MEMBER_ID}]},
    )

    book_id: uuid.UUID
    member_id: uuid.UUID | None = Field(
        default=None, description="Librarians place holds for any member; omitted, for the caller."
    )


class HoldRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [HOLD_EXAMPLE]})

    id: uuid.UUID
    book_id: uuid.UUID
    member_id: uuid.UUID
    status: HoldStatus = Field(
        description="`waiting` in the queue; `ready`: `copy_id` is set aside until `expires_at`."
    )
    position: int | None = Field(description="Place in the book's queue (1 = next), while waiting.")
    copy_id: uuid.UUID | None
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None


class HoldPage(Page[HoldRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [HOLD_EXAMPLE], "next_cursor": None}]}
    )
