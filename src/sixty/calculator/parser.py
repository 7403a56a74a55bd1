"""The expression language: a tokenizer that records 0-based positions, and a Pratt parser
that compiles an expression to a postfix program (evaluated by a loop, never by recursion).

Grammar, from loosest to tightest binding:

    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/" | "×" | "÷") unary)*
    unary    := ("-" | "+") unary | power
    power    := postfix (("^" | "**") unary)?       right-associative: 2^3^2 = 2^9
    postfix  := primary "%"*                         50% = 0.5
    primary  := number | "(" sum ")" | function "(" sum ("," sum)* ")"

So a unary minus binds looser than a power, as in mathematics: -2^2 = -(2^2) = -4, and an
exponent may be negative: 2^-1 = 0.5. Percent binds tightest: 2^50% = 2^0.5.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sixty.core.errors import Unprocessable
from sixty.core.i18n import N_

FUNCTIONS: dict[str, tuple[int, int | None]] = {
    # name: (fewest arguments, most arguments or None for any number)
    "sqrt": (1, 1),
    "abs": (1, 1),
    "round": (1, 2),
    "min": (1, None),
    "max": (1, None),
}

# How a token may be spelled, and the one spelling the parser sees.
_SPELLINGS = {"**": "^", "×": "*", "÷": "/", "−": "-"}
_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/^%(),×÷−])",
    re.ASCII,  # ASCII digits and blanks only: "١٢" or a no-break space is an unexpected character
)

# Binding powers (Pratt): infix operator -> (left, right). Right < left makes `^` right-associative.
_INFIX = {"+": (10, 11), "-": (10, 11), "*": (20, 21), "/": (20, 21), "^": (40, 39)}
_UNARY_BINDING = 30  # a unary sign's operand takes operators binding tighter than 30: ^ and %
_POSTFIX_BINDING = 50

OPERAND = ("number", "(", "function", "-", "+")


class ExpressionError(Unprocessable):
    """A 422 that points at the 0-based `position` in the expression where the problem is."""

    def __init__(
        self, detail: str, *, code: str, position: int, expected: Sequence[str] = (), **params: Any
    ) -> None:
        extensions: dict[str, Any] = {"position": position}
        if expected:
            extensions["expected"] = list(expected)
        super().__init__(detail, code=code, extensions=extensions, position=position, **params)
        self.position = position


@dataclass(frozen=True, slots=True)
class Token:
    kind: Literal["number", "name", "op", "end"]
    text: str  # operators in their one spelling (`**` -> `^`); names in lower case
    position: int


@dataclass(frozen=True, slots=True)
class Step:
    """One instruction of the postfix program: push a number, or apply an operator or function
    to the values on top of the stack. `position` is where to point when it fails."""

    op: str  # "push", "neg", "pos", "%", "+", "-", "*", "/", "^", "call"
    position: int
    value: Decimal = Decimal(0)
    name: str = ""
    argc: int = 0


@dataclass(frozen=True, slots=True)
class ParseLimits:
    max_length: int
    max_tokens: int
    max_depth: int
    max_literal_digits: int
    max_exponent: int


def tokenize(expression: str, limits: ParseLimits) -> list[Token]:
    if len(expression) > limits.max_length:
        raise ExpressionError(
            N_("The expression is longer than {limit} characters."),
            code="expression_too_long",
            position=limits.max_length,
            limit=limits.max_length,
        )
    tokens: list[Token] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ExpressionError(
                N_("Unexpected character {character} at position {position}."),
                code="syntax_error",
                position=position,
                expected=(*OPERAND, "operator"),
                character=repr(expression[position]),
            )
        kind, text = match.lastgroup, match.group()
        if kind != "space":
            if len(tokens) == limits.max_tokens:
                raise ExpressionError(
                    N_("The expression has more than {limit} tokens."),
                    code="too_many_tokens",
                    position=position,
                    limit=limits.max_tokens,
                )
            if kind == "number":
                _check_literal(text, position, limits)
                tokens.append(Token("number", text, position))
            elif kind == "name":
                tokens.append(Token("name", text.lower(), position))
            else:
                tokens.append(Token("op", _SPELLINGS.get(text, text), position))
        position = match.end()
    tokens.append(Token("end", "", len(expression)))
    return tokens


def _check_literal(text: str, position: int, limits: ParseLimits) -> None:
    mantissa, _e, exponent = text.lower().partition("e")
    if sum(character.isdigit() for character in mantissa) > limits.max_literal_digits:
        raise ExpressionError(
            N_("The number at position {position} has more than {limit} digits."),
            code="number_too_long",
            position=position,
            limit=limits.max_literal_digits,
        )
    if exponent:
        # Decimal would read a thousand-digit exponent; bound it by its length before converting.
        value = Decimal(text) if len(exponent.lstrip("+-").lstrip("0")) <= 12 else None
        if value is None or (value and abs(value.adjusted()) > limits.max_exponent):
            raise ExpressionError(
                N_("The number at position {position} is out of range."),
                code="number_out_of_range",
                position=position,
            )


class _Parser:
    def __init__(self, tokens: list[Token], limits: ParseLimits) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.limits = limits
        self.program: list[Step] = []
        # What may close the innermost open group: None (top level), ")" or "," and ")".
        self.closers: list[tuple[str, ...]] = [("end",)]

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def unexpected(self, token: Token, expected: Sequence[str]) -> ExpressionError:
        if token.kind == "end":
            return ExpressionError(
                N_("The expression ends too early: expected {expected_text}."),
                code="syntax_error",
                position=token.position,
                expected=expected,
                expected_text=", ".join(expected),
            )
        return ExpressionError(
            N_("Unexpected {token} at position {position}: expected {expected_text}."),
            code="syntax_error",
            position=token.position,
            expected=expected,
            token=repr(token.text),
            expected_text=", ".join(expected),
        )

    def after_operand(self) -> tuple[str, ...]:
        return ("operator", *self.closers[-1])

    def parse(self) -> list[Step]:
        self.expression(0)
        token = self.peek()
        if token.kind != "end":
            if token.text == ")":
                raise ExpressionError(
                    N_("Unmatched ')' at position {position}."),
                    code="syntax_error",
                    position=token.position,
                    expected=self.after_operand(),
                )
            raise self.unexpected(token, self.after_operand())
        return self.program

    def expression(self, min_binding: int) -> None:
        token = self.peek()
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise ExpressionError(
                N_("The expression nests deeper than {limit} levels."),
                code="too_deep",
                position=token.position,
                limit=self.limits.max_depth,
            )
        self.prefix()
        while True:
            token = self.peek()
            if token.kind == "op" and token.text == "%":
                if min_binding >= _POSTFIX_BINDING:
                    break
                self.advance()
                self.program.append(Step("%", token.position))
                continue
            if token.kind == "op" and token.text in _INFIX:
                left, right = _INFIX[token.text]
                if left <= min_binding:
                    break
                self.advance()
                self.expression(right)
                self.program.append(Step(token.text, token.position))
                continue
            if token.kind != "end" and token.text not in (")", ","):
                # Two operands in a row ("2 3", "2(3)", "2 sqrt(4)"): no implicit multiplication.
                raise self.unexpected(token, self.after_operand())
            break
        self.depth -= 1

    def prefix(self) -> None:
        token = self.advance()
        if token.kind == "number":
            self.program.append(Step("push", token.position, value=Decimal(token.text)))
        elif token.kind == "op" and token.text in ("-", "+"):
            self.expression(_UNARY_BINDING)
            self.program.append(Step("neg" if token.text == "-" else "pos", token.position))
        elif token.kind == "op" and token.text == "(":
            self.closers.append((")",))
            self.expression(0)
            self.closers.pop()
            self.expect(")", opened=token)
        elif token.kind == "name":
            self.call(token)
        else:
            raise self.unexpected(token, OPERAND)

    def expect(self, text: str, *, opened: Token) -> None:
        token = self.peek()
        if token.kind == "op" and token.text == text:
            self.advance()
            return
        if token.kind == "end":
            raise ExpressionError(
                N_("The '(' at position {opened} is never closed."),
                code="syntax_error",
                position=token.position,
                expected=self.after_operand(),
                opened=opened.position,
            )
        raise self.unexpected(token, self.after_operand())

    def call(self, name: Token) -> None:
        arity = FUNCTIONS.get(name.text)
        opening = self.peek()
        if arity is None:
            if opening.kind == "op" and opening.text == "(":
                raise ExpressionError(
                    N_("Unknown function {name} at position {position}; known: {known}."),
                    code="unknown_function",
                    position=name.position,
                    expected=sorted(FUNCTIONS),
                    name=repr(name.text),
                    known=", ".join(sorted(FUNCTIONS)),
                )
            raise ExpressionError(
                N_("Unknown name {name} at position {position}; only functions can be named: {known}."),
                code="unknown_name",
                position=name.position,
                expected=OPERAND,
                name=repr(name.text),
                known=", ".join(sorted(FUNCTIONS)),
            )
        if not (opening.kind == "op" and opening.text == "("):
            raise self.unexpected(opening, ("(",))
        self.advance()
        argc = 0
        self.closers.append((",", ")"))
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            while True:
                self.expression(0)
                argc += 1
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.advance()
                    continue
                break
        self.closers.pop()
        self.expect(")", opened=opening)
        fewest, most = arity
        if argc < fewest or (most is not None and argc > most):
            raise ExpressionError(
                N_("{name} takes {arity} argument(s), not {count}."),
                code="wrong_arity",
                position=name.position,
                name=name.text,
                arity=_arity_text(fewest, most),
                count=argc,
            )
        self.program.append(Step("call", name.position, name=name.text, argc=argc))


def _arity_text(fewest: int, most: int | None) -> str:
    if most is None:
        return f"{fewest}+"
    return str(fewest) if fewest == most else f"{fewest}-{most}"


def compile_expression(expression: str, limits: ParseLimits) -> list[Step]:
    """The postfix program of `expression`; an `ExpressionError` says where it is wrong."""
    return _Parser(tokenize(expression, limits), limits).parse()
