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
    roadmap: tuple[str, ...] = field(default=())

    def router(self) -> APIRouter:
        router: APIRouter = importlib.import_module(f"sixty.{self.name}.router").router
        return router

    def install(self, app: FastAPI, settings: Settings) -> StartupHook | None:
        if not self.has_setup:
            return None
        hook: StartupHook | None = importlib.import_module(f"sixty.{self.name}.setup").install(app, settings)
        return hook

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
        roadmap=("B9", "I3"),
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


def import_all_models() -> None:
    """Import every module's models, so `Base.metadata` holds the whole schema."""
    for core_module in ("sixty.core.jobs", "sixty.core.mail"):
        importlib.import_module(core_module)
    for module in MODULES:
        if module.has_models:
            importlib.import_module(f"sixty.{module.name}.models")
