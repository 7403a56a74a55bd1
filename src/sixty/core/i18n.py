"""Translations: gettext catalogs compiled by Babel, and the locale negotiated per request.

Code marks text with `_()` where it is rendered, and with `N_()` where it is
defined ahead of time (module constants); `_()` then translates the marked text
into the request's locale, which `negotiate()` picks from `Accept-Language`.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

DOMAIN = "sixty"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "es", "fr", "de")
DEFAULT_LOCALE = "en"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALES_DIR), [locale], DOMAIN)


def _(message: str) -> str:
    """Translate `message` into the current request's locale."""
    return translations(current_locale.get()).ugettext(message)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark `message` for extraction without translating it yet."""
    return message


def _parse_accept_language(header: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for item in header.split(","):
        tag, _sep, params = item.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if 0.0 < quality <= 1.0:
            ranges.append((tag, quality))
    # Stable sort keeps the client's order among equal qualities.
    ranges.sort(key=lambda pair: pair[1], reverse=True)
    return ranges


@lru_cache(maxsize=512)
def negotiate(header: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick the best supported locale for an `Accept-Language` header (RFC 9110 12.5.4)."""
    if not header:
        return default
    for tag, _quality in _parse_accept_language(header[:512]):
        if tag == "*":
            return default
        primary = tag.replace("_", "-").split("-")[0]
        if primary in SUPPORTED_LOCALES:
            return primary
    return default
