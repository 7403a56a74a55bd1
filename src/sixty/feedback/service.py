"""B15 feedback collector: the logic. No HTTP here; the caller's unit of work commits.

Forms are edited by staff and answered by anyone with the link (`public_id`). A response is
checked against the form as a whole: every bad answer is reported at once (a 422 listing each
field) and nothing is stored. "One response per respondent" is the database's guarantee: the
response row carries the respondent's key and a unique constraint on (form, key) refuses a
second, so of any number of concurrent submissions one commits and the others answer 409.

Editing and answering do not pass each other: edits lock the form's row (`FOR UPDATE`),
responses share that lock (`FOR SHARE`) on PostgreSQL, and SQLite's write transactions are
serial already. So a form's questions never change under a response being checked, and
"no responses yet" stays true until the edit commits.

Once a form has a response its questions are fixed: answers stay comparable. Staff may still
change the title and description, append optional questions (earlier responses simply did not
answer them), hide responses, close and reopen the form, or delete it with its responses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Numeric,
    TypeDecorator,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.errors import Conflict, Gone, InvalidField, NotFound, Unauthorized, invalid_fields
from sixty.core.i18n import N_
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Real, Row, SessionReader
from sixty.core.text import strip_blank
from sixty.feedback.models import (
    FeedbackAnswer,
    FeedbackAnswerChoice,
    FeedbackForm,
    FeedbackQuestion,
    FeedbackResponse,
)
from sixty.feedback.schemas import (
    MAX_QUESTIONS,
    NPS_RANGE,
    RATING_RANGE,
    FormCreate,
    FormSort,
    FormStatus,
    FormUpdate,
    MultipleChoiceQuestion,
    QuestionSpec,
    ResponseCreate,
    ResponseSort,
    SingleChoiceQuestion,
    TextQuestion,
)

MANAGE = "feedback:manage"
EXPORT_BATCH = 500
# Spreadsheets run a cell that starts with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def now() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits


@dataclass(frozen=True)
class Respondent:
    """Who answers: an account, or an anonymous device (the value of its cookie), or neither."""

    user_id: uuid.UUID | None = None
    device: str | None = None

    def key(self) -> str | None:
        """What "one response each" compares: the account when signed in, else the device
        (hashed: the cookie's value is a bearer secret of sorts, and needs no storing)."""
        if self.user_id is not None:
            return f"user:{self.user_id.hex}"
        if self.device is not None:
            return "device:" + hashlib.sha256(self.device.encode()).hexdigest()
        return None


# --- errors -----------------------------------------------------------------------------------


def form_not_found(form_id: uuid.UUID | str) -> NotFound:
    return NotFound(N_("Form {id} was not found."), id=str(form_id))


def _has_responses() -> Conflict:
    return Conflict(
        N_(
            "This form has responses: its questions and settings are fixed (you may append optional "
            "questions, or change the title and description)."
        ),
        code="form_has_responses",
    )


# --- reading forms ----------------------------------------------------------------------------


class StoredId(TypeDecorator[Any]):
    """An id as the driver returns it (SQLite: 32 hex digits; asyncpg: its own UUID), not turned
    into a `uuid.UUID`: matching a run of answers to their responses and questions compares
    thousands of ids, and converting them was most of the export's time."""

    impl = Uuid
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


def stored_id(column: Any) -> Any:
    """`column` read as stored, labelled `key` (its name in the rows that match answers)."""
    return type_coerce(column, StoredId()).label("key")


RESPONSE_COUNT = (
    select(func.count(FeedbackResponse.id))
    .where(FeedbackResponse.form_id == FeedbackForm.id)
    .scalar_subquery()
    .label("response_count")
)
FORM_COLUMNS = (
    FeedbackForm.id,
    FeedbackForm.public_id,
    FeedbackForm.title,
    FeedbackForm.description,
    FeedbackForm.status,
    FeedbackForm.one_response_per_respondent,
    FeedbackForm.require_sign_in,
    RESPONSE_COUNT,
    FeedbackForm.created_by,
    FeedbackForm.created_at,
    FeedbackForm.updated_at,
    FeedbackForm.published_at,
    FeedbackForm.closed_at,
)
QUESTION_COLUMNS = (
    FeedbackQuestion.id,
    stored_id(FeedbackQuestion.id),
    FeedbackQuestion.position,
    FeedbackQuestion.kind,
    FeedbackQuestion.prompt,
    FeedbackQuestion.required,
    FeedbackQuestion.max_length,
    FeedbackQuestion.choices,
    FeedbackQuestion.min_selections,
    FeedbackQuestion.max_selections,
)
FORM_BY_ID = select(*FORM_COLUMNS).where(FeedbackForm.id == bindparam("form_id"))
FORM_BY_PUBLIC_ID = select(*FORM_COLUMNS).where(FeedbackForm.public_id == bindparam("public_id"))
QUESTIONS_OF_FORM = (
    select(*QUESTION_COLUMNS)
    .where(FeedbackQuestion.form_id == bindparam("form_id"))
    .order_by(FeedbackQuestion.position)
)
ANSWERED = select(FeedbackResponse.id).where(
    FeedbackResponse.form_id == bindparam("form_id"),
    FeedbackResponse.respondent_key == bindparam("respondent_key"),
)
FORM_SORTS = sort_keys(FeedbackForm.id, created_at=FeedbackForm.created_at)


async def _with_questions(reader: Reader, form: Row) -> Row:
    return {**form, "questions": await reader.all(QUESTIONS_OF_FORM, form_id=form["id"])}


async def read_form(reader: Reader, form_id: uuid.UUID) -> Row:
    """A form with its questions in order (staff)."""
    form = await reader.one(FORM_BY_ID, form_id=form_id)
    if form is None:
        raise form_not_found(form_id)
    return await _with_questions(reader, form)


async def form_view(session: AsyncSession, form_id: uuid.UUID) -> Row:
    """The form as GET answers it, read in the unit of work (its changes are not committed yet)."""
    return await read_form(SessionReader(session), form_id)


@cache
def _forms_statement(by_status: bool, sort: FormSort, after: bool) -> AnySelect:
    statement = select(*FORM_COLUMNS)
    if by_status:
        statement = statement.where(FeedbackForm.status == bindparam("status"))
    return keyset_page(statement, FORM_SORTS[sort], after=after)


async def list_forms(
    reader: Reader,
    *,
    params: PageParams,
    codec: CursorCodec,
    status: FormStatus | None = None,
    sort: FormSort = "-created_at",
) -> tuple[list[Row], str | None]:
    values = {"status": status} if status is not None else {}
    return await paginate(
        reader,
        lambda after: _forms_statement(status is not None, sort, after),
        sort=FORM_SORTS[sort],
        params=params,
        codec=codec,
        **values,
    )


async def read_public_form(reader: Reader, public_id: str, *, respondent: Respondent) -> Row:
    """An open or closed form as respondents see it; a draft is not public yet (404)."""
    form = await reader.one(FORM_BY_PUBLIC_ID, public_id=public_id)
    if form is None or form["status"] == "draft":
        raise form_not_found(public_id)
    key = respondent.key()
    answered = (
        form["one_response_per_respondent"]
        and key is not None
        and await reader.one(ANSWERED, form_id=form["id"], respondent_key=key) is not None
    )
    return {**await _with_questions(reader, form), "answered": bool(answered)}


# --- editing forms ----------------------------------------------------------------------------


def _question(form_id: uuid.UUID, position: int, spec: QuestionSpec) -> FeedbackQuestion:
    question = FeedbackQuestion(
        form_id=form_id, position=position, kind=spec.kind, prompt=spec.prompt, required=spec.required
    )
    if isinstance(spec, TextQuestion):
        question.max_length = spec.max_length
    if isinstance(spec, SingleChoiceQuestion | MultipleChoiceQuestion):
        question.choices = list(spec.choices)
    if isinstance(spec, MultipleChoiceQuestion):
        question.min_selections = spec.min_selections
        question.max_selections = (
            spec.max_selections if spec.max_selections is not None else len(spec.choices)
        )
    return question


async def create_form(
    session: AsyncSession, data: FormCreate, *, by: uuid.UUID | None, moment: datetime
) -> FeedbackForm:
    """A new draft form: not public until published."""
    form = FeedbackForm(
        public_id=new_public_id(),
        title=data.title,
        description=data.description,
        status="draft",
        one_response_per_respondent=data.one_response_per_respondent,
        require_sign_in=data.require_sign_in,
        created_by=by,
        created_at=moment,
        updated_at=moment,
    )
    session.add(form)
    await session.flush()
    session.add_all(_question(form.id, position, spec) for position, spec in enumerate(data.questions, 1))
    await session.flush()
    return form


async def _locked_form(session: AsyncSession, form_id: uuid.UUID) -> FeedbackForm:
    """The form, its row locked until commit (edits wait for responses being written, and
    responses for the edit)."""
    form = await session.scalar(select(FeedbackForm).where(FeedbackForm.id == form_id).with_for_update())
    if form is None:
        raise form_not_found(form_id)
    return form


async def _response_count(session: AsyncSession, form_id: uuid.UUID) -> int:
    statement = select(func.count()).where(FeedbackResponse.form_id == form_id)
    return int(await session.scalar(statement) or 0)


async def update_form(session: AsyncSession, form_id: uuid.UUID, data: FormUpdate) -> FeedbackForm:
    form = await _locked_form(session, form_id)
    changes = data.model_dump(exclude_unset=True)
    settings = {"one_response_per_respondent", "require_sign_in"}
    changed = {name for name in settings & changes.keys() if changes[name] != getattr(form, name)}
    if changed and await _response_count(session, form_id):
        raise _has_responses()
    for name, value in changes.items():
        setattr(form, name, value)
    form.updated_at = now()
    await session.flush()
    return form


async def replace_questions(
    session: AsyncSession, form_id: uuid.UUID, questions: Sequence[QuestionSpec]
) -> FeedbackForm:
    """The whole list, anew (new ids); only while the form has no responses."""
    form = await _locked_form(session, form_id)
    if await _response_count(session, form_id):
        raise _has_responses()
    # Deleted first, by statement: the new rows take the same positions.
    await session.execute(delete(FeedbackQuestion).where(FeedbackQuestion.form_id == form_id))
    session.add_all(_question(form_id, position, spec) for position, spec in enumerate(questions, 1))
    form.updated_at = now()
    await session.flush()
    return form


async def add_question(session: AsyncSession, form_id: uuid.UUID, spec: QuestionSpec) -> FeedbackQuestion:
    """Appends a question. Once the form has responses it must be optional: those responses
    could not have answered it."""
    form = await _locked_form(session, form_id)
    if spec.required and await _response_count(session, form_id):
        raise Conflict(
            N_("This form has responses: a question added now must be optional."),
            code="form_has_responses",
        )
    last = await session.scalar(
        select(func.max(FeedbackQuestion.position)).where(FeedbackQuestion.form_id == form_id)
    )
    count = await session.scalar(select(func.count()).where(FeedbackQuestion.form_id == form_id))
    if (count or 0) >= MAX_QUESTIONS:
        raise Conflict(N_("A form has at most 100 questions."), code="too_many_questions")
    question = _question(form_id, (last or 0) + 1, spec)
    session.add(question)
    form.updated_at = now()
    await session.flush()
    return question


async def publish_form(session: AsyncSession, form_id: uuid.UUID, *, moment: datetime) -> FeedbackForm:
    """Opens a draft (it needs a question) or reopens a closed form; an open form stays open."""
    form = await _locked_form(session, form_id)
    if form.status == "open":
        return form
    has_question = await session.scalar(
        select(FeedbackQuestion.id).where(FeedbackQuestion.form_id == form_id).limit(1)
    )
    if has_question is None:
        raise Conflict(N_("Add a question before publishing the form."), code="form_has_no_questions")
    form.status = "open"
    form.published_at = form.published_at or moment
    form.closed_at = None
    form.updated_at = moment
    await session.flush()
    return form


async def close_form(session: AsyncSession, form_id: uuid.UUID, *, moment: datetime) -> FeedbackForm:
    """Stops taking responses (410 to respondents); a closed form stays closed."""
    form = await _locked_form(session, form_id)
    if form.status == "draft":
        raise Conflict(
            N_("A draft has nothing to close; delete it, or publish it first."), code="form_is_draft"
        )
    if form.status == "open":
        form.status = "closed"
        form.closed_at = moment
        form.updated_at = moment
        await session.flush()
    return form


async def delete_form(session: AsyncSession, form_id: uuid.UUID) -> None:
    """The form, its questions and every response to it."""
    form = await _locked_form(session, form_id)
    await session.delete(form)
    await session.flush()


# --- answering --------------------------------------------------------------------------------


@dataclass
class Answer:
    """One checked answer, ready to store."""

    question: FeedbackQuestion
    number: int | None = None
    text: str | None = None
    choices: list[str] = field(default_factory=list)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unanswered(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not strip_blank(value))


def _check_score(question: FeedbackQuestion, value: Any, where: tuple[str, ...]) -> Answer | InvalidField:
    low, high = RATING_RANGE if question.kind == "rating" else NPS_RANGE
    if not _is_int(value):
        return InvalidField(
            where, "wrong_type", N_("Must be an integer from {low} to {high}."), {"low": low, "high": high}
        )
    if not low <= value <= high:
        return InvalidField(
            where, "out_of_range", N_("Must be an integer from {low} to {high}."), {"low": low, "high": high}
        )
    return Answer(question, number=value)


def _check_text(question: FeedbackQuestion, value: Any, where: tuple[str, ...]) -> Answer | InvalidField:
    if not isinstance(value, str):
        return InvalidField(where, "wrong_type", N_("Must be a string."))
    text = strip_blank(value)
    if "\x00" in text:
        return InvalidField(where, "invalid_text", N_("Must not contain NUL characters."))
    limit = question.max_length or 0
    if len(text) > limit:
        return InvalidField(
            where,
            "string_too_long",
            N_("Must be at most {max_length} characters long."),
            {"max_length": limit},
        )
    return Answer(question, text=text)


def _check_choices(question: FeedbackQuestion, value: Any, where: tuple[str, ...]) -> Answer | InvalidField:
    choices = question.choices or []
    allowed = {"expected": ", ".join(choices)}
    if question.kind == "single_choice":
        if not isinstance(value, str):
            return InvalidField(where, "wrong_type", N_("Must be one of: {expected}."), allowed)
        picked = [value]
    else:
        if not isinstance(value, list):
            return InvalidField(where, "wrong_type", N_("Must be a list of some of: {expected}."), allowed)
        picked = value
    if any(choice not in choices for choice in picked):
        return InvalidField(where, "unknown_choice", N_("Must be one of: {expected}."), allowed)
    if len(set(picked)) != len(picked):
        return InvalidField(where, "duplicate_choice", N_("Picks the same choice twice."))
    low, high = question.min_selections or 1, question.max_selections or 1
    if not low <= len(picked) <= high:
        return InvalidField(
            where, "selection_count", N_("Pick between {low} and {high} choices."), {"low": low, "high": high}
        )
    return Answer(question, choices=sorted(picked, key=choices.index))


CHECKS = {
    "rating": _check_score,
    "nps": _check_score,
    "text": _check_text,
    "single_choice": _check_choices,
    "multiple_choice": _check_choices,
}


def check_answers(questions: Sequence[FeedbackQuestion], answers: dict[str, Any]) -> list[Answer]:
    """The answers checked against the form's questions: every problem reported at once."""
    by_id = {str(question.id): question for question in questions}
    given: dict[str, tuple[str, Any]] = {}  # question id -> (the key as sent, the value)
    errors: list[InvalidField] = []
    for key, value in answers.items():
        where = ("body", "answers", key)
        try:
            question_id = str(uuid.UUID(key))
        except ValueError:
            question_id = key
        if question_id not in by_id:
            errors.append(InvalidField(where, "unknown_question", N_("This form has no such question.")))
        elif question_id in given:
            errors.append(InvalidField(where, "duplicate_answer", N_("This question is answered twice.")))
        else:
            given[question_id] = (key, value)
    checked = []
    for question_id, question in by_id.items():
        key, value = given.get(question_id, (question_id, None))
        where = ("body", "answers", key)
        if _unanswered(value):
            if question.required:
                errors.append(InvalidField(where, "missing", N_("This question is required.")))
            continue
        outcome = CHECKS[question.kind](question, value, where)
        if isinstance(outcome, InvalidField):
            errors.append(outcome)
        else:
            checked.append(outcome)
    if errors:
        raise invalid_fields(errors)
    return checked


async def _form_for_answer(session: AsyncSession, public_id: str) -> FeedbackForm:
    """The form, its row share-locked: many responses at once, but not during an edit."""
    form = await session.scalar(
        select(FeedbackForm).where(FeedbackForm.public_id == public_id).with_for_update(read=True)
    )
    if form is None or form.status == "draft":
        raise form_not_found(public_id)
    return form


def _already_answered() -> Conflict:
    return Conflict(N_("You have already responded to this form."), code="already_responded")


async def submit_response(
    session: AsyncSession,
    public_id: str,
    data: ResponseCreate,
    *,
    respondent: Respondent,
    moment: datetime,
) -> FeedbackResponse:
    """Stores one response. 404 unknown or draft form, 410 closed, 401 when the form wants a
    signed-in account, 409 when this respondent has responded already (one-response forms),
    422 listing every bad answer. Nothing is stored unless it all holds."""
    form = await _form_for_answer(session, public_id)
    if form.status == "closed":
        raise Gone(N_("This form is closed and takes no more responses."), code="form_closed")
    if form.require_sign_in and respondent.user_id is None:
        raise Unauthorized(N_("Sign in to respond to this form."), code="sign_in_required")
    key = respondent.key() if form.one_response_per_respondent else None
    if form.one_response_per_respondent:
        if key is None:  # the router always sends an account or a device
            raise Unauthorized(N_("Sign in, or accept the device cookie, to respond to this form."))
        taken = await session.scalar(
            select(FeedbackResponse.id).where(
                FeedbackResponse.form_id == form.id, FeedbackResponse.respondent_key == key
            )
        )
        if taken is not None:
            raise _already_answered()
    questions = (
        await session.scalars(
            select(FeedbackQuestion)
            .where(FeedbackQuestion.form_id == form.id)
            .order_by(FeedbackQuestion.position)
        )
    ).all()
    answers = check_answers(questions, data.answers)
    response = FeedbackResponse(
        form_id=form.id, respondent_key=key, user_id=respondent.user_id, created_at=moment
    )
    session.add(response)
    try:
        async with session.begin_nested():  # a concurrent response of the same respondent won
            await session.flush()
    except IntegrityError:
        raise _already_answered() from None
    for answer in answers:
        session.add(
            FeedbackAnswer(
                response_id=response.id,
                question_id=answer.question.id,
                form_id=form.id,
                number=answer.number,
                text=answer.text,
            )
        )
        session.add_all(
            FeedbackAnswerChoice(
                response_id=response.id, question_id=answer.question.id, choice=choice, form_id=form.id
            )
            for choice in answer.choices
        )
    await session.flush()
    return response


# --- responses (staff) ------------------------------------------------------------------------

RESPONSE_COLUMNS = (
    FeedbackResponse.id,
    stored_id(FeedbackResponse.id),
    FeedbackResponse.form_id,
    FeedbackResponse.user_id,
    FeedbackResponse.hidden,
    FeedbackResponse.hidden_at,
    FeedbackResponse.created_at,
)
RESPONSE_BY_ID = select(*RESPONSE_COLUMNS).where(FeedbackResponse.id == bindparam("response_id"))
RESPONSE_SORTS = sort_keys(FeedbackResponse.id, created_at=FeedbackResponse.created_at)
FORM_EXISTS = select(FeedbackForm.id).where(FeedbackForm.id == bindparam("form_id"))


def _between(created_at: Any, row_id: Any) -> Any:
    """Rows from (`:lo_at`, `:lo_id`) to (`:hi_at`, `:hi_id`) in (created_at, id) order, inclusive.
    The plain bounds on created_at come first: they are what an index range scan can use."""
    lo_at: BindParameter[Any] = bindparam("lo_at")
    hi_at: BindParameter[Any] = bindparam("hi_at")
    return and_(
        created_at >= lo_at,
        created_at <= hi_at,
        or_(created_at > lo_at, row_id >= bindparam("lo_id")),
        or_(created_at < hi_at, row_id <= bindparam("hi_id")),
    )


# The answers of a run of responses (a page, an export batch): one query each for numbers and
# texts and for choices, whatever the run's length.
ANSWERS_IN_RANGE = (
    select(
        type_coerce(FeedbackAnswer.response_id, StoredId()).label("response_key"),
        type_coerce(FeedbackAnswer.question_id, StoredId()).label("question_key"),
        FeedbackAnswer.number,
        FeedbackAnswer.text,
    )
    .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswer.response_id)
    .where(FeedbackResponse.form_id == bindparam("form_id"))
    .where(_between(FeedbackResponse.created_at, FeedbackResponse.id))
)
CHOICES_IN_RANGE = (
    select(
        type_coerce(FeedbackAnswerChoice.response_id, StoredId()).label("response_key"),
        type_coerce(FeedbackAnswerChoice.question_id, StoredId()).label("question_key"),
        FeedbackAnswerChoice.choice,
    )
    .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswerChoice.response_id)
    .where(FeedbackResponse.form_id == bindparam("form_id"))
    .where(_between(FeedbackResponse.created_at, FeedbackResponse.id))
)


