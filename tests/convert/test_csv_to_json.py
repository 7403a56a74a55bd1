"""B13: `POST /api/convert/csv-to-json`: records, output formats, options, and bad CSV."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import AsyncClient

from tests.convert.conftest import MakeClient, in_pieces

URL = "/api/convert/csv-to-json"
CSV = b'id,name,address.city\r\n1,Ada,London\r\n2,"Hopper, Grace",\r\n'


async def convert(
    client: AsyncClient, body: Any, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    response = await client.post(
        URL, content=body, headers={"content-type": "text/csv", **(headers or {})}, params=params
    )
    assert response.status_code == 200, response.text
    return response


async def refused(client: AsyncClient, body: Any, *, status: int = 422, **params: Any) -> dict[str, Any]:
    response = await client.post(URL, content=body, headers={"content-type": "text/csv"}, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["detail"]
    return problem


async def test_converts_to_an_array_of_objects(client: AsyncClient) -> None:
    response = await convert(client, CSV)
    assert response.headers["content-type"] == "application/json"
    assert "Accept" in response.headers["vary"].split(", ")
    assert response.json() == [
        {"id": "1", "name": "Ada", "address.city": "London"},
        {"id": "2", "name": "Hopper, Grace", "address.city": ""},
    ]
    assert response.text.startswith('[\n{"id":"1"')  # one record per line


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"accept": "application/x-ndjson"}, {}),
        ({}, {"format": "ndjson"}),
        ({"accept": "application/json"}, {"format": "ndjson"}),
    ],
)
async def test_converts_to_ndjson(
    client: AsyncClient, headers: dict[str, str], params: dict[str, str]
) -> None:
    response = await convert(client, CSV, headers, **params)
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.text.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "1", "name": "Ada", "address.city": "London"},
        {"id": "2", "name": "Hopper, Grace", "address.city": ""},
    ]
    assert response.text.endswith("\n")


async def test_format_json_wins_over_accept(client: AsyncClient) -> None:
    response = await convert(client, CSV, {"accept": "application/x-ndjson"}, format="json")
    assert response.headers["content-type"] == "application/json"
    assert len(response.json()) == 2


async def test_nested_and_typed(client: AsyncClient) -> None:
    body = (
        b"id,price,big,ok,note,zip,address.city,address.geo.lat\n"
        b"1,1.50,123456789012345678901234567890,true,,007,London,51.5\n"
        b"-2,1e5,-0,FALSE,null,1.,Paris,-1E-3\n"
    )
    response = await convert(client, body, nested="true", types="infer")
    assert '"price":1.50' in response.text  # numbers exactly as written
    assert '"big":123456789012345678901234567890' in response.text
    assert response.json() == [
        {
            "id": 1,
            "price": 1.5,
            "big": 123456789012345678901234567890,
            "ok": True,
            "note": None,
            "zip": "007",  # not a JSON number: stays text
            "address": {"city": "London", "geo": {"lat": 51.5}},
        },
        {
            "id": -2,
            "price": 100000.0,
            "big": -0,
            "ok": "FALSE",
            "note": "null",
            "zip": "1.",
            "address": {"city": "Paris", "geo": {"lat": -0.001}},
        },
    ]


async def test_without_a_header_records_are_arrays(client: AsyncClient) -> None:
    response = await convert(client, b"1,Ada\r\n2,Grace\r\n", header="false")
    assert response.json() == [["1", "Ada"], ["2", "Grace"]]


@pytest.mark.parametrize(
    ("delimiter", "body"), [(";", b"a;b\n1;x,y\n"), ("\t", b"a\tb\n1\tx,y\n"), ("|", b"a|b\n1|x,y\n")]
)
async def test_other_delimiters(client: AsyncClient, delimiter: str, body: bytes) -> None:
    assert (await convert(client, body, delimiter=delimiter)).json() == [{"a": "1", "b": "x,y"}]


async def test_quoted_fields_byte_order_mark_line_ends_and_blank_lines(client: AsyncClient) -> None:
    body = b'\xef\xbb\xbfa,b\n"two\r\nlines","say ""hi"""\r\n\r\n\n"caf\xc3\xa9 \xe2\x82\xac",\n'
    assert (await convert(client, body)).json() == [
        {"a": "two\r\nlines", "b": 'say "hi"'},
        {"a": "café €", "b": ""},
    ]


async def test_a_header_alone_is_an_empty_array(client: AsyncClient) -> None:
    assert (await convert(client, b"a,b\r\n")).json() == []
    assert (await convert(client, b"a,b", format="ndjson")).text == ""


