"""The app factory: settings in, a complete ASGI app out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from sixty import __version__
from sixty.core import fastapi_memo, health
from sixty.core.cache import create_cache
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.docs import install_docs, install_openapi
from sixty.core.errors import install_error_handlers
from sixty.core.http import HttpClient
from sixty.core.jobs import JobRunner, Scheduler, Worker, create_backend
from sixty.core.middleware import BodyLimitMiddleware, GZipMiddleware, Metrics, RequestContextMiddleware
from sixty.core.pagination import CursorCodec
from sixty.core.ratelimit import create_rate_limits
from sixty.core.security import TokenCodec
from sixty.modules import StartupHook, resolve

DESCRIPTION = """
One backend implementing the 60 projects of the backend roadmap.

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem documents
(`application/problem+json`); lists are cursor-paginated (`limit`, `cursor`,
`next_cursor`); messages follow `Accept-Language` (en, es, fr, de).
"""


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The whole platform as an ASGI app. `db` replaces the database built from settings
    (the test suite passes one bound to its rolled-back transaction)."""
    settings = settings or Settings()
    fastapi_memo.install()
    modules = resolve(settings.modules)
    db = db or Database(create_engine(settings), reader_pool_size=settings.database_pool_size)
    jobs_backend = create_backend(settings, db)
    cache = create_cache(settings.redis_url)
    http = HttpClient.from_settings(settings)  # one pool of connections to outside services
    rate_limits = create_rate_limits(settings)

    startup_hooks: list[StartupHook] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.connect()
        for hook in startup_hooks:
            await hook(db)
        runner: JobRunner | None = None
        if settings.jobs_run_in_app:
            runner = JobRunner(Worker(jobs_backend, db=db, settings=settings), Scheduler(jobs_backend))
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.close()
            await http.aclose()
            await cache.close()
            await rate_limits.close()
            await db.dispose()

    app = FastAPI(
        title="Sixty",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[{"name": "health", "description": "Liveness, readiness and metrics."}]
        + [module.openapi_tag for module in modules],
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # Prometheus metrics and our access log cover this; OpenTelemetry stays off unless wired up.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.db = db
    app.state.cache = cache
    app.state.http = http
    app.state.jobs = jobs_backend
    app.state.metrics = Metrics()
    app.state.cursor_codec = CursorCodec(settings.secret_key)
    app.state.rate_limits = rate_limits
    app.state.token_codec = TokenCodec.from_settings(settings)

    install_error_handlers(app)
    for module in modules:
        module.register_tasks(settings)
        hook = module.install(app, settings)
        if hook is not None:
            startup_hooks.append(hook)
        app.include_router(module.router())
    # Last: its three paths share no prefix, so every request tried them first when it came first.
    app.include_router(health.router)
    rate_limits.warn_about_unknown_overrides()  # modules declare their policies when imported
    install_openapi(app)
    if settings.docs_enabled:
        install_docs(app)

    # Added innermost first: a request passes context -> module middleware (e.g. the todos
    # module's open CORS) -> CORS -> gzip -> body limit -> routes. What modules added while
    # installing is moved here, so it sees a request before the platform's CORS does.
    module_middleware = list(app.user_middleware)
    app.user_middleware.clear()
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "RateLimit",
                "RateLimit-Policy",
            ],
        )
    app.user_middleware[0:0] = module_middleware
    app.add_middleware(
        RequestContextMiddleware,
        default_locale=settings.default_locale,
        access_log=settings.access_log,
        metrics=app.state.metrics if settings.metrics_enabled else None,
    )
    return app
