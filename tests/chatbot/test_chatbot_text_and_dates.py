"""The pieces without I/O: text normalisation, the date forms the flow understands, and name answers."""

from __future__ import annotations

from datetime import date

import pytest

from sixty.chatbot.dates import InvalidAnswer, parse_date
from sixty.chatbot.flows import CALLBACK, TurnContext, advance, start
from sixty.chatbot.matcher import Matcher, similarity
from sixty.chatbot.text import normalize

THURSDAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("  Où est l'Hôtel?!", "ou est lhotel"),
        ("WHAT’S UP", "whats up"),
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),
        ("ＦＵＬＬ width", "full width"),
        ("tab\tand\u00a0nbsp", "tab and nbsp"),
        ("2026-12-03", "2026 12 03"),
        ("?!...", ""),
    ],
)
def test_normalize(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", THURSDAY),
        ("yesterday", date(2026, 11, 25)),  # the flow refuses it as past
        ("Tomorrow", date(2026, 11, 27)),
        ("tomorrow.", date(2026, 11, 27)),
        ("the day after tomorrow", date(2026, 11, 28)),
        ("friday", date(2026, 11, 27)),
        ("thursday", date(2026, 12, 3)),  # never today: the next one
        ("next monday", date(2026, 11, 30)),
        ("on Tue", date(2026, 12, 1)),
        ("this coming sunday", date(2026, 11, 29)),
        ("in 3 days", date(2026, 11, 29)),
        ("in two weeks", date(2026, 12, 10)),
        ("in a week", date(2026, 12, 3)),
        ("2026-12-03", date(2026, 12, 3)),
        ("3 December", date(2026, 12, 3)),
        ("3rd of dec 2027", date(2027, 12, 3)),
        ("December 3", date(2026, 12, 3)),
        ("Dec 3rd, 2026", date(2026, 12, 3)),
        ("1 January", date(2027, 1, 1)),  # without a year: the next one
        ("26 november", THURSDAY),
        ("29 february", date(2028, 2, 29)),  # the next leap year
    ],
)
def test_date_forms(text: str, expected: date) -> None:
    assert parse_date(text, today=THURSDAY) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("banana", "I could not read that as a date."),
        ("", "I could not read that as a date."),
        ("next week", "I could not read that as a date."),
        (
            "03/12/2026",
            "Dates like {text} read differently from country to country; write 2026-12-03 or 3 December.",
        ),
        (
            "3.12.",
            "Dates like {text} read differently from country to country; write 2026-12-03 or 3 December.",
        ),
        ("2026-13-01", "{text} is not a day of the calendar."),
        ("31 april", "{text} is not a day of the calendar."),
        ("30 february 2027", "{text} is not a day of the calendar."),
        ("in 999 weeks", "That is too far ahead."),
    ],
)
def test_dates_it_refuses_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidAnswer) as raised:
        parse_date(text, today=THURSDAY)
    assert raised.value.reason == reason


CONTEXT = TurnContext(today=THURSDAY, horizon_days=30)


@pytest.mark.parametrize(
    ("answer", "name"),
    [
        ("Ann", "Ann"),
        ("  jean-luc   picard ", "jean-luc picard"),
        ("My name is Zoë O’Brien.", "Zoë O’Brien"),
        ("I'm Ann", "Ann"),
        ("call me Ishmael", "Ishmael"),
        ("Иван Петров", "Иван Петров"),
    ],
)
def test_name_answers(answer: str, name: str) -> None:
    turn = advance(start(CALLBACK).state, answer, CONTEXT)
    assert turn.slots == {"name": name}
    assert turn.step == "date"


@pytest.mark.parametrize(
    "answer", ["R2-D2", "my name is", "a b c d e f g", "x" * 101, "<script>", "ann@example.com"]
)
def test_names_it_refuses(answer: str) -> None:
    turn = advance(start(CALLBACK).state, answer, CONTEXT)
    assert turn.reasked is True
    assert turn.step == "name"
    assert turn.slots == {}


def test_a_date_beyond_the_horizon_is_refused() -> None:
    state = {"flow": "callback", "step": "date", "slots": {"name": "Ann"}}
    assert advance(state, "2026-12-26", CONTEXT).step == "confirm"  # 30 days ahead: the last one
    late = advance(state, "2026-12-27", CONTEXT)
    assert late.reasked is True
    assert "we book up to 30 days from today" in late.reply


def test_a_state_from_another_version_of_the_flow_starts_over() -> None:
    turn = advance({"flow": "callback", "step": "phone", "slots": {"name": "Ann"}}, "555 0100", CONTEXT)
    assert turn.step == "name"
    assert turn.slots == {}


def test_similarity_and_ranking() -> None:
    assert similarity("hello", "hello") == 1.0
    assert similarity("open on sunday are you", "are you open on sunday") > 0.75
    assert similarity("can you do my homework", "what can you do") < 0.75
    matcher = Matcher.from_rows(
        [
            {
                "id": 1,
                "name": "b",
                "patterns": [r"\bhours\b"],
                "examples": ["opening hours"],
                "answer": "B",
                "flow": None,
            },
            {
                "id": 2,
                "name": "a",
                "patterns": [r"\bopen"],
                "examples": ["when are you open"],
                "answer": "A",
                "flow": None,
            },
            {"id": 3, "name": "c", "patterns": [], "examples": ["!!!", "bye"], "answer": "C", "flow": None},
        ],
        version=7,
    )
    ranked = matcher.rank(normalize("Opening hours?"), budget=0.05)
    # Both patterns match; the intent whose example phrase is closer comes first.
    assert [(scored.intent.name, scored.score, scored.via) for scored in ranked[:2]] == [
        ("b", 1.0, "pattern"),
        ("a", 1.0, "pattern"),
    ]
    assert matcher.intents[2].examples == ("bye",)  # phrases that normalise to nothing are left out
    assert matcher.rank("", budget=0.05) == []
