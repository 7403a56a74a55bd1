"""Schemathesis hooks (loaded by tests/schemathesis.toml): serializers for request media types
it does not know, so that those bodies are generated from their schema like JSON ones."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: Any, value: Any) -> bytes:
    """The records of an array schema, one JSON value per line. A value that is not an array
    has no such form: it goes on one line as an array, which NDJSON rightly refuses (a single
    object would be a valid NDJSON body, and so not the bad input schemathesis meant)."""
    if not isinstance(value, list):
        return json.dumps([value]).encode() + b"\n"
    return b"".join(json.dumps(record).encode() + b"\n" for record in value)
