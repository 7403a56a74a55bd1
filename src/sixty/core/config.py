"""Settings: every knob of the platform, read from `SIXTY_*` environment variables or `.env`."""

from __future__ import annotations

import email.utils
import re
from datetime import timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
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


class StorageBackend(StrEnum):
    local = "local"
    s3 = "s3"


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


def _bare_address(value: str | None) -> str | None:
    """`addr@example.com`, nothing around it, ASCII (mail is sent to it as is); empty is none."""
    if value is None or not value.strip():
        return None
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError):
        raise ValueError(f"not a bare mail address: {value!r}") from None
    if not value.isascii() or not address.username or "." not in address.domain or address.addr_spec != value:
        raise ValueError(f"not a bare mail address: {value!r}")
    return value


def _currency(value: str) -> str:
    """An ISO 4217 code, upper case."""
    code = value.strip().upper()
    if code not in list_currencies():
        raise ValueError(f"not an ISO 4217 currency code: {value!r}")
    return code


def _timezone(value: str) -> str:
    """An IANA time zone name (`Europe/Paris`); `UTC` needs no time zone database."""
    if value == "UTC":
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA time zone: {value!r}") from None
    return value


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

# Uploads accepted by default: what a browser shows safely or downloads as a document. Never HTML,
# SVG or XML (they run script in our origin), never executables or archives.
DEFAULT_ALLOWED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
    "application/pdf",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "audio/mpeg",
    "video/mp4",
)

# Resumes (B12): skills looked for in a resume's text; `SIXTY_RESUMES_SKILLS` replaces the list.
DEFAULT_RESUME_SKILLS = (
    "python", "java", "javascript", "typescript", "golang", "rust", "c++", "c#", "kotlin", "swift",
    "ruby", "php", "scala", "sql", "postgresql", "mysql", "sqlite", "mongodb", "redis", "rabbitmq",
    "kafka", "docker", "kubernetes", "terraform", "ansible", "aws", "azure", "gcp", "linux", "git",
    "fastapi", "django", "flask", "spring", "node.js", "react", "vue", "angular", "graphql",
    "html", "css", "machine learning", "data analysis", "pandas", "excel", "project management",
    "scrum", "agile", "communication", "leadership",
)  # fmt: skip


