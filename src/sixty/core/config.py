"""Settings: every knob of the platform, read from `SIXTY_*` environment variables or `.env`."""

from __future__ import annotations

import email.utils
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from babel.numbers import list_currencies
from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sixty.core.ratelimit import parse_policies

DEFAULT_SECRET_KEY = "change-me-in-production"  # noqa: S105 - the sentinel that production refuses


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class PasswordScheme(StrEnum):
    argon2 = "argon2"
    bcrypt = "bcrypt"


class JobsBackend(StrEnum):
    memory = "memory"
    database = "database"


class MailBackend(StrEnum):
    outbox = "outbox"
    smtp = "smtp"


class SmtpTls(StrEnum):
    none = "none"
    starttls = "starttls"
    tls = "tls"


def _mailbox(value: str) -> str:
    """`addr@example.com` or `Name <addr@example.com>` on one line (it becomes the From header)."""
    _name, address = email.utils.parseaddr(value)
    if re.search(r"[\r\n\x00]", value) or not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
        raise ValueError(f"not a mail address: {value!r}")
    return value


def _currency(value: str) -> str:
    """An ISO 4217 code, upper case."""
    code = value.strip().upper()
    if code not in list_currencies():
        raise ValueError(f"not an ISO 4217 currency code: {value!r}")
    return code


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _key_pairs(value: object) -> object:
    """`kid:secret,kid:secret` -> [(kid, secret), ...]."""
    if isinstance(value, str):
        pairs = []
        for part in (part.strip() for part in value.split(",") if part.strip()):
            kid, sep, secret = part.partition(":")
            if not sep or not kid.strip() or not secret:
                raise ValueError("SIXTY_JWT_KEYS entries look like kid:secret, separated by commas")
            pairs.append((kid.strip(), secret))
        return pairs
    return value