@cache
def _responses_statement(hidden: bool | None, sort: ResponseSort, after: bool) -> AnySelect:
    statement = select(*RESPONSE_COLUMNS).where(FeedbackResponse.form_id == bindparam("form_id"))
    if hidden is not None:
        statement = statement.where(FeedbackResponse.hidden.is_(hidden))
    return keyset_page(statement, RESPONSE_SORTS[sort], after=after)


async def _answers_of(
    reader: Reader, form_id: uuid.UUID, rows: list[Row], questions: list[Row]
) -> dict[Any, dict[str, Any]]:
    """For each response of `rows` (a run in created_at order, either way), keyed by its stored
    id (`row["key"]`): question id -> answer, multiple choices in the question's order."""
    if not rows:
        return {}
    ordered = sorted(rows, key=lambda row: (row["created_at"], row["id"]))
    bounds = {
        "form_id": form_id,
        "lo_at": ordered[0]["created_at"],
        "lo_id": ordered[0]["id"],
        "hi_at": ordered[-1]["created_at"],
        "hi_id": ordered[-1]["id"],
    }
    by_key = {question["key"]: question for question in questions}
    names = {question["key"]: str(question["id"]) for question in questions}
    answers: dict[Any, dict[str, Any]] = {row["key"]: {} for row in rows}
    for answer in await reader.all(ANSWERS_IN_RANGE, **bounds):
        picked = answers.get(answer["response_key"])
        value = answer["number"] if answer["number"] is not None else answer["text"]
        if picked is not None and value is not None and answer["question_key"] in names:
            picked[names[answer["question_key"]]] = value
    for pick in await reader.all(CHOICES_IN_RANGE, **bounds):
        picked = answers.get(pick["response_key"])
        question = by_key.get(pick["question_key"])
        if picked is None or question is None:
            continue
        if question["kind"] == "single_choice":
            picked[names[question["key"]]] = pick["choice"]
        else:
            picked.setdefault(names[question["key"]], []).append(pick["choice"])
    order = {names[key]: question["choices"] or [] for key, question in by_key.items()}
    for picked in answers.values():
        for question_id, value in picked.items():
            if isinstance(value, list) and len(value) > 1:
                value.sort(key=order[question_id].index)
    return answers