class ImagePreset(BaseModel):
    """One allowed variant of a stored image (`SIXTY_IMAGES_PRESETS`): only these sizes can be
    asked for through signed links."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int | None = Field(default=None, ge=1, le=16384)
    height: int | None = Field(default=None, ge=1, le=16384)
    fit: Literal["fit", "fill"] = "fit"
    format: Literal["jpeg", "png", "webp", "avif"] = "webp"
    quality: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _sized(self) -> ImagePreset:
        if self.width is None and self.height is None:
            raise ValueError("an image preset needs a width, a height or both")
        if self.fit == "fill" and (self.width is None or self.height is None):
            raise ValueError("an image preset that fills needs both width and height")
        return self


PRESET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
DEFAULT_IMAGE_PRESETS = {
    "thumb": ImagePreset(width=256, height=256, fit="fill", format="webp", quality=75),
    "small": ImagePreset(width=640, height=640, format="webp", quality=80),
    "medium": ImagePreset(width=1280, height=1280, format="webp", quality=80),
    "large": ImagePreset(width=2048, height=2048, format="jpeg", quality=85),
}


def _preset_names(presets: dict[str, ImagePreset]) -> dict[str, ImagePreset]:
    for name in presets:
        if not PRESET_NAME.fullmatch(name):
            raise ValueError(f"image preset name {name!r}: use 1-32 of a-z, 0-9, '_', '-'")
    return presets


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
    # PostgreSQL: how long a principal may be answered from memory (auth/principals.py); 0: never.
    principal_cache_ttl: Duration = Field(default=timedelta(seconds=60), ge=timedelta(0))
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
    # outbound HTTP (core/http.py): the client for outside services
    http_connect_timeout: float = Field(
        default=3.0, gt=0, description="Seconds to connect to an outside service."
    )
    http_read_timeout: float = Field(
        default=10.0, gt=0, description="Seconds an outside service may stay silent during one attempt."
    )
    http_total_timeout: float = Field(
        default=20.0, gt=0, description="Seconds one outside call may take, retries and waits included."
    )
    http_max_attempts: int = Field(default=3, ge=1, le=10, description="Attempts per call (1: no retries).")
    http_backoff_base: float = Field(
        default=0.25, ge=0, description="Seconds the first retry waits at most (then doubling, full jitter)."
    )
    http_backoff_max: float = Field(default=4.0, ge=0, description="Longest wait between two attempts.")
    http_retry_after_cap: float = Field(
        default=10.0, ge=0, description="A longer `Retry-After` is not waited for: the call fails at once."
    )
    http_breaker_threshold: int = Field(
        default=5, ge=0, description="Failed calls in a row that open a host's circuit (0: no breaker)."
    )
    http_breaker_cooldown: Duration = Field(
        default=timedelta(seconds=30), gt=timedelta(0), description="How long an open circuit fails fast."
    )
    http_max_response_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest response body accepted from a service."
    )
    http_user_agent: str | None = Field(
        default=None, description="User-Agent of outside calls; default: `Sixty/<version> (+public URL)`."
    )
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
    # weather (B6): Open-Meteo
    weather_geocoding_url: str = Field(
        default="https://geocoding-api.open-meteo.com/v1/search", description="Open-Meteo's geocoding search."
    )
    weather_forecast_url: str = Field(
        default="https://api.open-meteo.com/v1/forecast", description="Open-Meteo's forecast API."
    )
    weather_cache_ttl: Duration = Field(
        default=timedelta(minutes=10),
        gt=timedelta(0),
        description="How long a forecast is served from cache.",
    )
    weather_stale_ttl: Duration = Field(
        default=timedelta(hours=6),
        ge=timedelta(0),
        description="How long a forecast is kept to answer (marked stale) while the provider fails.",
    )
    weather_geocode_ttl: Duration = Field(
        default=timedelta(days=7), gt=timedelta(0), description="How long a city's coordinates are cached."
    )
    weather_candidates: int = Field(
        default=5, ge=0, le=20, description="Other matches of a city name listed in `candidates`."
    )
    # currency (B18): ECB reference rates
    currency_ecb_url: str = Field(
        default="https://www.ecb.europa.eu/stats/eurofxref/",
        description="Where eurofxref-daily.xml, eurofxref-hist-90d.xml and eurofxref-hist.xml are.",
    )
    currency_refresh_every: Duration = Field(
        default=timedelta(hours=1), ge=timedelta(minutes=1), description="How often the rates are fetched."
    )
    currency_stale_after: Duration = Field(
        default=timedelta(days=5),
        gt=timedelta(0),
        description="A newest rate older than this is answered with a stale-rate warning.",
    )
    currency_cache_ttl: Duration = Field(
        default=timedelta(minutes=5),
        ge=timedelta(0),
        description="How long a process keeps the rates it read from the database.",
    )

    # object storage (core/storage.py)
    storage_backend: StorageBackend = Field(
        default=StorageBackend.local, description="`local` (a directory) or `s3` (any S3-compatible store)."
    )
    storage_dir: Path | None = Field(
        default=None, description="The local backend's root; default: data_dir/storage."
    )
    storage_s3_bucket: str | None = None
    storage_s3_region: str | None = None
    storage_s3_endpoint_url: str | None = Field(
        default=None, description="For an S3-compatible store other than AWS (MinIO, Ceph, R2...)."
    )
    storage_s3_access_key_id: str | None = None
    storage_s3_secret_access_key: SecretStr | None = None
    storage_s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    storage_s3_part_size: int = Field(
        default=8 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        le=5 * 1024 * 1024 * 1024,
        description="Bytes per part of a multipart upload (S3's minimum is 5 MiB).",
    )
    storage_s3_timeout: float = Field(default=30.0, gt=0, description="Seconds to connect and per read.")
    storage_threads: int = Field(default=16, ge=1, le=256, description="Threads for blocking storage I/O.")
    # files (B11, A11)
    files_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1, description="Largest file accepted.")
    files_allowed_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_TYPES),
        description="Media types accepted, as sniffed from the content (never the client's claim).",
    )
    files_max_per_request: int = Field(
        default=20, ge=1, le=1000, description="Files in one multipart upload."
    )
    files_upload_ttl: Duration = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="How long an unfinished resumable or presigned upload is kept after its last write.",
    )
    files_signed_url_ttl: Duration = Field(
        default=timedelta(minutes=15), gt=timedelta(0), description="Lifetime of presigned URLs."
    )
    files_redirect_downloads: bool = Field(
        default=False, description="S3 backend: answer downloads with a redirect to a presigned URL."
    )
    # file previews (I13)
    files_preview_size: int = Field(
        default=256, ge=16, le=2048, description="Longest side of an image or PDF preview, in pixels."
    )
    files_preview_format: Literal["webp", "jpeg"] = Field(
        default="webp", description="Image format of image and PDF previews."
    )
    files_preview_quality: int = Field(default=80, ge=1, le=100, description="Preview encoding quality.")
    files_preview_max_pixels: int = Field(
        default=50_000_000,
        ge=1,
        le=89_478_485,  # Pillow refuses more itself
        description="Images with more pixels are not decoded (decompression bombs): the preview fails.",
    )
    files_preview_max_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Files larger than this get no preview (it fails)."
    )
    files_preview_text_lines: int = Field(
        default=20, ge=1, le=1000, description="Lines of a text file in its preview."
    )
    files_preview_text_bytes: int = Field(
        default=4096, ge=64, le=1024 * 1024, description="Bytes of a text file read for its preview."
    )
    files_preview_retry_after: int = Field(
        default=1, ge=1, le=3600, description="`Retry-After` seconds while a preview is pending."
    )
    # files management (I4)
    files_quota_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=0,
        description="Bytes each user may keep in /api/files (versions and trash count).",
    )
    files_trash_retention: Duration = Field(
        default=timedelta(days=30),
        gt=timedelta(0),
        description="How long a file stays in the trash before it is purged.",
    )
    # resumes (B12)
    resumes_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, description="Largest resume accepted.")
    resumes_max_pages: int = Field(
        default=30, ge=1, le=10_000, description="PDF pages read for text; later pages are ignored."
    )
    resumes_max_chars: int = Field(
        default=100_000, ge=100, le=10_000_000, description="Characters of text kept per resume."
    )
    resumes_docx_max_entries: int = Field(
        default=500, ge=10, le=100_000, description="Entries a DOCX (a zip) may have."
    )
    resumes_docx_max_unzipped_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024, description="Total uncompressed bytes a DOCX may declare."
    )
    resumes_extract_timeout: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="Seconds text extraction may take before the upload is refused.",
    )
    resumes_skills: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_RESUME_SKILLS),
        description="The skills vocabulary: skills found in a resume's text (whole words, any case).",
    )

    @field_validator("resumes_skills", mode="before")
    @classmethod
    def _skills_csv(cls, value: object) -> object:
        items = _split_csv(value) if isinstance(value, str) else value
        return (
            [str(item).strip().lower()[:60] for item in items if str(item).strip()]
            if isinstance(items, list)
            else items
        )

    # chatbot
    chatbot_match_threshold: float = Field(
        default=0.75,
        ge=0,
        le=1,
        description="Confidence (0..1) an intent needs to answer; below it, the fallback with suggestions.",
    )
    chatbot_pattern_budget: float = Field(
        default=0.05, gt=0, le=1, description="Seconds all intent patterns together may take on one message."
    )
    chatbot_timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        default="UTC", description="IANA time zone in which the bot reads `today`, `tomorrow` and weekdays."
    )
    chatbot_callback_horizon_days: int = Field(
        default=90, ge=1, le=3650, description="How many days ahead a callback can be booked."
    )
    chatbot_llm_enabled: bool = Field(
        default=False, description="Send questions no intent matches to an OpenAI-compatible endpoint."
    )
    chatbot_llm_base_url: str | None = Field(
        default=None,
        description="The endpoint's base URL with its version, e.g. `https://api.openai.com/v1`.",
    )
    chatbot_llm_model: str | None = None
    chatbot_llm_api_key: SecretStr | None = None
    chatbot_llm_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds one answer may take, retries included."
    )
    chatbot_llm_max_tokens: int = Field(default=300, ge=1, le=8192)
    chatbot_llm_history: int = Field(
        default=6, ge=0, le=50, description="Earlier messages of the conversation sent along as context."
    )
    chatbot_llm_system_prompt: str = Field(
        default="You are the support assistant of this service. Answer in two or three short sentences, "
        "in the language of the question. If you do not know, say so and suggest booking a callback.",
        min_length=1,
        max_length=4000,
    )
    # contact form
    contact_inbox: Annotated[str | None, AfterValidator(_bare_address)] = Field(
        default=None,
        description="Address that is told of each contact message; none: messages are only stored.",
    )
    contact_min_fill_time: Duration = Field(
        default=timedelta(seconds=3),
        ge=timedelta(0),
        description="A contact form sent sooner after it was fetched is taken for a bot's (stored as spam).",
    )
    contact_form_ttl: Duration = Field(
        default=timedelta(days=1), gt=timedelta(0), description="How long a contact form's token is accepted."
    )
    contact_acknowledge: bool = Field(
        default=True, description="Mail the sender an acknowledgement of each (non-spam) message."
    )
    # feedback
    feedback_device_ttl: Duration = Field(
        default=timedelta(days=365),
        gt=timedelta(0),
        description="Lifetime of the cookie that tells an anonymous respondent's device again.",
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
    # images (I14)
    images_max_upload_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="Largest image upload to the compressor."
    )
    images_max_pixels: int = Field(
        default=40_000_000,
        ge=1,
        le=89_478_485,
        description="Images declaring more pixels are refused before decoding (decompression bombs); "
        "far below Pillow's own limit.",
    )
    images_max_dimension: int = Field(
        default=8192, ge=16, le=16384, description="Largest width or height a request may ask for."
    )
    images_max_concurrent: int = Field(
        default=2, ge=1, le=64, description="Images decoded and encoded at once per process; more wait."
    )
    images_presets: Annotated[dict[str, ImagePreset], AfterValidator(_preset_names)] = Field(
        default_factory=lambda: dict(DEFAULT_IMAGE_PRESETS),
        description="The variants signed links may ask for, as JSON: "
        '`{"thumb": {"width": 256, "height": 256, "fit": "fill", "format": "webp", "quality": 75}}`.',
    )
    images_link_max_ttl: Duration = Field(
        default=timedelta(days=7), gt=timedelta(0), description="Longest lifetime of a variant link."
    )

    # shortener (B10)
    shortener_code_length: int = Field(
        default=7, ge=5, le=20, description="Characters of a random short code (55-letter alphabet)."
    )
    shortener_allow_private_targets: bool = Field(
        default=False,
        description="Let links lead to loopback, private and link-local addresses (intranet shorteners).",
    )
    shortener_resolve_timeout: float = Field(
        default=3.0, gt=0, le=30, description="Seconds to resolve a target's host name before refusing it."
    )
    shortener_cache_ttl: Duration = Field(
        default=timedelta(seconds=30),
        ge=timedelta(0),
        description="How long a process serves a link from memory; edits reach other processes within it.",
    )
    shortener_cache_size: int = Field(
        default=100_000, ge=0, description="Links kept in each process's redirect cache (0: no cache)."
    )
    shortener_click_flush_interval: Duration = Field(
        default=timedelta(seconds=2), gt=timedelta(0), description="How often buffered clicks are written."
    )
    shortener_click_buffer_max: int = Field(
        default=100_000, ge=1, description="Clicks held between writes; more are dropped, and logged."
    )
    shortener_geoip_database: Path | None = Field(
        default=None, description="A MaxMind .mmdb country (or city) database: clicks get a country."
    )

    @field_validator("ratelimit_policies", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: object) -> object:
        return parse_policies(value) if isinstance(value, str | dict) else value

    @model_validator(mode="before")
    @classmethod
    def _csv_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("modules", "cors_origins", "trusted_proxies", "files_allowed_types"):
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
    def _check_storage(self) -> Settings:
        if self.storage_backend == StorageBackend.s3 and not self.storage_s3_bucket:
            raise ValueError("SIXTY_STORAGE_BACKEND=s3 needs SIXTY_STORAGE_S3_BUCKET")
        if (self.storage_s3_access_key_id is None) != (self.storage_s3_secret_access_key is None):
            raise ValueError(
                "set both SIXTY_STORAGE_S3_ACCESS_KEY_ID and SIXTY_STORAGE_S3_SECRET_ACCESS_KEY, or neither"
            )
        return self

    @property
    def effective_storage_dir(self) -> Path:
        return self.storage_dir if self.storage_dir is not None else self.data_dir / "storage"

    @model_validator(mode="after")
    def _check_chatbot_llm(self) -> Settings:
        if self.chatbot_llm_enabled and not (self.chatbot_llm_base_url and self.chatbot_llm_model):
            raise ValueError("SIXTY_CHATBOT_LLM_ENABLED=true needs SIXTY_CHATBOT_LLM_BASE_URL and _MODEL")
        if self.chatbot_llm_base_url and not re.match(r"https?://[^/\s]+", self.chatbot_llm_base_url):
            raise ValueError("SIXTY_CHATBOT_LLM_BASE_URL must be an http(s) URL")
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