def _seconds(value: object) -> object:
    """A duration from the environment: seconds (`900`, `1.5`) or ISO 8601 (`PT15M`, `P1D`)."""
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        return float(value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIXTY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.development
    secret_key: str = DEFAULT_SECRET_KEY
    public_base_url: str | None = Field(
        default=None, description="Base of absolute URLs in mails and links; default: from the request."
    )
    # auth: tokens, password hashing, one-time codes, the first admin
    jwt_keys: Annotated[list[tuple[str, str]], NoDecode] = Field(default_factory=list)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "sixty"
    jwt_audience: str = "sixty-api"
    access_token_ttl: Duration = Field(default=timedelta(minutes=15), gt=timedelta(0))
    refresh_token_ttl: Duration = Field(default=timedelta(days=30), gt=timedelta(0))
    refresh_reuse_grace: Duration = Field(default=timedelta(0), ge=timedelta(0))
    password_scheme: PasswordScheme = PasswordScheme.argon2
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19_456, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    require_verified_email: bool = False
    email_verification_ttl: Duration = Field(default=timedelta(days=2), gt=timedelta(0))
    password_reset_ttl: Duration = Field(default=timedelta(hours=1), gt=timedelta(0))
    login_code_ttl: Duration = Field(default=timedelta(minutes=5), gt=timedelta(0))
    login_code_max_attempts: int = Field(default=5, ge=1)
    totp_issuer: str = "Sixty"
    admin_email: str | None = None
    admin_password: str | None = None
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file in data_dir."
    )
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1)
    redis_url: str | None = None
    modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Modules to serve; empty means all."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1"])
    log_level: str = "INFO"
    log_json: bool = True
    access_log: bool = True
    default_locale: str = "en"
    jobs_backend: JobsBackend = JobsBackend.memory
    jobs_run_in_app: bool = Field(
        default=True, description="Run the job worker and scheduler inside the web process."
    )
    jobs_poll_interval: float = Field(default=1.0, gt=0)
    jobs_max_attempts: int = Field(default=5, ge=1)
    jobs_retention_days: int = Field(default=7, ge=1)
    gzip_min_bytes: int = Field(default=1024, ge=0)
    metrics_enabled: bool = True
    docs_enabled: bool = True
    # mail
    mail_backend: MailBackend = Field(
        default=MailBackend.outbox, description="`outbox` (a table admins read) or `smtp`."
    )
    mail_from: Annotated[str, AfterValidator(_mailbox)] = "Sixty <no-reply@localhost>"
    mail_outbox_retention_days: int = Field(default=30, ge=1)
    smtp_host: str | None = None
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="Default: 465 with tls, 587 with starttls, else 25."
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: SmtpTls = SmtpTls.starttls
    smtp_timeout: float = Field(default=10.0, gt=0, description="Seconds for connecting and for each reply.")
    smtp_ca_file: Path | None = Field(
        default=None, description="CA bundle to trust for the SMTP server; default: the system's."
    )
    # rate limits
    ratelimit_enabled: bool = Field(default=True, description="Enforce rate limits (tests turn them off).")
    ratelimit_policies: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Limits overridden by policy name: `auth.login=5/minute;auth.otp=5/15minutes`.",
    )
    ratelimit_redis_url: str | None = Field(
        default=None, description="Redis for rate limits; default: redis_url; neither: in-process."
    )
    ratelimit_prefix: str = "sixty:rl:"
    ratelimit_fail_open: bool = Field(
        default=True, description="When the limits' Redis is down: allow (true) or answer 503 (false)."
    )
    ratelimit_timeout: float = Field(default=0.25, gt=0, description="Seconds a Redis limit check may take.")
    # library
    library_loan_days: int = Field(default=21, ge=1, le=365, description="Days a loan (or a renewal) lasts.")
    library_max_renewals: int = Field(default=2, ge=0, le=50, description="Renewals allowed per loan.")
    library_fine_per_day: int = Field(
        default=25, ge=0, description="Fine per started day overdue, in minor units of the currency."
    )
    library_fine_cap: int = Field(
        default=1000, ge=0, description="Most a loan's fine can reach (minor units)."
    )
    library_currency: Annotated[str, AfterValidator(_currency)] = "EUR"
    library_hold_pickup_days: int = Field(
        default=3, ge=1, le=60, description="Days a returned copy waits for the first member in the queue."
    )
    # blog
    blog_token_ttl: Duration = Field(
        default=timedelta(days=1),
        gt=timedelta(0),
        description="Lifetime of the tokens the blog's register and login answer (RealWorld has no refresh).",
    )
    # calculator
    calculator_precision: int = Field(
        default=28, ge=1, le=1000, description="Significant digits of results when a request names none."
    )
    calculator_max_precision: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Most significant digits a request may ask for (more digits, slower powers).",
    )
    calculator_max_length: int = Field(
        default=1000, ge=1, le=100_000, description="Characters per expression."
    )
    calculator_max_tokens: int = Field(
        default=500, ge=1, le=100_000, description="Numbers, names and operators per expression."
    )
    calculator_max_depth: int = Field(
        default=64,
        ge=1,
        le=200,
        description="Nesting of parentheses, function calls, signs and exponents (the parser recurses).",
    )
    calculator_max_literal_digits: int = Field(
        default=100, ge=1, le=10_000, description="Digits in one number of an expression."
    )
    calculator_max_exponent: int = Field(
        default=1_000_000,
        ge=10,
        le=999_999_999,
        description="Results and numbers must lie within 1E-n..1E+n in magnitude (0 aside).",
    )
    # convert
    convert_max_body_bytes: int = Field(
        default=1_073_741_824,
        ge=1,
        description="Largest upload the converters read (streamed; replaces max_body_bytes there).",
    )
    convert_max_record_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest JSON record, NDJSON line or CSV field: what one record may hold in memory.",
    )
    convert_max_columns: int = Field(
        default=1000, ge=1, le=100_000, description="Columns a conversion may have."
    )
    convert_max_depth: int = Field(
        default=32, ge=1, le=500, description="Nesting levels of objects and arrays a JSON record may have."
    )
    convert_max_rows_per_record: int = Field(
        default=1000, ge=1, description="Rows one JSON record may explode into (arrays=explode)."
    )
    convert_max_concurrent: int = Field(
        default=4, ge=1, le=64, description="Conversions working at once per process; more wait their turn."
    )
    convert_spool_dir: Path | None = Field(
        default=None,
        description="Where conversions spool to disk; default: the system's temporary directory.",
    )

    @field_validator("ratelimit_policies", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: object) -> object:
        return parse_policies(value) if isinstance(value, str | dict) else value

    @model_validator(mode="before")
    @classmethod
    def _csv_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("modules", "cors_origins", "trusted_proxies"):
                if key in data:
                    data[key] = _split_csv(data[key])
            if "jwt_keys" in data:
                data["jwt_keys"] = _key_pairs(data["jwt_keys"])
        return data

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env is not Environment.development and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "SIXTY_SECRET_KEY must be set to a random value of 32+ characters "
                "outside development (try: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if any(len(secret) < 32 for _, secret in self.jwt_keys):
            raise ValueError("every secret in SIXTY_JWT_KEYS needs 32+ characters")
        if len({kid for kid, _ in self.jwt_keys}) != len(self.jwt_keys):
            raise ValueError("SIXTY_JWT_KEYS has the same kid twice")
        return self

    @model_validator(mode="after")
    def _check_smtp(self) -> Settings:
        if self.mail_backend is MailBackend.smtp and not self.smtp_host:
            raise ValueError("SIXTY_MAIL_BACKEND=smtp needs SIXTY_SMTP_HOST")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set both SIXTY_SMTP_USERNAME and SIXTY_SMTP_PASSWORD, or neither")
        return self

    @model_validator(mode="after")
    def _check_calculator(self) -> Settings:
        if self.calculator_precision > self.calculator_max_precision:
            raise ValueError("SIXTY_CALCULATOR_PRECISION must not exceed SIXTY_CALCULATOR_MAX_PRECISION")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'sixty.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
