"""B8, property-based: whatever the input, the calculator answers a result or its own 422, and
finishes (hypothesis's deadline is the guard against a hang, not a speed measure); results of
generated exact expressions equal the exact rational arithmetic of the same tree."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sixty.calculator import service
from sixty.calculator.parser import ExpressionError
from sixty.core.config import Settings
from sixty.core.errors import Unprocessable

LIMITS = service.CalculatorLimits.from_settings(Settings(_env_file=None))
HANG_GUARD = settings(
    deadline=timedelta(seconds=2), max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)

# Pieces that make parsers and decimal arithmetic misbehave: huge and tiny exponents, deep
# nesting, every operator spelling, functions, stray characters.
PIECES = st.sampled_from(
    [
        "0", "1", "2", "9", "10", "0.5", ".5", "5.", "1e9", "1e-9", "9e999999", "1e-999999",
        "99999999999999999999", "+", "-", "*", "/", "^", "**", "%", "×", "÷", "−", "(", ")", ",",
        "sqrt(", "abs(", "round(", "min(", "max(", "foo(", "x", " ", "e", ".", "#", "\u00a0",
    ]
)  # fmt: skip


def check(expression: str, precision: int | None = None) -> service.Outcome | None:
    """Evaluates; only a result or our own 422 may come out."""
    refusal: Unprocessable | None = None
    try:
        outcome = service.evaluate(expression, limits=LIMITS, precision=precision)
    except Unprocessable as error:  # anything else fails the test
        refusal = error
    if isinstance(refusal, ExpressionError):
        assert 0 <= refusal.position <= len(expression)
        assert refusal.extensions["position"] == refusal.position
        return None
    if refusal is not None:
        assert refusal.code == "precision_out_of_range"
        return None
    Decimal(outcome.result)  # always a decimal string
    assert outcome.result == outcome.result.strip()
    return outcome


@HANG_GUARD
@given(st.text(max_size=120))
def test_any_text_gets_a_result_or_a_422(expression: str) -> None:
    check(expression)


@HANG_GUARD
@given(st.lists(PIECES, max_size=60).map("".join), st.none() | st.integers(min_value=1, max_value=100))
def test_any_mix_of_expression_pieces_gets_a_result_or_a_422(expression: str, precision: int | None) -> None:
    check(expression, precision)


def numbers() -> st.SearchStrategy[tuple[str, Fraction]]:
    """A literal with up to 3 digits before and 2 after the point, and its exact value."""
    return st.builds(
        lambda whole, cents: (f"{whole}.{cents:02d}", Fraction(whole * 100 + cents, 100)),
        st.integers(min_value=0, max_value=999),
        st.integers(min_value=0, max_value=99),
    )


def combine(children: st.SearchStrategy[tuple[str, Fraction]]) -> st.SearchStrategy[tuple[str, Fraction]]:
    def binary(op: str, left: tuple[str, Fraction], right: tuple[str, Fraction]) -> tuple[str, Fraction]:
        value = {"+": left[1] + right[1], "-": left[1] - right[1], "*": left[1] * right[1]}[op]
        return f"({left[0]} {op} {right[0]})", value

    def power(base: tuple[str, Fraction], exponent: int) -> tuple[str, Fraction]:
        return f"({base[0]})^{exponent}", base[1] ** exponent

    return st.one_of(
        st.builds(binary, st.sampled_from(["+", "-", "*"]), children, children),
        st.builds(lambda child: (f"-{child[0]}", -child[1]), children),
        st.builds(lambda child: (f"({child[0]})%", child[1] / 100), children),
        st.builds(power, numbers(), st.integers(min_value=0, max_value=2)),
    )


# Up to 8 leaves of at most 6 digits (and powers of them): under 100 significant digits, so
# every result is exact at precision 100.
EXACT_TREES = st.recursive(numbers(), combine, max_leaves=8)


@settings(deadline=timedelta(seconds=2), max_examples=200)
@given(EXACT_TREES)
def test_exact_expressions_equal_rational_arithmetic(tree: tuple[str, Fraction]) -> None:
    expression, expected = tree
    outcome = check(expression, precision=100)
    assert outcome is not None, expression
    assert outcome.exact, expression
    assert Fraction(Decimal(outcome.result)) == expected, expression


@settings(deadline=timedelta(seconds=2), max_examples=200)
@given(st.integers(min_value=-(10**27), max_value=10**27), st.integers(min_value=1, max_value=10**6))
def test_division_rounds_to_the_precision_half_even(numerator: int, denominator: int) -> None:
    outcome = check(f"{numerator} / {denominator}" if numerator >= 0 else f"-{-numerator} / {denominator}")
    assert outcome is not None
    exact = Fraction(numerator, denominator)
    result = Decimal(outcome.result)
    assert outcome.exact == (Fraction(result) == exact)
    # Within half a unit of the 28th significant digit.
    if result:
        unit = Fraction(10) ** (result.adjusted() - 27)
        assert abs(Fraction(result) - exact) <= unit / 2
    assert len(result.as_tuple().digits) <= 28
