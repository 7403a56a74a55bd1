from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from sixty.convert.service import CsvFormat, JsonFormat
from sixty.core.i18n import N_

Delimiter = Literal[",", ";", "\t", "|"]
# Named in the query string, which uvicorn caps at 64 KiB: 100 names of 50 characters fit
# even when every character takes 12 bytes percent-encoded.
MAX_NAMED_COLUMNS = 100
Column = Annotated[str, StringConstraints(min_length=1, max_length=50)]


def _distinct(columns: list[str] | None) -> list[str] | None:
    if columns is not None and len(set(columns)) != len(columns):
        raise ValueError(N_("A column is named twice."))
    return columns


class CsvOutputOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delimiter: Delimiter = Field(default=",", description="Between cells: `,` `;` tab or `|`.")
    quoting: Literal["minimal", "all"] = Field(
        default="minimal", description="Quote only the cells that need it, or every cell."
    )
    line_terminator: Literal["crlf", "lf"] = Field(
        default="crlf", description="End of a row: CRLF as RFC 4180 says, or LF."
    )
    bom: bool = Field(default=False, description="Start with a UTF-8 byte order mark (for spreadsheets).")
    header: bool = Field(default=True, description="Write the column names as the first row.")
    escape_formulas: bool = Field(
        default=True,
        description="Prefix `'` to text cells (and column names) that start with `=`, `+`, `-`, `@`, tab "
        "or CR, so a spreadsheet shows them instead of running them as formulas. Numbers are never "
        "prefixed.",
    )

    def csv_format(self) -> CsvFormat:
        return CsvFormat(
            delimiter=self.delimiter,
            quote_all=self.quoting == "all",
            line_terminator="\r\n" if self.line_terminator == "crlf" else "\n",
            bom=self.bom,
            header=self.header,
            escape_formulas=self.escape_formulas,
        )


class JsonToCsvOptions(CsvOutputOptions):
    columns: Annotated[list[Column] | None, AfterValidator(_distinct)] = Field(
        default=None,
        max_length=MAX_NAMED_COLUMNS,
        json_schema_extra={"uniqueItems": True},
        description="Up to 100 columns, in order (repeat the parameter: `columns=id&columns=address.city`). "
        "Then rows stream out as records arrive and other fields are left out; without it the "
        "columns are the union of the records' fields, in order of first appearance.",
    )
    arrays: Literal["join", "explode"] = Field(
        default="join",
        description="`join`: an array of scalars in one cell, joined by `array_separator` (an array "
        "holding objects or arrays as compact JSON); `explode`: one row per element.",
    )
    array_separator: str = Field(
        default="|", min_length=1, max_length=10, description="Joins array elements (`arrays=join`)."
    )


class CsvToJsonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delimiter: Delimiter = Field(default=",", description="Between cells: `,` `;` tab or `|`.")
    header: bool = Field(
        default=True, description="The first row names the fields; without it each record is an array."
    )
    nested: bool = Field(
        default=False,
        description='Dotted column names make nested objects: `a.b` -> `{"a": {"b": ...}}`.',
    )
    types: Literal["string", "infer"] = Field(
        default="string",
        description="`string`: every cell a string; `infer`: JSON numbers, `true`/`false` and empty cells "
        "(null) become their JSON types, numbers exactly as written.",
    )
    format: Literal["json", "ndjson"] | None = Field(
        default=None,
        description="A JSON array or NDJSON; default: NDJSON when `Accept` asks for application/x-ndjson.",
    )

    def json_format(self, *, ndjson: bool) -> JsonFormat:
        return JsonFormat(
            ndjson=ndjson, header=self.header, nested=self.nested, infer_types=self.types == "infer"
        )
