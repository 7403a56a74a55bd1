"""Settings: safe defaults in development, refused secrets elsewhere, lists from comma-separated env vars."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sixty.core.config import DEFAULT_SECRET_KEY, Environment, JobsBackend, Settings

GOOD_SECRET = "s" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SIXTY_* variable or `.env` file of the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith("SIXTY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def make_settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_are_development_with_the_default_secret() -> None:
    settings = Settings()
    assert settings.env is Environment.development
    assert settings.secret_key == DEFAULT_SECRET_KEY
    assert settings.modules == []
    assert settings.cors_origins == []
    assert settings.trusted_proxies == ["127.0.0.1"]
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.jobs_backend is JobsBackend.memory
    assert settings.jobs_run_in_app is True


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "short", "x" * 31])
@pytest.mark.parametrize("env", ["production", "test"])
def test_outside_development_a_weak_secret_is_refused(env: str, secret: str) -> None:
    with pytest.raises(ValidationError, match="SIXTY_SECRET_KEY"):
        make_settings(env=env, secret_key=secret)


def test_production_refuses_the_default_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_ENV", "production")
    with pytest.raises(ValidationError, match="SIXTY_SECRET_KEY"):
        make_settings()


@pytest.mark.parametrize("env", ["production", "test"])
def test_a_long_secret_is_accepted(env: str) -> None:
    settings = make_settings(env=env, secret_key=GOOD_SECRET)
    assert settings.env == Environment(env)
    assert settings.secret_key == GOOD_SECRET


def test_development_accepts_a_short_secret() -> None:
    assert make_settings(env="development", secret_key="dev").secret_key == "dev"


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        make_settings(env="staging", secret_key=GOOD_SECRET)


def test_settings_come_from_sixty_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_ENV", "production")
    monkeypatch.setenv("SIXTY_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("SIXTY_JOBS_BACKEND", "database")
    monkeypatch.setenv("SIXTY_JOBS_MAX_ATTEMPTS", "9")
    monkeypatch.setenv("SIXTY_LOG_JSON", "false")
    settings = make_settings()
    assert settings.env is Environment.production
    assert settings.jobs_backend is JobsBackend.database
    assert settings.jobs_max_attempts == 9
    assert settings.log_json is False


def test_settings_come_from_a_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SIXTY_LOG_LEVEL=DEBUG\nSIXTY_MODULES=hello\n", encoding="utf-8")
    settings = Settings()  # reads .env from the working directory
    assert settings.log_level == "DEBUG"
    assert settings.modules == ["hello"]


def test_modules_are_parsed_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_MODULES", "hello, notes")
    assert make_settings().modules == ["hello", "notes"]


def test_cors_origins_are_parsed_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_CORS_ORIGINS", "https://a.example, https://b.example,,")
    assert make_settings().cors_origins == ["https://a.example", "https://b.example"]


def test_trusted_proxies_are_parsed_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_TRUSTED_PROXIES", "10.0.0.1 ,10.0.0.2")
    assert make_settings().trusted_proxies == ["10.0.0.1", "10.0.0.2"]


def test_an_empty_modules_variable_means_all_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_MODULES", "")
    assert make_settings().modules == []


def test_lists_passed_as_arguments_are_kept_or_split() -> None:
    assert make_settings(modules=["notes"]).modules == ["notes"]
    assert make_settings(modules="hello,notes").modules == ["hello", "notes"]


def test_effective_database_url_defaults_to_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = make_settings(data_dir=tmp_path / "data")
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'sixty.db'}"
    assert settings.is_sqlite is True


def test_effective_database_url_honours_sixty_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://app:secret@db.example:5432/sixty"
    monkeypatch.setenv("SIXTY_DATABASE_URL", url)
    settings = make_settings()
    assert settings.database_url == url
    assert settings.effective_database_url == url
    assert settings.is_sqlite is False


def test_an_explicit_sqlite_url_is_sqlite(tmp_path: Path) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    assert settings.is_sqlite is True
    assert settings.effective_database_url.endswith("other.db")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("database_pool_size", 0),
        ("max_body_bytes", 0),
        ("jobs_poll_interval", 0),
        ("jobs_max_attempts", 0),
        ("jobs_retention_days", 0),
        ("gzip_min_bytes", -1),
    ],
)
def test_out_of_range_numbers_are_refused(name: str, value: int) -> None:
    with pytest.raises(ValidationError, match=name):
        make_settings(**{name: value})


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_NOT_A_SETTING", "whatever")
    assert not hasattr(make_settings(), "not_a_setting")


def test_library_currency_is_an_iso_4217_code() -> None:
    assert make_settings(library_currency=" jpy ").library_currency == "JPY"
    with pytest.raises(ValidationError, match="ISO 4217"):
        make_settings(library_currency="EURO")
    with pytest.raises(ValidationError):
        make_settings(library_fine_per_day=-1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("900", timedelta(minutes=15)),
        ("1.5", timedelta(seconds=1.5)),
        ("PT15M", timedelta(minutes=15)),
        ("P1D", timedelta(days=1)),
    ],
)
def test_durations_read_seconds_or_iso8601(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: timedelta
) -> None:
    monkeypatch.setenv("SIXTY_ACCESS_TOKEN_TTL", raw)
    assert make_settings().access_token_ttl == expected


@pytest.mark.parametrize("raw", ["0", "-5", "soon"])
def test_bad_durations_are_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("SIXTY_ACCESS_TOKEN_TTL", raw)
    with pytest.raises(ValidationError):
        make_settings()
