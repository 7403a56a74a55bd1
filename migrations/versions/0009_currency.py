"""Currency: ECB reference rates fetched after the bundled history, one row per day.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "currency_rate_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_currency_rate_day")),
    )


def downgrade() -> None:
    op.drop_table("currency_rate_day")