async def _require_form(reader: Reader, form_id: uuid.UUID) -> None:
    if await reader.one(FORM_EXISTS, form_id=form_id) is None:
        raise form_not_found(form_id)


async def list_responses(
    reader: Reader,
    form_id: uuid.UUID,
    *,
    params: PageParams,
    codec: CursorCodec,
    hidden: bool | None = None,
    sort: ResponseSort = "-created_at",
) -> tuple[list[Row], str | None]:
    await _require_form(reader, form_id)
    rows, next_cursor = await paginate(
        reader,
        lambda after: _responses_statement(hidden, sort, after),
        sort=RESPONSE_SORTS[sort],
        params=params,
        codec=codec,
        form_id=form_id,
    )
    questions = await reader.all(QUESTIONS_OF_FORM, form_id=form_id)
    answers = await _answers_of(reader, form_id, rows, questions)
    return [{**row, "answers": answers[row["key"]]} for row in rows], next_cursor


async def set_hidden(
    session: AsyncSession,
    form_id: uuid.UUID,
    response_id: uuid.UUID,
    *,
    hidden: bool,
    by: uuid.UUID,
    moment: datetime,
) -> Row:
    """Moderation: a hidden response leaves the summary and the export (and still counts as the
    respondent's one response)."""
    response = await session.get(FeedbackResponse, response_id)
    if response is None or response.form_id != form_id:
        raise NotFound(N_("Response {id} was not found."), id=str(response_id))
    if response.hidden != hidden:
        response.hidden = hidden
        response.hidden_at, response.hidden_by = (moment, by) if hidden else (None, None)
        await session.flush()
    reader = SessionReader(session)
    row = await reader.one(RESPONSE_BY_ID, response_id=response_id)
    if row is None:  # it was just read; for the type checker
        raise NotFound(N_("Response {id} was not found."), id=str(response_id))
    questions = await reader.all(QUESTIONS_OF_FORM, form_id=form_id)
    answers = await _answers_of(reader, form_id, [row], questions)
    return {**row, "answers": answers[row["key"]]}


