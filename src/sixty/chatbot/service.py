"""B16 chatbot: the logic. No HTTP here; the caller's unit of work commits.

A turn has two phases. First, outside any transaction, the reader loads the conversation's
state and the matcher ranks the intents; when nothing matches and an OpenAI-compatible
endpoint is configured, it is asked then, so no write lock is held while a remote model
thinks. Second, in the request's unit of work, the conversation row is locked (`FOR UPDATE`;
SQLite's write transactions are serial already) and the turn is decided on its current state:
messages of one conversation are numbered without gaps or repeats however many arrive at once.

The matcher index is kept per process (`IntentIndex`) with the version of the intent set it
was built from. Every change to the intents bumps `chatbot_intent_set.version` in the same
transaction; each turn reads that one row and rebuilds the index when it moved, so every
process answers from the committed set, never a stale one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.chatbot import flows
from sixty.chatbot.matcher import Matcher, Scored
from sixty.chatbot.models import CallbackRequest, Conversation, Intent, IntentSetVersion, Message
from sixty.chatbot.schemas import CallbackSort, IntentCreate, IntentSort, IntentUpdate, MessageSort
from sixty.chatbot.text import normalize
from sixty.core.config import Settings
from sixty.core.errors import Conflict, NotFound, Unprocessable
from sixty.core.i18n import N_, _
from sixty.core.pagination import CursorCodec, PageParams, keyset_page, paginate, sort_keys
from sixty.core.reader import AnySelect, Reader, Row

MANAGE = "chatbot:manage"
SUGGESTION_COUNT = 3
# Below this an intent is no suggestion worth making ("zzzz" is 0.1 from "hello").
MIN_SUGGESTION_SCORE = 0.4
INTENT_SET_ROW = 1


@dataclass(frozen=True)
class ChatPolicy:
    """The bot's knobs, from settings (`SIXTY_CHATBOT_*`)."""

    threshold: float
    pattern_budget: float
    timezone: tzinfo
    horizon_days: int
    llm_history: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatPolicy:
        zone = settings.chatbot_timezone
        return cls(
            threshold=settings.chatbot_match_threshold,
            pattern_budget=settings.chatbot_pattern_budget,
            timezone=UTC if zone == "UTC" else ZoneInfo(zone),
            horizon_days=settings.chatbot_callback_horizon_days,
            llm_history=settings.chatbot_llm_history,
        )

    def today(self) -> date:
        return datetime.now(self.timezone).date()


class Answerer(Protocol):
    """Something that answers a question nothing matched (the OpenAI-compatible client), or None
    when it cannot: the bot then gives its fallback answer."""

    async def answer(self, history: Sequence[tuple[str, str]], question: str) -> str | None: ...


@dataclass
class ChatbotContext:
    """What the app keeps for the chatbot (`app.state.chatbot`, made in setup.py)."""

    index: IntentIndex
    policy: ChatPolicy
    llm: Answerer | None = None


def now() -> datetime:
    return datetime.now(UTC)


# --- the intent set ------------------------------------------------------------------------------

INTENT_COLUMNS = (
    Intent.id,
    Intent.name,
    Intent.patterns,
    Intent.examples,
    Intent.answer,
    Intent.flow,
    Intent.created_at,
    Intent.updated_at,
)
INTENT_SORTS = sort_keys(Intent.id, name=Intent.name, created_at=Intent.created_at)
INTENT_BY_ID = select(*INTENT_COLUMNS).where(Intent.id == bindparam("intent_id"))
INTENT_SET_VERSION = select(IntentSetVersion.version).where(IntentSetVersion.id == INTENT_SET_ROW)
ALL_INTENTS = select(Intent.id, Intent.name, Intent.patterns, Intent.examples, Intent.answer, Intent.flow)


@dataclass
class IntentIndex:
    """This process's matcher, rebuilt when the intent set's version moves past the one it was
    built from (see the module docstring). `builds` counts rebuilds."""

    matcher_: Matcher | None = None
    builds: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def matcher(self, reader: Reader) -> Matcher:
        # The version first, then the intents: intents read after the stamp are at least as new
        # as it, so an index is never labelled newer than what it holds.
        row = await reader.one(INTENT_SET_VERSION)
        version = int(row["version"]) if row else 0
        current = self.matcher_
        if current is not None and current.version >= version:
            return current
        async with self._lock:
            current = self.matcher_
            if current is None or current.version < version:
                current = Matcher.from_rows(await reader.all(ALL_INTENTS), version=version)
                self.matcher_ = current
                self.builds += 1
        return current


async def _bump_intent_set(session: AsyncSession) -> None:
    await session.execute(
        update(IntentSetVersion)
        .where(IntentSetVersion.id == INTENT_SET_ROW)
        .values(version=IntentSetVersion.version + 1)
    )


