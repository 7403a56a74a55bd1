"""Contact form (messages, spam kept apart) and feedback collector (forms, questions, responses with
one per respondent enforced by a unique constraint, answers); the `contact_manager` role with
`contact:manage` and the `feedback_manager` role with `feedback:manage`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 22:56:47.360665
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_message",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("recipient_user_id", sa.Uuid(), nullable=True),
        sa.Column("sender_user_id", sa.Uuid(), nullable=True),
        sa.Column("notified", sa.String(length=320), nullable=True),
        sa.Column("spam", sa.Boolean(), nullable=False),
        sa.Column("spam_reason", sa.String(length=20), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handled_by"],
            ["auth_user.id"],
            name=op.f("fk_contact_message_handled_by_auth_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"],
            ["auth_user.id"],
            name=op.f("fk_contact_message_recipient_user_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_user_id"],
            ["auth_user.id"],
            name=op.f("fk_contact_message_sender_user_id_auth_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_message")),
    )
    with op.batch_alter_table("contact_message", schema=None) as batch_op:
        batch_op.create_index("ix_contact_message_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_contact_message_recipient_user_id_created_at_id",
            ["recipient_user_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "feedback_form",
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("one_response_per_respondent", sa.Boolean(), nullable=False),
        sa.Column("require_sign_in", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["auth_user.id"],
            name=op.f("fk_feedback_form_created_by_auth_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_form")),
        sa.UniqueConstraint("public_id", name=op.f("uq_feedback_form_public_id")),
    )
    with op.batch_alter_table("feedback_form", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_form_created_at_id", ["created_at", "id"], unique=False)

    op.create_table(
        "feedback_question",
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("prompt", sa.String(length=500), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("min_selections", sa.Integer(), nullable=True),
        sa.Column("max_selections", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["feedback_form.id"],
            name=op.f("fk_feedback_question_form_id_feedback_form"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_question")),
        sa.UniqueConstraint("form_id", "position", name=op.f("uq_feedback_question_form_id_position")),
    )
    op.create_table(
        "feedback_response",
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("respondent_key", sa.String(length=80), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["feedback_form.id"],
            name=op.f("fk_feedback_response_form_id_feedback_form"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by"],
            ["auth_user.id"],
            name=op.f("fk_feedback_response_hidden_by_auth_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_feedback_response_user_id_auth_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_response")),
        sa.UniqueConstraint(
            "form_id", "respondent_key", name=op.f("uq_feedback_response_form_id_respondent_key")
        ),
    )
    with op.batch_alter_table("feedback_response", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_response_form_id_created_at_id", ["form_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "feedback_answer",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["feedback_form.id"],
            name=op.f("fk_feedback_answer_form_id_feedback_form"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["feedback_question.id"],
            name=op.f("fk_feedback_answer_question_id_feedback_question"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["feedback_response.id"],
            name=op.f("fk_feedback_answer_response_id_feedback_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "question_id", name=op.f("pk_feedback_answer")),
    )
    with op.batch_alter_table("feedback_answer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_answer_form_id_question_id", ["form_id", "question_id"], unique=False
        )

    op.create_table(
        "feedback_answer_choice",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("choice", sa.String(length=200), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["feedback_form.id"],
            name=op.f("fk_feedback_answer_choice_form_id_feedback_form"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["feedback_question.id"],
            name=op.f("fk_feedback_answer_choice_question_id_feedback_question"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["feedback_response.id"],
            name=op.f("fk_feedback_answer_choice_response_id_feedback_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "response_id", "question_id", "choice", name=op.f("pk_feedback_answer_choice")
        ),
    )
    with op.batch_alter_table("feedback_answer_choice", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_answer_choice_form_id_question_id", ["form_id", "question_id"], unique=False
        )

    # Staff roles; admins hold `*` already.
    op.bulk_insert(
        sa.table("auth_role", sa.column("name", sa.String), sa.column("description", sa.String)),
        [
            {"name": "contact_manager", "description": "Reads and triages the contact form's messages."},
            {
                "name": "feedback_manager",
                "description": "Builds feedback forms, reads and moderates responses.",
            },
        ],
    )
    op.bulk_insert(
        sa.table("auth_role_permission", sa.column("role", sa.String), sa.column("permission", sa.String)),
        [
            {"role": "contact_manager", "permission": "contact:manage"},
            {"role": "feedback_manager", "permission": "feedback:manage"},
        ],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auth_user_role WHERE role IN ('contact_manager', 'feedback_manager')"))
    op.execute(
        sa.text("DELETE FROM auth_role_permission WHERE role IN ('contact_manager', 'feedback_manager')")
    )
    op.execute(sa.text("DELETE FROM auth_role WHERE name IN ('contact_manager', 'feedback_manager')"))
    with op.batch_alter_table("feedback_answer_choice", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_answer_choice_form_id_question_id")

    op.drop_table("feedback_answer_choice")
    with op.batch_alter_table("feedback_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_answer_form_id_question_id")

    op.drop_table("feedback_answer")
    with op.batch_alter_table("feedback_response", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_response_form_id_created_at_id")

    op.drop_table("feedback_response")
    op.drop_table("feedback_question")
    with op.batch_alter_table("feedback_form", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_form_created_at_id")

    op.drop_table("feedback_form")
    with op.batch_alter_table("contact_message", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_message_recipient_user_id_created_at_id")
        batch_op.drop_index("ix_contact_message_created_at_id")

    op.drop_table("contact_message")
