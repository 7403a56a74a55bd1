"""B8 Calculator: `POST /api/calculator/evaluate`. HTTP only: parse, call the service, shape the response."""

from __future__ import annotations

from typing import Any

from sixty.calculator import service
from sixty.calculator.schemas import EVALUATION_EXAMPLE, EvaluationRead, EvaluationRequest
from sixty.core.deps import SettingsDep
from sixty.core.errors import PROBLEM_MEDIA_TYPE, problem_responses, problem_type
from sixty.core.ratelimit import rate_limit, rate_limit_responses, rate_policy
from sixty.core.routing import module_router

router = module_router("/api/calculator", "calculator")

EVALUATE_PER_IP = rate_policy("calculator.evaluate.ip", "600/minute")

_EXPRESSION_ERROR_EXAMPLE: dict[str, Any] = {
    "type": problem_type("division_by_zero"),
    "title": "Validation failed",
    "status": 422,
    "detail": "Division by zero at position 1.",
    "instance": "/api/calculator/evaluate",
    "code": "division_by_zero",
    "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
    "position": 1,
}


def _responses() -> dict[int | str, Any]:
    responses = problem_responses(413, 415, 422)
    responses[422]["description"] = (
        "The body is invalid (`errors` lists the fields), or the expression is: `code` says how "
        "(`syntax_error`, `division_by_zero`, `unknown_function`, `unknown_name`, `wrong_arity`, "
        "`not_real`, `undefined`, `invalid_argument`, `result_too_large`, `result_too_small`, "
        "`number_too_long`, `number_out_of_range`, `expression_too_long`, `too_many_tokens`, "
        "`too_deep`, `precision_out_of_range`), `position` is the 0-based index in the expression "
        "where the problem is, and `expected` (for syntax errors) lists what could stand there."
    )
    responses[422]["content"][PROBLEM_MEDIA_TYPE]["examples"] = {
        "expression": {"summary": "A bad expression", "value": _EXPRESSION_ERROR_EXAMPLE},
        "field": {
            "summary": "A bad field",
            "value": responses[422]["content"][PROBLEM_MEDIA_TYPE].pop("example"),
        },
    }
    return {
        200: {"content": {"application/json": {"example": EVALUATION_EXAMPLE}}},
        **responses,
        **rate_limit_responses(),
    }


@router.post(
    "/evaluate",
    summary="Evaluate an expression",
    description="Evaluates an arithmetic expression in decimal (never binary floating point, never "
    "`eval`): `+ - * /` (also `×` `÷`), powers `^` or `**` (right-associative; `-2^2` is -4 as in "
    "mathematics), parentheses, unary minus and plus, postfix `%` meaning /100, and the functions "
    "`sqrt`, `abs`, `round(x[, digits])` (halves away from zero), `min` and `max`. Results carry "
    "`precision` significant digits (28 unless the request asks for more), rounded half-even when "
    "they cannot be exact (`exact` says which). Errors are 422 problems with the 0-based "
    "`position` of the mistake.",
    response_model=EvaluationRead,
    responses=_responses(),
    dependencies=[rate_limit(EVALUATE_PER_IP)],
)
async def evaluate(data: EvaluationRequest, settings: SettingsDep) -> EvaluationRead:
    outcome = service.evaluate(
        data.expression,
        limits=service.CalculatorLimits.from_settings(settings),
        precision=data.precision,
    )
    return EvaluationRead(
        expression=data.expression, result=outcome.result, precision=outcome.precision, exact=outcome.exact
    )
