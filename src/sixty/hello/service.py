"""B1: the greeting, in the request's language."""

from __future__ import annotations

from sixty.core.i18n import N_, _


def greet(name: str | None = None) -> str:
    if name is None:
        return _(N_("Hello, World!"))
    return _(N_("Hello, {name}!")).format(name=name)
