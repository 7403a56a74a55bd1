"""How the bot reads text: one normalisation for messages, example phrases and patterns."""

from __future__ import annotations

import unicodedata

# Joined rather than split on: "what's" reads as "whats", "l’heure" as "lheure".
APOSTROPHES = frozenset("'’ʼ`´")


def normalize(text: str) -> str:
    """Lower case (full case folding), accents removed, every character that is not a letter or
    a digit a space, runs of spaces collapsed: `"  Où est l'Hôtel?!"` -> `"ou est lhotel"`."""
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", text.casefold()):
        if char in APOSTROPHES:
            continue
        category = unicodedata.category(char)
        if category == "Mn":  # combining marks: the accents NFKD split off
            continue
        kept.append(char if category[0] in "LN" else " ")
    return " ".join("".join(kept).split())
