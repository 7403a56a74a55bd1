"""File names as clients send them, made safe to keep as metadata.

A name is only ever shown back (JSON, `Content-Disposition`); storage keys are generated
(core/storage.py), so no name can reach a path. Still, what we keep is clean:

- Unicode NFC, so one name has one spelling;
- the last path component only: `../../etc/passwd` and `C:\\Users\\ann\\cv.pdf` keep `passwd`
  and `cv.pdf` (what the person picked), never a separator or a `..`;
- refused (422 `invalid_name`): NUL and other control characters, bidirectional overrides
  (`cv\u202efdp.exe` shows as `cv.exe.pdf`), and names that are empty, `.` or `..` once the
  directories are gone;
- at most 255 characters, the extension kept when a longer name is cut.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

MAX_NAME = 255

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SEPARATORS = re.compile(r"[/\\]")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,16}$")
# RFC 6266 / RFC 8187: filename*=UTF-8''percent-encoded (language tag optional)
_EXTENDED = re.compile(r"filename\*\s*=\s*(?i:utf-8)'[^']*'([^;\s]+)")


class InvalidName(ValueError):
    """The name cannot be kept (see the module docstring)."""


def clean_name(raw: str) -> str:
    """The name to keep for `raw`, or InvalidName."""
    name = unicodedata.normalize("NFC", raw)
    if _FORBIDDEN.search(name):
        raise InvalidName("control or bidirectional characters")
    name = _SEPARATORS.split(name)[-1].strip()
    if name in ("", ".", ".."):
        raise InvalidName("no file name")
    if len(name) > MAX_NAME:
        extension = _EXTENSION.search(name)
        suffix = extension.group(0) if extension else ""
        name = name[: MAX_NAME - len(suffix)].rstrip() + suffix
    return name


def extended_filename(disposition: str) -> str | None:
    """The `filename*` of a Content-Disposition value, decoded, when there is one."""
    match = _EXTENDED.search(disposition)
    return unquote(match.group(1), encoding="utf-8", errors="strict") if match else None
