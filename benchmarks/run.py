"""Load benchmark: sixty's hot endpoints under wrk, against a bare ASGI ceiling.

Every server runs as one uvicorn worker pinned to CPU 0 and wrk runs pinned to
CPU 1, so the two never compete for a core and runs are comparable across machines
as a ratio to the bare-ASGI ceiling. What authentication costs is a ratio too: a
protected read against the same read left open, in the same run. Sign-ins per second
are reported with the password hash parameters they were measured with. See
benchmarks/README.md.
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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sixty.cli import EVENT_LOOP  # the event loop `sixty serve` runs, so the bench serves the same way

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
HTTP_CREATED = 201
SENTENCE = "water the garden and fix the kitchen tap"
HTTP_UNAUTHORIZED = 401

APP = "sixty.asgi:app"
AUTH_APP = "benchmarks.auth_app:app"
LOGIN_PATH = "/api/auth/login"
LOGIN_SCRIPT = BENCH_DIR / "login.lua"
# A scenario and the twin it is compared with run in turn, in this many rounds of each (fewer when
# --duration is shorter: a round lasts at least a second).
PAIR_ROUNDS = 5
# A scenario with a target against the bare ceiling runs in turn with the bare app, in this many
# rounds: the machine's speed drifts over the minutes a whole run takes (seen here: the bare app
# anywhere from 18,000 to 35,000 req/s within half an hour), and a ceiling measured once at the
# start would judge a late scenario against another machine.
CEILING_ROUNDS = 3
# wrk's default of 2 s is too short for a queue of bcrypt sign-ins (about 0.2 s of CPU each).
LOGIN_TIMEOUT_SECONDS = 10
BENCH_USER_EMAIL = "bench-user@example.com"
# The bearer token is signed once per backend, before its first run: it must outlive every run
# that sends it, with room to spare.
ACCESS_TOKEN_SPARE_SECONDS = 3600


class BenchError(Exception):
    """A failure that stops the benchmark; its message is what the user sees."""


# --- scenarios and results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    min_ratio: float
    max_p99_ms: float | None = None
    baseline: str | None = None  # a scenario of the same server, measured in turn; None: the bare ceiling

    def describe(self) -> str:
        described = f">={self.min_ratio:.0%}"
        if self.baseline is not None:
            described += f" of {self.baseline}"
        if self.max_p99_ms is not None:
            described += f", p99<{self.max_p99_ms:g}ms"
        return described


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str  # may hold {note_id}
    target: Target | None = None
    bearer: bool = False  # sent with `Authorization: Bearer <access token>` of the seeded user
    protected: bool = False  # must answer 401 without the token (checked once before loading)


# The notes are the seeded user's, and are requested as that user.
APP_SCENARIOS = (
    Scenario("hello", "/api/hello", Target(min_ratio=0.20, max_p99_ms=50.0)),
    Scenario("note-read", "/api/notes/{note_id}", Target(min_ratio=0.08, max_p99_ms=50.0), bearer=True),
    Scenario("notes-list", "/api/notes", bearer=True),  # report only
    # The seeded user's own to-do list (TODOS_SEEDED items), a bare array as Todo-Backend wants.
    Scenario("todos-list", "/api/todos", Target(min_ratio=0.04, max_p99_ms=100.0), bearer=True),
)
TODOS_SEEDED = 20
# What auth costs: one read of a note, open and behind `CurrentPrincipal` (benchmarks/auth_app.py).
AUTH_SCENARIOS = (
    Scenario("note-read-open", "/bench/open/notes/{note_id}"),
    Scenario(
        "note-read-auth",
        "/bench/auth/notes/{note_id}",
        Target(min_ratio=0.75, baseline="note-read-open"),
        bearer=True,
        protected=True,
    ),
)
BARE_SCENARIO = Scenario("hello", "/")


@dataclass(frozen=True)
class LoginScenario:
    """`POST /api/auth/login` with the seeded user's credentials: report only."""

    name: str
    env: Mapping[str, str] = field(default_factory=dict)  # on top of the backend's settings


LOGIN_SCENARIOS = (
    LoginScenario("login-argon2id"),  # the production defaults: argon2id, m=19 MiB, t=2, p=1
    LoginScenario("login-bcrypt", {"SIXTY_PASSWORD_SCHEME": "bcrypt", "SIXTY_BCRYPT_ROUNDS": "12"}),
)


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str

    def login_body(self) -> str:
        return json.dumps({"email": self.email, "password": self.password})


