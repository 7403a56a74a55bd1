from __future__ import annotations

import json
import logging
import sys

from sixty.core.logging import JSONFormatter, TextFormatter, configure_logging, request_id_var


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    item = logging.LogRecord("sixty.test", logging.INFO, __file__, 1, message, args or ("world",), None)
    item.__dict__.update(extra)
    return item


def test_json_lines_carry_extra_fields_and_the_request_id() -> None:
    token = request_id_var.set("req-1")
    try:
        line = JSONFormatter().format(record(status=201, path="/api/notes"))
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "info"
    assert entry["logger"] == "sixty.test"
    assert entry["request_id"] == "req-1"
    assert entry["status"] == 201
    assert entry["path"] == "/api/notes"
    assert entry["ts"].endswith("+00:00")


def test_json_lines_include_tracebacks() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        item = record()
        item.exc_info = sys.exc_info()
    entry = json.loads(JSONFormatter().format(item))
    assert "ValueError: boom" in entry["exception"]


def test_text_lines_are_readable() -> None:
    token = request_id_var.set("req-2")
    try:
        line = TextFormatter().format(record(status=404))
    finally:
        request_id_var.reset(token)
    assert line.startswith("INFO    sixty.test: hello world")
    assert "request_id=req-2" in line
    assert "status=404" in line
    try:
        raise KeyError("k")
    except KeyError:
        item = record()
        item.exc_info = sys.exc_info()
    assert "KeyError" in TextFormatter().format(item)


def test_configure_logging_installs_one_handler() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging("debug", json=False)
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, TextFormatter)
        assert root.level == logging.DEBUG
        assert logging.getLogger("uvicorn.error").propagate
        configure_logging("INFO", json=True)
        assert isinstance(root.handlers[0].formatter, JSONFormatter)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
