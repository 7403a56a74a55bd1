"""Library: books and their subjects, copies, members, loans (one open loan per copy, enforced by a
partial unique index), holds; the `librarian` role with `library:manage`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:56:29.491527
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "library_book",
        sa.Column("isbn", sa.String(length=13), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("publication_year", sa.Integer(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("author_text", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_book")),
        sa.UniqueConstraint("isbn", name=op.f("uq_library_book_isbn")),
    )
    with op.batch_alter_table("library_book", schema=None) as batch_op:
        batch_op.create_index("ix_library_book_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_library_book_title_key_id", ["title_key", "id"], unique=False)

    op.create_table(
        "library_book_subject",
        sa.Column("book_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["library_book.id"],
            name=op.f("fk_library_book_subject_book_id_library_book"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("book_id", "subject", name=op.f("pk_library_book_subject")),
    )
    with op.batch_alter_table("library_book_subject", schema=None) as batch_op:
        batch_op.create_index("ix_library_book_subject_subject", ["subject"], unique=False)

    op.create_table(
        "library_copy",
        sa.Column("book_id", sa.Uuid(), nullable=False),
        sa.Column("barcode", sa.String(length=40), nullable=False),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["library_book.id"],
            name=op.f("fk_library_copy_book_id_library_book"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_copy")),
        sa.UniqueConstraint("barcode", name=op.f("uq_library_copy_barcode")),
    )
    with op.batch_alter_table("library_copy", schema=None) as batch_op:
        batch_op.create_index("ix_library_copy_book_id_status", ["book_id", "status"], unique=False)
        batch_op.create_index("ix_library_copy_created_at_id", ["created_at", "id"], unique=False)

    op.create_table(
        "library_member",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_library_member_user_id_auth_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_member")),
        sa.UniqueConstraint("user_id", name=op.f("uq_library_member_user_id")),
    )
    with op.batch_alter_table("library_member", schema=None) as batch_op:
        batch_op.create_index("ix_library_member_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_library_member_name_key_id", ["name_key", "id"], unique=False)

    op.create_table(
        "library_hold",
        sa.Column("book_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("copy_id", sa.Uuid(), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["library_book.id"],
            name=op.f("fk_library_hold_book_id_library_book"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["library_copy.id"],
            name=op.f("fk_library_hold_copy_id_library_copy"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["library_member.id"],
            name=op.f("fk_library_hold_member_id_library_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_hold")),
    )
    with op.batch_alter_table("library_hold", schema=None) as batch_op:
        batch_op.create_index(
            "ix_library_hold_book_id_status_created_at",
            ["book_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_library_hold_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "uq_library_hold_active_member_book",
            ["book_id", "member_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'ready')"),
            postgresql_where=sa.text("status IN ('waiting', 'ready')"),
        )
        batch_op.create_index(
            "uq_library_hold_ready_copy",
            ["copy_id"],
            unique=True,
            sqlite_where=sa.text("status = 'ready'"),
            postgresql_where=sa.text("status = 'ready'"),
        )

    op.create_table(
        "library_loan",
        sa.Column("copy_id", sa.Uuid(), nullable=False),
        sa.Column("book_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("loaned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("fine_minor", sa.Integer(), nullable=True),
        sa.Column("fine_currency", sa.String(length=3), nullable=True),
        sa.Column("fine_paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["library_book.id"],
            name=op.f("fk_library_loan_book_id_library_book"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["library_copy.id"],
            name=op.f("fk_library_loan_copy_id_library_copy"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["library_member.id"],
            name=op.f("fk_library_loan_member_id_library_member"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_loan")),
    )
    with op.batch_alter_table("library_loan", schema=None) as batch_op:
        batch_op.create_index("ix_library_loan_due_at_id", ["due_at", "id"], unique=False)
        batch_op.create_index("ix_library_loan_loaned_at_id", ["loaned_at", "id"], unique=False)
        batch_op.create_index(
            "ix_library_loan_member_id_loaned_at", ["member_id", "loaned_at", "id"], unique=False
        )
        batch_op.create_index(
            "uq_library_loan_open_copy",
            ["copy_id"],
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )

    # Librarians manage stock, members, loans and holds; admins hold `*` already.
    op.bulk_insert(
        sa.table("auth_role", sa.column("name", sa.String), sa.column("description", sa.String)),
        [
            {
                "name": "librarian",
                "description": "Manages the library: books, copies, members, loans and holds.",
            }
        ],
    )
    op.bulk_insert(
        sa.table("auth_role_permission", sa.column("role", sa.String), sa.column("permission", sa.String)),
        [{"role": "librarian", "permission": "library:manage"}],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auth_user_role WHERE role = 'librarian'"))
    op.execute(sa.text("DELETE FROM auth_role_permission WHERE role = 'librarian'"))
    op.execute(sa.text("DELETE FROM auth_role WHERE name = 'librarian'"))
    with op.batch_alter_table("library_loan", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_library_loan_open_copy",
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )
        batch_op.drop_index("ix_library_loan_member_id_loaned_at")
        batch_op.drop_index("ix_library_loan_loaned_at_id")
        batch_op.drop_index("ix_library_loan_due_at_id")

    op.drop_table("library_loan")
    with op.batch_alter_table("library_hold", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_library_hold_ready_copy",
            sqlite_where=sa.text("status = 'ready'"),
            postgresql_where=sa.text("status = 'ready'"),
        )
        batch_op.drop_index(
            "uq_library_hold_active_member_book",
            sqlite_where=sa.text("status IN ('waiting', 'ready')"),
            postgresql_where=sa.text("status IN ('waiting', 'ready')"),
        )
        batch_op.drop_index("ix_library_hold_created_at_id")
        batch_op.drop_index("ix_library_hold_book_id_status_created_at")

    op.drop_table("library_hold")
    with op.batch_alter_table("library_member", schema=None) as batch_op:
        batch_op.drop_index("ix_library_member_name_key_id")
        batch_op.drop_index("ix_library_member_created_at_id")

    op.drop_table("library_member")
    with op.batch_alter_table("library_copy", schema=None) as batch_op:
        batch_op.drop_index("ix_library_copy_created_at_id")
        batch_op.drop_index("ix_library_copy_book_id_status")

    op.drop_table("library_copy")
    with op.batch_alter_table("library_book_subject", schema=None) as batch_op:
        batch_op.drop_index("ix_library_book_subject_subject")

    op.drop_table("library_book_subject")
    with op.batch_alter_table("library_book", schema=None) as batch_op:
        batch_op.drop_index("ix_library_book_title_key_id")
        batch_op.drop_index("ix_library_book_created_at_id")

    op.drop_table("library_book")
