"""Multi-turn flows with slot filling, as a pure state machine (no database, no HTTP).

A flow asks for its slots one at a time, re-asks with the reason when an answer does not fit,
then reads the filled slots back and asks for a yes or a no. "cancel" or "stop" (and a few
synonyms) end it at any step. The conversation keeps the state as JSON:

    {"flow": "callback", "step": "date", "slots": {"name": "Ann Example"}}

`step` is a slot's name or `confirm`. What a completed flow does (store a callback request) is
the service's part: `advance` answers the filled slots and the service acts on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import regex
from babel.dates import format_date

from sixty.chatbot.dates import InvalidAnswer, parse_date
from sixty.chatbot.text import normalize
from sixty.core.i18n import N_, _, current_locale

FlowStatus = Literal["active", "completed", "cancelled"]

CANCEL_WORDS = frozenset({"cancel", "stop", "quit", "abort", "exit", "never mind", "nevermind", "forget it"})
YES_WORDS = frozenset(
    {"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "confirm", "yes please"}
)
NO_WORDS = frozenset({"no", "n", "nope", "nah", "no thanks", "wrong", "incorrect"})
# "My name is Ann" gives "Ann"; the lead-ins are matched on the normalised answer.
NAME_LEAD_INS = regex.compile(r"^(?:my name is|my names|name is|i am|im|it is|its|this is|call me)(?:\s+|$)")
# Letters (any script) in words joined by spaces, hyphens, apostrophes or dots: "Jean-Luc O'Neil Jr."
NAME_SHAPE = regex.compile(r"^\p{L}[\p{L}\p{M}'’.\-]*(?:\s+\p{L}[\p{L}\p{M}'’.\-]*){0,5}$")
MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class TurnContext:
    """What slot parsers may depend on: the day in the bot's time zone, the booking horizon."""

    today: date
    horizon_days: int


def _parse_name(answer: str, context: TurnContext) -> str:
    text = " ".join(answer.split()).strip(" .!,")
    lead_in = NAME_LEAD_INS.match(normalize(text))
    if lead_in is not None:  # drop as many words as the normalised lead-in had
        text = " ".join(text.split()[len(lead_in.group(0).split()) :])
    if not text:
        raise InvalidAnswer(N_("I did not catch a name."))
    if len(text) > MAX_NAME_CHARS:
        raise InvalidAnswer(N_("That name is longer than {max} characters."), max=MAX_NAME_CHARS)
    if not NAME_SHAPE.match(text):
        raise InvalidAnswer(
            N_("A name has letters only (with spaces, hyphens or apostrophes), at most six words.")
        )
    return text


def _parse_day(answer: str, context: TurnContext) -> str:
    day = parse_date(answer, today=context.today)
    if day < context.today:
        raise InvalidAnswer(N_("{day} is in the past."), day=_show_day(day.isoformat()))
    if day > context.today + timedelta(days=context.horizon_days):
        raise InvalidAnswer(
            N_("{day} is too far ahead: we book up to {days} days from today."),
            day=_show_day(day.isoformat()),
            days=context.horizon_days,
        )
    return day.isoformat()


def _show_day(value: str) -> str:
    return format_date(date.fromisoformat(value), format="full", locale=current_locale.get())


@dataclass(frozen=True)
class Slot:
    name: str
    prompt: str  # marked with N_; may use the slots filled so far as {placeholders}
    parse: Callable[[str, TurnContext], str]
    show: Callable[[str], str] = str
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flow:
    name: str
    slots: tuple[Slot, ...]
    confirm: str  # N_, with every slot as a placeholder
    completed: str
    declined: str
    cancelled: str
    confirm_suggestions: tuple[str, ...] = ("yes", "no")
    cancel_suggestion: str = "cancel"
    by_name: dict[str, Slot] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {slot.name: slot for slot in self.slots})

    def shown(self, slots: dict[str, str]) -> dict[str, str]:
        return {name: self.by_name[name].show(value) for name, value in slots.items()}


