"""Where the time of a protected request goes, in process: the parts of `CurrentPrincipal`,
then whole requests to the open and protected twins of benchmarks/auth_app.py, one at a time and
64 at once. No HTTP server and no wrk, so it runs anywhere in a few seconds. See benchmarks/README.md.

    .venv/bin/python -m benchmarks.auth_cost [--iterations N] [--postgres]

Each measure is repeated and its best round kept: other work on the machine only ever adds time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import jwt

from benchmarks.run import (
    BENCH_DATABASE,
    BENCH_USER_EMAIL,
    HTTP_OK,
    BenchError,
    Credentials,
    base_env,
    fresh_postgres,
    migrate,
    postgres_admin_url,
    postgres_unavailable_reason,
)
from benchmarks.seed import seed

ROUNDS = 5
CONCURRENCY = 64
NOTES = 100
Message = MutableMapping[str, Any]


def compared(open_micros: float, auth_micros: float) -> str:
    """What auth adds, and the protected twin's req/s as a share of the open one's."""
    return f"+{auth_micros - open_micros:.1f} µs; {open_micros / auth_micros:.1%} of open req/s"


def row(name: str, micros: float, note: str = "") -> None:
    print(f"{name:<46} {micros:>9.1f} µs  {note}".rstrip(), flush=True)


async def best_micros(call: Callable[[], Awaitable[object]], iterations: int) -> float:
    """The fastest of ROUNDS rounds, in µs per call."""
    for _ in range(min(iterations, 200)):
        await call()  # warm caches and compiled statements
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(iterations):
            await call()
        rounds.append((time.perf_counter() - started) / iterations * 1e6)
    return min(rounds)


async def best_concurrent_micros(call: Callable[[], Awaitable[object]], iterations: int) -> float:
    """As `best_micros`, with CONCURRENCY tasks sharing the calls (time per call, amortized)."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    share = max(1, iterations // CONCURRENCY)
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await asyncio.gather(*(worker(share) for _ in range(CONCURRENCY)))
        rounds.append((time.perf_counter() - started) / (share * CONCURRENCY) * 1e6)
    return min(rounds)


def sync(call: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    async def wrapped() -> object:
        return call()

    return wrapped


class AsgiClient:
    """Requests straight into the app: the whole middleware stack and router, no socket."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
        raw_headers = [(b"host", b"127.0.0.1")]
        raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        if body:
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope: Message = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        if sent[0]["status"] != HTTP_OK:
            raise BenchError(f"{method} {path} answered {sent[0]['status']}")
        return b"".join(message.get("body", b"") for message in sent[1:])


@contextmanager
def database(use_postgres: bool) -> Iterator[dict[str, str]]:
    """The environment of a fresh, migrated database (and production settings)."""
    env = base_env()
    if use_postgres:
        admin_url = postgres_admin_url()
        if reason := postgres_unavailable_reason(admin_url):
            raise BenchError(f"PostgreSQL does not answer: {reason}")
        env["SIXTY_DATABASE_URL"] = fresh_postgres(admin_url)
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="sixty-auth-cost-") as data_dir:
        env.update(SIXTY_DATA_DIR=data_dir, SIXTY_DATABASE_URL=f"sqlite+aiosqlite:///{data_dir}/sixty.db")
        yield env


async def measure(iterations: int, user: Credentials, note_id: str) -> None:
    # Imported here: the app reads its settings from the environment set up by main().
    from starlette.requests import Request

    from benchmarks.auth_app import app
    from sixty.auth.principals import resolve_principal
    from sixty.core.security import REQUIRED_CLAIMS, TokenCodec, authenticate

    client = AsgiClient(app)
    async with app.router.lifespan_context(app):
        login = json.dumps({"email": user.email, "password": user.password}).encode()
        answer = await client.request("POST", "/api/auth/login", {"content-type": "application/json"}, login)
        token = str(json.loads(answer)["access_token"])
        bearer = {"authorization": f"Bearer {token}"}
        codec: TokenCodec = app.state.token_codec
        reader = app.state.db.reader
        claims = codec.verify(token)
        key = codec.keys[codec.current.kid]
        scope: Message = {
            "type": "http",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "app": app,
        }

        print(f"{'measure':<46} {'time':>12}")
        verify = await best_micros(sync(lambda: codec.verify(token)), iterations)
        row("TokenCodec.verify, a token seen before", verify)
        # Tokens never verified yet: the whole check (a client's first request with a new token).
        fresh_count = max(1, iterations // 10)
        lifetime = timedelta(hours=1)
        fresh = iter(
            [
                codec.issue(subject=claims.subject, session_id=claims.session_id, lifetime=lifetime)[0]
                for _ in range(min(fresh_count, 200) + ROUNDS * fresh_count)
            ]
        )
        first = await best_micros(sync(lambda: codec.verify(next(fresh))), fresh_count)
        row("TokenCodec.verify, a new token", first)
        decode = await best_micros(
            sync(
                lambda: jwt.decode(
                    token,
                    key,
                    algorithms=[codec.algorithm],
                    audience=codec.audience,
                    issuer=codec.issuer,
                    options={"require": list(REQUIRED_CLAIMS)},
                )
            ),
            iterations,
        )
        row("  jwt.decode (checks signature and claims)", decode)
        principal = await best_micros(
            lambda: resolve_principal(reader, claims, with_permissions=False), iterations
        )
        row("resolve_principal (the principal read)", principal, "one at a time")
        whole = await best_micros(lambda: authenticate(Request(scope)), iterations)
        row("security.authenticate (all of it)", whole)

        open_path, auth_path = f"/bench/open/notes/{note_id}", f"/bench/auth/notes/{note_id}"
        requests = max(1, iterations // 4)
        open_one = await best_micros(lambda: client.request("GET", open_path, {}), requests)
        auth_one = await best_micros(lambda: client.request("GET", auth_path, bearer), requests)
        row("GET note-read-open, one at a time", open_one)
        row("GET note-read-auth, one at a time", auth_one, compared(open_one, auth_one))
        open_many = await best_concurrent_micros(lambda: client.request("GET", open_path, {}), requests)
        auth_many = await best_concurrent_micros(lambda: client.request("GET", auth_path, bearer), requests)
        row(f"GET note-read-open, {CONCURRENCY} at once", open_many)
        row(f"GET note-read-auth, {CONCURRENCY} at once", auth_many, compared(open_many, auth_many))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=10_000, help="calls per round (default 10000)")
    parser.add_argument(
        "--postgres", action="store_true", help=f"use a fresh database {BENCH_DATABASE} instead of SQLite"
    )
    args = parser.parse_args()
    try:
        with database(args.postgres) as env:
            for key in [key for key in os.environ if key.startswith("SIXTY_")]:
                del os.environ[key]
            os.environ.update({key: value for key, value in env.items() if key.startswith("SIXTY_")})
            migrate("auth-cost", env)
            user = Credentials(BENCH_USER_EMAIL, secrets.token_urlsafe(18))
            note_id = str(uuid.UUID(asyncio.run(seed(NOTES, user.email, user.password))))
            backend = "postgres" if args.postgres else "sqlite"
            print(f"backend: {backend}; best of {ROUNDS} rounds\n", flush=True)
            asyncio.run(measure(args.iterations, user, note_id))
    except BenchError as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