# --- summary ----------------------------------------------------------------------------------

_visible = and_(FeedbackResponse.form_id == bindparam("form_id"), FeedbackResponse.hidden.is_(False))
_number = FeedbackAnswer.number
_scored = func.count(_number)
_promoters = func.sum(case((_number >= 9, 1), else_=0))
_detractors = func.sum(case((_number <= 6, 1), else_=0))
# 100.0 is a literal (numeric on PostgreSQL, where round() takes numeric, not float).
NPS = cast(
    func.round(literal_column("100.0") * (_promoters - _detractors) / func.nullif(_scored, 0), 1), Real()
)
AVERAGE = cast(func.round(cast(func.avg(_number), Numeric), 2), Real())

QUESTION_FIGURES = (
    select(
        FeedbackAnswer.question_id, func.count().label("count"), AVERAGE.label("average"), NPS.label("nps")
    )
    .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswer.response_id)
    .where(_visible)
    .group_by(FeedbackAnswer.question_id)
)
SCORE_COUNTS = (
    select(FeedbackAnswer.question_id, _number.label("value"), func.count().label("count"))
    .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswer.response_id)
    .where(_visible, _number.is_not(None))
    .group_by(FeedbackAnswer.question_id, _number)
)
CHOICE_COUNTS = (
    select(
        FeedbackAnswerChoice.question_id,
        FeedbackAnswerChoice.choice.label("value"),
        func.count().label("count"),
    )
    .join(FeedbackResponse, FeedbackResponse.id == FeedbackAnswerChoice.response_id)
    .where(_visible)
    .group_by(FeedbackAnswerChoice.question_id, FeedbackAnswerChoice.choice)
)
RESPONSE_TOTALS = select(
    func.count(case((FeedbackResponse.hidden.is_(False), 1))).label("visible"),
    func.count(case((FeedbackResponse.hidden.is_(True), 1))).label("hidden"),
).where(FeedbackResponse.form_id == bindparam("form_id"))