@pytest.mark.parametrize(
    "content_type", ["text/csv", "text/csv; charset=utf-8", "application/csv", "text/plain", None]
)
async def test_accepts_csv_media_types(client: AsyncClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(URL, content=b"a\n1\n", headers=headers)
    assert response.status_code == 200
    assert response.json() == [{"a": "1"}]


async def test_round_trip_through_csv(client: AsyncClient) -> None:
    records = [
        {"id": 1, "name": "Ada", "address": {"city": "London", "zip": "N1"}, "score": 1.50, "ok": True},
        {
            "id": 2,
            "name": 'Grace, "Amazing"',
            "address": {"city": "Arlington", "zip": None},
            "score": -3,
            "ok": False,
        },
    ]
    as_csv = await client.post("/api/convert/json-to-csv", json=records)
    back = await convert(client, as_csv.content, nested="true", types="infer")
    records[1]["address"]["zip"] = None  # type: ignore[index]
    assert back.json() == records


async def test_reads_a_body_sent_in_small_pieces(client: AsyncClient) -> None:
    lines = [b"id,text"] + [f'{i},"é€😀 ""{i}""\n{i}"'.encode() for i in range(200)]
    body = b"\r\n".join(lines) + b"\r\n"
    expected = [{"id": str(i), "text": f'é€😀 "{i}"\n{i}'} for i in range(200)]
    for size in (1, 13, 4096):
        piece = body if size > 1 else b"\r\n".join(lines[:21]) + b"\r\n"
        response = await client.post(
            URL, content=in_pieces(piece, size), headers={"content-type": "text/csv"}
        )
        assert response.json() == (expected if size > 1 else expected[:20]), size


@pytest.mark.parametrize(
    ("body", "params", "code", "place"),
    [
        (b"", {}, "empty_body", {}),
        (b"\r\n\n", {}, "empty_body", {}),
        (b"a,b\n1,2\n3\n", {}, "ragged_row", {"line": 3}),
        (b"a,b\n1,2,3\n", {}, "ragged_row", {"line": 2}),
        (b'a,b\n"multi\nline",2\n3\n', {}, "ragged_row", {"line": 4}),
        (b"1,2\n3\n", {"header": "false"}, "ragged_row", {"line": 2}),
        (b'a,b\n1,"open\n', {}, "invalid_csv", {"line": 2}),
        (b'a,b\n1,"x"y\n', {}, "invalid_csv", {"line": 2}),
        (b"a,b\n1,caf\xc3\n", {}, "invalid_utf8", {"line": 2, "offset": 9}),
        (b"a,\xff\n", {}, "invalid_utf8", {"line": 1, "offset": 2}),
        (b"a,a\n1,2\n", {}, "invalid_header", {"line": 1}),
        (b"a,,c\n1,2,3\n", {}, "invalid_header", {"line": 1}),
        (b"a,a.b\n1,2\n", {"nested": "true"}, "invalid_header", {"line": 1}),
        (b"a.b,a\n1,2\n", {"nested": "true"}, "invalid_header", {"line": 1}),
        (b"a..b\n1\n", {"nested": "true"}, "invalid_header", {"line": 1}),
    ],
)
async def test_refuses_bad_csv_with_the_line(
    client: AsyncClient, body: bytes, params: dict[str, Any], code: str, place: dict[str, Any]
) -> None:
    problem = await refused(client, body, **params)
    assert problem["code"] == code
    assert {key: problem[key] for key in ("line", "record", "offset") if key in problem} == place


async def test_a_dotted_header_is_fine_without_nesting(client: AsyncClient) -> None:
    assert (await convert(client, b"a,a.b\n1,2\n")).json() == [{"a": "1", "a.b": "2"}]


@pytest.mark.parametrize(
    ("content_type", "code"),
    [
        ("application/json", "unsupported_media_type"),
        ("application/x-ndjson", "unsupported_media_type"),
        ("text/csv; charset=windows-1252", "unsupported_charset"),
    ],
)
async def test_refuses_other_media_types(client: AsyncClient, content_type: str, code: str) -> None:
    response = await client.post(URL, content=b"a\n1\n", headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"delimiter": "x"}, "delimiter"),
        ({"types": "number"}, "types"),
        ({"format": "xml"}, "format"),
        ({"nest": "1"}, "nest"),
    ],
)
async def test_refuses_bad_options(client: AsyncClient, params: dict[str, Any], field: str) -> None:
    problem = await refused(client, b"a\n1\n", **params)
    assert problem["code"] == "validation_failed"
    assert [error["field"] for error in problem["errors"]] == [field]


async def test_limits_follow_the_settings(make_client: MakeClient) -> None:
    async with make_client(
        convert_max_columns=3, convert_max_record_bytes=1024, convert_max_body_bytes=4096
    ) as client:
        wide = await refused(client, b"a,b,c,d\n1,2,3,4\n")
        assert (wide["code"], wide["line"]) == ("too_many_columns", 1)
        headless = await refused(client, b"1,2,3,4\n", header="false")
        assert headless["code"] == "too_many_columns"
        long_line = await refused(client, b"a\n" + b"x" * 1100 + b"\n")
        assert (long_line["code"], long_line["line"]) == ("record_too_large", 2)
        # A quoted field may span lines, but its row is bounded all the same.
        spanning = await refused(client, b'a\n"' + b"x\n" * 600 + b'"\n')
        assert (spanning["code"], spanning["line"]) == ("record_too_large", 513)
        big = await refused(client, b"a\n" + b"1\n" * 2100, status=413)
        assert big["code"] == "content_too_large"
        streamed = await client.post(
            URL, content=in_pieces(b"a\n" + b"1\n" * 2100, 500), headers={"content-type": "text/csv"}
        )
        assert streamed.status_code == 413
