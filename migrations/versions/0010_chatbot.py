"""Chatbot: intents (seeded with a default set) and the intent set's version stamp, conversations
and their messages, callback requests; the `chatbot_editor` role with `chatbot:manage`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 23:30:00.000000
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default intents: staff change them through the API. Patterns are matched against the
# normalised message (lower case, no accents, punctuation as spaces).
DEFAULT_INTENTS: list[dict[str, Any]] = [
    {
        "name": "greeting",
        "patterns": [r"^(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening))\b"],
        "examples": ["hello", "hi there", "good morning", "hey", "how are you"],
        "answer": "Hello! I can tell you about our opening hours, prices, delivery and returns, how to "
        "reach us, or book a callback. What can I do for you?",
        "flow": None,
    },
    {
        "name": "help",
        "patterns": [r"\bwhat can you do\b", r"^(help|menu|options)$"],
        "examples": ["what can you do", "help", "what do you know"],
        "answer": "Ask me about opening hours, prices, delivery, returns or how to contact us. "
        'To have someone call you, say "book a callback".',
        "flow": None,
    },
    {
        "name": "opening_hours",
        "patterns": [
            r"\b(opening|business|office) (hours|times)\b",
            r"\bwhen (are|do) you (open|close)\b",
            r"\bwhat time do you (open|close)\b",
        ],
        "examples": [
            "what are your opening hours",
            "when are you open",
            "opening times",
            "are you open on sunday",
        ],
        "answer": "We are open Monday to Friday from 9:00 to 18:00 and on Saturday from 10:00 to 14:00. "
        "We are closed on Sundays and public holidays.",
        "flow": None,
    },
    {
        "name": "contact",
        "patterns": [
            r"\b(phone|telephone) number\b",
            r"\be ?mail address\b",
            r"\bcontact (you|us|support)\b",
        ],
        "examples": [
            "how can i contact you",
            "what is your phone number",
            "email address",
            "how do i reach support",
        ],
        "answer": "You can write to support@example.com or call +1 555 0100 during opening hours. "
        'If you prefer, I can book a callback: just say "book a callback".',
        "flow": None,
    },
    {
        "name": "callback",
        "patterns": [r"\bcall ?back\b", r"\bcall me\b", r"\bring me\b"],
        "examples": ["book a callback", "can you call me back", "i would like a call back", "please call me"],
        "answer": "Sure, I can book a callback.",
        "flow": "callback",
    },
    {
        "name": "human",
        "patterns": [r"\b(talk|speak|chat) (to|with) (a |an )?(human|person|agent|someone|somebody)\b"],
        "examples": [
            "talk to a human",
            "speak to an agent",
            "i want to speak with someone",
            "real person please",
        ],
        "answer": 'I can have one of us call you: say "book a callback". You can also write to '
        "support@example.com.",
        "flow": None,
    },
    {
        "name": "pricing",
        "patterns": [r"\b(price|prices|pricing|cost|costs)\b", r"\bhow much\b"],
        "examples": ["how much does it cost", "what are your prices", "pricing plans"],
        "answer": "Our plans start at 9 EUR a month; the full price list is on the pricing page.",
        "flow": None,
    },
    {
        "name": "delivery",
        "patterns": [r"\b(delivery|deliver|shipping|ship)\b", r"\bwhere is my (order|parcel|package)\b"],
        "examples": ["how long does delivery take", "shipping costs", "where is my order"],
        "answer": "Orders ship within one working day and usually arrive in two to four days. The "
        "tracking link is in your order confirmation mail.",
        "flow": None,
    },
    {
        "name": "returns",
        "patterns": [r"\b(refund|refunds|return|returns)\b", r"\bmoney back\b"],
        "examples": ["i want a refund", "how do i return an item", "can i get my money back"],
        "answer": "You can return any item within 30 days for a full refund: start the return from your "
        "order page.",
        "flow": None,
    },
    {
        "name": "password",
        "patterns": [r"\b(forgot|forgotten|reset|lost|change) (my )?password\b"],
        "examples": ["i forgot my password", "reset my password", "cannot sign in"],
        "answer": 'Use "Forgot password" on the sign-in page: we will mail you a link to choose a new one.',
        "flow": None,
    },
    {
        "name": "thanks",
        "patterns": [r"^(thanks|thank you|thx|ty|cheers)\b"],
        "examples": ["thank you", "thanks a lot", "cheers"],
        "answer": "You are welcome! Anything else I can help with?",
        "flow": None,
    },
    {
        "name": "goodbye",
        "patterns": [r"^(bye|goodbye|see you|see ya)\b"],
        "examples": ["bye", "goodbye", "see you later"],
        "answer": "Goodbye, and thank you for stopping by!",
        "flow": None,
    },
]


def upgrade() -> None:
    intent = op.create_table(
        "chatbot_intent",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("patterns", sa.JSON(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("flow", sa.String(length=40), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chatbot_intent")),
        sa.UniqueConstraint("name", name=op.f("uq_chatbot_intent_name")),
    )
    with op.batch_alter_table("chatbot_intent", schema=None) as batch_op:
        batch_op.create_index("ix_chatbot_intent_created_at_id", ["created_at", "id"], unique=False)

    intent_set = op.create_table(
        "chatbot_intent_set",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chatbot_intent_set")),
    )

    op.create_table(
        "chatbot_conversation",
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_chatbot_conversation_user_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chatbot_conversation")),
    )
    with op.batch_alter_table("chatbot_conversation", schema=None) as batch_op:
        batch_op.create_index("ix_chatbot_conversation_updated_at", ["updated_at"], unique=False)
        batch_op.create_index("ix_chatbot_conversation_user_id", ["user_id"], unique=False)

    op.create_table(
        "chatbot_message",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chatbot_conversation.id"],
            name=op.f("fk_chatbot_message_conversation_id_chatbot_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chatbot_message")),
        sa.UniqueConstraint("conversation_id", "seq", name=op.f("uq_chatbot_message_conversation_id_seq")),
    )

    op.create_table(
        "chatbot_callback",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chatbot_conversation.id"],
            name=op.f("fk_chatbot_callback_conversation_id_chatbot_conversation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_chatbot_callback_user_id_auth_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chatbot_callback")),
    )
    with op.batch_alter_table("chatbot_callback", schema=None) as batch_op:
        batch_op.create_index("ix_chatbot_callback_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_chatbot_callback_day_id", ["day", "id"], unique=False)

    op.bulk_insert(intent, [{**row, "id": uuid.uuid4()} for row in DEFAULT_INTENTS])
    op.bulk_insert(intent_set, [{"id": 1, "version": 1}])

    # Staff who edit the intents and read callback requests; admins hold `*` already.
    op.bulk_insert(
        sa.table("auth_role", sa.column("name", sa.String), sa.column("description", sa.String)),
        [
            {
                "name": "chatbot_editor",
                "description": "Edits the chatbot's intents and reads callback requests.",
            }
        ],
    )
    op.bulk_insert(
        sa.table("auth_role_permission", sa.column("role", sa.String), sa.column("permission", sa.String)),
        [{"role": "chatbot_editor", "permission": "chatbot:manage"}],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auth_user_role WHERE role = 'chatbot_editor'"))
    op.execute(sa.text("DELETE FROM auth_role_permission WHERE role = 'chatbot_editor'"))
    op.execute(sa.text("DELETE FROM auth_role WHERE name = 'chatbot_editor'"))
    with op.batch_alter_table("chatbot_callback", schema=None) as batch_op:
        batch_op.drop_index("ix_chatbot_callback_day_id")
        batch_op.drop_index("ix_chatbot_callback_created_at_id")
    op.drop_table("chatbot_callback")
    op.drop_table("chatbot_message")
    with op.batch_alter_table("chatbot_conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_chatbot_conversation_user_id")
        batch_op.drop_index("ix_chatbot_conversation_updated_at")
    op.drop_table("chatbot_conversation")
    op.drop_table("chatbot_intent_set")
    with op.batch_alter_table("chatbot_intent", schema=None) as batch_op:
        batch_op.drop_index("ix_chatbot_intent_created_at_id")
    op.drop_table("chatbot_intent")
