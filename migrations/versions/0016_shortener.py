"""URL shortener: short links (unique code, optional owner, expiry, visit cap, password hash) and
their clicks (written in batches, aggregated per day, referrer host, country, browser and bot flag).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "short_link",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("redirect_status", sa.SmallInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_visits", sa.Integer(), nullable=True),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["auth_user.id"], name=op.f("fk_short_link_owner_id_auth_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_short_link")),
        sa.UniqueConstraint("code", name=op.f("uq_short_link_code")),
    )
    op.create_index("ix_short_link_owner_id_created_at_id", "short_link", ["owner_id", "created_at", "id"])
    op.create_table(
        "short_link_click",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("referrer_host", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("browser", sa.String(length=64), nullable=True),
        sa.Column("bot", sa.Boolean(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["short_link.id"],
            name=op.f("fk_short_link_click_link_id_short_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_short_link_click")),
    )
    op.create_index("ix_short_link_click_link_id_day", "short_link_click", ["link_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_short_link_click_link_id_day", table_name="short_link_click")
    op.drop_table("short_link_click")
    op.drop_index("ix_short_link_owner_id_created_at_id", table_name="short_link")
    op.drop_table("short_link")
