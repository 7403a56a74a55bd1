"""B13: every bad input to `POST /api/convert/json-to-csv` is a 4xx problem that says where."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.convert.conftest import MakeClient, in_pieces

URL = "/api/convert/json-to-csv"


async def refused(
    client: AsyncClient,
    body: Any,
    content_type: str | None = "application/json",
    status: int = 422,
    **params: Any,
) -> dict[str, Any]:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(URL, content=body, headers=headers, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    return problem


def where(problem: dict[str, Any]) -> dict[str, Any]:
    return {key: problem[key] for key in ("line", "record", "offset") if key in problem}


@pytest.mark.parametrize(
    ("body", "code", "place"),
    [
        (b"", "empty_body", {}),
        (b"  \r\n\t ", "empty_body", {}),
        (b"hello", "not_an_array", {"line": 1, "offset": 0}),
        (b"42", "not_an_array", {"line": 1, "offset": 0}),
        (b'"text"', "not_an_array", {"line": 1, "offset": 0}),
        (b"null", "not_an_array", {"line": 1, "offset": 0}),
        (b'\n {"a": 1}', "not_an_array", {"line": 2, "offset": 2}),
        (b'[{"a": 1}, 2]', "not_an_object", {"line": 1, "record": 1, "offset": 11}),
        (b'[{"a": 1},\n ["a"]]', "not_an_object", {"line": 2, "record": 1, "offset": 12}),
        (b'[{"a": 1},\n {"a": }]', "invalid_json", {"line": 2, "record": 1, "offset": 18}),
        (b'[{"a": 1} {"a": 2}]', "invalid_json", {"line": 1, "record": 1, "offset": 10}),
        (b'[{"a": 1},]', "invalid_json", {"line": 1, "record": 1, "offset": 10}),
        (b'[{"a": 1}', "invalid_json", {"line": 1, "record": 1, "offset": 9}),
        (b'[{"a": 1', "invalid_json", {"line": 1, "record": 0, "offset": 8}),
        (b'[{"a": "unterminated}]', "invalid_json", {"line": 1, "record": 0, "offset": 7}),
        (b'[{"a": 1}] []', "invalid_json", {"line": 1, "offset": 11}),
        (b'[{"a": NaN}]', "invalid_json", {"line": 1, "record": 0, "offset": 1}),
        (b'[{"a": Infinity}]', "invalid_json", {"line": 1, "record": 0, "offset": 1}),
        (b"[{'a': 1}]", "invalid_json", {"line": 1, "record": 0, "offset": 2}),
        (b'[{"a": "\\ud800"}]', "invalid_json", {"line": 1, "record": 0, "offset": 1}),
        (b'[{"\\udfff": 1}]', "invalid_json", {"line": 1, "record": 0, "offset": 1}),
        (b'[{"a": "caf\xc3"}]', "invalid_utf8", {"line": 1, "offset": 11}),
        (b'[{"a": "\xff"}]', "invalid_utf8", {"line": 1, "offset": 8}),
        (b'[{"a": 1},\n{"a": "\xff"}]', "invalid_utf8", {"line": 2, "offset": 18}),
        (b"[" + b"[" * 5000 + b"]" * 5000 + b"]", "invalid_json", {"line": 1, "record": 0, "offset": 1}),
        (
            b'[{"a": ' + b"[" * 900 + b'"\\ud800"' + b"]" * 900 + b"}]",
            "invalid_json",
            {"line": 1, "record": 0, "offset": 1},
        ),
    ],
)
async def test_refuses_bad_json_arrays(
    client: AsyncClient, body: bytes, code: str, place: dict[str, Any]
) -> None:
    problem = await refused(client, body)
    assert problem["code"] == code
    assert where(problem) == place


@pytest.mark.parametrize(
    ("body", "code", "place"),
    [
        (b"", "empty_body", {}),
        (b'{"a": 1}\n{"a": \n', "invalid_json", {"line": 2, "record": 1, "offset": 16}),
        (b'{"a": 1}\n\n{"a": 1} x\n', "invalid_json", {"line": 3, "record": 1, "offset": 19}),
        (b'{"a": 1}\n[1, 2]\n', "not_an_object", {"line": 2, "record": 1, "offset": 9}),
        (b'{"a": 1}\n42\n', "not_an_object", {"line": 2, "record": 1, "offset": 9}),
        (b'{"a": 1}\n{"b": "\xe9t\xe9"}\n', "invalid_utf8", {"line": 2, "offset": 16}),
        (b'{"a": "\\ud83d"}\n', "invalid_json", {"line": 1, "record": 0, "offset": 0}),
        (b'{"a": NaN}\n', "invalid_json", {"line": 1, "record": 0, "offset": 0}),
        (b'{"a": 1}\n' + b"[" * 5000, "invalid_json", {"line": 2, "record": 1, "offset": 9}),
    ],
)
async def test_refuses_bad_ndjson_with_the_line(
    client: AsyncClient, body: bytes, code: str, place: dict[str, Any]
) -> None:
    problem = await refused(client, body, "application/x-ndjson")
    assert problem["code"] == code
    assert where(problem) == place


async def test_the_problem_explains_in_words(client: AsyncClient) -> None:
    problem = await refused(client, b'{"a": 1}\n{"a": \n', "application/x-ndjson")
    assert problem["detail"] == "The body is not valid JSON at line 2 (byte 16): Expecting value."
    obj = await refused(client, b'{"a": 1}')
    assert "application/x-ndjson" in obj["detail"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'[{"a": {"b": 1}, "a.b": 2}]', "column_collision"),
        (b"[" + b'{"a": ' * 33 + b"1" + b"}" * 33 + b"]", "too_deep"),
        (b'[{"a": ' + b"[" * 32 + b"]" * 32 + b"}]", "too_deep"),
    ],
)
async def test_refuses_records_that_cannot_flatten(client: AsyncClient, body: bytes, code: str) -> None:
    problem = await refused(client, body)
    assert problem["code"] == code
    assert problem["record"] == 0
    assert problem["line"] == 1


async def test_nesting_up_to_the_limit_flattens(client: AsyncClient) -> None:
    body = b"[" + b'{"a": ' * 32 + b"1" + b"}" * 32 + b"]"
    response = await client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.text == ".".join(["a"] * 32) + "\r\n1\r\n"
    arrays = b'[{"a": ' + b"[" * 31 + b"]" * 31 + b"}]"
    response = await client.post(URL, content=arrays, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.text == "a\r\n" + "[" * 31 + "]" * 31 + "\r\n"


@pytest.mark.parametrize(
    ("content_type", "code"),
    [
        ("text/plain", "unsupported_media_type"),
        ("application/xml", "unsupported_media_type"),
        ("text/csv", "unsupported_media_type"),
        ("application/json; charset=iso-8859-1", "unsupported_charset"),
        ("application/x-ndjson; charset=utf-16", "unsupported_charset"),
    ],
)
async def test_refuses_other_media_types(client: AsyncClient, content_type: str, code: str) -> None:
    problem = await refused(client, b'[{"a": 1}]', content_type, status=415)
    assert problem["code"] == code


async def test_accepts_a_utf8_charset_parameter(client: AsyncClient) -> None:
    response = await client.post(
        URL, content=b'[{"a": 1}]', headers={"content-type": "application/json; charset=UTF-8"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"delimiter": "x"}, "delimiter"),
        ({"delimiter": ",,"}, "delimiter"),
        ({"quoting": "none"}, "quoting"),
        ({"line_terminator": "cr"}, "line_terminator"),
        ({"arrays": "index"}, "arrays"),
        ({"array_separator": ""}, "array_separator"),
        ({"bom": "perhaps"}, "bom"),
        ({"columns": ["a", "a"]}, "columns"),
        ({"columns": [""]}, "columns.0"),
        ({"colums": "a"}, "colums"),
    ],
)
async def test_refuses_bad_options(client: AsyncClient, params: dict[str, Any], field: str) -> None:
    problem = await refused(client, b'[{"a": 1}]', **params)
    assert problem["code"] == "validation_failed"
    assert [error["field"] for error in problem["errors"]] == [field]


async def test_limits_follow_the_settings(make_client: MakeClient) -> None:
    async with make_client(
        convert_max_columns=3,
        convert_max_depth=2,
        convert_max_record_bytes=1024,
        convert_max_rows_per_record=4,
        convert_max_body_bytes=4096,
    ) as client:
        wide = await refused(client, b'[{"a": 1, "b": 2}, {"c": 3}, {"d": 4, "a": 5}]')
        assert (wide["code"], wide["record"], wide["line"]) == ("too_many_columns", 2, 1)
        one_wide = await refused(client, b'{"a": 1, "b": 2, "c": 3, "d": 4}\n', "application/x-ndjson")
        assert one_wide["code"] == "too_many_columns"
        given = await refused(client, b"[]", columns=["a", "b", "c", "d"])
        assert given["code"] == "too_many_columns"
        deep = await refused(client, b'[{"a": {"b": {"c": 1}}}]')
        assert deep["code"] == "too_deep"
        large = await refused(client, b'[{"a": 1}, {"a": "' + b"x" * 1100 + b'"}]')
        assert (large["code"], large["record"]) == ("record_too_large", 1)
        long_line = await refused(
            client, b'{"a": 1}\n{"a": "' + b"x" * 1100 + b'"}\n', "application/x-ndjson"
        )
        assert (long_line["code"], long_line["line"]) == ("record_too_large", 2)
        rows = await refused(client, b'[{"a": [1, 2, 3], "b": [1, 2]}]', arrays="explode")
        assert rows["code"] == "too_many_rows"
        # 413 when Content-Length says so, and when a body without one grows past the limit.
        declared = await refused(client, b"[" + b'{"a": 1},' * 600 + b'{"a": 1}]', status=413)
        assert declared["code"] == "content_too_large"
        body = b"[" + b'{"a": 1},' * 600 + b'{"a": 1}]'
        streamed = await client.post(
            URL, content=in_pieces(body, 1000), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["code"] == "content_too_large"


async def test_the_converter_limit_replaces_the_global_body_limit(make_client: MakeClient) -> None:
    async with make_client(max_body_bytes=1024) as client:
        body = b"[" + b'{"a": 1},' * 600 + b'{"a": 1}]'
        response = await client.post(URL, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200
        assert response.text.count("\r\n") == 602


async def test_an_error_at_the_start_of_a_stream_with_columns_is_still_a_422(client: AsyncClient) -> None:
    problem = await refused(client, b'[{"a": 1}, 2]', columns=["a"])
    assert (problem["code"], problem["record"]) == ("not_an_object", 1)
    empty = await refused(client, b"", columns=["a"])
    assert empty["code"] == "empty_body"