def intent_not_found(intent_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Intent {id} was not found."), id=str(intent_id))


def _duplicate_name(name: str) -> Conflict:
    return Conflict(N_("An intent named {name} already exists."), code="intent_name_taken", name=name)


async def _flush_unique(session: AsyncSession, conflict: Conflict) -> None:
    """Flush in a savepoint; a unique violation (a concurrent request won) is `conflict`."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise conflict from None


@cache
def _intents_statement(sort: IntentSort, after: bool) -> AnySelect:
    return keyset_page(select(*INTENT_COLUMNS), INTENT_SORTS[sort], after=after)


async def list_intents(
    reader: Reader, *, params: PageParams, codec: CursorCodec, sort: IntentSort = "name"
) -> tuple[list[Row], str | None]:
    return await paginate(
        reader,
        lambda after: _intents_statement(sort, after),
        sort=INTENT_SORTS[sort],
        params=params,
        codec=codec,
    )


async def read_intent(reader: Reader, intent_id: uuid.UUID) -> Row:
    row = await reader.one(INTENT_BY_ID, intent_id=intent_id)
    if row is None:
        raise intent_not_found(intent_id)
    return row


async def create_intent(session: AsyncSession, data: IntentCreate) -> Intent:
    if await session.scalar(select(Intent.id).where(Intent.name == data.name)) is not None:
        raise _duplicate_name(data.name)
    intent = Intent(
        name=data.name,
        patterns=list(data.patterns),
        examples=list(data.examples),
        answer=data.answer,
        flow=data.flow,
    )
    session.add(intent)
    await _flush_unique(session, _duplicate_name(data.name))
    await _bump_intent_set(session)
    return intent


async def update_intent(session: AsyncSession, intent_id: uuid.UUID, data: IntentUpdate) -> Intent:
    intent = await session.get(Intent, intent_id)
    if intent is None:
        raise intent_not_found(intent_id)
    changes = data.model_dump(exclude_unset=True)
    new_name = changes.get("name", intent.name)
    if new_name != intent.name and await session.scalar(select(Intent.id).where(Intent.name == new_name)):
        raise _duplicate_name(new_name)
    if not changes.get("patterns", intent.patterns) and not changes.get("examples", intent.examples):
        raise Unprocessable(
            N_("An intent needs at least one pattern or example phrase."), code="intent_unmatchable"
        )
    for name, value in changes.items():
        setattr(intent, name, list(value) if isinstance(value, list) else value)
    await _flush_unique(session, _duplicate_name(intent.name))
    await _bump_intent_set(session)
    return intent


async def delete_intent(session: AsyncSession, intent_id: uuid.UUID) -> None:
    result = await session.execute(delete(Intent).where(Intent.id == intent_id))
    if cast(CursorResult[Any], result).rowcount == 0:
        raise intent_not_found(intent_id)
    await _bump_intent_set(session)


# --- conversations -------------------------------------------------------------------------------

CONVERSATION_BY_ID = select(
    Conversation.id,
    Conversation.user_id,
    Conversation.state,
    Conversation.message_count,
    Conversation.created_at,
    Conversation.updated_at,
).where(Conversation.id == bindparam("conversation_id"))
MESSAGE_COLUMNS = (
    Message.id,
    Message.seq,
    Message.role,
    Message.text,
    Message.intent,
    Message.confidence,
    Message.source,
    Message.created_at,
)
MESSAGE_SORTS = sort_keys(Message.id, seq=Message.seq)
RECENT_MESSAGES = (
    select(Message.role, Message.text)
    .where(Message.conversation_id == bindparam("conversation_id"))
    .order_by(Message.seq.desc())
    .limit(bindparam("limit"))
)


def conversation_not_found(conversation_id: uuid.UUID) -> NotFound:
    return NotFound(N_("Conversation {id} was not found."), id=str(conversation_id))


def _visible(owner_id: uuid.UUID | None, caller_id: uuid.UUID | None) -> bool:
    """An anonymous conversation is open to whoever holds its id; an account's, to that account."""
    return owner_id is None or owner_id == caller_id


async def read_conversation(
    reader: Reader, conversation_id: uuid.UUID, *, caller_id: uuid.UUID | None
) -> Row:
    row = await reader.one(CONVERSATION_BY_ID, conversation_id=conversation_id)
    if row is None or not _visible(row["user_id"], caller_id):
        raise conversation_not_found(conversation_id)
    return row


@cache
def _messages_statement(sort: MessageSort, after: bool) -> AnySelect:
    base = select(*MESSAGE_COLUMNS).where(Message.conversation_id == bindparam("conversation_id"))
    return keyset_page(base, MESSAGE_SORTS[sort], after=after)


async def history(
    reader: Reader,
    conversation_id: uuid.UUID,
    *,
    caller_id: uuid.UUID | None,
    params: PageParams,
    codec: CursorCodec,
    sort: MessageSort = "seq",
) -> tuple[Row, list[Row], str | None]:
    """The conversation, one page of its messages (oldest first by default), the next cursor."""
    conversation = await read_conversation(reader, conversation_id, caller_id=caller_id)
    messages, next_cursor = await paginate(
        reader,
        lambda after: _messages_statement(sort, after),
        sort=MESSAGE_SORTS[sort],
        params=params,
        codec=codec,
        conversation_id=conversation_id,
    )
    return conversation, messages, next_cursor


async def delete_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, *, caller_id: uuid.UUID | None
) -> None:
    """Deletes the conversation and its messages; callback requests it booked stay, unlinked."""
    owner = (
        await session.execute(select(Conversation.user_id).where(Conversation.id == conversation_id))
    ).first()
    if owner is None or not _visible(owner.user_id, caller_id):
        raise conversation_not_found(conversation_id)
    await session.execute(delete(Conversation).where(Conversation.id == conversation_id))


