"""Load benchmark: sixty's hot endpoints under wrk, against a bare ASGI ceiling.

Every server runs as one uvicorn worker pinned to CPU 0 and wrk runs pinned to
CPU 1, so the two never compete for a core and runs are comparable across machines
as a ratio to the bare-ASGI ceiling. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
# Not resolved: the venv's python is a symlink, and its bin/ is where `sixty` lives.
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent

SERVER_CPU = 0
CLIENT_CPU = 1
HOST = "127.0.0.1"
WARMUP_SECONDS = 2
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
BARE = "bare-asgi"
BACKENDS = ("sqlite", "postgres")
BENCH_DATABASE = "sixty_bench"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BARE_BODY = b'{"message":"Hello, World!"}'
HTTP_OK = 200


class BenchError(Exception):
    """A failure that stops the benchmark; its message is what the user sees."""


# --- scenarios and results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    min_ratio: float
    max_p99_ms: float

    def describe(self) -> str:
        return f">={self.min_ratio:.0%}, p99<{self.max_p99_ms:g}ms"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str  # may hold {note_id}
    target: Target | None = None


APP_SCENARIOS = (
    Scenario("hello", "/api/hello", Target(min_ratio=0.20, max_p99_ms=50.0)),
    Scenario("note-read", "/api/notes/{note_id}", Target(min_ratio=0.08, max_p99_ms=50.0)),
    Scenario("notes-list", "/api/notes"),  # report only
)
BARE_SCENARIO = Scenario("hello", "/")


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class Run:
    backend: str
    scenario: str
    path: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    ratio_to_bare: float | None
    errors: dict[str, int]
    target: str | None
    met: bool | None


@dataclass(frozen=True)
class Options:
    duration: int
    connections: int
    backends: tuple[str, ...]
    notes: int
    blog_articles: int
    strict: bool
    require_postgres: bool


@dataclass(frozen=True)
class Tools:
    wrk: str
    taskset: str


def log(label: str, message: str) -> None:
    print(f"[{label}] {message}", flush=True)


# --- tools -----------------------------------------------------------------------------------------


@functools.cache
def apt_update() -> None:
    subprocess.run(["apt-get", "update", "-qq"], check=True)


def ensure_tool(command: str, package: str) -> str:
    found = shutil.which(command)
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError(f"`{command}` is missing: install the Debian package `{package}` (needs root)")
    print(f"[setup] installing {package}...", flush=True)
    try:
        apt_update()
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True)
    except subprocess.CalledProcessError as error:
        raise BenchError(f"could not install `{package}`: {error}") from error
    found = shutil.which(command)
    if not found:
        raise BenchError(f"`{command}` is still missing after installing `{package}`")
    return found


def ensure_cpus() -> None:
    # Pinning is the point: without two distinct cores the ratios mean nothing.
    needed = {SERVER_CPU, CLIENT_CPU}
    available = os.sched_getaffinity(0)
    if not needed <= available:
        raise BenchError(f"needs CPUs {sorted(needed)} to pin server and wrk apart; has {sorted(available)}")


# --- wrk -------------------------------------------------------------------------------------------

UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
SOCKET_ERRORS_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def percentile_ms(output: str, percent: int) -> float:
    match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    if not match:
        raise BenchError(f"no {percent}% latency line in wrk's output:\n{output}")
    return float(match.group(1)) * UNIT_TO_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    rps = RPS_RE.search(output)
    if not rps:
        raise BenchError(f"no Requests/sec in wrk's output:\n{output}")
    errors = {"non_2xx_3xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0}
    if non_2xx := NON_2XX_RE.search(output):
        errors["non_2xx_3xx"] = int(non_2xx.group(1))
    if socket_errors := SOCKET_ERRORS_RE.search(output):
        for key, value in zip(("connect", "read", "write", "timeout"), socket_errors.groups(), strict=True):
            errors[key] = int(value)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=percentile_ms(output, 50),
        p99_ms=percentile_ms(output, 99),
        errors=errors,
    )


def run_wrk(
    tools: Tools, url: str, seconds: int, connections: int, headers: Mapping[str, str] | None = None
) -> str:
    header_args = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    wrk = [tools.wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header_args, url]
    command = [tools.taskset, "-c", str(CLIENT_CPU), *wrk]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}) on {url}:\n{done.stderr or done.stdout}")
    return done.stdout


# --- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def fetch(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    try:
        # Only our own http://127.0.0.1 URLs come here.
        request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server exited with {process.returncode} on startup:\n{log_tail(log_path)}")
        try:
            if fetch(f"{base_url}/healthz")[0] == HTTP_OK:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise BenchError(f"server not healthy after {STARTUP_TIMEOUT_SECONDS:g} s:\n{log_tail(log_path)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve(label: str, app: str, env: dict[str, str], tools: Tools) -> Iterator[str]:
    """One uvicorn worker pinned to the server CPU; yields its base URL once /healthz answers."""
    port = free_port()
    uvicorn = [PYTHON, "-m", "uvicorn", app, "--host", HOST, "--port", str(port)]
    command = [tools.taskset, "-c", str(SERVER_CPU), *uvicorn, "--no-access-log", "--log-level", "warning"]
    log_path = RESULTS_DIR / f"{label}-server.log"
    log(label, f"starting server on port {port}...")
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://{HOST}:{port}"
            wait_until_healthy(process, base_url, log_path)
            yield base_url
            if process.poll() is not None:
                raise BenchError(f"server died during the run:\n{log_tail(log_path)}")
        finally:
            stop(process)


# --- measuring -------------------------------------------------------------------------------------


def check_url(
    label: str, url: str, expected_body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> None:
    """One request before loading a URL: measuring a stream of errors would be meaningless."""
    try:
        status, body = fetch(url, headers)
    except OSError as error:
        raise BenchError(f"[{label}] GET {url} failed: {error}") from error
    if status != HTTP_OK:
        excerpt = body[:2000].decode(errors="replace")
        raise BenchError(f"[{label}] GET {url} answered {status}, not {HTTP_OK}:\n{excerpt}")
    if expected_body is not None and body != expected_body:
        raise BenchError(f"[{label}] GET {url} answered {body!r}, expected {expected_body!r}")


def measure(
    label: str,
    scenario: str,
    url: str,
    options: Options,
    tools: Tools,
    headers: Mapping[str, str] | None = None,
) -> WrkResult:
    log(label, f"{scenario}: warming up {WARMUP_SECONDS} s...")
    run_wrk(tools, url, WARMUP_SECONDS, options.connections, headers)
    log(label, f"{scenario}: {options.duration} s at {options.connections} connections...")
    result = parse_wrk(run_wrk(tools, url, options.duration, options.connections, headers))
    flag = f", {result.error_count} ERRORS {result.errors}" if result.error_count else ""
    log(
        label,
        f"{scenario}: {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms{flag}",
    )
    return result


def to_run(backend: str, scenario: Scenario, path: str, result: WrkResult, bare_rps: float | None) -> Run:
    ratio = result.requests_per_s / bare_rps if bare_rps else None
    met: bool | None = None
    if scenario.target is not None:
        met = (
            ratio is not None
            and ratio >= scenario.target.min_ratio
            and result.p99_ms < scenario.target.max_p99_ms
            and result.error_count == 0
        )
    return Run(
        backend=backend,
        scenario=scenario.name,
        path=path,
        requests_per_s=round(result.requests_per_s, 2),
        p50_ms=round(result.p50_ms, 3),
        p99_ms=round(result.p99_ms, 3),
        ratio_to_bare=None if ratio is None else round(ratio, 4),
        errors=result.errors,
        target=scenario.target.describe() if scenario.target else None,
        met=met,
    )


def bench_bare(options: Options, tools: Tools, env: dict[str, str]) -> Run:
    with serve(BARE, "benchmarks.bare_asgi:app", env, tools) as base_url:
        url = base_url + BARE_SCENARIO.path
        check_url(BARE, url, expected_body=BARE_BODY)
        result = measure(BARE, BARE_SCENARIO.name, url, options, tools)
    return to_run(BARE, BARE_SCENARIO, BARE_SCENARIO.path, result, result.requests_per_s)


# --- blog (RealWorld) -----------------------------------------------------------------------------

BLOG_TARGET_LIST = Target(min_ratio=0.04, max_p99_ms=100.0)
BLOG_SCENARIOS = (
    Scenario("blog-articles", "/api/blog/articles", BLOG_TARGET_LIST),
    Scenario("blog-articles-tag", "/api/blog/articles?tag={tag}", BLOG_TARGET_LIST),
    Scenario("blog-article", "/api/blog/articles/{slug}", Target(min_ratio=0.08, max_p99_ms=100.0)),
    Scenario("blog-feed", "/api/blog/articles/feed", BLOG_TARGET_LIST),  # signed in: the reader's token
    Scenario("blog-tags", "/api/blog/tags"),  # report only
)
BLOG_SIGNED_IN = frozenset({"blog-feed"})


def seed_blog(label: str, env: dict[str, str], articles: int) -> dict[str, str]:
    """Seed the blog; returns a slug, a tag and a reader's token (benchmarks/seed_blog.py)."""
    log(
        label, f"seeding {articles:,} blog articles, {articles // 10:,} authors, {articles * 5:,} comments..."
    )
    done = subprocess.run(
        [PYTHON, str(BENCH_DIR / "seed_blog.py"), "--articles", str(articles)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"[{label}] blog seeding failed ({done.returncode}); see its output above")
    seeded: dict[str, str] = json.loads(lines[-1])
    return seeded


def bench_blog(
    label: str, base_url: str, seeded: dict[str, str], options: Options, tools: Tools, bare_rps: float
) -> list[Run]:
    runs = []
    for scenario in BLOG_SCENARIOS:
        path = scenario.path.format(**seeded)
        headers = {"Authorization": f"Token {seeded['token']}"} if scenario.name in BLOG_SIGNED_IN else None
        check_url(label, base_url + path, headers=headers)
        result = measure(label, scenario.name, base_url + path, options, tools, headers)
        runs.append(to_run(label, scenario, path, result, bare_rps))
    return runs


# --- backends --------------------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    # Drop the caller's SIXTY_* settings: the benchmark decides every one that matters.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIXTY_")}
    env.update(
        SIXTY_ENV="production",
        SIXTY_SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        SIXTY_ACCESS_LOG="false",
        SIXTY_LOG_LEVEL="WARNING",
    )
    return env


def postgres_admin_url() -> URL:
    raw = os.environ.get("SIXTY_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    return make_url(raw).set(drivername="postgresql+asyncpg")


async def _execute_autocommit(url: URL, *statements: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def postgres_unavailable_reason(admin_url: URL) -> str | None:
    """None when PostgreSQL answers at `admin_url`, else why not."""
    try:
        asyncio.run(_execute_autocommit(admin_url, "SELECT 1"))
    except Exception as error:  # any driver error means "does not answer" here
        return f"{type(error).__name__}: {error}".strip()
    return None


def fresh_postgres(admin_url: URL) -> str:
    asyncio.run(
        _execute_autocommit(
            admin_url,
            f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)",
            f"CREATE DATABASE {BENCH_DATABASE}",
        )
    )
    return admin_url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def migrate(label: str, env: dict[str, str]) -> None:
    log(label, "migrating...")
    done = subprocess.run(
        [str(VENV_BIN / "sixty"), "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"[{label}] `sixty migrate` failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def seed(label: str, env: dict[str, str], count: int) -> str:
    """Seed `count` notes; returns the id of one of them."""
    log(label, f"seeding {count:,} notes...")
    done = subprocess.run(
        [PYTHON, str(BENCH_DIR / "seed.py"), "--count", str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"[{label}] seeding failed ({done.returncode}); see its output above")
    try:
        return str(uuid.UUID(lines[-1]))
    except ValueError:
        raise BenchError(f"[{label}] seed.py printed {lines[-1]!r}, not a note id") from None


def bench_app(label: str, env: dict[str, str], options: Options, tools: Tools, bare_rps: float) -> list[Run]:
    migrate(label, env)
    note_id = seed(label, env, options.notes)
    blog = seed_blog(label, env, options.blog_articles)
    runs = []
    with serve(label, "sixty.asgi:app", env, tools) as base_url:
        for scenario in APP_SCENARIOS:
            path = scenario.path.format(note_id=note_id)
            check_url(label, base_url + path)
            result = measure(label, scenario.name, base_url + path, options, tools)
            runs.append(to_run(label, scenario, path, result, bare_rps))
        runs += bench_blog(label, base_url, blog, options, tools, bare_rps)
    return runs


def bench_sqlite(options: Options, tools: Tools, bare_rps: float) -> list[Run]:
    with tempfile.TemporaryDirectory(prefix="sixty-bench-") as data_dir:
        env = base_env()
        env.update(SIXTY_DATA_DIR=data_dir, SIXTY_DATABASE_URL=f"sqlite+aiosqlite:///{data_dir}/sixty.db")
        return bench_app("sqlite", env, options, tools, bare_rps)


def check_postgres(options: Options, skipped: dict[str, str]) -> tuple[str, ...]:
    """The backends to run: postgres only if it answers (checked before any load, to fail fast)."""
    if "postgres" not in options.backends:
        return options.backends
    admin_url = postgres_admin_url()
    reason = postgres_unavailable_reason(admin_url)
    if reason is None:
        return options.backends
    message = f"PostgreSQL does not answer at {admin_url.render_as_string(hide_password=True)} ({reason})"
    if options.require_postgres:
        raise BenchError(f"[postgres] {message}; --require-postgres was given")
    log("postgres", f"skipped: {message}")
    skipped["postgres"] = message
    return tuple(backend for backend in options.backends if backend != "postgres")


def bench_postgres(options: Options, tools: Tools, bare_rps: float) -> list[Run]:
    admin_url = postgres_admin_url()
    log("postgres", f"creating a fresh database {BENCH_DATABASE}...")
    env = base_env()
    env["SIXTY_DATABASE_URL"] = fresh_postgres(admin_url)
    return bench_app("postgres", env, options, tools, bare_rps)


# --- report ----------------------------------------------------------------------------------------


def verdict(run: Run) -> str:
    if run.met is None:
        return "-"
    return "pass" if run.met else "MISS"


def print_table(runs: list[Run]) -> None:
    header = ("backend", "scenario", "req/s", "p50 ms", "p99 ms", "vs bare", "target", "result", "errors")
    rows = [header] + [
        (
            run.backend,
            run.scenario,
            f"{run.requests_per_s:,.0f}",
            f"{run.p50_ms:.2f}",
            f"{run.p99_ms:.2f}",
            "-" if run.ratio_to_bare is None else f"{run.ratio_to_bare:.1%}",
            run.target or "-",
            verdict(run),
            str(sum(run.errors.values())) if any(run.errors.values()) else "-",
        )
        for run in runs
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    numeric = {2, 3, 4, 5}
    print()
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_results(runs: list[Run], options: Options, skipped: dict[str, str]) -> Path:
    report = {
        "machine": {
            "nproc": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "settings": {
            "duration_s": options.duration,
            "warmup_s": WARMUP_SECONDS,
            "connections": options.connections,
            "wrk_threads": 1,
            "uvicorn_workers": 1,
            "server_cpu": SERVER_CPU,
            "client_cpu": CLIENT_CPU,
            "notes": options.notes,
            "blog_articles": options.blog_articles,
            "backends": list(options.backends),
        },
        "skipped": skipped,
        "runs": [asdict(run) for run in runs],
    }
    path = RESULTS_DIR / "latest.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


# --- main ------------------------------------------------------------------------------------------


def parse_backends(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
    unknown = [name for name in names if name not in BACKENDS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose from {','.join(BACKENDS)}; got {value!r}")
    return names


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--duration", type=positive_int, default=10, help="measured seconds per run (default 10)"
    )
    parser.add_argument("--connections", type=positive_int, default=64, help="wrk connections (default 64)")
    parser.add_argument(
        "--backends",
        type=parse_backends,
        default=BACKENDS,
        help="comma-separated database backends (default sqlite,postgres)",
    )
    parser.add_argument("--notes", type=positive_int, default=10_000, help="notes to seed (default 10000)")
    parser.add_argument(
        "--blog-articles",
        type=positive_int,
        default=10_000,
        help="blog articles to seed, by a tenth as many authors, five comments each (default 10000)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--require-postgres",
        action="store_true",
        help="fail instead of skipping when PostgreSQL does not answer",
    )
    args = parser.parse_args(argv)
    if args.require_postgres and "postgres" not in args.backends:
        parser.error("--require-postgres needs postgres in --backends")
    return Options(
        duration=args.duration,
        connections=args.connections,
        backends=args.backends,
        notes=args.notes,
        blog_articles=args.blog_articles,
        strict=args.strict,
        require_postgres=args.require_postgres,
    )


def benchmark(options: Options) -> int:
    ensure_cpus()
    tools = Tools(wrk=ensure_tool("wrk", "wrk"), taskset=ensure_tool("taskset", "util-linux"))
    skipped: dict[str, str] = {}
    backends = check_postgres(options, skipped)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    bare = bench_bare(options, tools, base_env())
    runs = [bare]
    for backend in backends:
        if backend == "sqlite":
            runs += bench_sqlite(options, tools, bare.requests_per_s)
        else:
            runs += bench_postgres(options, tools, bare.requests_per_s)
    print_table(runs)
    for backend, reason in skipped.items():
        print(f"skipped {backend}: {reason}")
    path = write_results(runs, options, skipped)
    print(f"\nwrote {path.relative_to(ROOT)}")
    missed = [f"{run.backend}/{run.scenario}" for run in runs if run.met is False]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    return 1 if missed and options.strict else 0


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    try:
        return benchmark(options)
    except BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