@dataclass(frozen=True)
class Baseline:
    """The run a ratio is taken against."""

    name: str  # <backend>/<scenario>
    requests_per_s: float
    # The bare app, still serving: a scenario with a target is measured in turn with it.
    job: Job | None = None


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
    method: str
    path: str
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    ratio_to_bare: float | None
    baseline: str | None
    ratio_to_baseline: float | None
    errors: dict[str, int]
    target: str | None
    met: bool | None
    rounds: int = 1  # > 1: measured in rounds, in turn with its twin
    round_ratios: list[float] | None = None  # the ratio to the twin in each round
    password_hash: str | None = None  # login runs: the scheme and parameters each request verified


@dataclass(frozen=True)
class Options:
    duration: int
    connections: int
    login_connections: int
    backends: tuple[str, ...]
    notes: int
    blog_articles: int
    strict: bool
    require_postgres: bool
    convert_mb: int = 500

    @property
    def access_token_ttl_seconds(self) -> int:
        bearer_runs = sum(scenario.bearer for scenario in (*APP_SCENARIOS, *AUTH_SCENARIOS))
        return ACCESS_TOKEN_SPARE_SECONDS + bearer_runs * (WARMUP_SECONDS + self.duration)


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


@dataclass(frozen=True)
class Load:
    """What wrk sends besides a GET of the URL: extra options (`-H`, `-s`, `--timeout`) and the
    arguments of its Lua script."""

    connections: int
    wrk_options: tuple[str, ...] = ()
    script_args: tuple[str, ...] = ()


def run_wrk(tools: Tools, url: str, seconds: int, load: Load) -> str:
    wrk = [tools.wrk, "-t1", f"-c{load.connections}", f"-d{seconds}s", "--latency", *load.wrk_options, url]
    if load.script_args:
        wrk += ["--", *load.script_args]
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


def fetch(
    url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """GET `url`, or POST `body` to it; the status and the body of the answer."""
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}))  # noqa: S310
    try:
        # Only our own http://127.0.0.1 URLs come here.
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
def serve(
    label: str, app: str, env: dict[str, str], tools: Tools, *, name: str | None = None
) -> Iterator[str]:
    """One uvicorn worker pinned to the server CPU; yields its base URL once /healthz answers.
    Its output goes to results/<label>[-<name>]-server.log."""
    port = free_port()
    uvicorn = [PYTHON, "-m", "uvicorn", app, "--host", HOST, "--port", str(port), "--loop", EVENT_LOOP]
    command = [tools.taskset, "-c", str(SERVER_CPU), *uvicorn, "--no-access-log", "--log-level", "warning"]
    log_path = RESULTS_DIR / f"{label}{'-' + name if name else ''}-server.log"
    log(label, f"starting {app} on port {port}...")
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
    label: str,
    url: str,
    expected_body: bytes | None = None,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    expected_status: int = HTTP_OK,
) -> bytes:
    """One request before loading a URL: measuring a stream of errors would be meaningless.
    Answers the body of the response."""
    method = "GET" if body is None else "POST"
    try:
        status, answer = fetch(url, body=body, headers=headers)
    except OSError as error:
        raise BenchError(f"[{label}] {method} {url} failed: {error}") from error
    if status != expected_status:
        excerpt = answer[:2000].decode(errors="replace")
        raise BenchError(f"[{label}] {method} {url} answered {status}, not {expected_status}:\n{excerpt}")
    if expected_body is not None and answer != expected_body:
        raise BenchError(f"[{label}] {method} {url} answered {answer!r}, expected {expected_body!r}")
    return answer


def measure(label: str, scenario: str, url: str, options: Options, tools: Tools, load: Load) -> WrkResult:
    log(label, f"{scenario}: warming up {WARMUP_SECONDS} s...")
    run_wrk(tools, url, WARMUP_SECONDS, load)
    log(label, f"{scenario}: {options.duration} s at {load.connections} connections...")
    result = parse_wrk(run_wrk(tools, url, options.duration, load))
    flag = f", {result.error_count} ERRORS {result.errors}" if result.error_count else ""
    log(
        label,
        f"{scenario}: {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms{flag}",
    )
    return result


def judge(target: Target | None, ratio: float | None, result: WrkResult) -> bool | None:
    """Whether the run met its target; None when it has none. A run that answered errors
    measured something other than its scenario: it never passes, target or not."""
    if target is None:
        return False if result.error_count else None
    return (
        ratio is not None
        and ratio >= target.min_ratio
        and (target.max_p99_ms is None or result.p99_ms < target.max_p99_ms)
        and result.error_count == 0
    )


