"""B13 over real HTTP and under load: bodies streamed both ways through uvicorn, a stream cut
off when a record fails after the answer started, a client that goes away, and concurrent
conversions that do not mix."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from starlette.types import Message

from tests.convert.conftest import rows


def ndjson_records(count: int, *, width: int = 100) -> Iterator[bytes]:
    for i in range(count):
        yield json.dumps({"id": i, "text": "x" * width, "nested": {"n": i * 1.5}}).encode() + b"\n"


def pieces(records: Iterator[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    buffer = b""
    for record in records:
        buffer += record
        if len(buffer) >= size:
            yield buffer
            buffer = b""
    if buffer:
        yield buffer


def test_streams_both_ways_over_http_and_cuts_off_a_stream_that_fails(live_server: str) -> None:
    """One server for both (starting one is the slow part)."""
    streams_both_ways(live_server)
    cuts_off_a_stream_that_fails(live_server)


def streams_both_ways(base: str) -> None:
    """A 20 MB NDJSON body sent chunked, answered as a stream, read as one."""
    count = 150_000
    seen = 0
    with httpx.stream(
        "POST",
        f"{base}/api/convert/json-to-csv",
        content=pieces(ndjson_records(count)),
        headers={"content-type": "application/x-ndjson", "accept-encoding": "identity"},
        timeout=120,
    ) as response:
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        reader = csv.reader(response.iter_lines())
        assert next(reader) == ["id", "text", "nested.n"]
        for seen, row in enumerate(reader):
            assert row[0] == str(seen)
        assert row == [str(count - 1), "x" * 100, str((count - 1) * 1.5)]
    assert seen == count - 1


def drain(response: httpx.Response, into: bytearray) -> None:
    for chunk in response.iter_bytes():
        into += chunk


def cuts_off_a_stream_that_fails(base: str) -> None:
    """With `columns` rows stream as records arrive: past the first chunk, a bad record can no
    longer become a 422, so the connection ends and the client sees an incomplete response."""
    body = b"".join(ndjson_records(2000)) + b"[1]\n"
    received = bytearray()
    with httpx.stream(
        "POST",
        f"{base}/api/convert/json-to-csv",
        params={"columns": ["id", "text"]},
        content=body,
        headers={"content-type": "application/x-ndjson", "accept-encoding": "identity"},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            drain(response, received)
    assert received.startswith(b"id,text\r\n0,")
    assert not received.endswith(b"1999," + b"x" * 100 + b"\r\n")  # never looks complete


class HalfABody:
    """An ASGI client that sends half a body, then disconnects, and records what it is sent."""

    def __init__(self, half: bytes) -> None:
        self.messages: list[Message] = [
            {"type": "http.request", "body": half, "more_body": True},
            {"type": "http.disconnect"},
        ]
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return self.messages.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


@pytest.mark.parametrize(
    ("path", "content_type", "half"),
    [
        ("/api/convert/json-to-csv", b"application/json", b'[{"a": 1}, '),
        ("/api/convert/csv-to-json", b"text/csv", b"a,b\n1,2\n"),
    ],
)
async def test_a_client_that_goes_away_mid_body_gets_a_400(
    app: FastAPI, path: str, content_type: bytes, half: bytes
) -> None:
    client = HalfABody(half)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", content_type), (b"transfer-encoding", b"chunked"), (b"host", b"t")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    await app(scope, client.receive, client.send)
    assert client.sent[0]["status"] == 400
    assert json.loads(client.sent[1]["body"])["code"] == "incomplete_body"


async def test_concurrent_conversions_do_not_mix(client: AsyncClient) -> None:
    """Twelve conversions at once (three times the worker slots), each with its own data."""

    async def to_csv(n: int) -> None:
        records = [{"who": n, "i": i, "text": f"{n}-{i}" * 50} for i in range(2000)]
        params = {"columns": ["who", "i", "text"]} if n % 2 else {}
        response = await client.post("/api/convert/json-to-csv", json=records, params=params)
        table = rows(response.text)
        assert table[0] == ["who", "i", "text"]
        assert table[1:] == [[str(n), str(i), f"{n}-{i}" * 50] for i in range(2000)]

    async def to_json(n: int) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["who", "i"])
        writer.writerows([n, i] for i in range(3000))
        response = await client.post(
            "/api/convert/csv-to-json",
            content=buffer.getvalue().encode(),
            headers={"content-type": "text/csv"},
        )
        assert response.json() == [{"who": str(n), "i": str(i)} for i in range(3000)]

    await asyncio.gather(*(to_csv(n) for n in range(6)), *(to_json(n) for n in range(6)))
