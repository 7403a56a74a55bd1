"""Email addresses and usernames: one spelling per person, no look-alikes.

An address is NFKC-normalised (full-width `ａ` becomes `a`), validated and lower-cased,
with its domain in IDNA form, so `Ann@Example.COM` and `ann@example.com` are one account.
Labels that mix scripts (a Cyrillic `а` among Latin letters) are refused: they exist to
impersonate someone else's address.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from email_validator import EmailNotValidError, validate_email

USERNAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_]$"
_USERNAME_CHARS = re.compile(r"[^a-z0-9_.-]+")
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "root", "system", "support", "security", "me", "api", "auth", "null"}
)


class InvalidEmailError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _scripts(text: str) -> set[str]:
    """Scripts of the letters in `text` (first word of each letter's Unicode name)."""
    scripts = set()
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "UNKNOWN")
            scripts.add(name.split(" ", 1)[0])
    return scripts


def normalize_email(raw: str) -> str:
    """The canonical spelling of an address; `InvalidEmailError` when it is not one."""
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmailError(str(error)) from None
    local, domain = result.local_part, result.domain
    for label in (local, *domain.split(".")):
        if len(_scripts(label)) > 1:
            raise InvalidEmailError("mixes letters of different scripts")
    ascii_domain = result.ascii_domain or domain
    return f"{local.lower()}@{ascii_domain.lower()}"


def username_key(username: str) -> str:
    return username.lower()


def username_candidates(email: str) -> list[str]:
    """Usernames to try for an account created without one: the address's local part,
    cleaned, then the same with a random suffix."""
    local = unicodedata.normalize("NFKD", email.split("@", 1)[0]).encode("ascii", "ignore").decode()
    base = _USERNAME_CHARS.sub("", local.lower())[:30].strip(".-") or "user"
    if len(base) < 3 or base in RESERVED_USERNAMES:
        base = f"{base}-user"
    return [base] + [f"{base}-{secrets.randbelow(10**6):06d}" for _ in range(5)]