def to_run(
    backend: str,
    scenario: str,
    path: str,
    result: WrkResult,
    *,
    connections: int,
    target: Target | None = None,
    bare_rps: float | None = None,
    baseline: Baseline | None = None,
    ratio: float | None = None,
    round_ratios: list[float] | None = None,
    rounds: int | None = None,
    method: str = "GET",
    password_hash: str | None = None,
) -> Run:
    """`ratio` (to the baseline) defaults to the quotient of their req/s."""
    ratio_to_bare = result.requests_per_s / bare_rps if bare_rps else None
    if ratio is None and baseline is not None and baseline.requests_per_s:
        ratio = result.requests_per_s / baseline.requests_per_s
    return Run(
        backend=backend,
        scenario=scenario,
        method=method,
        path=path,
        connections=connections,
        requests_per_s=round(result.requests_per_s, 2),
        p50_ms=round(result.p50_ms, 3),
        p99_ms=round(result.p99_ms, 3),
        ratio_to_bare=None if ratio_to_bare is None else round(ratio_to_bare, 4),
        baseline=None if baseline is None else baseline.name,
        ratio_to_baseline=None if ratio is None else round(ratio, 4),
        errors=result.errors,
        target=target.describe() if target else None,
        met=judge(target, ratio, result),
        rounds=rounds or (len(round_ratios) if round_ratios else 1),
        round_ratios=round_ratios,
        password_hash=password_hash,
    )


@contextmanager
def bare_ceiling(options: Options, tools: Tools, env: dict[str, str]) -> Iterator[tuple[Run, Baseline]]:
    """The bare app, measured once, then left serving (idle between its rounds) so that the
    scenarios with a target run in turn with it; yields its first run and the baseline."""
    with serve(BARE, "benchmarks.bare_asgi:app", env, tools) as base_url:
        url = base_url + BARE_SCENARIO.path
        check_url(BARE, url, expected_body=BARE_BODY)
        load = Load(options.connections)
        result = measure(BARE, BARE_SCENARIO.name, url, options, tools, load)
        run = to_run(
            BARE,
            BARE_SCENARIO.name,
            BARE_SCENARIO.path,
            result,
            connections=options.connections,
            bare_rps=result.requests_per_s,
        )
        job = Job(Scenario(BARE, BARE_SCENARIO.path), BARE_SCENARIO.path, url, load, BARE_BODY)
        yield run, Baseline(f"{BARE}/{BARE_SCENARIO.name}", result.requests_per_s, job)


def measure_against_ceiling(
    label: str,
    scenario: Scenario,
    path: str,
    url: str,
    load: Load,
    options: Options,
    tools: Tools,
    bare: Baseline,
) -> Run:
    """A scenario against the bare ceiling. One with a target runs in turn with the bare app
    (CEILING_ROUNDS rounds), judged on the median ratio of its rounds; one without is measured once
    and reported against the first bare run."""
    baseline, ratio, round_ratios = bare, None, None
    if scenario.target is None or bare.job is None:
        result = measure(label, scenario.name, url, options, tools, load)
    else:
        job = Job(scenario, path, url, load, b"")
        bare_result, result, ratios = measure_in_turn(
            label, bare.job, job, options, tools, rounds=CEILING_ROUNDS
        )
        baseline = Baseline(f"{BARE}/{BARE_SCENARIO.name}, in turn", bare_result.requests_per_s)
        ratio, round_ratios = statistics.median(ratios), [round(each, 4) for each in ratios]
    return to_run(
        label,
        scenario.name,
        path,
        result,
        connections=load.connections,
        target=scenario.target,
        bare_rps=bare.requests_per_s,
        baseline=baseline,
        ratio=ratio,
        round_ratios=round_ratios,
    )


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
    label: str, base_url: str, seeded: dict[str, str], options: Options, tools: Tools, bare: Baseline
) -> list[Run]:
    runs = []
    for scenario in BLOG_SCENARIOS:
        path = scenario.path.format(**seeded)
        headers = {"Authorization": f"Token {seeded['token']}"} if scenario.name in BLOG_SIGNED_IN else None
        check_url(label, base_url + path, headers=headers)
        options_h = tuple(
            arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")
        )
        load = Load(options.connections, wrk_options=options_h)
        runs.append(
            measure_against_ceiling(label, scenario, path, base_url + path, load, options, tools, bare)
        )
    return runs


# --- shortener redirects (B10) --------------------------------------------------------------------

