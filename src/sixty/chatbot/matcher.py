"""Intent matching: regular expression patterns, then fuzzy similarity to example phrases.

Both look at the normalised message (text.normalize: lower case, no accents, punctuation turned
into spaces), so patterns are written for that form (`\\bopening (hours|times)\\b`).

- A pattern that matches gives its intent a confidence of 1.0.
- Otherwise the confidence is the best similarity of the message to one of the intent's
  example phrases (`similarity`): the mean of rapidfuzz's `token_set_ratio`, which ignores word
  order and extra words, and its plain `ratio`, which does not. Either alone misleads: the
  first rates "can you do my homework" a near-perfect match for "what can you do", the second
  punishes "open on sundays are you" for its word order. Both forgive typos ("bokk a calback").
  rapidfuzz is a maintained C++ library with wheels for every platform and no dependencies of
  its own; a TF-IDF model (scikit-learn) would pull in numpy and scipy for a few hundred
  phrases, and would miss the typos.

Patterns are compiled with the `regex` module, which accepts a timeout per search: a pattern
written (or stored) with catastrophic backtracking costs at most a fifth of the message's
budget (`SIXTY_CHATBOT_PATTERN_BUDGET`), then counts as no match and is logged; `regex` checks
the clock as it goes, so a search may overrun its timeout by about as much again. Patterns are
also tried against slow-matching probes when they are written (`check_pattern`), which refuses
most such patterns before they are stored.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import regex
from rapidfuzz import fuzz

from sixty.chatbot.text import normalize

logger = logging.getLogger("sixty.chatbot")

PATTERN_FLAGS = regex.IGNORECASE
MAX_PATTERN_CHARS = 200
# A pattern must answer each probe within this on the machine that writes it.
PROBE_TIMEOUT_SECONDS = 0.05
# As long as the longest message (schemas.MAX_MESSAGE_CHARS): a pattern that is only polynomially
# slow (cubic, say) can pass a short probe and still stall on a long message.
PROBE_LENGTH = 1000
# Words no pattern of a real intent looks for: a pattern that matches them matches any message.
NEUTRAL_MESSAGE = "qzxwv jkqzp"
# The share of a message's pattern budget one search may take.
PATTERN_SHARE = 0.2
Via = Literal["pattern", "fuzzy"]


class PatternError(ValueError):
    """A pattern that cannot be used: `kind` is `regex_invalid`, `regex_matches_empty` or
    `regex_too_slow`; `position` is where compiling failed (0-based), when it did."""

    def __init__(self, kind: str, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.position = position


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern, PATTERN_FLAGS)
    except regex.error as error:
        # (the stubs do not declare them; `regex.error` has `msg` and `pos` like `re.error`)
        message, position = getattr(error, "msg", str(error)), getattr(error, "pos", None)
        raise PatternError("regex_invalid", message, position=position) from None


def _probes(pattern: str) -> Iterable[str]:
    """Inputs that make a backtracking pattern slow: long runs of the characters it names, with a
    character at the end that makes the match fail only after every way has been tried."""
    letters = [char for char in dict.fromkeys(normalize(pattern).replace(" ", "")) if char.isalnum()][:6]
    for char in dict.fromkeys(["a", "1", *letters]):
        yield char * PROBE_LENGTH + "!"
        yield (char + " ") * (PROBE_LENGTH // 2) + "!"


def check_pattern(pattern: str) -> regex.Pattern[str]:
    """The compiled pattern, or PatternError: it must compile, must not match any message (the
    empty one, or words of no language), and must answer each probe within the probe timeout."""
    compiled = compile_pattern(pattern)
    if compiled.search("") is not None or compiled.search(NEUTRAL_MESSAGE, timeout=PROBE_TIMEOUT_SECONDS):
        raise PatternError("regex_matches_anything", "matches any message")
    for probe in _probes(pattern):
        try:
            compiled.search(probe, timeout=PROBE_TIMEOUT_SECONDS)
        except TimeoutError:
            raise PatternError(
                "regex_too_slow", "takes too long to match (catastrophic backtracking)"
            ) from None
    return compiled


def similarity(message: str, phrase: str) -> float:
    """How close two normalised texts are, 0..1 (see the module docstring)."""
    return (fuzz.token_set_ratio(message, phrase) + fuzz.ratio(message, phrase)) / 200


@dataclass(frozen=True)
class IntentEntry:
    """One intent as the matcher sees it."""

    id: uuid.UUID
    name: str
    answer: str
    flow: str | None
    patterns: tuple[regex.Pattern[str], ...]
    examples: tuple[str, ...]  # normalised
    suggestion: str  # what a client may offer to send: the first example phrase, else the name


@dataclass(frozen=True)
class Scored:
    intent: IntentEntry
    score: float  # 0..1
    via: Via


class Matcher:
    """The index of one version of the intent set (`version`), built once and then read-only."""

    def __init__(self, intents: Iterable[IntentEntry], *, version: int) -> None:
        self.version = version
        self.intents = tuple(sorted(intents, key=lambda intent: intent.name))
        # One flat list of example phrases for rapidfuzz, and which intent each belongs to.
        self._examples: list[str] = []
        self._owners: list[int] = []
        for index, intent in enumerate(self.intents):
            for example in intent.examples:
                self._examples.append(example)
                self._owners.append(index)

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]], *, version: int) -> Matcher:
        entries = []
        for row in rows:
            patterns = []
            for pattern in row["patterns"]:
                try:
                    patterns.append(compile_pattern(pattern))
                except PatternError:  # checked when written; a newer `regex` may disagree
                    logger.warning("stored chatbot pattern does not compile", extra={"intent": row["name"]})
            examples = tuple(normalize(example) for example in row["examples"])
            entries.append(
                IntentEntry(
                    id=row["id"],
                    name=row["name"],
                    answer=row["answer"],
                    flow=row["flow"],
                    patterns=tuple(patterns),
                    examples=tuple(example for example in examples if example),
                    suggestion=row["examples"][0] if row["examples"] else row["name"],
                )
            )
        return cls(entries, version=version)

    def _pattern_hits(self, text: str, budget: float) -> set[int]:
        """The intents whose patterns match. Each search may take a fifth of the budget, so one
        slow pattern cannot starve the others; once the budget is spent, the rest are skipped."""
        hits: set[int] = set()
        deadline = time.monotonic() + budget
        for index, intent in enumerate(self.intents):
            for pattern in intent.patterns:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.warning("chatbot pattern budget spent", extra={"intent": intent.name})
                    return hits
                try:
                    if pattern.search(text, timeout=min(remaining, budget * PATTERN_SHARE)) is not None:
                        hits.add(index)
                        break
                except TimeoutError:
                    logger.warning(
                        "chatbot pattern timed out", extra={"intent": intent.name, "pattern": pattern.pattern}
                    )
        return hits

    def rank(self, text: str, *, budget: float) -> list[Scored]:
        """Every intent with a score above 0 for the normalised `text`, best first: pattern hits
        (1.0; among them, the closer example phrase first), then by similarity, then by name."""
        if not text:
            return []
        closeness = [0.0] * len(self.intents)
        for phrase, owner in zip(self._examples, self._owners, strict=True):
            closeness[owner] = max(closeness[owner], similarity(text, phrase))
        hits = self._pattern_hits(text, budget)
        ranked = sorted(
            (index for index in range(len(self.intents)) if index in hits or closeness[index] > 0),
            key=lambda index: (-(1.0 if index in hits else closeness[index]), -closeness[index], index),
        )
        return [
            Scored(self.intents[index], 1.0, "pattern")
            if index in hits
            else Scored(self.intents[index], closeness[index], "fuzzy")
            for index in ranked
        ]