def flow_view(state: dict[str, Any]) -> dict[str, Any] | None:
    """The flow in progress in a conversation's state, as `FlowRead`, or None."""
    if state.get("flow") not in flows.FLOWS:
        return None
    return {
        "name": state["flow"],
        "status": "active",
        "step": state.get("step"),
        "slots": dict(state.get("slots") or {}),
        "reasked": False,
        "callback_id": None,
    }


# --- a turn --------------------------------------------------------------------------------------


@dataclass
class Turn:
    """The bot's reply to one message, as `BotReply`."""

    conversation_id: uuid.UUID
    message_id: uuid.UUID
    reply: str
    intent: str | None
    confidence: float | None
    source: str
    suggestions: list[dict[str, Any]]
    flow: dict[str, Any] | None


@dataclass
class _Decision:
    reply: str
    intent: str | None
    confidence: float | None
    source: str
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    flow_turn: flows.FlowTurn | None = None


def _suggest(ranking: Sequence[Scored], *, skip: str | None = None) -> list[dict[str, Any]]:
    return [
        {"text": scored.intent.suggestion, "intent": scored.intent.name, "score": round(scored.score, 3)}
        for scored in ranking
        if scored.intent.name != skip and scored.score >= MIN_SUGGESTION_SCORE
    ][:SUGGESTION_COUNT]


def _flow_suggestions(turn: flows.FlowTurn) -> list[dict[str, Any]]:
    return [{"text": text, "intent": None, "score": None} for text in turn.suggestions]


def _decide(
    state: dict[str, Any],
    message: str,
    ranking: Sequence[Scored],
    *,
    policy: ChatPolicy,
    llm_reply: str | None,
) -> _Decision:
    if state.get("flow") in flows.FLOWS:
        context = flows.TurnContext(today=policy.today(), horizon_days=policy.horizon_days)
        turn = flows.advance(state, message, context)
        return _Decision(turn.reply, state.get("intent"), None, "flow", _flow_suggestions(turn), turn)
    best = ranking[0] if ranking else None
    if best is not None and best.score >= policy.threshold:
        intent = best.intent
        confident = [scored for scored in ranking if scored.score >= policy.threshold]
        decision = _Decision(intent.answer, intent.name, round(best.score, 3), best.via)
        decision.suggestions = _suggest(confident, skip=intent.name)
        if intent.flow in flows.FLOWS:
            turn = flows.start(flows.FLOWS[intent.flow])
            decision.reply = f"{intent.answer} {turn.reply}"
            decision.suggestions = _flow_suggestions(turn)
            decision.flow_turn = turn
        return decision
    confidence = round(best.score, 3) if best is not None else None
    if llm_reply:
        return _Decision(llm_reply, None, None, "llm", _suggest(ranking))
    suggestions = _suggest(ranking)
    reply = _("Sorry, I did not understand that.") + " "
    reply += _("Did you mean one of these?") if suggestions else _("Could you put it another way?")
    return _Decision(reply, None, confidence, "fallback", suggestions)


async def _recent_messages(reader: Reader, conversation_id: uuid.UUID, limit: int) -> list[tuple[str, str]]:
    if limit == 0:
        return []
    rows = await reader.all(RECENT_MESSAGES, conversation_id=conversation_id, limit=limit)
    return [(row["role"], row["text"]) for row in reversed(rows)]