REDIRECT_SCRIPT = BENCH_DIR / "redirect.lua"
REDIRECT_LINKS = 100_000
# `GET /s/{code}` over REDIRECT_LINKS seeded links: 1,000 of them take the traffic, then all uniformly.
REDIRECT_SCENARIOS = (
    ("redirect-hot", 1_000, Target(min_ratio=0.15, max_p99_ms=50.0)),
    ("redirect-uniform", REDIRECT_LINKS, Target(min_ratio=0.05, max_p99_ms=50.0)),
)


HTTP_FOUND = 302


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


def redirect_status(url: str) -> int:
    """The status `url` answers, without following a redirect (the seeded targets are not ours)."""
    try:
        urllib.request.build_opener(_NoRedirect).open(url, timeout=5)
    except urllib.error.HTTPError as error:
        return error.code
    return HTTP_OK


def bench_redirects(
    label: str, env: dict[str, str], options: Options, tools: Tools, bare: Baseline
) -> list[Run]:
    log(label, f"seeding {REDIRECT_LINKS:,} short links...")
    command = [PYTHON, str(BENCH_DIR / "seed_links.py"), "--count", str(REDIRECT_LINKS)]
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"[{label}] link seeding failed ({done.returncode}); see its output above")
    runs = []
    with serve(label, APP, env, tools, name="redirects") as base_url:
        status = redirect_status(base_url + "/s/b000000")
        if status != HTTP_FOUND:
            raise BenchError(f"[{label}] /s/b000000 answered {status}, not a 302")
        for name, links, target in REDIRECT_SCENARIOS:
            load = Load(options.connections, ("-s", str(REDIRECT_SCRIPT)), (str(links),))
            path = f"/s/{{one of {links:,} codes}}"
            scenario = Scenario(name, path, target)
            runs.append(
                measure_against_ceiling(label, scenario, path, base_url + "/s/", load, options, tools, bare)
            )
    return runs


