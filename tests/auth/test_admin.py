"""I2 roles and administration: permissions are data, checked by composable dependencies."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

from fastapi import Depends, FastAPI
from httpx import AsyncClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import User, UserRole
from sixty.core.config import Settings
from sixty.core.db import Database, create_engine
from sixty.core.security import Principal, require
from sixty.main import create_app
from tests.auth.conftest import Mailbox
from tests.factories.auth import bearer, create_user, sign_in


async def test_users_get_403_on_admin_routes(client: AsyncClient, user_headers: dict[str, str]) -> None:
    for path in ("/api/admin/users", "/api/admin/roles", "/api/admin/outbox"):
        response = await client.get(path, headers=user_headers)
        assert response.status_code == 403, path
        assert response.json()["code"] == "permission_denied"
    assert (await client.get("/api/admin/users")).status_code == 401


async def test_admin_lists_and_filters_users(
    client: AsyncClient,
    session: AsyncSession,
    auth: service.AuthContext,
    user: User,
    admin_headers: dict[str, str],
) -> None:
    await create_user(session, auth, email="carol@example.com", roles=("user",))
    everyone = (await client.get("/api/admin/users", headers=admin_headers)).json()
    assert {item["email"] for item in everyone["items"]} == {
        "ann@example.com",
        "carol@example.com",
        "root@example.com",
    }
    admins = (await client.get("/api/admin/users", params={"role": "admin"}, headers=admin_headers)).json()
    assert [item["email"] for item in admins["items"]] == ["root@example.com"]
    found = (await client.get("/api/admin/users", params={"q": "CAROL"}, headers=admin_headers)).json()
    assert [item["email"] for item in found["items"]] == ["carol@example.com"]
    first = (await client.get("/api/admin/users", params={"limit": 2}, headers=admin_headers)).json()
    rest = (
        await client.get(
            "/api/admin/users", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin_headers
        )
    ).json()
    assert len(first["items"]) == 2
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None


async def test_roles_are_data(
    client: AsyncClient, session: AsyncSession, user: User, admin_headers: dict[str, str]
) -> None:
    # A role no migration seeds (the library's migration seeds `librarian`).
    await service.ensure_role(
        session, "curator", description="Curates exhibits", permissions=["exhibits:manage"]
    )
    roles = (await client.get("/api/admin/roles", headers=admin_headers)).json()["items"]
    assert {"name": "curator", "description": "Curates exhibits", "permissions": ["exhibits:manage"]} in roles
    assert next(role for role in roles if role["name"] == "admin")["permissions"] == ["*"]
    changed = await client.patch(
        f"/api/admin/users/{user.id}", json={"roles": ["user", "curator"]}, headers=admin_headers
    )
    assert changed.status_code == 200
    assert changed.json()["roles"] == ["curator", "user"]


async def test_permission_checks_follow_the_roles(
    app: FastAPI, client: AsyncClient, session: AsyncSession, user: User
) -> None:
    """A librarian-only route gets the permission from the role table, nothing in code."""

    @app.get("/api/test/stock")
    async def stock(principal: Annotated[Principal, Depends(require("library:manage"))]) -> dict[str, str]:
        return {"who": principal.username}

    headers = bearer(await sign_in(client))
    assert (await client.get("/api/test/stock", headers=headers)).status_code == 403
    await service.ensure_role(session, "librarian", permissions=["library:manage"])
    session.add(UserRole(user_id=user.id, role="librarian"))
    await session.flush()
    assert (await client.get("/api/test/stock", headers=headers)).json() == {"who": "ann"}


async def test_bad_role_changes_are_refused(
    client: AsyncClient, admin: User, user: User, admin_headers: dict[str, str]
) -> None:
    unknown = await client.patch(
        f"/api/admin/users/{user.id}", json={"roles": ["wizard"]}, headers=admin_headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_role"
    demote = await client.patch(
        f"/api/admin/users/{admin.id}", json={"roles": ["user"]}, headers=admin_headers
    )
    assert demote.status_code == 409
    disable = await client.patch(
        f"/api/admin/users/{admin.id}", json={"is_active": False}, headers=admin_headers
    )
    assert disable.status_code == 409
    missing = await client.patch(
        "/api/admin/users/00000000-0000-0000-0000-000000000000",
        json={"is_active": False},
        headers=admin_headers,
    )
    assert missing.status_code == 404
    null = await client.patch(f"/api/admin/users/{user.id}", json={"is_active": None}, headers=admin_headers)
    assert null.status_code == 422
    for loose in (0, "false"):  # not a JSON boolean: refused, never read as false
        coerced = await client.patch(
            f"/api/admin/users/{user.id}", json={"is_active": loose}, headers=admin_headers
        )
        assert coerced.status_code == 422
        assert coerced.json()["errors"][0]["type"] == "bool_type"
    listed = (await client.get("/api/admin/users?limit=100", headers=admin_headers)).json()["items"]
    assert [row["is_active"] for row in listed if row["id"] == str(user.id)] == [True]


async def test_disabling_an_account_stops_its_tokens_at_once(
    client: AsyncClient, user: User, admin_headers: dict[str, str]
) -> None:
    tokens = await sign_in(client)
    assert (await client.get("/api/auth/me", headers=bearer(tokens))).status_code == 200
    disabled = await client.patch(
        f"/api/admin/users/{user.id}", json={"is_active": False}, headers=admin_headers
    )
    assert disabled.status_code == 200
    assert disabled.json()["is_active"] is False
    assert (await client.get("/api/auth/me", headers=bearer(tokens))).status_code == 401
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401


async def test_admin_reads_the_outbox_newest_first(
    client: AsyncClient, mailbox: Mailbox, admin_headers: dict[str, str]
) -> None:
    await client.post(
        "/api/auth/register", json={"email": "one@example.com", "password": "first good passphrase"}
    )
    await client.post(
        "/api/auth/register", json={"email": "two@example.com", "password": "second good passphrase"}
    )
    await mailbox.deliver()
    outbox = (await client.get("/api/admin/outbox", headers=admin_headers)).json()
    assert [item["to"] for item in outbox["items"][:2]] == ["two@example.com", "one@example.com"]
    assert {"to", "subject", "text", "created_at"} <= set(outbox["items"][0])


async def test_the_first_admin_comes_from_settings(
    settings: Settings, db: Database, session: AsyncSession
) -> None:
    configured = settings.model_copy(
        update={"admin_email": "Chief@Example.com", "admin_password": "chief passphrase 1"}
    )
    app = create_app(configured, db=db)
    async with app.router.lifespan_context(app):
        pass
    chief = await session.scalar(select(User).where(User.email == "chief@example.com"))
    assert chief is not None
    assert await service.roles_of(session, chief.id) == ["admin", "user"]
    again = create_app(configured.model_copy(update={"admin_email": "other@example.com"}), db=db)
    async with again.router.lifespan_context(again):
        pass  # an admin exists: nothing more is created
    assert await session.scalar(select(User).where(User.email == "other@example.com")) is None


async def test_create_admin_command(settings: Settings) -> None:
    env = {
        "SIXTY_ENV": "test",
        "SIXTY_SECRET_KEY": settings.secret_key,
        "SIXTY_DATA_DIR": str(settings.data_dir),
        "SIXTY_DATABASE_URL": settings.effective_database_url,
        "SIXTY_ARGON2_MEMORY_KIB": "64",
        "SIXTY_ARGON2_TIME_COST": "1",
        "PATH": "/usr/bin:/bin",
    }

    async def create_admin(email: str, password: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "sixty.cli", "create-admin", "--email", email),
            env={**env, "SIXTY_ADMIN_PASSWORD": password},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await create_admin("cli-admin@example.com", "command line passphrase")
    assert code == 0, err
    assert "cli-admin@example.com is an admin" in out
    code, _, err = await create_admin("cli-admin@example.com", "command line passphrase")
    assert code == 0, err  # promoting an admin again changes nothing
    code, _, err = await create_admin("weak@example.com", "password")
    assert code != 0
    assert "password_too_common" in err
    committed = Database(create_engine(settings))
    async with committed.session() as session:
        await session.execute(delete(User).where(User.email == "cli-admin@example.com"))
        await session.commit()
    await committed.dispose()
