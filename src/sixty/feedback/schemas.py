"""What clients send to and receive from the feedback collector."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict, JsonValue
from pydantic.json_schema import SkipJsonSchema

from sixty.core.i18n import N_
from sixty.core.pagination import Page
from sixty.core.text import NOT_BLANK, ONE_LINE_NOT_BLANK, strip_blank

MAX_QUESTIONS = 100
MAX_CHOICES = 50
TEXT_MAX = 10_000
DEFAULT_TEXT_MAX = 2_000
RATING_RANGE = (1, 5)
NPS_RANGE = (0, 10)

QuestionKind = Literal["rating", "nps", "text", "single_choice", "multiple_choice"]
FormStatus = Literal["draft", "open", "closed"]
FormSort = Literal["created_at", "-created_at"]
ResponseSort = Literal["created_at", "-created_at"]
# A public id as `secrets.token_urlsafe` makes it.
PUBLIC_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _distinct_choices(values: list[str]) -> list[str]:
    """Choices are what answers name: two that differ only in case would be one to a reader."""
    folded = [value.casefold() for value in values]
    if len(set(folded)) != len(folded):
        raise ValueError(N_("Choices must differ from each other (ignoring case)."))
    return values


Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
Description = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
# Prompts and choices become CSV column names and cells: one line each.
Prompt = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
ChoiceLabel = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE_NOT_BLANK),
    AfterValidator(strip_blank),
]
Choices = Annotated[
    list[ChoiceLabel], Field(min_length=2, max_length=MAX_CHOICES), AfterValidator(_distinct_choices)
]

NOW = "2026-11-26T09:30:00.123456Z"
FORM_ID = "0b7e3c1a-2d4f-4a6b-8c9d-1e2f3a4b5c6d"
PUBLIC_ID = "q3Vb9kS2xYf7LmN0pR4tUw"
RESPONSE_ID = "6e5d4c3b-2a19-4876-9f5e-4d3c2b1a0f9e"
RATING_ID = "11111111-2222-4333-8444-555555555555"
NPS_ID = "22222222-3333-4444-8555-666666666666"
CHOICE_ID = "33333333-4444-4555-8666-777777777777"
TEXT_ID = "44444444-5555-4666-8777-888888888888"

QUESTIONS_EXAMPLE: list[JsonValue] = [
    {"kind": "rating", "prompt": "How was the talk?", "required": True},
    {"kind": "nps", "prompt": "How likely are you to recommend us to a friend?"},
    {
        "kind": "multiple_choice",
        "prompt": "Which sessions did you attend?",
        "choices": ["Keynote", "Workshop", "Panel"],
        "min_selections": 1,
        "max_selections": 2,
    },
    {"kind": "text", "prompt": "Anything else?", "max_length": 500},
]
QUESTION_READ_EXAMPLES: list[JsonValue] = [
    {
        "id": RATING_ID,
        "position": 1,
        "kind": "rating",
        "prompt": "How was the talk?",
        "required": True,
        "max_length": None,
        "choices": None,
        "min_selections": None,
        "max_selections": None,
    },
    {
        "id": CHOICE_ID,
        "position": 2,
        "kind": "multiple_choice",
        "prompt": "Which sessions did you attend?",
        "required": False,
        "max_length": None,
        "choices": ["Keynote", "Workshop", "Panel"],
        "min_selections": 1,
        "max_selections": 2,
    },
]
FORM_CREATE_EXAMPLE: JsonDict = {
    "title": "Conference feedback",
    "description": "Two minutes, anonymous.",
    "one_response_per_respondent": True,
    "questions": QUESTIONS_EXAMPLE,
}
FORM_EXAMPLE: JsonDict = {
    "id": FORM_ID,
    "public_id": PUBLIC_ID,
    "url": f"https://sixty.example.com/api/feedback/f/{PUBLIC_ID}",
    "title": "Conference feedback",
    "description": "Two minutes, anonymous.",
    "status": "open",
    "one_response_per_respondent": True,
    "require_sign_in": False,
    "response_count": 42,
    "questions": QUESTION_READ_EXAMPLES,
    "created_by": "5d3a9a55-1f0c-4f6e-9b59-2a0a4c1e7b11",
    "created_at": NOW,
    "updated_at": NOW,
    "published_at": NOW,
    "closed_at": None,
}
PUBLIC_FORM_EXAMPLE: JsonDict = {
    "public_id": PUBLIC_ID,
    "title": "Conference feedback",
    "description": "Two minutes, anonymous.",
    "status": "open",
    "one_response_per_respondent": True,
    "require_sign_in": False,
    "answered": False,
    "questions": QUESTION_READ_EXAMPLES,
}
ANSWERS_EXAMPLE: JsonDict = {RATING_ID: 5, CHOICE_ID: ["Keynote", "Panel"]}
RESPONSE_CREATE_EXAMPLE: JsonDict = {"answers": ANSWERS_EXAMPLE}
RESPONSE_CREATED_EXAMPLE: JsonDict = {"id": RESPONSE_ID, "submitted_at": NOW}
RESPONSE_EXAMPLE: JsonDict = {
    "id": RESPONSE_ID,
    "form_id": FORM_ID,
    "user_id": None,
    "hidden": False,
    "hidden_at": None,
    "created_at": NOW,
    "answers": ANSWERS_EXAMPLE,
}
SUMMARY_EXAMPLE: JsonDict = {
    "form_id": FORM_ID,
    "responses": 42,
    "hidden_responses": 1,
    "questions": [
        {
            "question_id": RATING_ID,
            "kind": "rating",
            "prompt": "How was the talk?",
            "count": 40,
            "average": 4.35,
            "nps": None,
            "distribution": [
                {"value": 1, "count": 0},
                {"value": 2, "count": 1},
                {"value": 3, "count": 4},
                {"value": 4, "count": 13},
                {"value": 5, "count": 22},
            ],
        },
        {
            "question_id": NPS_ID,
            "kind": "nps",
            "prompt": "How likely are you to recommend us to a friend?",
            "count": 38,
            "average": 8.1,
            "nps": 31.6,
            "distribution": [
                {"value": score, "count": count} for score, count in enumerate([0] * 5 + [2, 4, 3, 8, 11, 10])
            ],
        },
        {
            "question_id": TEXT_ID,
            "kind": "text",
            "prompt": "Anything else?",
            "count": 12,
            "average": None,
            "nps": None,
            "distribution": [],
        },
    ],
}


# --- questions --------------------------------------------------------------------------------


class _Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Prompt = Field(description="1..500 characters on one line.")
    required: StrictBool = Field(default=False, description="A response must answer it.")


class RatingQuestion(_Question):
    """A rating from 1 to 5."""

    kind: Literal["rating"]


class NpsQuestion(_Question):
    """Net Promoter Score: 0 to 10; 9-10 promoters, 0-6 detractors."""

    kind: Literal["nps"]


class TextQuestion(_Question):
    """Free text."""

    kind: Literal["text"]
    max_length: int = Field(default=DEFAULT_TEXT_MAX, ge=1, le=TEXT_MAX, description="Longest answer.")


class SingleChoiceQuestion(_Question):
    """One of the choices."""

    kind: Literal["single_choice"]
    choices: Choices = Field(description="2..50 labels, one line each, distinct ignoring case.")


class MultipleChoiceQuestion(_Question):
    """Some of the choices: between `min_selections` and `max_selections` of them."""

    kind: Literal["multiple_choice"]
    choices: Choices = Field(description="2..50 labels, one line each, distinct ignoring case.")
    min_selections: int = Field(
        default=0,
        ge=0,
        le=MAX_CHOICES,
        description="Fewest picks in an answer (a required question needs 1).",
    )
    max_selections: int | None = Field(
        default=None, ge=1, le=MAX_CHOICES, description="Most picks; default: every choice."
    )

    @model_validator(mode="after")
    def _selections_fit(self) -> MultipleChoiceQuestion:
        most = self.max_selections if self.max_selections is not None else len(self.choices)
        if most > len(self.choices) or self.min_selections > most:
            raise ValueError(
                N_("Selections must satisfy min_selections <= max_selections <= number of choices.")
            )
        return self


QuestionSpec = Annotated[
    RatingQuestion | NpsQuestion | TextQuestion | SingleChoiceQuestion | MultipleChoiceQuestion,
    Field(discriminator="kind"),
]
Questions = Annotated[list[QuestionSpec], Field(max_length=MAX_QUESTIONS)]


class QuestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": QUESTION_READ_EXAMPLES})

    id: uuid.UUID = Field(description="The key of this question's answer in a response's `answers`.")
    position: int = Field(description="1, 2, ...: the order of the form.")
    kind: QuestionKind
    prompt: str
    required: bool
    max_length: int | None = Field(description="Text questions: the longest answer.")
    choices: list[str] | None = Field(description="Choice questions: the labels, in order.")
    min_selections: int | None = Field(description="Multiple choice: fewest picks.")
    max_selections: int | None = Field(description="Multiple choice: most picks.")


class QuestionsReplace(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"questions": QUESTIONS_EXAMPLE}]}
    )

    questions: Questions = Field(description="The form's questions, in order; they replace the current ones.")


# --- forms ------------------------------------------------------------------------------------


class FormCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [FORM_CREATE_EXAMPLE]})

    title: Title
    description: Description | None = None
    one_response_per_respondent: StrictBool = Field(
        default=False,
        description="Take one response per account, or per device for anonymous respondents (a cookie).",
    )
    require_sign_in: StrictBool = Field(default=False, description="Only signed-in accounts may respond.")
    questions: Questions = Field(
        default_factory=list, description="In order; at least one before publishing."
    )


class FormUpdate(BaseModel):
    """PATCH: omitted means "keep". Once a form has responses only its title and description change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Conference 2026"}]})
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"description"})

    title: Title | SkipJsonSchema[None] = None
    description: Description | None = Field(default=None, description="null clears it.")
    one_response_per_respondent: StrictBool | SkipJsonSchema[None] = None
    require_sign_in: StrictBool | SkipJsonSchema[None] = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value


class FormRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FORM_EXAMPLE]})

    id: uuid.UUID
    public_id: str = Field(description="The unguessable id of the public link.")
    url: str = Field(description="The public link: read the form, `POST` responses to `{url}/responses`.")
    title: str
    description: str | None
    status: FormStatus = Field(description="`draft` (not public yet), `open`, `closed` (answers refused).")
    one_response_per_respondent: bool
    require_sign_in: bool
    response_count: int = Field(description="Responses, hidden ones included.")
    questions: list[QuestionRead]
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    closed_at: datetime | None


class FormListItem(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{k: v for k, v in FORM_EXAMPLE.items() if k not in ("questions", "url")}]
        }
    )

    id: uuid.UUID
    public_id: str
    title: str
    description: str | None
    status: FormStatus
    one_response_per_respondent: bool
    require_sign_in: bool
    response_count: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    closed_at: datetime | None


class FormPage(Page[FormListItem]):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [{k: v for k, v in FORM_EXAMPLE.items() if k not in ("questions", "url")}],
                    "next_cursor": None,
                }
            ]
        }
    )


class PublicFormRead(BaseModel):
    """A form as respondents see it."""

    model_config = ConfigDict(json_schema_extra={"examples": [PUBLIC_FORM_EXAMPLE]})

    public_id: str
    title: str
    description: str | None
    status: Literal["open", "closed"]
    one_response_per_respondent: bool
    require_sign_in: bool
    answered: bool = Field(
        description="The caller (account, or this device) has responded already to a one-response form."
    )
    questions: list[QuestionRead]