def _scale(kind: str) -> list[int | str]:
    low, high = RATING_RANGE if kind == "rating" else NPS_RANGE
    return list(range(low, high + 1))


async def summarize(reader: Reader, form_id: uuid.UUID) -> Row:
    """Per question: how many answered, the mean and NPS (scores), every score's or choice's
    count. Computed by the database over visible responses only."""
    await _require_form(reader, form_id)
    questions = await reader.all(QUESTIONS_OF_FORM, form_id=form_id)
    figures = {row["question_id"]: row for row in await reader.all(QUESTION_FIGURES, form_id=form_id)}
    counts: dict[Any, dict[Any, int]] = {}
    for row in [
        *await reader.all(SCORE_COUNTS, form_id=form_id),
        *await reader.all(CHOICE_COUNTS, form_id=form_id),
    ]:
        counts.setdefault(row["question_id"], {})[row["value"]] = int(row["count"])
    totals = await reader.one(RESPONSE_TOTALS, form_id=form_id) or {"visible": 0, "hidden": 0}
    summaries = []
    for question in questions:
        kind = question["kind"]
        found = figures.get(question["id"], {})
        buckets: list[int | str] = []
        if kind in ("rating", "nps"):
            buckets = _scale(kind)
        elif kind in ("single_choice", "multiple_choice"):
            buckets = list(question["choices"] or [])
        tally = counts.get(question["id"], {})
        summaries.append(
            {
                "question_id": question["id"],
                "kind": kind,
                "prompt": question["prompt"],
                "count": int(found.get("count") or 0),
                "average": found.get("average") if kind in ("rating", "nps") else None,
                "nps": found.get("nps") if kind == "nps" else None,
                "distribution": [{"value": value, "count": tally.get(value, 0)} for value in buckets],
            }
        )
    return {
        "form_id": form_id,
        "responses": int(totals["visible"] or 0),
        "hidden_responses": int(totals["hidden"] or 0),
        "questions": summaries,
    }


