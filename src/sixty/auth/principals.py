"""The caller behind a verified access token, on every protected request of every module.

A valid signature is not enough (core/security.py): the token's session must still be open and
its account active, so that signing out, "sign out everywhere" and disabling an account take
effect at once. That is one indexed read (`resolve_principal`). On PostgreSQL the read is a round
trip to the server, about a quarter of what a signed-in read of one row costs, for an answer
that rarely changes; so there `PrincipalCache` remembers the answers, and forgets them when the
database says they changed:

- Triggers on auth_session, auth_user, auth_user_role and auth_role_permission (migration 0019)
  call `pg_notify('sixty_auth', ...)` with `s:<session id>`, `u:<user id>`, or `*` (all), which
  PostgreSQL delivers to every listening process when the change commits (core/changefeed.py).
- The process that made the change forgets as its own transaction commits, before it answers
  (the session hooks below), so a client that signs out and sends its old token again is
  refused even by the same process; other processes refuse it once the notification arrives,
  well under a millisecond later on one host.
- Nothing is kept while the change feed is not listening, nor anything read before it started.
- A read that raced a change is not kept: every change moves `generation` on, and a read keeps
  its answer only if the generation it started with is still current.
- An entry lives at most `SIXTY_PRINCIPAL_CACHE_TTL` (0 turns the cache off); the session's
  own expiry is checked on every use.

SQLite needs none of this: its read takes microseconds and never leaves the process.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from sixty.auth.models import Role, RolePermission, User, UserRole
from sixty.auth.models import Session as SignInSession
from sixty.core.changefeed import ChangeFeed
from sixty.core.reader import Reader
from sixty.core.security import AccessClaims, Principal

CHANNEL = "sixty_auth"
MAX_ENTRIES = 10_000
CACHE_KEY = "sixty.auth.principal_cache"  # in a session's `info`: the cache its commits update
CHANGES_KEY = "sixty.auth.principal_changes"  # in a session's `info`: what it changed, until commit
EVERYONE = "*"

_PRINCIPAL = (
    select(User.username, User.email, User.email_verified_at, SignInSession.expires_at)
    .join(SignInSession, SignInSession.user_id == User.id)
    .where(
        SignInSession.id == bindparam("session_id"),
        User.id == bindparam("user_id"),
        SignInSession.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)
_PERMISSIONS = (
    select(RolePermission.permission)
    .join(UserRole, UserRole.role == RolePermission.role)
    .where(UserRole.user_id == bindparam("user_id"))
)


async def load_principal(
    reader: Reader, claims: AccessClaims, *, with_permissions: bool
) -> tuple[Principal, datetime] | None:
    """The principal behind the claims and when its session expires; None when the session was
    revoked or the account disabled."""
    row = await reader.one(_PRINCIPAL, session_id=claims.session_id, user_id=claims.subject)
    if row is None:
        return None
    permissions: frozenset[str] = frozenset()
    if with_permissions:
        permissions = frozenset(
            r["permission"] for r in await reader.all(_PERMISSIONS, user_id=claims.subject)
        )
    principal = Principal(
        user_id=claims.subject,
        session_id=claims.session_id,
        username=row["username"],
        email=row["email"],
        email_verified=row["email_verified_at"] is not None,
        permissions=permissions,
    )
    return principal, row["expires_at"]


async def resolve_principal(
    reader: Reader, claims: AccessClaims, *, with_permissions: bool
) -> Principal | None:
    """The caller behind verified claims, read afresh: one indexed read (two with permissions)."""
    loaded = await load_principal(reader, claims, with_permissions=with_permissions)
    if loaded is None or loaded[1] <= datetime.now(UTC):
        return None
    return loaded[0]


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    session_expires: float  # epoch seconds
    stored: float  # time.monotonic()


class PrincipalCache:
    """`resolve_principal`, remembered while the change feed is live (see the module's docstring)."""

    def __init__(self, feed: ChangeFeed, *, max_age_seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.feed = feed
        self.max_age = max_age_seconds
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[tuple[uuid.UUID, bool], _Entry] = {}
        self._by_user: dict[uuid.UUID, set[tuple[uuid.UUID, bool]]] = {}
        feed.subscribe(CHANNEL, self.changed, self.forget_all)

    def __len__(self) -> int:
        return len(self._entries)

    async def resolve(
        self, reader: Reader, claims: AccessClaims, *, with_permissions: bool
    ) -> Principal | None:
        if not self.feed.live or self.max_age <= 0:
            return await resolve_principal(reader, claims, with_permissions=with_permissions)
        key = (claims.session_id, with_permissions)
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.principal.user_id == claims.subject
            and time.monotonic() - entry.stored < self.max_age
        ):
            return entry.principal if entry.session_expires > time.time() else None
        generation = self.generation
        loaded = await load_principal(reader, claims, with_permissions=with_permissions)
        if loaded is None:
            return None
        principal, expires_at = loaded
        if expires_at <= datetime.now(UTC):
            return None
        if self.generation == generation and self.feed.live:  # nothing changed while it read
            self._store(key, _Entry(principal, expires_at.timestamp(), time.monotonic()))
        return principal

    def _store(self, key: tuple[uuid.UUID, bool], entry: _Entry) -> None:
        self._drop(key)
        while len(self._entries) >= self.max_entries:
            self._drop(next(iter(self._entries)))  # the oldest
        self._entries[key] = entry
        self._by_user.setdefault(entry.principal.user_id, set()).add(key)

    def _drop(self, key: tuple[uuid.UUID, bool]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            keys = self._by_user.get(entry.principal.user_id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_user[entry.principal.user_id]

    def changed(self, payload: str) -> None:
        """Forget what a change names: `s:<session id>`, `u:<user id>`, or anything else: all."""
        self.generation += 1
        kind, _, value = payload.partition(":")
        try:
            ident = uuid.UUID(value)
        except ValueError:
            kind = EVERYONE
        if kind == "s":
            self._drop((ident, False))
            self._drop((ident, True))
        elif kind == "u":
            for key in list(self._by_user.get(ident, ())):
                self._drop(key)
        else:
            self.forget_all()

    def forget_all(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_user.clear()


# --- what a session changed, applied when it commits ----------------------------------------------
# The triggers tell every process, this one included, but only once the notification comes back
# from the server; the process that wrote forgets before it answers. ORM changes name their rows;
# UPDATE and DELETE statements (sign out everywhere) and role changes forget everyone.

_GRANT_TABLES = frozenset(model.__tablename__ for model in (UserRole, RolePermission))
_AUTH_TABLES = _GRANT_TABLES | {User.__tablename__, SignInSession.__tablename__, Role.__tablename__}


def _note(session: Session, change: str) -> None:
    session.info.setdefault(CHANGES_KEY, set()).add(change)


def _change_of(instance: Any) -> str | None:
    if isinstance(instance, SignInSession):
        return f"s:{instance.id}"
    if isinstance(instance, User):
        return f"u:{instance.id}"
    if isinstance(instance, UserRole):
        return f"u:{instance.user_id}"
    if isinstance(instance, RolePermission | Role):
        return EVERYONE
    return None


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _flush: UOWTransaction) -> None:
    if CACHE_KEY not in session.info:
        return
    # New sessions and accounts are in no cache; new roles and grants change permissions.
    for instance in (*session.dirty, *session.deleted):
        change = _change_of(instance)
        if change is not None:
            _note(session, change)
    for instance in session.new:
        if isinstance(instance, UserRole | RolePermission):
            _note(session, _change_of(instance) or EVERYONE)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if CACHE_KEY not in state.session.info or not (state.is_update or state.is_delete or state.is_insert):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name in _GRANT_TABLES or (name in _AUTH_TABLES and not state.is_insert):
        _note(state.session, EVERYONE)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    changes: set[str] = session.info.pop(CHANGES_KEY, set())
    cache = session.info.get(CACHE_KEY)
    if isinstance(cache, PrincipalCache):
        for change in changes:
            cache.changed(change)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rollback, or a failed commit: nothing changed
        session.info.pop(CHANGES_KEY, None)
