"""`sixty`: serve the platform, migrate the database, run the job worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from sixty.core.config import Settings
from sixty.core.logging import configure_logging

logger = logging.getLogger("sixty.cli")

# asyncio's own event loop rather than uvloop. Under load uvloop took new connections in one at a
# time per turn of the loop: 64 clients connecting to a busy server waited up to a second for
# their first answer (measured on the redirect and hello benchmarks, p99 250-800 ms against
# 20-40 ms with asyncio's loop), at no gain in requests/s for this app, whose time goes to Python.
EVENT_LOOP = "asyncio"


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from sixty.core import migrate

    if args.migrate:
        migrate.upgrade(settings)
    uvicorn.run(
        "sixty.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.trusted_proxies),
        access_log=False,  # the app writes its own structured access log
        log_config=None,
        reload=args.reload,
        loop=EVENT_LOOP,
    )


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    from sixty.core import migrate

    if args.revision.startswith("-"):
        migrate.downgrade(settings, args.revision)
    else:
        migrate.upgrade(settings, args.revision)
    logger.info("database migrated", extra={"revision": args.revision})


async def _run_worker(settings: Settings) -> None:
    from sixty.core.db import Database, create_engine
    from sixty.core.jobs import JobRunner, Scheduler, Worker, create_backend
    from sixty.modules import import_all_models, register_all_tasks

    import_all_models()
    register_all_tasks(settings)
    db = Database(create_engine(settings))
    backend = create_backend(settings, db)
    runner = JobRunner(Worker(backend, db=db, settings=settings), Scheduler(backend))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop.set)
    logger.info("worker started", extra={"backend": settings.jobs_backend.value})
    runner.start()
    await runner.stop.wait()
    await runner.close()
    await db.dispose()
    logger.info("worker stopped")


def _worker(args: argparse.Namespace, settings: Settings) -> None:
    if settings.jobs_backend.value == "memory":
        raise SystemExit(
            "sixty worker needs a shared queue: set SIXTY_JOBS_BACKEND=database "
            "(and SIXTY_JOBS_RUN_IN_APP=false on the web processes)"
        )
    asyncio.run(_run_worker(settings))


async def _make_admin(settings: Settings, email: str, password: str) -> bool:
    from pydantic import ValidationError

    from sixty.auth import service
    from sixty.auth.passwords import PasswordHasher
    from sixty.auth.setup import ensure_admin
    from sixty.core.db import Database, create_engine
    from sixty.core.errors import Problem
    from sixty.core.security import TokenCodec
    from sixty.modules import import_all_models

    import_all_models()
    db = Database(create_engine(settings))
    auth = service.AuthContext(
        settings=settings, hasher=PasswordHasher(settings), codec=TokenCodec.from_settings(settings)
    )
    try:
        return await ensure_admin(db, auth=auth, email=email, password=password, force=True)
    except ValidationError as error:
        raise SystemExit(f"refused: {error.errors()[0]['loc'][-1]}: {error.errors()[0]['msg']}") from None
    except Problem as error:
        raise SystemExit(f"refused: {error.code}: {error.detail}") from None
    finally:
        await db.dispose()


def _create_admin(args: argparse.Namespace, settings: Settings) -> None:
    import getpass
    import sys

    password = settings.admin_password
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        password = getpass.getpass("Password for the admin account: ")
    asyncio.run(_make_admin(settings, args.email, password))
    print(f"{args.email} is an admin")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sixty", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.add_argument("--no-migrate", dest="migrate", action="store_false", help="skip migrations")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head", help="target (default: head; -1 steps back)")
    migrate.set_defaults(handler=_migrate)

    worker = commands.add_parser("worker", help="run background jobs and the scheduler")
    worker.set_defaults(handler=_worker)

    admin = commands.add_parser(
        "create-admin",
        help="create an admin account, or make an existing account admin",
        description="The password comes from --password-stdin, SIXTY_ADMIN_PASSWORD, or a prompt.",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    admin.set_defaults(handler=_create_admin)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    args.handler(args, settings)


if __name__ == "__main__":
    main()
