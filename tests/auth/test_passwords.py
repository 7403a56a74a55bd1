"""I1 password hashing (argon2id, bcrypt) and the rules for emails and usernames."""

from __future__ import annotations

import bcrypt
import pytest

from sixty.auth.identifiers import InvalidEmailError, normalize_email, username_candidates
from sixty.auth.passwords import BCRYPT_SHA256_PREFIX, PasswordHasher, policy_violation
from sixty.core.config import PasswordScheme, Settings


@pytest.fixture
def argon2_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(settings)


@pytest.fixture
def bcrypt_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(settings.model_copy(update={"password_scheme": PasswordScheme.bcrypt}))


def test_argon2id_hashes_verify_and_refuse(argon2_hasher: PasswordHasher) -> None:
    stored = argon2_hasher.hash("horse battery")
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert argon2_hasher.verify(stored, "horse battery")
    assert not argon2_hasher.verify(stored, "horse batterY")
    assert not argon2_hasher.needs_rehash(stored)


def test_production_parameters_are_owasps(settings: Settings) -> None:
    defaults = Settings(_env_file=None)
    assert (defaults.argon2_memory_kib, defaults.argon2_time_cost, defaults.argon2_parallelism) == (
        19_456,
        2,
        1,
    )
    assert defaults.password_scheme is PasswordScheme.argon2


def test_bcrypt_never_truncates_long_passwords(bcrypt_hasher: PasswordHasher) -> None:
    long_password = "é" * 40  # 80 bytes in UTF-8: past bcrypt's 72
    stored = bcrypt_hasher.hash(long_password)
    assert stored.startswith(BCRYPT_SHA256_PREFIX + "$2b$04$")
    assert bcrypt_hasher.verify(stored, long_password)
    assert not bcrypt_hasher.verify(stored, "é" * 36 + "e")  # same first 72 bytes, different password
    assert not bcrypt_hasher.verify(stored, "é" * 41)


def test_plain_bcrypt_hashes_verify_but_never_past_72_bytes(bcrypt_hasher: PasswordHasher) -> None:
    imported = bcrypt.hashpw(b"x" * 72, bcrypt.gensalt(rounds=4)).decode()
    assert bcrypt_hasher.verify(imported, "x" * 72)
    assert not bcrypt_hasher.verify(imported, "x" * 73)  # bcrypt alone would say yes
    assert bcrypt_hasher.needs_rehash(imported)


def test_switching_schemes_or_parameters_asks_for_a_rehash(
    argon2_hasher: PasswordHasher, bcrypt_hasher: PasswordHasher, settings: Settings
) -> None:
    argon2_hash, bcrypt_hash = argon2_hasher.hash("pw pw pw pw"), bcrypt_hasher.hash("pw pw pw pw")
    assert argon2_hasher.verify(bcrypt_hash, "pw pw pw pw")  # both schemes always verify
    assert bcrypt_hasher.verify(argon2_hash, "pw pw pw pw")
    assert argon2_hasher.needs_rehash(bcrypt_hash)
    assert bcrypt_hasher.needs_rehash(argon2_hash)
    stronger = PasswordHasher(settings.model_copy(update={"argon2_time_cost": 2}))
    assert stronger.needs_rehash(argon2_hash)
    stronger_bcrypt = PasswordHasher(
        settings.model_copy(update={"password_scheme": PasswordScheme.bcrypt, "bcrypt_rounds": 5})
    )
    assert stronger_bcrypt.needs_rehash(bcrypt_hash)


@pytest.mark.parametrize(
    "stored", ["", "plaintext", "$argon2id$garbage", BCRYPT_SHA256_PREFIX + "$2b$04$short"]
)
def test_malformed_hashes_never_verify(argon2_hasher: PasswordHasher, stored: str) -> None:
    assert not argon2_hasher.verify(stored, "anything")


def test_password_policy() -> None:
    assert policy_violation("password") == "common"
    assert policy_violation("Dragon") == "common"
    assert policy_violation("ann.lee", email="ann.lee@example.com") == "personal"
    assert policy_violation("correct horse battery staple", email="ann@example.com") is None


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("  ann@example.com ", "ann@example.com"),
        ("ａｎｎ@ｅｘａｍｐｌｅ.com", "ann@example.com"),
        ("josé@bücher.example", "josé@xn--bcher-kva.example"),
        ("ИВАН@пример.рф", "иван@xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_emails_are_normalised(raw: str, canonical: str) -> None:
    assert normalize_email(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "ann",
        "ann@",
        "@example.com",
        "аnn@example.com",
        "ann@exаmple.com",
        "a b@example.com",
        "ann@@example.com",
    ],
)
def test_bad_and_lookalike_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEmailError):
        normalize_email(raw)


def test_username_candidates() -> None:
    assert username_candidates("Ann.Lee@example.com")[0] == "ann.lee"
    assert username_candidates("admin@example.com")[0] == "admin-user"
    assert username_candidates("é@example.com")[0] == "e-user"
    assert username_candidates("...@example.com")[0] == "user"
    assert all(candidate.startswith("ann.lee-") for candidate in username_candidates("ann.lee@x.example")[1:])
