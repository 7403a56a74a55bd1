"""B8: `POST /api/calculator/evaluate`: results, notation, precision, and every kind of bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app

URL = "/api/calculator/evaluate"


async def evaluate(client: AsyncClient, expression: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(URL, json={"expression": expression, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refused(client: AsyncClient, expression: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(URL, json={"expression": expression, **extra})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 422
    assert problem["detail"]
    return problem


async def test_evaluates_the_interface_example(client: AsyncClient) -> None:
    assert await evaluate(client, "2*(3+4)") == {
        "expression": "2*(3+4)",
        "result": "14",
        "precision": 28,
        "exact": True,
    }


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("1+2*3", "7"),
        ("(1+2)*3", "9"),
        ("10-4-3", "3"),  # left-associative
        ("64/4/2", "8"),
        ("2^3^2", "512"),  # right-associative: 2^(3^2)
        ("2**3**2", "512"),
        ("-2^2", "-4"),  # a unary minus binds looser than a power, as in mathematics
        ("(-2)^2", "4"),
        ("2^-1", "0.5"),
        ("2^-2^2", "0.0625"),  # 2^(-(2^2))
        ("-3*-3", "9"),
        ("--3", "3"),
        ("+3", "3"),
        ("2-(-3)", "5"),
        ("50%", "0.5"),
        ("200*10%", "20"),
        ("100+10%", "100.1"),  # percent is /100, not "add ten percent"
        ("50%%", "0.005"),
        ("-50%", "-0.5"),
        ("2^50%", "1.414213562373095048801688724"),  # percent binds tightest: 2^0.5
        ("3 × 4 ÷ 2", "6"),
        ("5 − 3", "2"),
        ("sqrt(16)", "4"),
        ("SQRT(16)", "4"),
        ("abs(-2.5)", "2.5"),
        ("round(2.5)", "3"),  # round() takes halves away from zero, as by hand
        ("round(-2.5)", "-3"),
        ("round(2.675, 2)", "2.68"),
        ("round(1234.5, -2)", "1200"),
        ("round(4, -1)", "0"),
        ("round(5, -1)", "10"),
        ("round(1.5, 30)", "1.5"),
        ("min(3, 1, 2)", "1"),
        ("max(3, -1, 2.5)", "3"),
        ("max(7)", "7"),
        ("min(sqrt(4), abs(-1))", "1"),
        ("0.1+0.2", "0.3"),  # decimal, not binary floating point
        ("1.50+1.50", "3"),  # normalised: not 3.00
        ("1e3", "1000"),
        ("1.5E-3", "0.0015"),
        (".5+5.", "5.5"),
        ("0^0", "1"),
        ("0^5", "0"),
        ("-0", "0"),
        ("10^27", "1000000000000000000000000000"),
        ("2^93", "9903520314283042199192993792"),  # 28 digits: exact and plain
        ("2^100", "1.267650600228229401496703205E+30"),  # 31 digits: rounded, so scientific
        ("10^-28", "0.0000000000000000000000000001"),
        ("10^-29", "1E-29"),
        ("1/3", "0.3333333333333333333333333333"),
        ("2/3", "0.6666666666666666666666666667"),
        ("(-8)^3", "-512"),
        ("  7\t", "7"),
    ],
)
async def test_evaluates(client: AsyncClient, expression: str, result: str) -> None:
    assert (await evaluate(client, expression))["result"] == result


@pytest.mark.parametrize(
    ("expression", "exact"),
    [("1/4", True), ("1/3", False), ("sqrt(2)", False), ("sqrt(2.25)", True), ("round(1/3, 2)", False)],
)
async def test_says_whether_the_result_is_exact(client: AsyncClient, expression: str, exact: bool) -> None:
    assert (await evaluate(client, expression))["exact"] is exact


async def test_rounding_to_the_precision_is_half_even(client: AsyncClient) -> None:
    assert (await evaluate(client, "1.25+0", precision=2))["result"] == "1.2"
    assert (await evaluate(client, "1.35+0", precision=2))["result"] == "1.4"
    assert (await evaluate(client, "2/3", precision=3))["result"] == "0.667"


async def test_precision_can_be_asked_for(client: AsyncClient) -> None:
    body = await evaluate(client, "sqrt(2)", precision=50)
    assert body["result"] == "1.4142135623730950488016887242096980785696718753769"
    assert body["precision"] == 50
    assert (await evaluate(client, "2^100", precision=31))["result"] == "1267650600228229401496703205376"
    # Every step is rounded to the precision, literals too.
    assert (await evaluate(client, "123456+0", precision=3))["result"] == "1.23E+5"


@pytest.mark.parametrize(
    ("expression", "code", "position"),
    [
        ("1/0", "division_by_zero", 1),
        ("2 + 3 / (1 - 1)", "division_by_zero", 6),
        ("0^-1", "division_by_zero", 1),
        ("2*(3+", "syntax_error", 5),
        ("2*(3+4", "syntax_error", 6),
        ("(1))", "syntax_error", 3),
        ("2 3", "syntax_error", 2),
        ("2(3)", "syntax_error", 1),
        ("1,2", "syntax_error", 1),
        ("*2", "syntax_error", 0),
        ("2+*3", "syntax_error", 2),
        ("   ", "syntax_error", 3),
        ("1.2.3", "syntax_error", 3),
        ("2 # 3", "syntax_error", 2),
        ("١+1", "syntax_error", 0),  # ASCII digits only
        ("sqrt 4", "syntax_error", 5),
        ("sqrt()", "wrong_arity", 0),
        ("1 + sqrt(1, 2)", "wrong_arity", 4),
        ("round(1, 2, 3)", "wrong_arity", 0),
        ("max()", "wrong_arity", 0),
        ("1 + foo(2)", "unknown_function", 4),
        ("pi * 2", "unknown_name", 0),
        ("sqrt(-4)", "not_real", 0),
        ("(-8)^(1/3)", "not_real", 4),
        ("round(2.5, 0.5)", "invalid_argument", 0),
        ("9^9^9", "result_too_large", 1),
        ("10^10^10", "result_too_large", 2),
        ("2^4000000", "result_too_large", 1),
        ("1e999999 * 1e999999", "result_too_large", 9),
        ("0.1^10000000", "result_too_small", 3),
        ("1e-999999 / 3e10", "result_too_small", 10),
        ("1e1000001", "number_out_of_range", 0),
        ("1 + 1e-1000001", "number_out_of_range", 4),
        ("1e99999999999999999999999", "number_out_of_range", 0),
        ("1 + " + "9" * 101, "number_too_long", 4),
    ],
)
async def test_refuses_bad_expressions_with_the_position(
    client: AsyncClient, expression: str, code: str, position: int
) -> None:
    problem = await refused(client, expression)
    assert problem["code"] == code
    assert problem["position"] == position


async def test_a_syntax_error_lists_what_was_expected(client: AsyncClient) -> None:
    problem = await refused(client, "2*(3+")
    assert problem["expected"] == ["number", "(", "function", "-", "+"]
    assert problem["detail"] == "The expression ends too early: expected number, (, function, -, +."
    inside = await refused(client, "max(1 2)")
    assert inside["expected"] == ["operator", ",", ")"]
    assert inside["position"] == 6
    unknown = await refused(client, "cbrt(8)")
    assert unknown["expected"] == ["abs", "max", "min", "round", "sqrt"]


async def test_refuses_too_long_expressions(client: AsyncClient) -> None:
    problem = await refused(client, "1+" * 500 + "1")  # 1001 characters
    assert problem["code"] == "expression_too_long"
    assert problem["position"] == 1000


async def test_refuses_too_many_tokens(client: AsyncClient) -> None:
    problem = await refused(client, "1+" * 300 + "1")  # 601 tokens of one character each
    assert problem["code"] == "too_many_tokens"
    assert problem["position"] == 500


@pytest.mark.parametrize(
    ("expression", "position"),
    [("(" * 70 + "1" + ")" * 70, 64), ("-" * 70 + "1", 64), ("sqrt(" * 70 + "4" + ")" * 70, 320)],
)
async def test_refuses_too_deep_nesting(client: AsyncClient, expression: str, position: int) -> None:
    problem = await refused(client, expression)
    assert problem["code"] == "too_deep"
    assert problem["position"] == position


async def test_accepts_nesting_up_to_the_limit(client: AsyncClient) -> None:
    assert (await evaluate(client, "(" * 63 + "1" + ")" * 63))["result"] == "1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "expression"),
        ({"expression": ""}, "expression"),
        ({"expression": 12}, "expression"),
        ({"expression": "1", "precision": 0}, "precision"),
        ({"expression": "1", "precision": 1001}, "precision"),
        ({"expression": "1", "precision": "many"}, "precision"),
        ({"expression": "1", "mode": "degrees"}, "mode"),
    ],
)
async def test_refuses_bad_fields(client: AsyncClient, body: dict[str, Any], field: str) -> None:
    response = await client.post(URL, json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert [error["field"] for error in problem["errors"]] == [field]


async def test_refuses_a_precision_above_the_configured_maximum(client: AsyncClient) -> None:
    problem = await refused(client, "1/3", precision=101)
    assert problem["code"] == "precision_out_of_range"
    assert "100" in problem["detail"]


async def test_refuses_a_body_that_is_not_json(client: AsyncClient) -> None:
    response = await client.post(URL, content=b"expression=1+1", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    broken = await client.post(URL, content=b'{"expression": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["type"] == "json_invalid"


@pytest.fixture
async def strict_client(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    """The app with tight calculator limits, as an operator could configure them."""
    tight = settings.model_copy(
        update={
            "calculator_precision": 10,
            "calculator_max_precision": 12,
            "calculator_max_length": 20,
            "calculator_max_tokens": 7,
            "calculator_max_depth": 3,
            "calculator_max_literal_digits": 5,
            "calculator_max_exponent": 100,
        }
    )
    app: FastAPI = create_app(tight, db=db)
    transport = ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


@pytest.mark.parametrize(
    ("expression", "code", "position"),
    [
        ("1" + "+1" * 10, "expression_too_long", 20),
        ("1+1+1+1+1", "too_many_tokens", 7),
        ("(((1)))", "too_deep", 3),
        ("123456", "number_too_long", 0),
        ("1e101", "number_out_of_range", 0),
        ("10^101", "result_too_large", 2),
        ("10^50*10^51", "result_too_large", 5),
    ],
)
async def test_limits_follow_the_settings(
    strict_client: AsyncClient, expression: str, code: str, position: int
) -> None:
    problem = await refused(strict_client, expression)
    assert (problem["code"], problem["position"]) == (code, position)


async def test_default_precision_follows_the_settings(strict_client: AsyncClient) -> None:
    assert await evaluate(strict_client, "1/3") == {
        "expression": "1/3",
        "result": "0.3333333333",
        "precision": 10,
        "exact": False,
    }
    assert (await evaluate(strict_client, "1/3", precision=12))["result"] == "0.333333333333"
    assert (await refused(strict_client, "1/3", precision=13))["code"] == "precision_out_of_range"


def test_settings_refuse_a_default_precision_above_the_maximum() -> None:
    with pytest.raises(ValueError, match="SIXTY_CALCULATOR_PRECISION"):
        Settings(_env_file=None, calculator_precision=50, calculator_max_precision=40)
    assert (
        Settings(_env_file=None, calculator_precision=40, calculator_max_precision=40).calculator_precision
        == 40
    )