CALLBACK = Flow(
    name="callback",
    slots=(
        Slot("name", N_("What name should we ask for?"), _parse_name),
        Slot(
            "date",
            N_("Which day suits you, {name}? For example: tomorrow, next monday, or 2026-12-03."),
            _parse_day,
            show=_show_day,
            suggestions=("tomorrow", "next monday"),
        ),
    ),
    confirm=N_("A callback for {name} on {date}. Shall I book it? (yes or no)"),
    completed=N_("Booked: we will call {name} on {date}. Anything else I can help with?"),
    declined=N_("All right, I have not booked the callback. Anything else I can help with?"),
    cancelled=N_("Cancelled: no callback was booked. Anything else I can help with?"),
)
FLOWS: dict[str, Flow] = {flow.name: flow for flow in (CALLBACK,)}
FlowName = Literal["callback"]


@dataclass(frozen=True)
class FlowTurn:
    """The bot's side of one turn in a flow, and the state to keep for the next."""

    flow: str
    reply: str
    status: FlowStatus
    step: str | None  # the slot asked for next, `confirm`, or None once the flow has ended
    slots: dict[str, str]
    suggestions: tuple[str, ...] = ()
    reasked: bool = False  # the answer did not fit: the same question again, with the reason

    @property
    def state(self) -> dict[str, Any]:
        """What the conversation keeps: nothing once the flow has ended."""
        if self.status != "active":
            return {}
        return {"flow": self.flow, "step": self.step, "slots": dict(self.slots)}


def _ask(flow: Flow, step: str, slots: dict[str, str], *, reason: str = "") -> FlowTurn:
    shown = flow.shown(slots)
    if step == "confirm":
        question = _(flow.confirm).format(**shown)
        suggestions = (*flow.confirm_suggestions, flow.cancel_suggestion)
    else:
        slot = flow.by_name[step]
        question = _(slot.prompt).format(**shown)
        suggestions = (*slot.suggestions, flow.cancel_suggestion)
    reply = f"{reason} {question}" if reason else question
    return FlowTurn(flow.name, reply, "active", step, slots, suggestions, reasked=bool(reason))


def start(flow: Flow) -> FlowTurn:
    """The first question of `flow`."""
    return _ask(flow, flow.slots[0].name, {})


def is_cancel(answer: str) -> bool:
    return normalize(answer) in CANCEL_WORDS


def _next_step(flow: Flow, slots: dict[str, str]) -> str:
    return next((slot.name for slot in flow.slots if slot.name not in slots), "confirm")


def advance(state: dict[str, Any], answer: str, context: TurnContext) -> FlowTurn:
    """One answer to the flow in `state` (a conversation's state with a `flow`)."""
    flow = FLOWS[state["flow"]]
    slots = {
        name: str(value) for name, value in dict(state.get("slots") or {}).items() if name in flow.by_name
    }
    step = state.get("step") or _next_step(flow, slots)
    if is_cancel(answer):
        return FlowTurn(flow.name, _(flow.cancelled), "cancelled", None, slots)
    if step == "confirm":
        said = normalize(answer)
        if said in YES_WORDS:
            return FlowTurn(
                flow.name, _(flow.completed).format(**flow.shown(slots)), "completed", None, slots
            )
        if said in NO_WORDS:
            return FlowTurn(flow.name, _(flow.declined), "cancelled", None, slots)
        return _ask(flow, step, slots, reason=_("Please answer yes or no."))
    if step not in flow.by_name:  # a state written by another version of the flow: start over
        return start(flow)
    try:
        value = flow.by_name[step].parse(answer, context)
    except InvalidAnswer as invalid:
        return _ask(flow, step, slots, reason=_(invalid.reason).format(**invalid.params))
    slots = {**slots, step: value}
    return _ask(flow, _next_step(flow, slots), slots)
