"""The module registry: every feature module of the platform, listed once.

`SIXTY_MODULES=hello,notes` serves only those, plus what they depend on.
A module is imported only when it is served (its models always load, since
the schema is one Alembic history).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI

from sixty.core.config import Settings
from sixty.core.db import Database

# Work a module does once the database is connected (seeding, the first admin).
StartupHook = Callable[[Database], Awaitable[None]]


@dataclass(frozen=True)
class Module:
    name: str
    summary: str
    depends: tuple[str, ...] = ()
    has_models: bool = False
    # A `setup.py` with `install(app, settings)`: app-wide state, start-up work (see auth).
    has_setup: bool = False
    # A `tasks.py` with `register(settings)`: background and periodic jobs, registered in the
    # app and in `sixty worker` alike (periods may come from settings).
    has_tasks: bool = False
    roadmap: tuple[str, ...] = field(default=())

    def router(self) -> APIRouter:
        router: APIRouter = importlib.import_module(f"sixty.{self.name}.router").router
        return router

    def install(self, app: FastAPI, settings: Settings) -> StartupHook | None:
        if not self.has_setup:
            return None
        hook: StartupHook | None = importlib.import_module(f"sixty.{self.name}.setup").install(app, settings)
        return hook

    def register_tasks(self, settings: Settings) -> None:
        if self.has_tasks:
            importlib.import_module(f"sixty.{self.name}.tasks").register(settings)

    @property
    def openapi_tag(self) -> dict[str, str]:
        return {"name": self.name, "description": f"{self.summary} (roadmap: {', '.join(self.roadmap)})"}


MODULES: tuple[Module, ...] = (
    Module("hello", "Hello World: a greeting in the caller's language.", roadmap=("B1",)),
    Module(
        "auth",
        "Accounts: sign-up, sign-in, tokens, sessions, roles, email verification, password reset, "
        "emailed codes and authenticator apps; `/api/admin` for administrators.",
        has_models=True,
        has_setup=True,
        roadmap=("B5", "I1", "I2", "I5", "I6", "I16"),
    ),
    Module(
        "notes",
        "Notes: your own notes with tags, search, ETags and read-only links.",
        depends=("auth",),
        has_models=True,
        roadmap=("B2", "I18"),
    ),
    Module(
        "todos",
        "To-Do list: the Todo-Backend API (todobackend.com), open to any origin; signed-in callers "
        "get lists of their own.",
        depends=("auth",),
        has_models=True,
        has_setup=True,
        roadmap=("B3",),
    ),
    Module(
        "library",
        "Book library: catalogue search, copies, members, loans, returns, renewals, holds queues, "
        "overdue loans and fines.",
        depends=("auth",),
        has_models=True,
        roadmap=("B4",),
    ),
    Module(
        "blog",
        "Blog: a RealWorld (Conduit) backend: users, profiles, follows, articles, tags, favorites, "
        "comments, on the platform's own accounts.",
        depends=("auth",),
        has_models=True,
        has_setup=True,
        has_tasks=True,
        roadmap=("B9", "I3"),
    ),
    Module(
        "files",
        "Files: streamed uploads (multipart, raw body, tus resumable, presigned), downloads with "
        "ranges and ETags, content-sniffed types, deduplicated storage on a local directory or S3; "
        "folders, quota, trash, versions and share links; previews made in the background; "
        "resumes (PDF and DOCX) with their text searchable by employers.",
        depends=("auth",),
        has_models=True,
        has_tasks=True,
        roadmap=("B11", "B12", "I4", "I13", "A11"),
    ),
    Module(
        "weather",
        "Weather: current conditions and daily forecasts by city or coordinates, from Open-Meteo, "
        "cached, with stale copies when the provider fails.",
        has_setup=True,
        roadmap=("B6",),
    ),
    Module(
        "currency",
        "Currency converter: exact conversion on the European Central Bank's reference rates, "
        "history back to 1999, refreshed on a schedule, working offline from a bundled history.",
        has_models=True,
        has_tasks=True,
        roadmap=("B18",),
    ),
    Module(
        "chatbot",
        "Chatbot: intents and FAQ answers that staff edit, pattern and fuzzy matching with a "
        "confidence, a callback-booking flow with slot filling, conversation history, and an optional "
        "OpenAI-compatible endpoint for questions nothing matches.",
        depends=("auth",),
        has_models=True,
        has_setup=True,
        roadmap=("B16",),
    ),
    Module(
        "contact",
        "Contact form: validated messages with honeypot and fill-time guards, a staff inbox to triage, "
        "a notification to the inbox and an acknowledgement to the sender.",
        depends=("auth",),
        has_models=True,
        roadmap=("B7",),
    ),
    Module(
        "feedback",
        "Feedback collector: forms of rating, NPS, text and choice questions answered through a link, "
        "one response per person or device when asked, aggregates, CSV export and moderation.",
        depends=("auth",),
        has_models=True,
        roadmap=("B15",),
    ),
    Module(
        "calculator",
        "Calculator: arithmetic expressions evaluated exactly in decimal by a parser of our own, "
        "with errors that point at their position.",
        roadmap=("B8",),
    ),
    Module(
        "convert",
        "Converters: JSON arrays or NDJSON to CSV and CSV to JSON, streamed, with flattening, "
        "spreadsheet-safe cells and flat memory whatever the size.",
        roadmap=("B13",),
    ),
    Module(
        "portfolio",
        "Portfolio: a public page per account with a Markdown bio, ordered projects with images from "
        "the file store, skills, experience and education, approved testimonials and a contact form; "
        "drafts, and ETags on public reads.",
        depends=("auth", "contact", "files"),
        has_models=True,
        roadmap=("B17",),
    ),
    Module(
        "images",
        "Image compressor: resize, convert (JPEG, PNG, WebP, AVIF) and compress to a quality or a byte "
        "budget, orientation applied and GPS stripped; signed links to preset variants of stored images.",
        depends=("auth", "files"),
        has_setup=True,
        roadmap=("I14",),
    ),
    Module(
        "shortener",
        "URL shortener: random codes or custom aliases, expiry by date or visit count, 301/302/307, "
        "password-protected links, QR codes, click statistics, targets checked against private networks; "
        "redirects at `/s/{code}`.",
        depends=("auth",),
        has_models=True,
        has_setup=True,
        roadmap=("B10",),
    ),
)

BY_NAME = {module.name: module for module in MODULES}


class UnknownModuleError(ValueError):
    pass


def resolve(selected: Iterable[str]) -> list[Module]:
    """The modules to serve, in registry order: `selected` (all when empty) and their dependencies."""
    wanted = [name.strip().lower() for name in selected if name.strip()]
    if not wanted:
        return list(MODULES)
    unknown = sorted(set(wanted) - BY_NAME.keys())
    if unknown:
        raise UnknownModuleError(
            f"unknown module(s) in SIXTY_MODULES: {', '.join(unknown)}; known: {', '.join(BY_NAME)}"
        )
    chosen: set[str] = set()
    pending = list(wanted)
    while pending:
        name = pending.pop()
        if name not in chosen:
            chosen.add(name)
            pending.extend(BY_NAME[name].depends)
    return [module for module in MODULES if module.name in chosen]


def register_all_tasks(settings: Settings) -> None:
    """Register every module's jobs (the worker runs them whichever modules the web serves)."""
    for module in MODULES:
        module.register_tasks(settings)


def import_all_models() -> None:
    """Import every module's models, so `Base.metadata` holds the whole schema."""
    for core_module in ("sixty.core.jobs", "sixty.core.mail", "sixty.core.storage"):
        importlib.import_module(core_module)
    for module in MODULES:
        if module.has_models:
            importlib.import_module(f"sixty.{module.name}.models")
