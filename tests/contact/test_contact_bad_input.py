"""B7: every bad submission is a 422 (or 415) problem document; nothing is stored, nothing mailed."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.core.config import Settings
from tests.auth.conftest import Mailbox
from tests.contact.conftest import INBOX, stored
from tests.factories.contact import submission

URL = "/api/contact/messages"
DROP = object()  # leave the field out

BAD_FIELDS: list[tuple[str, str, Any, str]] = [
    # (case, field, value, expected error type)
    ("no name", "name", DROP, "missing"),
    ("empty name", "name", "", "string_too_short"),
    ("blank name", "name", "   ", "string_pattern_mismatch"),
    (
        "name with CRLF (header injection)",
        "name",
        "Ada\r\nBcc: victim@example.com",
        "string_pattern_mismatch",
    ),
    ("name with LF", "name", "Ada\nLovelace", "string_pattern_mismatch"),
    ("name with a line separator", "name", "Ada\u2028Lovelace", "string_pattern_mismatch"),
    ("name with NUL", "name", "Ada\x00", "string_pattern_mismatch"),
    ("name too long", "name", "a" * 101, "string_too_long"),
    ("name not a string", "name", 42, "string_type"),
    ("no email", "email", DROP, "missing"),
    ("not an email", "email", "ada-at-example.com", "value_error"),
    ("email without a dotted domain", "email", "ada@localhost", "value_error"),
    (
        "email with CRLF (header injection)",
        "email",
        "ada@example.com\r\nBcc: victim@example.com",
        "value_error",
    ),
    ("email of mixed scripts", "email", "аda@example.com", "value_error"),
    ("email too long", "email", "a" * 310 + "@example.com", "string_too_long"),
    ("no subject", "subject", DROP, "missing"),
    (
        "subject with CRLF (header injection)",
        "subject",
        "Hi\r\nBcc: victim@example.com",
        "string_pattern_mismatch",
    ),
    ("subject with a tab", "subject", "Hi\tthere", "string_pattern_mismatch"),
    ("subject with NEL", "subject", "Hi\u0085there", "string_pattern_mismatch"),
    ("subject too long", "subject", "s" * 201, "string_too_long"),
    ("no message", "message", DROP, "missing"),
    ("blank message", "message", " \n\t ", "string_pattern_mismatch"),
    ("message with NUL", "message", "hello\x00", "string_pattern_mismatch"),
    ("message too long", "message", "m" * 5001, "string_too_long"),
    ("no form token", "form_token", DROP, "missing"),
    ("form token with odd characters", "form_token", "v1.123.abc/def", "string_pattern_mismatch"),
    ("form token too long", "form_token", "a" * 201, "string_too_long"),
    ("honeypot too long", "website", "x" * 2001, "string_too_long"),
    ("unknown field", "cc", "victim@example.com", "extra_forbidden"),
]


@pytest.mark.parametrize(("case", "field", "value", "kind"), BAD_FIELDS, ids=[case[0] for case in BAD_FIELDS])
async def test_a_bad_field_is_a_422_naming_it_and_nothing_is_stored(
    client: AsyncClient,
    session: AsyncSession,
    contact_settings: Settings,
    mailbox: Mailbox,
    case: str,
    field: str,
    value: Any,
    kind: str,
) -> None:
    body = submission(contact_settings)
    if value is DROP:
        del body[field]
    else:
        body[field] = value
    response = await client.post(URL, json=body)
    assert response.status_code == 422, (case, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert [(error["field"], error["type"]) for error in problem["errors"]] == [(field, kind)], case
    assert await stored(session) == 0
    assert await mailbox.messages(INBOX) == []


async def test_every_bad_field_is_listed_at_once(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings
) -> None:
    body = submission(contact_settings, name="", email="nope", subject="a\nb", message="")
    response = await client.post(URL, json=body)
    assert response.status_code == 422
    assert sorted(error["field"] for error in response.json()["errors"]) == [
        "email",
        "message",
        "name",
        "subject",
    ]
    assert await stored(session) == 0


async def test_not_json_not_an_object_and_malformed_json_are_refused(
    client: AsyncClient, session: AsyncSession, contact_settings: Settings
) -> None:
    as_form = await client.post(URL, data={"name": "Ada"})
    assert as_form.status_code == 415
    assert as_form.json()["code"] == "unsupported_media_type"
    broken = await client.post(URL, content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["type"] == "json_invalid"
    listed = await client.post(URL, json=[submission(contact_settings)])
    assert listed.status_code == 422
    too_big = await client.post(URL, json=submission(contact_settings, message="m" * 2_000_000))
    assert too_big.status_code == 413
    assert await stored(session) == 0


async def test_a_token_of_the_wrong_type_is_refused(client: AsyncClient, contact_settings: Settings) -> None:
    response = await client.post(URL, json=submission(contact_settings, form_token=12345))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "form_token"
