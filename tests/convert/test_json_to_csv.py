"""B13: `POST /api/convert/json-to-csv`: input kinds, flattening, columns, CSV options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from tests.convert.conftest import in_pieces, open_spools, rows

URL = "/api/convert/json-to-csv"
PEOPLE: list[dict[str, Any]] = [
    {"id": 1, "name": "Ada", "address": {"city": "London", "geo": {"lat": 51.5}}, "tags": ["math", "poetry"]},
    {"id": 2, "name": "Grace", "rank": "Rear Admiral", "tags": []},
]
PEOPLE_ROWS = [
    ["id", "name", "address.city", "address.geo.lat", "tags", "rank"],
    ["1", "Ada", "London", "51.5", "math|poetry", ""],
    ["2", "Grace", "", "", "", "Rear Admiral"],
]


def ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


async def convert(
    client: AsyncClient, body: bytes, content_type: str | None = "application/json", **params: Any
) -> str:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(URL, content=body, headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv; charset=utf-8")
    assert response.headers["content-disposition"] == 'attachment; filename="converted.csv"'
    return response.text


async def test_converts_an_array_with_the_union_of_columns_in_order_of_appearance(
    client: AsyncClient,
) -> None:
    text = await convert(client, json.dumps(PEOPLE).encode())
    assert rows(text) == PEOPLE_ROWS
    assert text.startswith("id,name,address.city,address.geo.lat,tags,rank\r\n")  # RFC 4180: CRLF


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/jsonl", "application/ndjson"])
async def test_converts_ndjson(client: AsyncClient, content_type: str) -> None:
    assert rows(await convert(client, ndjson(PEOPLE), content_type)) == PEOPLE_ROWS


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(PEOPLE).encode(),
        ndjson(PEOPLE),
        b"\n\n  " + ndjson(PEOPLE),
        b" \r\n" + json.dumps(PEOPLE).encode(),
    ],
)
async def test_without_a_content_type_the_first_non_blank_byte_decides(
    client: AsyncClient, body: bytes
) -> None:
    assert rows(await convert(client, body, content_type=None)) == PEOPLE_ROWS
    assert rows(await convert(client, body, content_type="application/octet-stream")) == PEOPLE_ROWS


async def test_accepts_pretty_printed_json_a_byte_order_mark_and_blank_ndjson_lines(
    client: AsyncClient,
) -> None:
    pretty = "\ufeff" + json.dumps(PEOPLE, indent=4)
    assert rows(await convert(client, pretty.encode())) == PEOPLE_ROWS
    spaced = b"\xef\xbb\xbf" + ndjson(PEOPLE[:1]) + b"\n   \n\r\n" + ndjson(PEOPLE[1:])
    assert rows(await convert(client, spaced, "application/x-ndjson")) == PEOPLE_ROWS
    no_final_newline = ndjson(PEOPLE).rstrip(b"\n")
    assert rows(await convert(client, no_final_newline, "application/x-ndjson")) == PEOPLE_ROWS


async def test_an_empty_array_is_an_empty_csv(client: AsyncClient) -> None:
    assert await convert(client, b"[]") == ""
    assert await convert(client, b" [ \n ] ") == ""
    assert await convert(client, b"[]", columns=["id", "name"]) == "id,name\r\n"


async def test_writes_values_as_sent(client: AsyncClient) -> None:
    body = (
        b'[{"int": 12345678901234567890123, "dec": 1.50, "exp": 1E+5, "neg": -0.0, "t": true, "f": false,'
        b' "null": null, "text": "caf\\u00e9 \xe2\x82\xac \\ud83d\\ude00", "empty": "", "obj": {}}]'
    )
    assert rows(await convert(client, body)) == [
        ["int", "dec", "exp", "neg", "t", "f", "null", "text", "empty", "obj"],
        ["12345678901234567890123", "1.50", "1E+5", "-0.0", "true", "false", "", "café € 😀", "", ""],
    ]


async def test_quotes_cells_that_need_it(client: AsyncClient) -> None:
    records = [{"a": 'say "hi"', "b": "x,y", "c": "two\nlines", "d": " padded "}]
    text = await convert(client, json.dumps(records).encode())
    assert text == 'a,b,c,d\r\n"say ""hi""","x,y","two\nlines", padded \r\n'
    assert rows(text) == [["a", "b", "c", "d"], ['say "hi"', "x,y", "two\nlines", " padded "]]


async def test_joins_arrays_of_scalars_and_writes_others_as_json(client: AsyncClient) -> None:
    records = [
        {"n": [1, 2.50, None, True], "objs": [{"a": 1}, [2, 3]], "empty": [], "nested": {"list": ["x"]}}
    ]
    assert rows(await convert(client, json.dumps(records).encode(), array_separator="; ")) == [
        ["n", "objs", "empty", "nested.list"],
        ["1; 2.5; ; true", '[{"a":1},[2,3]]', "", "x"],
    ]


