"""B16 Chatbot: `/api/chatbot`. HTTP only: parse, call the service, shape the response.

Anyone may talk to the bot; a conversation started by a signed-in account is that account's
alone, one started anonymously is open to whoever holds its id. Staff with `chatbot:manage`
edit the intents and read the callback requests.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from pydantic.config import JsonDict

from sixty.chatbot import service
from sixty.chatbot.schemas import (
    CALLBACK_EXAMPLE,
    HISTORY_EXAMPLE,
    INTENT_EXAMPLE,
    REPLY_EXAMPLE,
    BotReply,
    CallbackPage,
    CallbackSort,
    ConversationHistory,
    IntentCreate,
    IntentPage,
    IntentRead,
    IntentSort,
    IntentUpdate,
    IsoDay,
    MessageIn,
    MessageSort,
)
from sixty.core.deps import ReaderDep, SessionDep
from sixty.core.errors import problem_responses
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ratelimit import rate_limit, rate_limit_responses, rate_policy
from sixty.core.routing import module_router
from sixty.core.security import OptionalPrincipal, Principal, require

router = module_router("/api/chatbot", "chatbot")

MESSAGES_PER_IP = rate_policy("chatbot.messages.ip", "30/minute")

CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
EditorDep = Annotated[Principal, Depends(require(service.MANAGE))]


async def chatbot_context(request: Request) -> service.ChatbotContext:
    context: service.ChatbotContext = request.app.state.chatbot
    return context


ContextDep = Annotated[service.ChatbotContext, Depends(chatbot_context)]


def _ok(example: JsonDict | dict[str, Any], *statuses: int, code: int = 200) -> dict[int | str, Any]:
    return {code: {"content": {"application/json": {"example": example}}}, **problem_responses(*statuses)}


def _page(example: JsonDict) -> JsonDict:
    return {"items": [example], "next_cursor": None}


def _caller(principal: Principal | None) -> uuid.UUID | None:
    return principal.user_id if principal is not None else None


# --- talking to the bot -------------------------------------------------------------------------


@router.post(
    "/messages",
    summary="Say something to the bot",
    description="Sends a message and answers the bot's reply. Without `conversation_id` a new "
    "conversation starts (it belongs to the caller when signed in); its id comes back in the "
    "reply. The bot matches the message against the intents (patterns give confidence 1.0, "
    "fuzzy similarity to example phrases gives 0..1) and answers the best one when it reaches "
    "the configured threshold; otherwise a fallback with the three closest intents as "
    "`suggestions` (or, when configured, an answer from an OpenAI-compatible endpoint). An intent "
    "may start a flow: `book a callback` asks for a name, then a day (`tomorrow`, `next monday`, "
    "`2026-12-03`...), then a yes or no; an answer that does not fit is asked again with the "
    "reason, and `cancel` or `stop` ends the flow. 404 for an unknown conversation or one of "
    "another account. Rate limited per client address.",
    response_model=BotReply,
    responses={**_ok(REPLY_EXAMPLE, 401, 404, 413, 415, 422), **rate_limit_responses()},
    dependencies=[rate_limit(MESSAGES_PER_IP)],
)
async def send_message(
    data: MessageIn,
    session: SessionDep,
    reader: ReaderDep,
    principal: OptionalPrincipal,
    context: ContextDep,
) -> BotReply:
    turn = await service.converse(
        session,
        reader,
        message=data.message,
        conversation_id=data.conversation_id,
        caller_id=_caller(principal),
        index=context.index,
        policy=context.policy,
        llm=context.llm,
    )
    return BotReply.model_validate(turn, from_attributes=True)


@router.get(
    "/conversations/{conversation_id}",
    summary="Read a conversation",
    description="The conversation (with the flow in progress, if any) and one page of its messages, "
    "oldest first (`sort=-seq` for newest first). Anonymous conversations are read with their id "
    "alone; an account's only by that account (404 for anyone else).",
    response_model=ConversationHistory,
    responses=_ok(HISTORY_EXAMPLE, 401, 404, 422),
)
async def read_conversation(
    conversation_id: uuid.UUID,
    reader: ReaderDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    codec: CodecDep,
    sort: Annotated[MessageSort, Query(description="`seq` (oldest first) or `-seq`.")] = "seq",
) -> ConversationHistory:
    conversation, messages, next_cursor = await service.history(
        reader, conversation_id, caller_id=_caller(principal), params=page, codec=codec, sort=sort
    )
    return ConversationHistory.model_validate(
        {
            **conversation,
            "flow": service.flow_view(conversation["state"] or {}),
            "items": messages,
            "next_cursor": next_cursor,
        }
    )


@router.delete(
    "/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a conversation",
    description="Deletes the conversation and its messages, with the same access rule as reading it. "
    "Callback requests it booked stay for staff, unlinked from it.",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **problem_responses(401, 404, 422)},
)
async def delete_conversation(
    conversation_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipal
) -> None:
    await service.delete_conversation(session, conversation_id, caller_id=_caller(principal))


# --- the intent set (staff) ---------------------------------------------------------------------


@router.get(
    "/intents",
    summary="List the intents",
    description="The intents and FAQ answers, by name (or `sort=created_at`; `-` for descending). "
    "Staff with `chatbot:manage`. Cursor-paginated.",
    response_model=IntentPage,
    responses=_ok(_page(INTENT_EXAMPLE), 401, 403, 422),
)
async def list_intents(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    _: EditorDep,
    sort: Annotated[IntentSort, Query(description="Sort key; `-` prefix for descending.")] = "name",
) -> IntentPage:
    intents, next_cursor = await service.list_intents(reader, params=page, codec=codec, sort=sort)
    return IntentPage.model_validate({"items": intents, "next_cursor": next_cursor})


@router.post(
    "/intents",
    status_code=status.HTTP_201_CREATED,
    summary="Add an intent",
    description="A new intent: a unique name, patterns and/or example phrases (at least one of them), "
    "the answer, and optionally a flow the answer starts. Each pattern must compile (422 names the "
    "0-based position of the error), must not match an empty message, and must not backtrack "
    "catastrophically. Every process answers from the new set on its next message. 409 for a name "
    "in use.",
    response_model=IntentRead,
    responses={
        **_ok(INTENT_EXAMPLE, 401, 403, 409, 413, 415, 422, code=201),
    },
)
async def create_intent(
    data: IntentCreate, request: Request, response: Response, session: SessionDep, _: EditorDep
) -> IntentRead:
    intent = await service.create_intent(session, data)
    response.headers["Location"] = str(request.url_for("get_intent", intent_id=str(intent.id)).path)
    return IntentRead.model_validate(intent)


@router.get(
    "/intents/{intent_id}",
    name="get_intent",
    summary="Read an intent",
    description="One intent with its patterns, example phrases, answer and flow (staff).",
    response_model=IntentRead,
    responses=_ok(INTENT_EXAMPLE, 401, 403, 404, 422),
)
async def get_intent(intent_id: uuid.UUID, reader: ReaderDep, _: EditorDep) -> IntentRead:
    return IntentRead.model_validate(await service.read_intent(reader, intent_id))


@router.patch(
    "/intents/{intent_id}",
    summary="Change an intent",
    description="Changes only the fields sent (staff); `flow: null` removes the flow. The same checks "
    "as for a new intent; 409 when the new name is taken.",
    response_model=IntentRead,
    responses=_ok(INTENT_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def update_intent(
    intent_id: uuid.UUID, data: IntentUpdate, session: SessionDep, _: EditorDep
) -> IntentRead:
    return IntentRead.model_validate(await service.update_intent(session, intent_id, data))


@router.delete(
    "/intents/{intent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an intent",
    description="Removes the intent from the set (staff).",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **problem_responses(401, 403, 404, 422)},
)
async def delete_intent(intent_id: uuid.UUID, session: SessionDep, _: EditorDep) -> None:
    await service.delete_intent(session, intent_id)


# --- callback requests (staff) ------------------------------------------------------------------


@router.get(
    "/callbacks",
    summary="List callback requests",
    description="Callbacks booked through the bot, newest first (staff with `chatbot:manage`); `day` "
    "keeps those for one day. Cursor-paginated.",
    response_model=CallbackPage,
    responses=_ok(_page(CALLBACK_EXAMPLE), 401, 403, 422),
)
async def list_callbacks(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    _: EditorDep,
    day: Annotated[
        IsoDay | None, Query(description="Only callbacks booked for this day (YYYY-MM-DD).")
    ] = None,
    sort: Annotated[CallbackSort, Query(description="`created_at` or `-created_at`.")] = "-created_at",
) -> CallbackPage:
    callbacks, next_cursor = await service.list_callbacks(
        reader, params=page, codec=codec, day=day, sort=sort
    )
    return CallbackPage.model_validate({"items": callbacks, "next_cursor": next_cursor})
