"""Password hashing and policy.

One `PasswordHasher` speaks both schemes: argon2id (default; OWASP's m=19 MiB, t=2, p=1)
and bcrypt (selectable). Whatever the setting, both verify, so switching schemes or
raising parameters re-hashes each password at its owner's next login.

bcrypt reads only the first 72 bytes of its input. Passwords are therefore pre-hashed
with HMAC-SHA256 and base64-encoded (44 bytes) before bcrypt sees them, marked by the
`$bcrypt-sha256$` prefix: a long password is never silently truncated. A plain `$2b$`
hash (imported from elsewhere) still verifies, but a password over 72 bytes never
matches one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from functools import cache

import argon2
import bcrypt
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from sixty.core.config import PasswordScheme, Settings

BCRYPT_SHA256_PREFIX = "$bcrypt-sha256$"
BCRYPT_MAX_BYTES = 72
MIN_LENGTH = 8
MAX_LENGTH = 128
# A fixed key: the pre-hash only widens bcrypt's input; secrecy comes from bcrypt itself.
_PREHASH_KEY = b"sixty.bcrypt-sha256"


def _prehash(password: str) -> bytes:
    return base64.b64encode(hmac.new(_PREHASH_KEY, password.encode(), hashlib.sha256).digest())


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        self.scheme = settings.password_scheme
        self.argon2 = argon2.PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=argon2.Type.ID,
        )
        self.bcrypt_rounds = settings.bcrypt_rounds
        # Verified against when the account does not exist: the same work either way.
        self.dummy_hash = self.hash("not a real password, only here to spend time")

    def hash(self, password: str) -> str:
        if self.scheme is PasswordScheme.argon2:
            return self.argon2.hash(password)
        salt = bcrypt.gensalt(rounds=self.bcrypt_rounds)
        return BCRYPT_SHA256_PREFIX + bcrypt.hashpw(_prehash(password), salt).decode()

    def verify(self, stored: str, password: str) -> bool:
        try:
            if stored.startswith("$argon2"):
                return self.argon2.verify(stored, password)
            if stored.startswith(BCRYPT_SHA256_PREFIX):
                return bcrypt.checkpw(_prehash(password), stored[len(BCRYPT_SHA256_PREFIX) :].encode())
            if stored.startswith(("$2a$", "$2b$", "$2y$")):
                raw = password.encode()
                return len(raw) <= BCRYPT_MAX_BYTES and bcrypt.checkpw(raw, stored.encode())
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError, ValueError):
            return False
        return False

    def needs_rehash(self, stored: str) -> bool:
        if self.scheme is PasswordScheme.argon2:
            return not stored.startswith("$argon2id$") or self.argon2.check_needs_rehash(stored)
        if not stored.startswith(BCRYPT_SHA256_PREFIX):
            return True
        rounds = int(stored[len(BCRYPT_SHA256_PREFIX) :].split("$")[2])
        return rounds != self.bcrypt_rounds

    def verify_dummy(self, password: str) -> None:
        """Spend the time a real verification would, for an account that does not exist."""
        self.verify(self.dummy_hash, password)


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (zxcvbn's list, from leaked password dumps)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def normalize(password: str) -> str:
    # NFC: the same password typed on two keyboards hashes the same (NIST SP 800-63B 5.1.1.2).
    return unicodedata.normalize("NFC", password)


def policy_violation(password: str, *, email: str | None = None, username: str | None = None) -> str | None:
    """Why `password` is refused (a message id), or None. Length is checked by the schema."""
    lowered = password.lower()
    if lowered in common_passwords():
        return "common"
    personal = {value.lower() for value in (email, username, email.split("@")[0] if email else None) if value}
    if lowered in personal:
        return "personal"
    return None
