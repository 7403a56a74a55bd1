"""Staff edit the intent set through the API; every process answers from the new set at once.
Invalid intents (no patterns or phrases, bad or slow regular expressions, taken names) are
refused with a problem document and change nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.chatbot import service
from sixty.chatbot.matcher import Matcher
from sixty.chatbot.models import Intent, IntentSetVersion
from sixty.chatbot.schemas import IntentUpdate
from tests.chatbot.conftest import count, problem, say
from tests.factories.chatbot import create_intent

STORE = {
    "name": "Store_Location",
    "patterns": [r"\bwhere (is|are) (the|your) (store|shop)\b"],
    "examples": ["Where is your store?", "store address"],
    "answer": "  Our store is at 1 Example Street.  ",
}


async def version(session: AsyncSession) -> int:
    return int(await session.scalar(select(IntentSetVersion.version)) or 0)


async def test_create_read_update_delete(client: AsyncClient, editor_headers: dict[str, str]) -> None:
    created = await client.post("/api/chatbot/intents", json=STORE, headers=editor_headers)
    assert created.status_code == 201, created.text
    intent = created.json()
    assert intent["name"] == "store_location"  # stored in lower case
    assert intent["answer"] == "Our store is at 1 Example Street."
    assert intent["examples"] == ["Where is your store?", "store address"]
    assert intent["flow"] is None
    assert created.headers["location"] == f"/api/chatbot/intents/{intent['id']}"

    read = await client.get(created.headers["location"], headers=editor_headers)
    assert read.json() == intent

    patched = await client.patch(
        created.headers["location"],
        json={"answer": "We moved to 2 Example Road.", "flow": None},
        headers=editor_headers,
    )
    assert patched.status_code == 200
    assert patched.json()["answer"] == "We moved to 2 Example Road."
    assert patched.json()["patterns"] == STORE["patterns"]

    listed = await client.get("/api/chatbot/intents", params={"limit": 100}, headers=editor_headers)
    names = [item["name"] for item in listed.json()["items"]]
    assert names == sorted(names)
    assert "store_location" in names
    assert {"greeting", "opening_hours", "callback", "pricing"} <= set(names)  # the seeded set

    deleted = await client.delete(created.headers["location"], headers=editor_headers)
    assert deleted.status_code == 204
    problem(await client.get(created.headers["location"], headers=editor_headers), 404)
    problem(await client.delete(created.headers["location"], headers=editor_headers), 404)


async def test_intents_page_by_cursor(client: AsyncClient, editor_headers: dict[str, str]) -> None:
    first = await client.get(
        "/api/chatbot/intents", params={"limit": 5, "sort": "-name"}, headers=editor_headers
    )
    second = await client.get(
        "/api/chatbot/intents",
        params={"limit": 5, "sort": "-name", "cursor": first.json()["next_cursor"]},
        headers=editor_headers,
    )
    names = [item["name"] for item in first.json()["items"] + second.json()["items"]]
    assert names == sorted(names, reverse=True)
    assert len(set(names)) == 10


async def test_a_new_intent_answers_at_once_in_every_process(
    client: AsyncClient, second_app_client: AsyncClient, editor_headers: dict[str, str], app: FastAPI
) -> None:
    # Both processes have built their index from the seeded set.
    assert (await say(client, "where is the shop"))["source"] == "fallback"
    assert (await say(second_app_client, "where is the shop"))["source"] == "fallback"
    builds = app.state.chatbot.index.builds

    await say(client, "hello")
    assert app.state.chatbot.index.builds == builds  # nothing changed: the index is reused

    created = await client.post("/api/chatbot/intents", json=STORE, headers=editor_headers)
    assert created.status_code == 201
    for http in (client, second_app_client):
        reply = await say(http, "Where is the shop?")
        assert reply["intent"] == "store_location"
        assert reply["source"] == "pattern"
        assert reply["reply"] == "Our store is at 1 Example Street."
        assert (await say(http, "where is yuor store"))["intent"] == "store_location"  # fuzzy, a typo

    intent_url = created.headers["location"]
    await client.patch(intent_url, json={"answer": "Now at 2 Example Road."}, headers=editor_headers)
    assert (await say(second_app_client, "where is the shop"))["reply"] == "Now at 2 Example Road."

    await client.delete(intent_url, headers=editor_headers)
    for http in (client, second_app_client):
        assert (await say(http, "where is the shop"))["source"] == "fallback"


async def test_every_change_bumps_the_version_stamp(session: AsyncSession) -> None:
    before = await version(session)
    intent = await create_intent(session)
    assert await version(session) == before + 1
    await service.update_intent(session, intent.id, IntentUpdate(answer="Elsewhere."))
    assert await version(session) == before + 2
    await service.delete_intent(session, intent.id)
    assert await version(session) == before + 3


async def test_an_intent_can_start_the_callback_flow(
    client: AsyncClient, editor_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/api/chatbot/intents",
        json={
            "name": "appointment",
            "examples": ["i need an appointment"],
            "answer": "Happy to.",
            "flow": "callback",
        },
        headers=editor_headers,
    )
    assert created.status_code == 201
    reply = await say(client, "I need an appointment")
    assert reply["reply"] == "Happy to. What name should we ask for?"
    assert reply["flow"]["name"] == "callback"
    assert reply["intent"] == "appointment"
    assert (await say(client, "Dee", reply["conversation_id"]))["intent"] == "appointment"


async def test_only_staff_edit_or_read_intents(
    client: AsyncClient, ann_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await count(session, Intent)
    assert problem(await client.get("/api/chatbot/intents"), 401)["code"] == "unauthorized"
    assert problem(await client.post("/api/chatbot/intents", json=STORE), 401)
    forbidden = problem(await client.post("/api/chatbot/intents", json=STORE, headers=ann_headers), 403)
    assert forbidden["code"] == "permission_denied"
    problem(await client.get("/api/chatbot/intents", headers=ann_headers), 403)
    problem(await client.get("/api/chatbot/callbacks", headers=ann_headers), 403)
    problem(await client.get("/api/chatbot/callbacks"), 401)
    some_id = uuid.uuid4()
    problem(
        await client.patch(f"/api/chatbot/intents/{some_id}", json={"answer": "x"}, headers=ann_headers), 403
    )
    problem(await client.delete(f"/api/chatbot/intents/{some_id}", headers=ann_headers), 403)
    assert await count(session, Intent) == before


# --- bad input ---------------------------------------------------------------------------------


def with_(**changes: Any) -> dict[str, Any]:
    return {**STORE, **changes}


@pytest.mark.parametrize(
    ("body", "field", "error_type"),
    [
        (with_(patterns=[], examples=[]), "", "value_error"),
        ({"name": "x", "answer": "y"}, "", "value_error"),
        (with_(patterns=[""]), "patterns.0", "string_too_short"),
        (with_(patterns=["a" * 201]), "patterns.0", "string_too_long"),
        (with_(patterns=["x"] * 21), "patterns", "too_long"),
        (with_(examples=["   "]), "examples.0", "string_pattern_mismatch"),
        (with_(examples=["?!"]), "examples.0", "value_error"),
        (with_(name=""), "name", "string_too_short"),
        (with_(name="store location"), "name", "string_pattern_mismatch"),
        (with_(name="a" * 65), "name", "string_too_long"),
        (with_(answer=" "), "answer", "string_pattern_mismatch"),
        (with_(answer="a" * 2001), "answer", "string_too_long"),
        (with_(flow="refund"), "flow", "literal_error"),
        (with_(patterns=["ok\u0000"]), "patterns.0", "string_pattern_mismatch"),
        (with_(extra=1), "extra", "extra_forbidden"),
        (with_(patterns=[r".*"]), "patterns.0", "regex_matches_anything"),
        (with_(patterns=[r"\b(x|y)?"]), "patterns.0", "regex_matches_anything"),
        (with_(patterns=[r"\w+"]), "patterns.0", "regex_matches_anything"),
    ],
)
async def test_invalid_intents_are_422_and_write_nothing(
    client: AsyncClient,
    editor_headers: dict[str, str],
    session: AsyncSession,
    body: dict[str, Any],
    field: str,
    error_type: str,
) -> None:
    before = (await count(session, Intent), await version(session))
    response = await client.post("/api/chatbot/intents", json=body, headers=editor_headers)
    document = problem(response, 422)
    assert document["code"] == "validation_failed"
    assert (document["errors"][0]["field"], document["errors"][0]["type"]) == (field, error_type), document
    assert (await count(session, Intent), await version(session)) == before


@pytest.mark.parametrize(
    ("pattern", "position", "reason"),
    [
        # The `regex` module's positions: where it noticed, 0-based.
        (r"where (is|are", 13, "missing )"),
        (r"price[s", 7, "unterminated character set"),
        (r"a{3,1}", 2, "min repeat greater than max repeat"),
        (r"*hello", 0, "nothing to repeat"),
        (r"[z-a]", 4, "bad character range"),
        (r"open)", 4, "unbalanced parenthesis"),
    ],
)
async def test_a_pattern_that_does_not_compile_is_422_with_the_position(
    client: AsyncClient, editor_headers: dict[str, str], pattern: str, position: int, reason: str
) -> None:
    response = await client.post(
        "/api/chatbot/intents", json=with_(patterns=[r"\bok\b", pattern]), headers=editor_headers
    )
    [entry] = problem(response, 422)["errors"]
    assert entry["loc"] == ["body", "patterns", 1]
    assert entry["type"] == "regex_invalid"
    assert entry["message"] == f"Not a valid regular expression: {reason} at position {position}."


@pytest.mark.parametrize("pattern", [r"^(a|aa)+$", r"(x+x+)+y", r"(\w+\s?)+q$", r"((a+)+)+b"])
async def test_a_catastrophically_backtracking_pattern_is_refused(
    client: AsyncClient, editor_headers: dict[str, str], session: AsyncSession, pattern: str
) -> None:
    before = await count(session, Intent)
    response = await client.post(
        "/api/chatbot/intents", json=with_(patterns=[pattern]), headers=editor_headers
    )
    [entry] = problem(response, 422)["errors"]
    assert entry["type"] == "regex_too_slow"
    assert "catastrophic backtracking" in entry["message"]
    assert await count(session, Intent) == before


async def test_a_taken_name_is_409_in_any_case(
    client: AsyncClient, editor_headers: dict[str, str], session: AsyncSession
) -> None:
    before = await version(session)
    conflict = problem(
        await client.post("/api/chatbot/intents", json=with_(name="GREETING"), headers=editor_headers), 409
    )
    assert conflict["code"] == "intent_name_taken"
    assert "greeting" in conflict["detail"]
    assert await version(session) == before

    store = (await client.post("/api/chatbot/intents", json=STORE, headers=editor_headers)).json()
    renamed = await client.patch(
        f"/api/chatbot/intents/{store['id']}", json={"name": "pricing"}, headers=editor_headers
    )
    assert problem(renamed, 409)["code"] == "intent_name_taken"
    kept = await client.patch(
        f"/api/chatbot/intents/{store['id']}", json={"name": "STORE_location"}, headers=editor_headers
    )
    assert kept.status_code == 200  # its own name, in another case


async def test_invalid_changes_are_refused(
    client: AsyncClient, editor_headers: dict[str, str], session: AsyncSession
) -> None:
    intent = await create_intent(session, patterns=(r"\bstore\b",), examples=())
    url = f"/api/chatbot/intents/{intent.id}"
    before = await version(session)
    # Removing its only pattern would leave an intent nothing can match.
    emptied = problem(await client.patch(url, json={"patterns": []}, headers=editor_headers), 422)
    assert emptied["code"] == "intent_unmatchable"
    assert (
        problem(await client.patch(url, json={"answer": None}, headers=editor_headers), 422)["errors"][0][
            "field"
        ]
        == "answer"
    )
    assert (
        problem(await client.patch(url, json={"patterns": ["(a"]}, headers=editor_headers), 422)["errors"][0][
            "type"
        ]
        == "regex_invalid"
    )
    problem(await client.patch(url, json={"surprise": 1}, headers=editor_headers), 422)
    problem(
        await client.patch(
            f"/api/chatbot/intents/{uuid.uuid4()}", json={"answer": "x"}, headers=editor_headers
        ),
        404,
    )
    problem(await client.get("/api/chatbot/intents/not-a-uuid", headers=editor_headers), 422)
    await session.refresh(intent)
    assert intent.patterns == [r"\bstore\b"]
    assert await version(session) == before


async def test_a_stored_pattern_that_times_out_counts_as_no_match(
    client: AsyncClient, session: AsyncSession
) -> None:
    """A slow pattern that got past the probes (stored before them, or slow only on other input)
    is cut off by its timeout: it matches nothing, and the message is answered as usual."""
    session.add(Intent(name="zzz_slow", patterns=[r"(a|aa)+$"], examples=[], answer="never", flow=None))
    await session.flush()
    await service._bump_intent_set(session)
    reply = await say(client, "opening hours " + "a" * 40 + " x")
    assert reply["intent"] == "opening_hours"
    assert "zzz_slow" not in [suggestion["intent"] for suggestion in reply["suggestions"]]


def test_a_slow_pattern_does_not_starve_the_ones_after_it() -> None:
    """One search takes at most a fifth of the budget, so patterns after a slow one still run (the
    budget here is generous, since `regex` may overrun a timeout on a busy machine)."""
    matcher = Matcher.from_rows(
        [
            {
                "id": 1,
                "name": "aaa_slow",
                "patterns": [r"(a|aa)+$"],
                "examples": [],
                "answer": "",
                "flow": None,
            },
            {
                "id": 2,
                "name": "hours",
                "patterns": [r"\bopening\b"],
                "examples": [],
                "answer": "",
                "flow": None,
            },
        ],
        version=1,
    )
    ranked = matcher.rank("opening hours " + "a" * 40 + " x", budget=1.0)
    assert [(scored.intent.name, scored.via) for scored in ranked] == [("hours", "pattern")]
