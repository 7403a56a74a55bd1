from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.exceptions import RequestValidationError

from sixty.core.pagination import CursorCodec, _from_json, _to_json
from sixty.notes.models import Note


def test_cursor_round_trip_and_signature() -> None:
    codec = CursorCodec("secret-one")
    cursor = codec.encode(["-created_at", "2026-11-26T10:00:00+00:00", str(uuid.UUID(int=5))])
    assert codec.decode(cursor) == ["-created_at", "2026-11-26T10:00:00+00:00", str(uuid.UUID(int=5))]
    with pytest.raises(RequestValidationError):
        CursorCodec("secret-two").decode(cursor)  # another deployment's cursor


@pytest.mark.parametrize("payload", [b"not json", b"{}"])
def test_signed_garbage_is_refused(payload: bytes) -> None:
    import base64

    codec = CursorCodec("s")
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=")
    cursor = f"{encoded.decode()}.{codec._sign(encoded)}"
    with pytest.raises(RequestValidationError) as raised:
        codec.decode(cursor)
    assert raised.value.errors()[0]["type"] == "invalid_cursor"


def test_values_convert_by_column_type() -> None:
    moment = datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert _from_json(_to_json(moment), Note.created_at) == moment
    identifier = uuid.uuid4()
    assert _from_json(_to_json(identifier), Note.id) == identifier
    assert _from_json(3, Note.version) == 3
    assert _to_json("x") == "x"
    with pytest.raises(ValueError, match="naive"):
        _from_json("2026-11-26T10:00:00", Note.created_at)
    with pytest.raises(TypeError):
        _from_json("3", Note.version)
