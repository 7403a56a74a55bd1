"""B8 Calculator: evaluates an expression exactly where it can, in decimal, never with eval.

The parser (`parser.py`) compiles the expression to a postfix program; this runs it on a stack
of `Decimal`s in a context of `precision` significant digits, rounding half-even. The context
traps overflow, underflow, invalid operations and division by zero, and every trap becomes a
422 pointing at the operator that caused it. Powers are refused before they are computed when
the result's magnitude (exponent * log10(base)) would leave the exponent range.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal

from sixty.calculator.parser import ExpressionError, ParseLimits, Step, compile_expression
from sixty.core.config import Settings
from sixty.core.errors import Unprocessable
from sixty.core.i18n import N_

# Only for estimating a power's magnitude: a few digits, and room for any exponent.
_ESTIMATE = Context(prec=12, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[])


@dataclass(frozen=True, slots=True)
class CalculatorLimits:
    parse: ParseLimits
    default_precision: int
    max_precision: int

    @classmethod
    def from_settings(cls, settings: Settings) -> CalculatorLimits:
        return cls(
            parse=ParseLimits(
                max_length=settings.calculator_max_length,
                max_tokens=settings.calculator_max_tokens,
                max_depth=settings.calculator_max_depth,
                max_literal_digits=settings.calculator_max_literal_digits,
                max_exponent=settings.calculator_max_exponent,
            ),
            default_precision=settings.calculator_precision,
            max_precision=settings.calculator_max_precision,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str
    precision: int
    exact: bool  # False when a step had to round to `precision` digits


def evaluate(expression: str, *, limits: CalculatorLimits, precision: int | None = None) -> Outcome:
    precision = limits.default_precision if precision is None else precision
    if not 1 <= precision <= limits.max_precision:
        raise Unprocessable(
            N_("The precision must be between 1 and {limit} digits."),
            code="precision_out_of_range",
            limit=limits.max_precision,
        )
    program = compile_expression(expression, limits.parse)
    context = Context(
        prec=precision,
        rounding=ROUND_HALF_EVEN,
        Emax=limits.parse.max_exponent,
        Emin=-limits.parse.max_exponent,
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Underflow],
    )
    stack: list[Decimal] = []
    for step in program:
        try:
            _run(step, stack, context, limits.parse.max_exponent)
        except decimal.Overflow:
            raise _too_large(step) from None
        except decimal.Underflow:
            raise _too_small(step) from None
        except decimal.DivisionByZero:
            raise _division_by_zero(step) from None
        except decimal.InvalidOperation:
            raise ExpressionError(
                N_("The operation at position {position} has no defined result."),
                code="undefined",
                position=step.position,
            ) from None
    (result,) = stack
    return Outcome(
        result=format_decimal(result, context),
        precision=precision,
        exact=not context.flags[decimal.Inexact],
    )


def _run(step: Step, stack: list[Decimal], context: Context, max_exponent: int) -> None:
    if step.op == "push":
        stack.append(context.plus(step.value))
        return
    if step.op in ("neg", "pos", "%"):
        operand = stack.pop()
        if step.op == "%":
            stack.append(operand.scaleb(-2, context))
        else:
            stack.append(context.minus(operand) if step.op == "neg" else context.plus(operand))
        return
    if step.op == "call":
        arguments = stack[len(stack) - step.argc :]
        del stack[len(stack) - step.argc :]
        stack.append(_call(step, arguments, context))
        return
    right = stack.pop()
    left = stack.pop()
    if step.op == "+":
        stack.append(context.add(left, right))
    elif step.op == "-":
        stack.append(context.subtract(left, right))
    elif step.op == "*":
        stack.append(context.multiply(left, right))
    elif step.op == "/":
        if not right:
            raise _division_by_zero(step)
        stack.append(context.divide(left, right))
    else:
        stack.append(_power(step, left, right, context, max_exponent))


def _power(step: Step, base: Decimal, exponent: Decimal, context: Context, max_exponent: int) -> Decimal:
    if not base:
        if exponent < 0:
            raise _division_by_zero(step)
        return Decimal(1) if not exponent else Decimal(0)  # 0^0 = 1, as in IEEE 754 pow and Python
    if base < 0 and exponent != exponent.to_integral_value():
        raise _not_real(step)
    # |base^exponent| = 10^(exponent * log10|base|): refuse before computing what cannot fit.
    magnitude = _ESTIMATE.multiply(exponent, _ESTIMATE.log10(abs(base)))
    if magnitude > max_exponent + 1:
        raise _too_large(step)
    if magnitude < -(max_exponent + context.prec):
        raise _too_small(step)
    return context.power(base, exponent)


def _call(step: Step, arguments: list[Decimal], context: Context) -> Decimal:
    first = arguments[0]
    if step.name == "sqrt":
        if first < 0:
            raise _not_real(step)
        return context.sqrt(first)
    if step.name == "abs":
        return context.abs(first)
    if step.name == "min":
        return context.plus(min(arguments))
    if step.name == "max":
        return context.plus(max(arguments))
    return _round(step, first, arguments[1] if len(arguments) > 1 else Decimal(0), context)


def _round(step: Step, value: Decimal, digits: Decimal, context: Context) -> Decimal:
    """round(x) and round(x, n): n digits after the point (before it when negative), halves
    away from zero as people round by hand (2.5 -> 3, -2.5 -> -3)."""
    if digits != digits.to_integral_value():
        raise ExpressionError(
            N_("round() takes a whole number of digits (position {position})."),
            code="invalid_argument",
            position=step.position,
        )
    places = int(digits)
    if not value or value.adjusted() + 1 + places > context.prec:
        return value  # it already has fewer digits than that
    if -places > value.adjusted() + 1:
        return Decimal(0)  # below half of the rounding unit
    # A context of its own: the rounding asked for is not the inexactness `exact` reports.
    by_hand = context.copy()
    by_hand.rounding = ROUND_HALF_UP
    return value.quantize(Decimal(1).scaleb(-places), context=by_hand)


def format_decimal(value: Decimal, context: Context) -> str:
    """Normalised (`3`, not `3.00`), in plain notation while the point is within `precision`
    digits of the first significant one (`1500`, `0.00042`), else scientific (`1.5E+40`):
    a plain number never shows a digit the precision did not compute."""
    if not value:
        return "0"
    value = value.normalize(context)
    adjusted = value.adjusted()
    if -context.prec <= adjusted < context.prec:
        return format(value, "f")
    return str(value)


def _division_by_zero(step: Step) -> ExpressionError:
    return ExpressionError(
        N_("Division by zero at position {position}."), code="division_by_zero", position=step.position
    )


def _too_large(step: Step) -> ExpressionError:
    return ExpressionError(
        N_("The result at position {position} is too large."), code="result_too_large", position=step.position
    )


def _too_small(step: Step) -> ExpressionError:
    return ExpressionError(
        N_("The result at position {position} is too close to zero to represent."),
        code="result_too_small",
        position=step.position,
    )


def _not_real(step: Step) -> ExpressionError:
    return ExpressionError(
        N_("The operation at position {position} has no real result."),
        code="not_real",
        position=step.position,
    )
