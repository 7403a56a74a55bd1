from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from httpx import AsyncClient

from sixty.core.i18n import (
    DEFAULT_LOCALE,
    LOCALES_DIR,
    SUPPORTED_LOCALES,
    current_locale,
    negotiate,
    translations,
)

TRANSLATED_LOCALES = [locale for locale in SUPPORTED_LOCALES if locale != DEFAULT_LOCALE]
# `{name}`, `{0}`, `{count:d}`, `{value!r}`; doubled braces are literal and were removed first.
PLACEHOLDER = re.compile(r"\{(\w*)(?:[!:][^{}]*)?\}")


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


def _read_catalog(path: str) -> Catalog:
    with open(path, "rb") as file:
        return read_po(file)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("{{", "").replace("}}", "")))


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def test_placeholders_ignore_escaped_braces() -> None:
    text = 'POST {url} ({{"token": "..."}}) within {minutes} minutes, {count:d} times'
    assert _placeholders(text) == {"url", "minutes", "count"}
    assert _placeholders("No placeholder here.") == set()


def test_translated_locales_are_the_expected_ones() -> None:
    assert sorted(TRANSLATED_LOCALES) == ["de", "es", "fr"]


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_catalog_translates_every_message_of_the_template(locale: str) -> None:
    template = _read_catalog(str(LOCALES_DIR / "sixty.pot"))
    catalog = _read_catalog(str(LOCALES_DIR / locale / "LC_MESSAGES" / "sixty.po"))
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    problems: list[str] = []
    messages = [message for message in template if message.id]
    assert messages, "the template has no messages"
    for message in messages:
        translated = catalog.get(message.id, message.context)
        if translated is None:
            problems.append(f"missing: {message.id!r}")
            continue
        if translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        forms = _forms(translated.string)
        expected_forms = catalog.num_plurals if message.pluralizable else 1
        if len(forms) != expected_forms or not all(form.strip() for form in forms):
            problems.append(f"untranslated: {message.id!r}")
            continue
        expected = set().union(*(_placeholders(source) for source in _forms(message.id)))
        found = [_placeholders(form) for form in forms]
        # A plural form may leave out a placeholder (`One file` for {count} = 1), never add one.
        if message.pluralizable:
            fits = all(names <= expected for names in found) and set().union(*found) == expected
        else:
            fits = found[0] == expected
        if not fits:
            problems.append(f"placeholders of {message.id!r}: {found} instead of {sorted(expected)}")
    assert not problems, f"{locale}: " + "\n".join(problems)


def test_the_template_holds_every_message_of_the_code(tmp_path: Path) -> None:
    """`make messages` was run after the last change to a message: the committed template (and so
    the completeness check above) covers every `_()` / `N_()` in the code."""
    root = Path(__file__).resolve().parents[2]
    extracted = tmp_path / "current.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    command = [
        str(pybabel),
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_",
        "-k",
        "N_",
        "--no-location",
        "-o",
        str(extracted),
        ".",
    ]
    subprocess.run(command, cwd=root, check=True, capture_output=True, timeout=120)
    current = {message.id for message in _read_catalog(str(extracted)) if message.id}
    committed = {message.id for message in _read_catalog(str(LOCALES_DIR / "sixty.pot")) if message.id}
    assert current - committed == set(), "run `make messages` and translate the new entries"
    assert committed - current == set(), (
        "run `make messages`: the template lists messages the code no longer has"
    )
