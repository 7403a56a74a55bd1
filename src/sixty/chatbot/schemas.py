"""What clients send to and receive from the chatbot."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from sixty.chatbot.flows import FlowName, FlowStatus
from sixty.chatbot.matcher import MAX_PATTERN_CHARS, PatternError, check_pattern
from sixty.chatbot.text import normalize
from sixty.core.i18n import N_, _
from sixty.core.pagination import Page
from sixty.core.text import NO_NUL, NOT_BLANK, strip_blank

MAX_MESSAGE_CHARS = 1000
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_PATTERNS = 20
MAX_EXAMPLES = 50

_PATTERN_PROBLEMS = {
    "regex_invalid": N_("Not a valid regular expression: {reason} at position {position}."),
    "regex_matches_anything": N_("The pattern matches any message (an empty one, or made-up words)."),
    "regex_too_slow": N_("The pattern takes too long to match (catastrophic backtracking); simplify it."),
}


def _pattern(value: str) -> str:
    """Compiled (422 with the 0-based position of the error), and not too slow to match."""
    try:
        check_pattern(value)
    except PatternError as error:
        template = _PATTERN_PROBLEMS[error.kind]
        if error.kind == "regex_invalid" and error.position is None:
            template = N_("Not a valid regular expression: {reason}.")
        raise PydanticCustomError(
            error.kind, _(template), {"reason": str(error), "position": error.position}
        ) from None
    return value


def _example(value: str) -> str:
    value = strip_blank(value)
    if not normalize(value):
        raise ValueError(N_("An example phrase needs at least one letter or digit."))
    return value


def _iso_day(value: object) -> object:
    """Only `YYYY-MM-DD` (lax parsing would read `0` as 1970-01-01)."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise ValueError(N_("A day is written YYYY-MM-DD."))


def _distinct(values: list[str]) -> list[str]:
    """Order kept, repeats dropped."""
    return list(dict.fromkeys(values))


IntentName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
    AfterValidator(str.lower),
]
PatternText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_PATTERN_CHARS, pattern=NO_NUL),
    AfterValidator(_pattern),
]
ExampleText = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(_example)
]
Patterns = Annotated[list[PatternText], Field(max_length=MAX_PATTERNS), AfterValidator(_distinct)]
Examples = Annotated[list[ExampleText], Field(max_length=MAX_EXAMPLES), AfterValidator(_distinct)]
AnswerText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=NOT_BLANK), AfterValidator(strip_blank)
]
MessageText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS, pattern=NOT_BLANK),
    AfterValidator(strip_blank),
]
IsoDay = Annotated[date, BeforeValidator(_iso_day)]
Source = Literal["pattern", "fuzzy", "flow", "llm", "fallback"]
IntentSort = Literal["name", "-name", "created_at", "-created_at"]
CallbackSort = Literal["created_at", "-created_at"]
MessageSort = Literal["seq", "-seq"]

INTENT_ID = "0b5c3f2e-8d1a-4e6f-9a7b-3c2d1e0f4a5b"
CONVERSATION_ID = "6f1d2c3b-4a59-4e8d-b7c6-a5f4e3d2c1b0"
MESSAGE_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
CALLBACK_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
USER_ID = "5d3a9a55-1f0c-4f6e-9b59-2a0a4c1e7b11"
NOW = "2026-11-26T09:30:00.123456Z"

INTENT_EXAMPLE: JsonDict = {
    "id": INTENT_ID,
    "name": "opening_hours",
    "patterns": [r"\b(opening|business) (hours|times)\b", r"\bwhen (are|do) you (open|close)\b"],
    "examples": ["what are your opening hours", "when are you open"],
    "answer": "We are open Monday to Friday from 9:00 to 18:00.",
    "flow": None,
    "created_at": NOW,
    "updated_at": NOW,
}
FLOW_EXAMPLE: JsonDict = {
    "name": "callback",
    "status": "active",
    "step": "date",
    "slots": {"name": "Ann Example"},
    "reasked": False,
    "callback_id": None,
}
REPLY_EXAMPLE: JsonDict = {
    "conversation_id": CONVERSATION_ID,
    "message_id": MESSAGE_ID,
    "reply": "Which day suits you, Ann Example? For example: tomorrow, next monday, or 2026-12-03.",
    "intent": "callback",
    "confidence": None,
    "source": "flow",
    "suggestions": [
        {"text": "tomorrow", "intent": None, "score": None},
        {"text": "cancel", "intent": None, "score": None},
    ],
    "flow": FLOW_EXAMPLE,
}
MESSAGE_EXAMPLE: JsonDict = {
    "id": MESSAGE_ID,
    "seq": 2,
    "role": "bot",
    "text": "We are open Monday to Friday from 9:00 to 18:00.",
    "intent": "opening_hours",
    "confidence": 1.0,
    "source": "pattern",
    "created_at": NOW,
}
HISTORY_EXAMPLE: JsonDict = {
    "id": CONVERSATION_ID,
    "user_id": None,
    "message_count": 2,
    "flow": None,
    "created_at": NOW,
    "updated_at": NOW,
    "items": [MESSAGE_EXAMPLE],
    "next_cursor": None,
}
CALLBACK_EXAMPLE: JsonDict = {
    "id": CALLBACK_ID,
    "name": "Ann Example",
    "day": "2026-11-30",
    "user_id": USER_ID,
    "conversation_id": CONVERSATION_ID,
    "created_at": NOW,
}


class IntentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "opening_hours",
                    "patterns": [r"\b(opening|business) (hours|times)\b"],
                    "examples": ["what are your opening hours", "when are you open"],
                    "answer": "We are open Monday to Friday from 9:00 to 18:00.",
                }
            ]
        },
    )

    name: IntentName = Field(description="Letters, digits, `_`, `.`, `-`; stored in lower case; unique.")
    patterns: Patterns = Field(
        default_factory=list,
        description="Regular expressions (Python `regex` syntax, case-insensitive) searched in the "
        "normalised message: lower case, accents removed, punctuation as spaces. A match gives "
        "confidence 1.0. Up to 20, each up to 200 characters.",
    )
    examples: Examples = Field(
        default_factory=list,
        description="Phrases people say for this intent, for fuzzy matching; the first is offered as a "
        "suggestion. Up to 50, each up to 200 characters.",
    )
    answer: AnswerText = Field(description="What the bot answers, 1..2000 characters.")
    flow: FlowName | None = Field(default=None, description="A flow the answer starts: `callback`.")

    @model_validator(mode="after")
    def _matchable(self) -> IntentCreate:
        if not self.patterns and not self.examples:
            raise ValueError(N_("An intent needs at least one pattern or example phrase."))
        return self


class IntentUpdate(BaseModel):
    """PATCH: omitted fields are kept; `flow: null` removes the flow."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"answer": "We are open every day from 9:00."}]}
    )
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"flow"})

    name: IntentName | SkipJsonSchema[None] = None
    patterns: Patterns | SkipJsonSchema[None] = None
    examples: Examples | SkipJsonSchema[None] = None
    answer: AnswerText | SkipJsonSchema[None] = None
    flow: FlowName | None = Field(default=None, description="null removes the flow.")

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.nullable_fields:
            raise ValueError(N_("Cannot be null; omit the field to keep its value."))
        return value


class IntentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [INTENT_EXAMPLE]})

    id: uuid.UUID
    name: str
    patterns: list[str]
    examples: list[str]
    answer: str
    flow: str | None
    created_at: datetime
    updated_at: datetime


class IntentPage(Page[IntentRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [INTENT_EXAMPLE], "next_cursor": None}]}
    )


class MessageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"message": "When are you open?"},
                {"message": "next monday", "conversation_id": CONVERSATION_ID},
            ]
        },
    )

    message: MessageText = Field(description=f"1..{MAX_MESSAGE_CHARS} characters, not only blanks.")
    conversation_id: uuid.UUID | None = Field(
        default=None,
        description="The conversation to continue; omitted, a new one starts. Keep the id secret: for a "
        "conversation started without signing in, it is what gives access to it.",
    )


class Suggestion(BaseModel):
    text: str = Field(description="Something the client may offer the user to send.")
    intent: str | None = Field(description="The intent it leads to, when it is one.")
    score: float | None = Field(description="How close the message was to that intent (0..1).")


class FlowRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FLOW_EXAMPLE]})

    name: str
    status: FlowStatus = Field(
        description="`active` while questions remain; then `completed` or `cancelled`."
    )
    step: str | None = Field(description="The slot asked for next, `confirm`, or null once ended.")
    slots: dict[str, str] = Field(description="The answers so far (dates as YYYY-MM-DD).")
    reasked: bool = Field(description="The last answer did not fit: the reply says why and asks again.")
    callback_id: uuid.UUID | None = Field(
        default=None, description="The callback request a completed booking stored."
    )


class BotReply(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REPLY_EXAMPLE]})

    conversation_id: uuid.UUID
    message_id: uuid.UUID = Field(description="The id of the bot's message in the history.")
    reply: str
    intent: str | None = Field(description="The intent answered (or whose flow is running); null otherwise.")
    confidence: float | None = Field(
        description="The best intent's score (0..1) when the reply comes from matching, the fallback "
        "included; null for flow steps and endpoint answers."
    )
    source: Source = Field(
        description="`pattern` or `fuzzy` (an intent matched), `flow` (a step of a flow), `llm` (the "
        "configured endpoint answered), `fallback` (nothing matched)."
    )
    suggestions: list[Suggestion] = Field(
        description="Fallback: the three closest intents. A flow: answers it accepts (and `cancel`). An "
        "intent: other intents that matched as well."
    )
    flow: FlowRead | None = Field(description="The flow this turn belongs to, if any.")


class MessageRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [MESSAGE_EXAMPLE]})

    id: uuid.UUID
    seq: int = Field(description="1, 2, 3... in the order the messages were said.")
    role: Literal["user", "bot"]
    text: str
    intent: str | None
    confidence: float | None
    source: Source | None
    created_at: datetime


class ConversationHistory(Page[MessageRead]):
    model_config = ConfigDict(json_schema_extra={"examples": [HISTORY_EXAMPLE]})

    id: uuid.UUID
    user_id: uuid.UUID | None = Field(description="The account it belongs to; null for an anonymous one.")
    message_count: int
    flow: FlowRead | None = Field(description="The flow in progress, if any.")
    created_at: datetime
    updated_at: datetime


class CallbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [CALLBACK_EXAMPLE]})

    id: uuid.UUID
    name: str
    day: date
    user_id: uuid.UUID | None = Field(description="The signed-in account that booked it, if any.")
    conversation_id: uuid.UUID | None = Field(description="Null once the conversation is deleted.")
    created_at: datetime


class CallbackPage(Page[CallbackRead]):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [CALLBACK_EXAMPLE], "next_cursor": None}]}
    )
