"""Talking to the bot: intents answered by pattern and by fuzzy match, the fallback with the
closest suggestions, history, and who may read or delete a conversation."""

from __future__ import annotations

import uuid

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.chatbot.models import Conversation, Message
from tests.chatbot.conftest import count, problem, say


async def test_a_pattern_answers_with_full_confidence(client: AsyncClient) -> None:
    reply = await say(client, "Hi! What are your OPENING hours?")
    assert reply["intent"] == "opening_hours"
    assert reply["confidence"] == 1.0
    assert reply["source"] == "pattern"
    assert reply["reply"].startswith("We are open Monday to Friday")
    assert reply["flow"] is None
    uuid.UUID(reply["conversation_id"])
    assert set(reply) == {
        "conversation_id", "message_id", "reply", "intent", "confidence", "source", "suggestions", "flow",
    }  # fmt: skip


async def test_accents_case_and_punctuation_do_not_matter(client: AsyncClient) -> None:
    reply = await say(client, "¿WHEN are yóu   open???")
    assert reply["intent"] == "opening_hours"
    assert reply["source"] == "pattern"


async def test_a_typo_is_matched_fuzzily_with_its_score(client: AsyncClient) -> None:
    reply = await say(client, "i want too speek with somone")
    assert reply["intent"] == "human"
    assert reply["source"] == "fuzzy"
    assert 0.75 <= reply["confidence"] < 1.0


async def test_other_intents_that_match_too_are_suggested(client: AsyncClient) -> None:
    reply = await say(client, "how much does delivery cost")
    assert {reply["intent"], *(s["intent"] for s in reply["suggestions"])} == {"pricing", "delivery"}
    assert reply["confidence"] == 1.0


async def test_unmatched_message_gets_the_fallback_with_the_three_closest_intents(
    client: AsyncClient, session: AsyncSession
) -> None:
    reply = await say(client, "do you sell opening tickets for the show")
    assert reply["source"] == "fallback"
    assert reply["intent"] is None
    assert reply["reply"].startswith("Sorry, I did not understand that.")
    suggestions = reply["suggestions"]
    assert 1 <= len(suggestions) <= 3
    scores = [suggestion["score"] for suggestion in suggestions]
    assert scores == sorted(scores, reverse=True)
    assert all(0.4 <= score < 0.75 for score in scores)
    assert reply["confidence"] == scores[0]  # the best score, below the threshold
    assert suggestions[0]["intent"] == "opening_hours"
    assert suggestions[0]["text"] == "what are your opening hours"  # the intent's first example phrase


async def test_nothing_close_means_no_suggestions(client: AsyncClient) -> None:
    reply = await say(client, "zzzz qqqq")
    assert reply["source"] == "fallback"
    assert reply["suggestions"] == []
    assert 0 < reply["confidence"] < 0.4  # the best score, too low to suggest anything
    punctuation_only = await say(client, "?!?")
    assert punctuation_only["source"] == "fallback"


async def test_history_keeps_every_message_in_order_and_pages(client: AsyncClient) -> None:
    first = await say(client, "hello")
    conversation_id = first["conversation_id"]
    await say(client, "when are you open", conversation_id)
    await say(client, "thanks", conversation_id)

    response = await client.get(f"/api/chatbot/conversations/{conversation_id}", params={"limit": 4})
    assert response.status_code == 200
    page = response.json()
    assert page["id"] == conversation_id
    assert page["user_id"] is None
    assert page["message_count"] == 6
    assert page["flow"] is None
    assert [(m["seq"], m["role"]) for m in page["items"]] == [
        (1, "user"),
        (2, "bot"),
        (3, "user"),
        (4, "bot"),
    ]
    assert page["items"][0]["text"] == "hello"
    assert page["items"][1]["id"] == first["message_id"]
    assert page["items"][1]["intent"] == "greeting"
    assert page["items"][0]["intent"] is None
    assert page["items"][0]["source"] is None
    rest = await client.get(
        f"/api/chatbot/conversations/{conversation_id}", params={"limit": 4, "cursor": page["next_cursor"]}
    )
    assert [m["seq"] for m in rest.json()["items"]] == [5, 6]
    assert rest.json()["next_cursor"] is None
    newest = await client.get(
        f"/api/chatbot/conversations/{conversation_id}", params={"limit": 1, "sort": "-seq"}
    )
    assert newest.json()["items"][0]["intent"] == "thanks"


async def test_anonymous_conversation_is_open_to_the_holder_of_its_id(
    client: AsyncClient, ann_headers: dict[str, str], session: AsyncSession
) -> None:
    conversation_id = (await say(client, "hello"))["conversation_id"]
    # Anyone holding the id, signed in or not, continues and reads it.
    assert (await say(client, "bye", conversation_id, headers=ann_headers))["intent"] == "goodbye"
    read = await client.get(f"/api/chatbot/conversations/{conversation_id}", headers=ann_headers)
    assert read.status_code == 200
    assert read.json()["user_id"] is None  # continuing it does not take it over

    deleted = await client.delete(f"/api/chatbot/conversations/{conversation_id}")
    assert deleted.status_code == 204
    assert await count(session, Conversation) == 0
    assert await count(session, Message) == 0
    problem(await client.get(f"/api/chatbot/conversations/{conversation_id}"), 404)


async def test_an_accounts_conversation_is_its_own(
    client: AsyncClient, ann_headers: dict[str, str], bob_headers: dict[str, str], session: AsyncSession
) -> None:
    reply = await say(client, "hello", headers=ann_headers)
    conversation_id = reply["conversation_id"]
    mine = await client.get(f"/api/chatbot/conversations/{conversation_id}", headers=ann_headers)
    assert mine.status_code == 200
    assert mine.json()["user_id"] is not None

    for headers in (bob_headers, {}):  # another account, and no account: as if it did not exist
        body = problem(
            await client.get(f"/api/chatbot/conversations/{conversation_id}", headers=headers), 404
        )
        assert body["code"] == "not_found"
        said = await client.post(
            "/api/chatbot/messages",
            json={"message": "hi", "conversation_id": conversation_id},
            headers=headers,
        )
        problem(said, 404)
        problem(await client.delete(f"/api/chatbot/conversations/{conversation_id}", headers=headers), 404)
    assert await count(session, Message) == 2  # nothing was added by the refused messages

    assert (
        await client.delete(f"/api/chatbot/conversations/{conversation_id}", headers=ann_headers)
    ).status_code == 204
    assert await count(session, Conversation) == 0
