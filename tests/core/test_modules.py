"""The module registry: which modules an app serves, and what it serves when only some are selected.

Dependency resolution (`Module.depends`) is tested on the registry as it is (patching it is
not allowed in this suite): notes, todos, the library, the blog and the chatbot depend on auth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.core.models import Base
from sixty.main import create_app
from sixty.modules import BY_NAME, MODULES, Module, UnknownModuleError, import_all_models, resolve


def test_registry_lists_each_module_once() -> None:
    names = [module.name for module in MODULES]
    assert names == [
        "hello",
        "auth",
        "notes",
        "todos",
        "library",
        "blog",
        "files",
        "weather",
        "currency",
        "chatbot",
        "contact",
        "feedback",
        "calculator",
        "convert",
        "portfolio",
        "images",
        "shortener",
    ]
    assert len(set(names)) == len(names)
    assert {name: module.name for name, module in BY_NAME.items()} == {name: name for name in names}


def test_resolve_nothing_means_every_module_in_registry_order() -> None:
    assert resolve([]) == list(MODULES)
    assert resolve(["", "  "]) == list(MODULES)


def test_resolve_one_module() -> None:
    assert resolve(["notes"]) == [BY_NAME["auth"], BY_NAME["notes"]]  # notes depend on auth
    assert resolve(["hello"]) == [BY_NAME["hello"]]


def test_resolve_normalizes_names_and_keeps_registry_order() -> None:
    assert resolve([" Notes ", "HELLO"]) == [BY_NAME["hello"], BY_NAME["auth"], BY_NAME["notes"]]
    assert resolve(["notes", "notes"]) == [BY_NAME["auth"], BY_NAME["notes"]]


def test_resolve_refuses_unknown_modules_and_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModuleError) as raised:
        resolve(["notes", "payments", "shop"])
    message = str(raised.value)
    assert "payments, shop" in message
    assert "known: " + ", ".join(BY_NAME) in message
    assert isinstance(raised.value, ValueError)


def test_resolve_brings_a_modules_dependencies_in_registry_order() -> None:
    assert resolve(["todos"]) == [BY_NAME["auth"], BY_NAME["todos"]]
    assert resolve(["todos", "hello"]) == [BY_NAME["hello"], BY_NAME["auth"], BY_NAME["todos"]]
    assert resolve(["library", "hello"]) == [BY_NAME["hello"], BY_NAME["auth"], BY_NAME["library"]]
    assert resolve(["blog", "hello"]) == [BY_NAME["hello"], BY_NAME["auth"], BY_NAME["blog"]]
    assert resolve(["chatbot"]) == [BY_NAME["auth"], BY_NAME["chatbot"]]


def test_registered_modules_declare_only_known_dependencies() -> None:
    for module in MODULES:
        assert set(module.depends) <= BY_NAME.keys(), module.name


def test_module_router_and_openapi_tag() -> None:
    notes = BY_NAME["notes"]
    assert notes.router().prefix == "/api/notes"
    assert notes.openapi_tag["name"] == "notes"
    assert "(roadmap: B2, I18)" in notes.openapi_tag["description"]
    assert Module("x", "X.", roadmap=("A1", "A2")).openapi_tag == {
        "name": "x",
        "description": "X. (roadmap: A1, A2)",
    }


def test_import_all_models_loads_the_whole_schema() -> None:
    import_all_models()
    assert {"job", "note", "mail_outbox", "auth_user", "auth_session", "todo", "library_loan"} <= set(
        Base.metadata.tables
    )


def test_an_unknown_module_in_settings_stops_the_app_factory(settings: Settings, db: Database) -> None:
    with pytest.raises(UnknownModuleError):
        create_app(settings.model_copy(update={"modules": ["nope"]}), db=db)


@pytest.fixture
async def hello_only(settings: Settings, db: Database) -> AsyncIterator[AsyncClient]:
    application: FastAPI = create_app(settings.model_copy(update={"modules": ["hello"]}), db=db)
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


async def test_an_app_serves_only_its_selected_modules(hello_only: AsyncClient) -> None:
    hello = await hello_only.get("/api/hello")
    assert hello.status_code == 200
    assert hello.json() == {"message": "Hello, World!"}

    notes = await hello_only.get("/api/notes")
    assert notes.status_code == 404
    assert notes.headers["content-type"].startswith("application/problem+json")
    assert notes.json()["status"] == 404
    assert (await hello_only.post("/api/notes", json={"title": "t"})).status_code == 404

    health = await hello_only.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


async def test_openapi_of_a_partial_app_has_no_paths_of_other_modules(hello_only: AsyncClient) -> None:
    spec = (await hello_only.get("/openapi.json")).json()
    paths = set(spec["paths"])
    assert "/api/hello" in paths
    assert "/healthz" in paths
    assert not any(path.startswith("/api/notes") for path in paths)
    assert [tag["name"] for tag in spec["tags"]] == ["health", "hello"]


async def test_the_full_app_serves_every_module(client: AsyncClient) -> None:
    assert (await client.get("/api/hello")).status_code == 200
    assert (await client.get("/api/notes")).status_code == 401  # served, and it needs a sign-in
    assert (await client.get("/healthz")).status_code == 200
    paths = set((await client.get("/openapi.json")).json()["paths"])
    assert {
        "/api/hello",
        "/api/notes",
        "/api/auth/login",
        "/api/admin/users",
        "/api/library/books",
        "/healthz",
    } <= paths


def test_only_modules_with_a_setup_install_anything(app: FastAPI, settings: Settings) -> None:
    assert BY_NAME["hello"].install(app, settings) is None
    assert BY_NAME["auth"].has_setup
    assert app.state.principal_resolver is not None
