"""Patterns for text that people send, shared by every module's schemas.

PostgreSQL cannot store U+0000 in text, so it is refused everywhere, on SQLite
too: both backends accept exactly the same input.
"""

NO_NUL = r"^[^\u0000]*$"
# Blank characters, spelled out: `\s` means different sets to the validator (Rust regex: Unicode
# White_Space, with U+0085) and to clients reading the schema (ECMAScript: with U+FEFF), so a
# title of one NEL would be valid by the documented schema and refused by the API. This is both.
BLANK = r"\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# At least one character that is neither blank nor NUL.
NOT_BLANK = rf"^[^\u0000]*[^{BLANK}\u0000][^\u0000]*$"
BLANK_CHARACTERS = (
    "\t\n\v\f\r \u0085\u00a0\u1680"
    + "".join(chr(code) for code in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def strip_blank(value: str) -> str:
    """`value` without surrounding BLANK characters: exactly the set NOT_BLANK looks past, so a
    value the pattern accepts never strips down to nothing (`str.strip` also removes U+001C..1F)."""
    return value.strip(BLANK_CHARACTERS)


# Control characters and line separators (C0, DEL, C1, U+2028, U+2029): never in a value that
# must stay on one line, such as a mail header or a CSV column name.
CONTROL = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
# One line of text with at least one character that is not blank.
ONE_LINE_NOT_BLANK = rf"^[^{CONTROL}]*[^{CONTROL}{BLANK}][^{CONTROL}]*$"