def benchmark_redirects(options: Options) -> int:
    """`run.py --redirects-only`: the bare ceiling and the redirect scenarios on each backend."""
    ensure_cpus()
    tools = Tools(wrk=ensure_tool("wrk", "wrk"), taskset=ensure_tool("taskset", "util-linux"))
    skipped: dict[str, str] = {}
    with bare_ceiling(options, tools, base_env()) as (bare, ceiling):
        runs = [bare]
        for backend in check_postgres(options, skipped):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory(prefix="sixty-bench-") as data_dir:
                    env = base_env()
                    env.update(
                        SIXTY_DATA_DIR=data_dir, SIXTY_DATABASE_URL=f"sqlite+aiosqlite:///{data_dir}/sixty.db"
                    )
                    migrate("sqlite", env)
                    runs += bench_redirects("sqlite", env, options, tools, ceiling)
            else:
                env = base_env()
                env["SIXTY_DATABASE_URL"] = fresh_postgres(postgres_admin_url())
                migrate("postgres", env)
                runs += bench_redirects("postgres", env, options, tools, ceiling)
    print_table(runs)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "redirects.json"
    path.write_text(json.dumps({"skipped": skipped, "runs": [asdict(run) for run in runs]}, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 1 if options.strict and any(run.met is False or has_errors(run) for run in runs) else 0


# --- backends --------------------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    # Drop the caller's SIXTY_* settings: the benchmark decides every one that matters.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIXTY_")}
    env.update(
        SIXTY_ENV="production",
        SIXTY_SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        SIXTY_ACCESS_LOG="false",
        SIXTY_LOG_LEVEL="WARNING",
        # No background jobs in the servers under load: none of the scenarios uses them, and the
        # periodic ones (the currency refresh) would call outside services mid-measurement.
        SIXTY_JOBS_RUN_IN_APP="false",
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


def seed(label: str, env: dict[str, str], count: int, user: Credentials) -> str:
    """Register `user` and seed `count` notes of theirs; returns the id of the newest note."""
    log(label, f"seeding the user {user.email} and {count:,} notes...")
    command = [PYTHON, str(BENCH_DIR / "seed.py"), "--count", str(count)]
    command += ["--user-email", user.email, "--user-password", user.password]
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"[{label}] seeding failed ({done.returncode}); see its output above")
    try:
        return str(uuid.UUID(lines[-1]))
    except ValueError:
        raise BenchError(f"[{label}] seed.py printed {lines[-1]!r}, not a note id") from None


JSON_HEADERS = {"Content-Type": "application/json"}


def sign_in(label: str, base_url: str, user: Credentials, *, ttl_seconds: int) -> str:
    """An access token for `user` from `POST /api/auth/login`, as any client gets one; it must
    outlive the runs that send it."""
    log(label, f"signing in as {user.email}...")
    body = user.login_body().encode()
    answer = check_url(label, base_url + LOGIN_PATH, body=body, headers=JSON_HEADERS)
    try:
        tokens = json.loads(answer)
        token, expires_in = str(tokens["access_token"]), int(tokens["expires_in"])
    except (ValueError, KeyError, TypeError) as error:
        raise BenchError(f"[{label}] the login answered no access token: {answer[:500]!r}") from error
    if expires_in < ttl_seconds:
        raise BenchError(f"[{label}] the access token lives {expires_in} s; the runs need {ttl_seconds} s")
    return token


@dataclass(frozen=True)
class Job:
    """A scenario ready to load: its path and URL, what wrk sends, and what it answered once."""

    scenario: Scenario
    path: str
    url: str
    load: Load
    body: bytes


def prepare(label: str, scenario: Scenario, base_url: str, note_id: str, options: Options, token: str) -> Job:
    """Checks the scenario's URL once (401 without the token first, when it is protected)."""
    path = scenario.path.format(note_id=note_id)
    url = base_url + path
    if scenario.protected:
        check_url(label, url, expected_status=HTTP_UNAUTHORIZED)
    headers = {"Authorization": f"Bearer {token}"} if scenario.bearer else {}
    body = check_url(label, url, headers=headers)
    wrk_headers = tuple(option for item in headers.items() for option in ("-H", ": ".join(item)))
    return Job(scenario, path, url, Load(options.connections, wrk_headers), body)


def combine(results: Sequence[WrkResult]) -> WrkResult:
    """Equally long rounds of one load as one result: mean req/s, median p50, worst p99, all errors."""
    return WrkResult(
        requests_per_s=statistics.fmean(result.requests_per_s for result in results),
        p50_ms=statistics.median(result.p50_ms for result in results),
        p99_ms=max(result.p99_ms for result in results),
        errors={key: sum(result.errors[key] for result in results) for key in results[0].errors},
    )


def measure_in_turn(
    label: str, baseline: Job, job: Job, options: Options, tools: Tools, *, rounds: int = PAIR_ROUNDS
) -> tuple[WrkResult, WrkResult, list[float]]:
    """Both jobs in alternating rounds, so that other work on the machine weighs on both alike;
    answers their results and the ratio of each round (job over baseline)."""
    rounds = min(rounds, options.duration)
    seconds = -(-options.duration // rounds)  # rounded up: each job gets at least --duration
    for each in (baseline, job):
        log(label, f"{each.scenario.name}: warming up {WARMUP_SECONDS} s...")
        run_wrk(tools, each.url, WARMUP_SECONDS, each.load)
    names = f"{baseline.scenario.name} and {job.scenario.name}"
    log(
        label,
        f"{names}: {rounds} rounds of {seconds} s each, in turn, at {job.load.connections} connections...",
    )
    baseline_results: list[WrkResult] = []
    results: list[WrkResult] = []
    ratios: list[float] = []
    for number in range(1, rounds + 1):
        baseline_results.append(parse_wrk(run_wrk(tools, baseline.url, seconds, baseline.load)))
        results.append(parse_wrk(run_wrk(tools, job.url, seconds, job.load)))
        before, after = baseline_results[-1].requests_per_s, results[-1].requests_per_s
        ratios.append(after / before if before else 0.0)
        log(label, f"  round {number}: {before:,.0f} and {after:,.0f} req/s, {ratios[-1]:.1%}")
    combined = combine(baseline_results), combine(results)
    for each, result in zip((baseline, job), combined, strict=True):
        flag = f", {result.error_count} ERRORS {result.errors}" if result.error_count else ""
        log(
            label,
            f"{each.scenario.name}: {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms{flag}",
        )
    return *combined, ratios


def bench_scenarios(
    label: str,
    base_url: str,
    scenarios: Sequence[Scenario],
    note_id: str,
    options: Options,
    tools: Tools,
    bare: Baseline,
    *,
    token: str,
) -> list[Run]:
    """Each scenario on its own, against the bare ceiling; a scenario whose target names another
    (its twin) in turn with that one, against it."""
    by_name = {scenario.name: scenario for scenario in scenarios}
    twins = {
        scenario.target.baseline for scenario in scenarios if scenario.target and scenario.target.baseline
    }
    runs: list[Run] = []
    for scenario in scenarios:
        if scenario.name in twins:
            continue  # measured with the scenario that is compared with it
        job = prepare(label, scenario, base_url, note_id, options, token)
        twin_name = scenario.target.baseline if scenario.target else None
        if twin_name is None:
            runs.append(
                measure_against_ceiling(label, scenario, job.path, job.url, job.load, options, tools, bare)
            )
            continue
        if twin_name not in by_name:
            raise BenchError(
                f"[{label}] {scenario.name} is compared with {twin_name}, which is not served here"
            )
        twin = prepare(label, by_name[twin_name], base_url, note_id, options, token)
        if twin.body != job.body:
            raise BenchError(
                f"[{label}] {scenario.name} and {twin_name} answer different bodies: not the same work"
            )
        twin_result, result, ratios = measure_in_turn(label, twin, job, options, tools)
        runs.append(
            to_run(
                label,
                twin_name,
                twin.path,
                twin_result,
                connections=options.connections,
                bare_rps=bare.requests_per_s,
                baseline=bare,
                rounds=len(ratios),
            )
        )
        runs.append(
            to_run(
                label,
                scenario.name,
                job.path,
                result,
                connections=options.connections,
                target=scenario.target,
                bare_rps=bare.requests_per_s,
                baseline=Baseline(f"{label}/{twin_name}", twin_result.requests_per_s),
                ratio=statistics.median(ratios),
                round_ratios=[round(ratio, 4) for ratio in ratios],
            )
        )
    return runs


async def stored_password_hash(database_url: str, email: str) -> str:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            statement = text("SELECT password_hash FROM auth_user WHERE email = :email")
            stored = await connection.scalar(statement, {"email": email})
    finally:
        await engine.dispose()
    if not stored:
        raise BenchError(f"no password hash stored for {email}")
    return str(stored)


def describe_hash(stored: str) -> str:
    """The scheme and cost parameters of a stored password hash (never the hash itself)."""
    fields = stored.split("$")
    if stored.startswith("$argon2") and len(fields) >= 4:  # $argon2id$v=19$m=19456,t=2,p=1$salt$hash
        return f"{fields[1]} {fields[2]} {fields[3]}"
    if stored.startswith("$bcrypt-sha256$") and len(fields) >= 5:  # $bcrypt-sha256$$2b$12$salt+hash
        return f"bcrypt-sha256 ${fields[3]}$ cost={fields[4]}"
    return f"unrecognised ({fields[1] if len(fields) > 1 else 'no scheme'})"


def bench_login(
    label: str,
    env: dict[str, str],
    scenario: LoginScenario,
    user: Credentials,
    options: Options,
    tools: Tools,
) -> Run:
    # Off: the login limits would answer 429s after a few sign-ins; the hash is what is measured.
    server_env = {**env, "SIXTY_RATELIMIT_ENABLED": "false", **scenario.env}
    body = user.login_body()
    with serve(label, APP, server_env, tools, name=scenario.name) as base_url:
        url = base_url + LOGIN_PATH
        # Like any sign-in, the first one re-hashes the password when the stored hash has another
        # scheme or other parameters than this server's: the measured ones all verify its own.
        check_url(label, url, body=body.encode(), headers=JSON_HEADERS)
        wrk_options = ("-s", str(LOGIN_SCRIPT), "--timeout", f"{LOGIN_TIMEOUT_SECONDS}s")
        load = Load(options.login_connections, wrk_options, script_args=(body,))
        result = measure(label, scenario.name, url, options, tools, load)
    password_hash = describe_hash(asyncio.run(stored_password_hash(env["SIXTY_DATABASE_URL"], user.email)))
    log(label, f"{scenario.name}: every sign-in verified {password_hash}")
    return to_run(
        label,
        scenario.name,
        LOGIN_PATH,
        result,
        connections=options.login_connections,
        method="POST",
        password_hash=password_hash,
    )


def seed_todos(label: str, base_url: str, token: str) -> None:
    """The seeded user's to-do list, made through the API like any client would."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for index in range(TODOS_SEEDED):
        body = json.dumps({"title": f"Task {index}: {SENTENCE}", "order": index}).encode()
        status, answer = fetch(base_url + "/api/todos", body=body, headers=headers)
        if status != HTTP_CREATED:
            raise BenchError(f"[{label}] creating a todo answered {status}: {answer[:500]!r}")
    log(label, f"created {TODOS_SEEDED} todos")


def bench_app(label: str, env: dict[str, str], options: Options, tools: Tools, bare: Baseline) -> list[Run]:
    ttl = options.access_token_ttl_seconds
    env = {**env, "SIXTY_ACCESS_TOKEN_TTL": str(ttl)}  # seconds
    migrate(label, env)
    user = Credentials(BENCH_USER_EMAIL, secrets.token_urlsafe(18))
    note_id = seed(label, env, options.notes, user)
    blog = seed_blog(label, env, options.blog_articles)
    with serve(label, APP, env, tools) as base_url:
        token = sign_in(label, base_url, user, ttl_seconds=ttl)
        seed_todos(label, base_url, token)
        runs = bench_scenarios(label, base_url, APP_SCENARIOS, note_id, options, tools, bare, token=token)
        runs += bench_blog(label, base_url, blog, options, tools, bare)
    runs += bench_redirects(label, env, options, tools, bare)
    # Another server, same database and keys: the token signed above is good there too.
    with serve(label, AUTH_APP, env, tools, name="auth") as base_url:
        runs += bench_scenarios(label, base_url, AUTH_SCENARIOS, note_id, options, tools, bare, token=token)
    runs += [bench_login(label, env, scenario, user, options, tools) for scenario in LOGIN_SCENARIOS]
    return runs


def bench_sqlite(options: Options, tools: Tools, bare: Baseline) -> list[Run]:
    with tempfile.TemporaryDirectory(prefix="sixty-bench-") as data_dir:
        env = base_env()
        env.update(SIXTY_DATA_DIR=data_dir, SIXTY_DATABASE_URL=f"sqlite+aiosqlite:///{data_dir}/sixty.db")
        return bench_app("sqlite", env, options, tools, bare)


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


def bench_postgres(options: Options, tools: Tools, bare: Baseline) -> list[Run]:
    admin_url = postgres_admin_url()
    log("postgres", f"creating a fresh database {BENCH_DATABASE}...")
    env = base_env()
    env["SIXTY_DATABASE_URL"] = fresh_postgres(admin_url)
    return bench_app("postgres", env, options, tools, bare)


# --- report ----------------------------------------------------------------------------------------


def has_errors(run: Run) -> bool:
    return any(run.errors.values())


def verdict(run: Run) -> str:
    if has_errors(run):
        return "FAIL"
    if run.met is None:
        return "-"
    return "pass" if run.met else "MISS"


def percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1%}"


def print_table(runs: list[Run]) -> None:
    header = (
        "backend",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "vs bare",
        "target",
        "vs baseline",
        "result",
        "errors",
    )
    rows = [header] + [
        (
            run.backend,
            run.scenario,
            f"{run.requests_per_s:,.0f}",
            f"{run.p50_ms:.2f}",
            f"{run.p99_ms:.2f}",
            percent(run.ratio_to_bare),
            run.target or "-",
            percent(run.ratio_to_baseline) if run.target else "-",  # what the target is judged on
            verdict(run),
            str(sum(run.errors.values())) if has_errors(run) else "-",
        )
        for run in runs
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    numeric = {2, 3, 4, 5, 7}
    print()
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    logins = [run for run in runs if run.password_hash is not None]
    if logins:
        print(f"\nlogin runs: {logins[0].method} {logins[0].path}, rate limits off; every sign-in verified")
        for run in logins:
            print(f"  {run.backend}/{run.scenario}: {run.password_hash} ({run.connections} connections)")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> float:
    """Runnable processes on the machine, averaged over the last minute."""
    return round(os.getloadavg()[0], 2)


# A fixed piece of pure Python, timed on the server's CPU: how fast this machine runs Python code
# right now. On a shared machine it changes from hour to hour (seen here: sign-ins, which are
# all CPU, at 43/s one day and 19-24/s the next), and the app, all Python, slows with it while the
# bare app, mostly the kernel's work, barely does: read its ratios beside this.
CPU_PROBE = """
import time
best = 1e9
for _ in range(5):
    started = time.perf_counter()
    sum(i * i for i in range(300_000))
    best = min(best, time.perf_counter() - started)
print(best * 1000)
"""


def cpu_probe_ms(tools: Tools) -> float:
    """Milliseconds the CPU probe takes on the server CPU (best of five)."""
    command = [tools.taskset, "-c", str(SERVER_CPU), PYTHON, "-c", CPU_PROBE]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return round(float(done.stdout.strip()), 2)


def bench_convert(megabytes: int) -> dict[str, object]:
    """The JSON-to-CSV memory and throughput run (benchmarks/convert.py), in a process of its own."""
    command = [PYTHON, str(BENCH_DIR / "convert.py"), "--mb", str(megabytes), "--json"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"convert.py failed:\n{result.stderr[-2000:]}")
    *summary, last = result.stdout.strip().splitlines()
    print("\n" + "\n".join(summary))
    converted: dict[str, object] = json.loads(last)
    return converted


def write_results(
    runs: list[Run],
    options: Options,
    skipped: dict[str, str],
    load_before: float,
    converted: dict[str, object] | None = None,
    cpu_probe: tuple[float, float] | None = None,
) -> Path:
    report = {
        "machine": {
            "nproc": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            # Other work on the machine slows servers and wrk alike, and unevenly: compare with care.
            "load_average_1m": {"start": load_before, "end": load_average()},
            # `CPU_PROBE` on the server CPU, at the start and the end: lower is a faster machine.
            "cpu_probe_ms": None if cpu_probe is None else {"start": cpu_probe[0], "end": cpu_probe[1]},
        },
        "settings": {
            "duration_s": options.duration,
            "warmup_s": WARMUP_SECONDS,
            "connections": options.connections,
            "login_connections": options.login_connections,
            "login_timeout_s": LOGIN_TIMEOUT_SECONDS,
            "access_token_ttl_s": options.access_token_ttl_seconds,
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
        "convert": converted,
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
        "--login-connections",
        type=positive_int,
        default=4,
        help="wrk connections of the login runs (default 4): each sign-in is tens of ms of CPU",
    )
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
    parser.add_argument(
        "--convert-mb",
        type=int,
        default=500,
        help="NDJSON megabytes for the JSON-to-CSV memory run (benchmarks/convert.py; default 500, 0 skips)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed or a run answered errors"
    )
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
        login_connections=args.login_connections,
        backends=args.backends,
        notes=args.notes,
        blog_articles=args.blog_articles,
        strict=args.strict,
        require_postgres=args.require_postgres,
        convert_mb=args.convert_mb,
    )


def benchmark(options: Options) -> int:
    ensure_cpus()
    load_before = load_average()
    if load_before >= 1:
        log("setup", f"load average {load_before:g} before starting: other work will skew the numbers")
    tools = Tools(wrk=ensure_tool("wrk", "wrk"), taskset=ensure_tool("taskset", "util-linux"))
    skipped: dict[str, str] = {}
    backends = check_postgres(options, skipped)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    probe_before = cpu_probe_ms(tools)
    log("setup", f"CPU probe: {probe_before:g} ms (pure Python on the server CPU; lower is faster)")
    with bare_ceiling(options, tools, base_env()) as (bare, ceiling):
        runs = [bare]
        for backend in backends:
            if backend == "sqlite":
                runs += bench_sqlite(options, tools, ceiling)
            else:
                runs += bench_postgres(options, tools, ceiling)
    probe_after = cpu_probe_ms(tools)
    print_table(runs)
    print(
        f"\nCPU probe (pure Python on the server CPU): {probe_before:g} ms at the start, "
        f"{probe_after:g} ms at the end"
    )
    for backend, reason in skipped.items():
        print(f"skipped {backend}: {reason}")
    converted = bench_convert(options.convert_mb) if options.convert_mb > 0 else None
    path = write_results(runs, options, skipped, load_before, converted, (probe_before, probe_after))
    print(f"\nwrote {path.relative_to(ROOT)}")
    missed = [f"{run.backend}/{run.scenario}" for run in runs if run.met is False and not has_errors(run)]
    failed = [f"{run.backend}/{run.scenario}" for run in runs if has_errors(run)]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
    if failed:
        print(f"runs with errors (non-2xx/3xx answers or socket errors): {', '.join(failed)}")
    return 1 if (missed or failed) and options.strict else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The file store's scenarios (benchmarks/files.py): --files-only, --file-mib N (default 1024).
    files_only = "--files-only" in argv
    file_mib = ["--file-mib", argv[argv.index("--file-mib") + 1]] if "--file-mib" in argv else []
    argv = [
        arg
        for index, arg in enumerate(argv)
        if arg != "--files-only" and "--file-mib" not in argv[max(index - 1, 0) : index + 1]
    ]
    try:
        if "--redirects-only" in argv:  # the shortener's scenarios alone
            return benchmark_redirects(parse_options([arg for arg in argv if arg != "--redirects-only"]))
        status = 0 if files_only else benchmark(parse_options(argv))
    except BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks` importable
    from benchmarks import files, images, previews

    return files.main(file_mib) or previews.main([]) or images.main([]) or status


if __name__ == "__main__":
    sys.exit(main())
