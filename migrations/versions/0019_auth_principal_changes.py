"""Auth: announce changes to sessions, accounts and grants, so processes can cache principals.

Every protected request checks that its token's session is open and its account active. On
PostgreSQL the app remembers those answers (auth/principals.py) and forgets them when these
triggers announce a change on the channel `sixty_auth`, delivered to every listening process as
the writing transaction commits: `s:<session id>` when a session is updated or deleted,
`u:<user id>` when an account or its roles change, `*` when a role's permissions do. SQLite has
no cache to keep true, and so no triggers.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UP = [
    """
    CREATE FUNCTION auth_principal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'auth_session' THEN
            PERFORM pg_notify('sixty_auth', 's:' || OLD.id::text);
        ELSIF TG_TABLE_NAME = 'auth_user' THEN
            PERFORM pg_notify('sixty_auth', 'u:' || OLD.id::text);
        ELSIF TG_TABLE_NAME = 'auth_user_role' THEN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                PERFORM pg_notify('sixty_auth', 'u:' || OLD.user_id::text);
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM pg_notify('sixty_auth', 'u:' || NEW.user_id::text);
            END IF;
        ELSE
            PERFORM pg_notify('sixty_auth', '*');
        END IF;
        RETURN NULL;
    END $$
    """,
    # New sessions and accounts are in no cache: only updates and deletes matter for them.
    "CREATE TRIGGER auth_session_changed AFTER UPDATE OR DELETE ON auth_session"
    " FOR EACH ROW EXECUTE FUNCTION auth_principal_changed()",
    "CREATE TRIGGER auth_user_changed AFTER UPDATE OR DELETE ON auth_user"
    " FOR EACH ROW EXECUTE FUNCTION auth_principal_changed()",
    "CREATE TRIGGER auth_user_role_changed AFTER INSERT OR UPDATE OR DELETE ON auth_user_role"
    " FOR EACH ROW EXECUTE FUNCTION auth_principal_changed()",
    "CREATE TRIGGER auth_role_permission_changed AFTER INSERT OR UPDATE OR DELETE ON auth_role_permission"
    " FOR EACH STATEMENT EXECUTE FUNCTION auth_principal_changed()",
]
DOWN = [
    "DROP TRIGGER auth_role_permission_changed ON auth_role_permission",
    "DROP TRIGGER auth_user_role_changed ON auth_user_role",
    "DROP TRIGGER auth_user_changed ON auth_user",
    "DROP TRIGGER auth_session_changed ON auth_session",
    "DROP FUNCTION auth_principal_changed()",
]


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for statement in DOWN:
            op.execute(statement)