async def _conversation_for_turn(
    session: AsyncSession, conversation_id: uuid.UUID | None, caller_id: uuid.UUID | None
) -> Conversation:
    if conversation_id is None:
        conversation = Conversation(user_id=caller_id, state={}, message_count=0)
        session.add(conversation)
        await session.flush()
        return conversation
    locked = await session.get(Conversation, conversation_id, with_for_update=True, populate_existing=True)
    if locked is None or not _visible(locked.user_id, caller_id):
        raise conversation_not_found(conversation_id)
    return locked


async def converse(
    session: AsyncSession,
    reader: Reader,
    *,
    message: str,
    conversation_id: uuid.UUID | None,
    caller_id: uuid.UUID | None,
    index: IntentIndex,
    policy: ChatPolicy,
    llm: Answerer | None = None,
) -> Turn:
    """One message from the user and the bot's reply, both stored in the conversation (a new one
    when `conversation_id` is None)."""
    # Phase 1, reads only: who may continue the conversation, and what the message matches.
    state: dict[str, Any] = {}
    if conversation_id is not None:
        state = dict((await read_conversation(reader, conversation_id, caller_id=caller_id))["state"] or {})
    normalized = normalize(message)
    matcher = await index.matcher(reader)
    ranking = matcher.rank(normalized, budget=policy.pattern_budget)
    llm_reply = None
    unmatched = not ranking or ranking[0].score < policy.threshold
    if llm is not None and unmatched and normalized and state.get("flow") not in flows.FLOWS:
        earlier = (
            await _recent_messages(reader, conversation_id, policy.llm_history) if conversation_id else []
        )
        llm_reply = await llm.answer(earlier, message)

    # Phase 2, in the unit of work: decide on the conversation's current (locked) state.
    conversation = await _conversation_for_turn(session, conversation_id, caller_id)
    state = dict(conversation.state or {})
    decision = _decide(state, message, ranking, policy=policy, llm_reply=llm_reply)
    flow: dict[str, Any] | None = None
    turn = decision.flow_turn
    if turn is not None:
        new_state = turn.state
        if new_state:
            new_state["intent"] = decision.intent
        conversation.state = new_state
        flow = {
            "name": turn.flow,
            "status": turn.status,
            "step": turn.step,
            "slots": dict(turn.slots),
            "reasked": turn.reasked,
            "callback_id": None,
        }
        if turn.status == "completed" and turn.flow == flows.CALLBACK.name:
            callback = CallbackRequest(
                name=turn.slots["name"],
                day=date.fromisoformat(turn.slots["date"]),
                user_id=conversation.user_id,
                conversation_id=conversation.id,
            )
            session.add(callback)
            await session.flush()
            flow["callback_id"] = callback.id
    seq = conversation.message_count
    said = Message(conversation_id=conversation.id, seq=seq + 1, role="user", text=message)
    answered = Message(
        conversation_id=conversation.id,
        seq=seq + 2,
        role="bot",
        text=decision.reply,
        intent=decision.intent,
        confidence=decision.confidence,
        source=decision.source,
    )
    session.add_all([said, answered])
    conversation.message_count = seq + 2
    conversation.updated_at = now()
    await session.flush()
    return Turn(
        conversation_id=conversation.id,
        message_id=answered.id,
        reply=decision.reply,
        intent=decision.intent,
        confidence=decision.confidence,
        source=decision.source,
        suggestions=decision.suggestions,
        flow=flow,
    )


# --- callback requests ---------------------------------------------------------------------------

CALLBACK_COLUMNS = (
    CallbackRequest.id,
    CallbackRequest.name,
    CallbackRequest.day,
    CallbackRequest.user_id,
    CallbackRequest.conversation_id,
    CallbackRequest.created_at,
)
CALLBACK_SORTS = sort_keys(CallbackRequest.id, created_at=CallbackRequest.created_at)


@cache
def _callbacks_statement(sort: CallbackSort, by_day: bool, after: bool) -> AnySelect:
    statement = select(*CALLBACK_COLUMNS)
    if by_day:
        statement = statement.where(CallbackRequest.day == bindparam("day"))
    return keyset_page(statement, CALLBACK_SORTS[sort], after=after)


async def list_callbacks(
    reader: Reader,
    *,
    params: PageParams,
    codec: CursorCodec,
    day: date | None = None,
    sort: CallbackSort = "-created_at",
) -> tuple[list[Row], str | None]:
    """Callback requests, newest first by default; `day` keeps those booked for that day."""
    filters = {"day": day} if day is not None else {}
    return await paginate(
        reader,
        lambda after: _callbacks_statement(sort, day is not None, after),
        sort=CALLBACK_SORTS[sort],
        params=params,
        codec=codec,
        **filters,
    )
