"""Wires the auth module into the app: the password hasher, the principal resolver that every
protected route of every module goes through, and the first admin from settings."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from sixty.auth import principals, service
from sixty.auth.passwords import PasswordHasher
from sixty.core.config import Settings
from sixty.core.db import Database, unit_of_work
from sixty.core.errors import Conflict
from sixty.modules import StartupHook

logger = logging.getLogger("sixty.auth")


def install(app: FastAPI, settings: Settings) -> StartupHook:
    auth = service.AuthContext(
        settings=settings, hasher=PasswordHasher(settings), codec=app.state.token_codec
    )
    app.state.auth = auth
    db: Database = app.state.db
    if db.is_sqlite or settings.principal_cache_ttl.total_seconds() <= 0:
        app.state.principal_resolver = principals.resolve_principal
    else:
        cache = principals.PrincipalCache(
            db.changes, max_age_seconds=settings.principal_cache_ttl.total_seconds()
        )
        db.session_info[principals.CACHE_KEY] = cache  # its sessions' commits update it
        app.state.principal_resolver = cache.resolve

    async def create_first_admin(db: Database) -> None:
        if settings.admin_email and settings.admin_password:
            await ensure_admin(db, auth=auth, email=settings.admin_email, password=settings.admin_password)

    return create_first_admin


async def ensure_admin(
    db: Database, *, auth: service.AuthContext, email: str, password: str, force: bool = False
) -> bool:
    """Creates (or promotes) the admin account when no admin exists yet, or always with `force`.
    True when it did something. Safe when several processes start at once."""
    try:
        async with unit_of_work(db.session(write=True)) as session:
            if not force and await service.admin_exists(session):
                return False
            await service.create_admin(session, email=email, password=password, auth=auth)
    except Conflict:  # another process created it a moment ago
        return False
    logger.info("admin account ready", extra={"email": email})
    return True
