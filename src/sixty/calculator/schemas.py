from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

EVALUATION_EXAMPLE: JsonDict = {"expression": "2*(3+4)", "result": "14", "precision": 28, "exact": True}


class EvaluationRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"expression": "2*(3+4)"},
                {"expression": "sqrt(2) × 10% + round(2.675, 2)", "precision": 40},
            ]
        },
    )

    expression: str = Field(
        min_length=1,
        max_length=100_000,  # the configured limit (1000 by default) is a 422 that points at it
        description="The expression: numbers (`1.5`, `2e3`), `+ - * / × ÷`, powers `^` or `**`, "
        "parentheses, unary `-`/`+`, postfix `%` (= /100), and sqrt, abs, round(x[, digits]), "
        "min, max.",
    )
    precision: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Significant digits of the result and of every step (default 28; at most the "
        "server's configured maximum, 100 by default).",
    )


class EvaluationRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EVALUATION_EXAMPLE]})

    expression: str = Field(description="The expression, as sent.")
    result: str = Field(
        description="The value as a decimal string: normalised (`3`, not `3.00`), plain while the "
        "point lies within `precision` digits of the first significant digit, else scientific "
        "(`1.267650600228229401496703205E+30`)."
    )
    precision: int = Field(description="The significant digits the expression was evaluated with.")
    exact: bool = Field(
        description="True when no step had to round to `precision` digits (1/3 and sqrt(2) are not exact)."
    )
