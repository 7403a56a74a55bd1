"""Patterns for text that people send, shared by every module's schemas.

PostgreSQL cannot store U+0000 in text, so it is refused everywhere, on SQLite
too: both backends accept exactly the same input.
"""

NO_NUL = r"^[^\u0000]*$"
# At least one character that is neither blank nor NUL.
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
