from __future__ import annotations

import pytest
from httpx import AsyncClient

from sixty.core.i18n import SUPPORTED_LOCALES, current_locale, negotiate, translations


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("es", "es"),
        ("fr-CA", "fr"),
        ("de_AT", "de"),
        ("ja, de;q=0.5", "de"),
        ("en;q=0.1, fr;q=0.9", "fr"),
        ("es;q=0, fr;q=0.3", "fr"),
        ("*", "en"),
        ("ja, zh", "en"),
        ("fr;q=abc, de", "de"),
        (";;;,,,", "en"),
    ],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_every_locale_has_a_catalog() -> None:
    for locale in SUPPORTED_LOCALES:
        if locale == "en":
            continue
        assert translations(locale).ugettext("Not found") != "Not found", locale


async def test_errors_are_english_by_default(client: AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    assert response.headers["content-language"] == "en"
    problem = response.json()
    assert problem["title"] == "Not authenticated"
    invalid = await client.get("/api/hello", params={"name": ""})
    assert invalid.json()["title"] == "Validation failed"
    assert invalid.json()["errors"][0]["message"] == "Must be at least 1 characters long."


@pytest.mark.parametrize("language", ["es", "fr", "de"])
async def test_errors_are_translated(client: AsyncClient, language: str) -> None:
    response = await client.get("/api/hello", params={"name": ""}, headers={"Accept-Language": language})
    assert response.status_code == 422
    assert response.headers["content-language"] == language
    problem = response.json()
    catalog = translations(language)
    assert problem["title"] == catalog.ugettext("Validation failed") != "Validation failed"
    message = problem["errors"][0]["message"]
    template = "Must be at least {min_length} characters long."
    assert message == catalog.ugettext(template).format(min_length=1) != template.format(min_length=1)


async def test_not_found_detail_translated_with_placeholder(
    client: AsyncClient, auth_headers: dict[str, str]
) -> None:
    note_id = "5d7c2b1e-7c3f-4a5e-9d59-6a1f3f0c2b11"
    response = await client.get(f"/api/notes/{note_id}", headers={"Accept-Language": "de", **auth_headers})
    assert response.status_code == 404
    assert note_id in response.json()["detail"]
    assert response.json()["detail"] != f"Note {note_id} was not found."


def test_locale_context_defaults_to_english() -> None:
    assert current_locale.get() == "en"