async def test_explodes_arrays_into_rows(client: AsyncClient) -> None:
    records = [
        {"order": 1, "items": [{"sku": "A", "qty": 2}, {"sku": "B"}], "tags": ["x", "y"]},
        {"order": 2, "items": [], "tags": ["z"]},
        {"order": 3, "nested": [[1, 2], [3]]},
    ]
    assert rows(await convert(client, json.dumps(records).encode(), arrays="explode")) == [
        ["order", "items.sku", "items.qty", "tags", "nested"],
        ["1", "A", "2", "x", ""],  # every combination of the two arrays
        ["1", "A", "2", "y", ""],
        ["1", "B", "", "x", ""],
        ["1", "B", "", "y", ""],
        ["2", "", "", "z", ""],  # an empty array keeps its row
        ["3", "", "", "", "1"],
        ["3", "", "", "", "2"],
        ["3", "", "", "", "3"],
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_neutralises_formulas(client: AsyncClient, start: str) -> None:
    cell = f'{start}HYPERLINK("http://evil.example")'
    records = [{"a": cell, f"{start}key": 1, "number": -5, "text": "-5", "joined": [f"{start}1", "2"]}]
    table = rows(await convert(client, json.dumps(records).encode()))
    assert table == [
        ["a", f"'{start}key", "number", "text", "joined"],  # column names too
        [f"'{cell}", "1", "-5", "'-5", f"'{start}1|2"],  # numbers never: they are not formulas
    ]


async def test_formula_escaping_can_be_turned_off(client: AsyncClient) -> None:
    records = [{"=a": "=1+1", "b": "@SUM(A1)"}]
    assert rows(await convert(client, json.dumps(records).encode(), escape_formulas=False)) == [
        ["=a", "b"],
        ["=1+1", "@SUM(A1)"],
    ]


async def test_columns_given_choose_and_order_the_cells(client: AsyncClient) -> None:
    text = await convert(
        client, ndjson(PEOPLE), "application/x-ndjson", columns=["name", "address.city", "missing"]
    )
    assert rows(text) == [["name", "address.city", "missing"], ["Ada", "London", ""], ["Grace", "", ""]]
    headless = await convert(client, json.dumps(PEOPLE).encode(), columns=["id"], header=False)
    assert headless == "1\r\n2\r\n"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"delimiter": ";"}, 'a;b\r\n1;"x;y"\r\n'),
        ({"delimiter": "\t"}, "a\tb\r\n1\tx;y\r\n"),
        ({"delimiter": "|", "line_terminator": "lf"}, "a|b\n1|x;y\n"),
        ({"quoting": "all"}, '"a","b"\r\n"1","x;y"\r\n'),
        ({"header": False}, "1,x;y\r\n"),
        ({"bom": True}, "\ufeffa,b\r\n1,x;y\r\n"),
    ],
)
async def test_csv_options(client: AsyncClient, params: dict[str, Any], expected: str) -> None:
    response = await client.post(URL, json=[{"a": 1, "b": "x;y"}], params=params)
    assert response.status_code == 200
    assert response.content.decode("utf-8") == expected
    assert response.headers["content-type"].endswith(
        "header=absent" if params.get("header") is False else "header=present"
    )


async def test_reads_a_body_sent_in_small_pieces(client: AsyncClient) -> None:
    """Elements, numbers, escapes and multi-byte characters cut across every read."""
    records = [
        {"id": i, "big": 10**40 + i, "text": 'é€😀\\"' * (i % 7), "deep": {"x": [i, {"y": i}]}}
        for i in range(300)
    ]
    body = json.dumps(records, ensure_ascii=False).encode()
    expected = rows(await convert(client, body))
    assert len(expected) == 301
    assert expected[5] == ["4", str(10**40 + 4), 'é€😀\\"' * 4, '[4,{"y":4}]']
    for size, count in ((1, 20), (7, 300), (4096, 300)):
        body = json.dumps(records[:count], ensure_ascii=False).encode()
        response = await client.post(
            URL, content=in_pieces(body, size), headers={"content-type": "application/json"}
        )
        assert rows(response.text) == expected[: count + 1], size
        nd = await client.post(
            URL,
            content=in_pieces(ndjson(records[:count]), size),
            headers={"content-type": "application/x-ndjson"},
        )
        assert rows(nd.text) == expected[: count + 1], size


async def test_reads_records_larger_than_a_read(client: AsyncClient) -> None:
    records = [{"id": 1, "blob": "x" * 300_000, "n": 5}, {"id": 2, "n": 123456789012345678901234567890}]
    assert rows(await convert(client, json.dumps(records).encode())) == [
        ["id", "blob", "n"],
        ["1", "x" * 300_000, "5"],
        ["2", "", "123456789012345678901234567890"],
    ]


async def test_the_spool_check_sees_an_open_spool(spool_dir: Path) -> None:
    """The autouse check that spools are closed would notice one left open."""
    import tempfile

    with tempfile.TemporaryFile(dir=spool_dir):
        assert len(open_spools(spool_dir)) == 1
    assert open_spools(spool_dir) == []