# --- responses --------------------------------------------------------------------------------


def _answer_value(value: Any) -> Any:
    """JSON's number (an integer), string, list of strings or null; which one a question takes
    is checked against the form, with the other answers."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and len(value) <= TEXT_MAX:
        return value
    if isinstance(value, list) and len(value) <= MAX_CHOICES and all(isinstance(item, str) for item in value):
        return value
    raise ValueError(N_("Must be an integer, a string, a list of strings, or null."))


AnswerValue = Annotated[
    Any,
    PlainValidator(_answer_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "description": "rating (1..5), nps (0..10)"},
                {"type": "string", "maxLength": TEXT_MAX, "description": "text, single_choice"},
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "maxItems": MAX_CHOICES,
                    "description": "multiple_choice",
                },
                {"type": "null", "description": "no answer"},
            ]
        }
    ),
]
QuestionKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RESPONSE_CREATE_EXAMPLE]})

    answers: dict[QuestionKey, AnswerValue] = Field(
        max_length=MAX_QUESTIONS,
        description="Question id -> answer. A question left out (or null, an empty string or list) is "
        "unanswered, which a required question refuses.",
    )


class ResponseCreated(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RESPONSE_CREATED_EXAMPLE]})

    id: uuid.UUID
    submitted_at: datetime


class ResponseRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RESPONSE_EXAMPLE]})

    id: uuid.UUID
    form_id: uuid.UUID
    user_id: uuid.UUID | None = Field(description="The account that responded, when signed in.")
    hidden: bool = Field(description="Hidden by a moderator: out of the summary and the export.")
    hidden_at: datetime | None
    created_at: datetime
    answers: dict[str, int | str | list[str]] = Field(
        description="Question id -> answer; unanswered left out."
    )


class ResponsePage(Page[ResponseRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [RESPONSE_EXAMPLE], "next_cursor": None}]}
    )


class ResponseModeration(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"hidden": True}]})

    hidden: bool = Field(description="Hide (out of the summary and export) or show again.")


# --- summary ----------------------------------------------------------------------------------


class Bucket(BaseModel):
    value: int | str = Field(description="A score, or a choice's label.")
    count: int


class QuestionSummary(BaseModel):
    question_id: uuid.UUID
    kind: QuestionKind
    prompt: str
    count: int = Field(description="Visible responses that answered it.")
    average: float | None = Field(description="Rating and NPS: the mean score, to 2 decimals.")
    nps: float | None = Field(
        description="NPS questions: % promoters (9-10) minus % detractors (0-6), -100..100, to 1 decimal."
    )
    distribution: list[Bucket] = Field(
        description="Rating, NPS: every score with its count; choices: every label with how often it "
        "was picked; text: empty."
    )


class FormSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})

    form_id: uuid.UUID
    responses: int = Field(description="Visible responses (hidden ones are left out of every figure).")
    hidden_responses: int
    questions: list[QuestionSummary]
