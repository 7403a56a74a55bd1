"""The callback flow: slot filling over several turns, re-asks with reasons, cancelling, and the
callback request staff then list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.chatbot.models import CallbackRequest
from tests.chatbot.conftest import count, say


def next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


async def test_a_full_booking_with_re_asks(
    client: AsyncClient, session: AsyncSession, editor_headers: dict[str, str]
) -> None:
    today = datetime.now(UTC).date()  # the suite's bot reads dates in UTC
    start = await say(client, "Could you call me back tomorrow?")
    conversation = start["conversation_id"]
    assert start["intent"] == "callback"
    assert start["source"] == "pattern"
    assert start["reply"] == "Sure, I can book a callback. What name should we ask for?"
    assert start["flow"] == {
        "name": "callback",
        "status": "active",
        "step": "name",
        "slots": {},
        "reasked": False,
        "callback_id": None,
    }
    assert [s["text"] for s in start["suggestions"]] == ["cancel"]

    # A name with digits is refused: the same question again, with the reason first.
    bad_name = await say(client, "R2-D2", conversation)
    assert bad_name["source"] == "flow"
    assert bad_name["intent"] == "callback"
    assert bad_name["flow"]["step"] == "name"
    assert bad_name["flow"]["reasked"] is True
    assert bad_name["reply"].startswith("A name has letters only")
    assert bad_name["reply"].endswith("What name should we ask for?")

    named = await say(client, "My name is Ann O'Neil", conversation)
    assert named["flow"]["step"] == "date"
    assert named["flow"]["slots"] == {"name": "Ann O'Neil"}
    assert named["reply"].startswith("Which day suits you, Ann O'Neil?")
    assert [s["text"] for s in named["suggestions"]] == ["tomorrow", "next monday", "cancel"]

    for answer, reason in [
        ("whenever", "I could not read that as a date."),
        ("03/12/2026", "Dates like 03/12/2026 read differently"),
        ((today - timedelta(days=3)).isoformat(), "is in the past."),
        ("yesterday", "is in the past."),
        ((today + timedelta(days=200)).isoformat(), "is too far ahead: we book up to 90 days from today."),
        ("2026-02-30", "2026-02-30 is not a day of the calendar."),
    ]:
        reasked = await say(client, answer, conversation)
        assert reasked["flow"]["reasked"] is True, answer
        assert reasked["flow"]["step"] == "date"
        assert reason in reasked["reply"], (answer, reasked["reply"])
        assert reasked["reply"].endswith("For example: tomorrow, next monday, or 2026-12-03.")

    monday = next_weekday(today, 0)
    dated = await say(client, "next Monday", conversation)
    assert dated["flow"]["step"] == "confirm"
    assert dated["flow"]["slots"] == {"name": "Ann O'Neil", "date": monday.isoformat()}
    assert dated["reply"].startswith("A callback for Ann O'Neil on Monday, ")
    assert dated["reply"].endswith("Shall I book it? (yes or no)")
    assert [s["text"] for s in dated["suggestions"]] == ["yes", "no", "cancel"]

    unsure = await say(client, "hmm, maybe", conversation)
    assert unsure["flow"]["step"] == "confirm"
    assert unsure["reply"].startswith("Please answer yes or no.")
    assert await count(session, CallbackRequest) == 0  # nothing is stored before the yes

    booked = await say(client, "Yes!", conversation)
    assert booked["flow"]["status"] == "completed"
    assert booked["flow"]["step"] is None
    assert booked["reply"].startswith("Booked: we will call Ann O'Neil on Monday, ")
    callback_id = booked["flow"]["callback_id"]
    assert callback_id is not None

    listed = await client.get("/api/chatbot/callbacks", headers=editor_headers)
    assert listed.status_code == 200
    [callback] = listed.json()["items"]
    assert callback["id"] == callback_id
    assert callback["name"] == "Ann O'Neil"
    assert callback["day"] == monday.isoformat()
    assert callback["conversation_id"] == conversation
    assert callback["user_id"] is None
    by_day = await client.get(
        "/api/chatbot/callbacks", params={"day": monday.isoformat()}, headers=editor_headers
    )
    assert [item["id"] for item in by_day.json()["items"]] == [callback_id]
    other_day = (monday + timedelta(days=1)).isoformat()
    assert (
        await client.get("/api/chatbot/callbacks", params={"day": other_day}, headers=editor_headers)
    ).json()["items"] == []

    for bad_day in ("0", "2026-02-30", "30/11/2026", "tomorrow"):
        response = await client.get("/api/chatbot/callbacks", params={"day": bad_day}, headers=editor_headers)
        assert response.status_code == 422, bad_day
        assert response.json()["errors"][0]["field"] == "day"

    # The flow is over: the conversation answers intents again.
    after = await say(client, "thanks", conversation)
    assert after["intent"] == "thanks"
    assert after["flow"] is None
    history = (await client.get(f"/api/chatbot/conversations/{conversation}", params={"limit": 100})).json()
    assert history["message_count"] == 2 * 13
    assert history["flow"] is None


async def test_the_flow_state_shows_in_the_history_while_it_runs(client: AsyncClient) -> None:
    conversation = (await say(client, "book a callback"))["conversation_id"]
    await say(client, "Bea", conversation)
    history = (await client.get(f"/api/chatbot/conversations/{conversation}")).json()
    assert history["flow"]["name"] == "callback"
    assert history["flow"]["step"] == "date"
    assert history["flow"]["slots"] == {"name": "Bea"}


async def test_cancel_or_stop_ends_the_flow_at_any_step(client: AsyncClient, session: AsyncSession) -> None:
    for steps, word in [([], "cancel"), (["Bea"], "STOP."), (["Bea", "tomorrow"], "never mind")]:
        conversation = (await say(client, "please call me"))["conversation_id"]
        for answer in steps:
            await say(client, answer, conversation)
        cancelled = await say(client, word, conversation)
        assert cancelled["flow"]["status"] == "cancelled", word
        assert cancelled["flow"]["step"] is None
        assert cancelled["reply"].startswith("Cancelled: no callback was booked.")
        # Next message: no flow, normal matching ("Bea" is no intent: the fallback).
        assert (await say(client, "opening hours", conversation))["intent"] == "opening_hours"
    assert await count(session, CallbackRequest) == 0


async def test_no_at_the_confirmation_books_nothing(client: AsyncClient, session: AsyncSession) -> None:
    conversation = (await say(client, "book a callback"))["conversation_id"]
    await say(client, "Bea", conversation)
    await say(client, "tomorrow", conversation)
    declined = await say(client, "no", conversation)
    assert declined["flow"]["status"] == "cancelled"
    assert declined["reply"].startswith("All right, I have not booked the callback.")
    assert await count(session, CallbackRequest) == 0


async def test_a_signed_in_callers_booking_carries_the_account(
    client: AsyncClient, ann_headers: dict[str, str], editor_headers: dict[str, str]
) -> None:
    conversation = (await say(client, "call me back", headers=ann_headers))["conversation_id"]
    for answer in ("Ann", "tomorrow", "yes"):
        reply = await say(client, answer, conversation, headers=ann_headers)
    assert reply["flow"]["status"] == "completed"
    [callback] = (await client.get("/api/chatbot/callbacks", headers=editor_headers)).json()["items"]
    me = (await client.get("/api/auth/me", headers=ann_headers)).json()
    assert callback["user_id"] == me["id"]
    assert callback["day"] == (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


async def test_callbacks_stay_when_their_conversation_is_deleted(
    client: AsyncClient, editor_headers: dict[str, str]
) -> None:
    conversation = (await say(client, "book a callback"))["conversation_id"]
    for answer in ("Cy", "tomorrow", "yes"):
        await say(client, answer, conversation)
    assert (await client.delete(f"/api/chatbot/conversations/{conversation}")).status_code == 204
    [callback] = (await client.get("/api/chatbot/callbacks", headers=editor_headers)).json()["items"]
    assert callback["name"] == "Cy"
    assert callback["conversation_id"] is None