# --- export -----------------------------------------------------------------------------------


def neutralize(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula: `=SUM(A1)` becomes `'=SUM(A1)`."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return neutralize("; ".join(value))
    return neutralize(str(value))


EXPORT_FIXED_COLUMNS = ("response_id", "submitted_at", "user_id", "hidden")


async def export_rows(
    reader: Reader, form_id: uuid.UUID, *, include_hidden: bool = False
) -> AsyncIterator[str]:
    """The form's responses as CSV text, a batch of rows at a time (memory stays flat): a header
    (fixed columns, then one column per question, by prompt), then one row per response, oldest
    first. Every cell a person typed is neutralised against formula injection."""
    questions = await reader.all(QUESTIONS_OF_FORM, form_id=form_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*EXPORT_FIXED_COLUMNS, *(neutralize(question["prompt"]) for question in questions)])
    names = [str(question["id"]) for question in questions]
    statement = _responses_statement(None if include_hidden else False, "created_at", True)
    first = _responses_statement(None if include_hidden else False, "created_at", False)
    after: Row | None = None
    while True:
        values: dict[str, Any] = {"form_id": form_id, "limit": EXPORT_BATCH}
        if after is None:
            rows = await reader.all(first, **values)
        else:
            rows = await reader.all(
                statement, **values, after_value=after["created_at"], after_key=after["id"]
            )
        answers = await _answers_of(reader, form_id, rows, questions)
        for row in rows:
            picked = answers[row["key"]]
            writer.writerow(
                [
                    row["id"],
                    row["created_at"].isoformat(),
                    row["user_id"] or "",
                    "true" if row["hidden"] else "false",
                    *(_cell(picked.get(name)) for name in names),
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_BATCH:
            return
        after = rows[-1]


async def form_for_export(reader: Reader, form_id: uuid.UUID) -> Row:
    form = await reader.one(FORM_BY_ID, form_id=form_id)
    if form is None:
        raise form_not_found(form_id)
    return form
