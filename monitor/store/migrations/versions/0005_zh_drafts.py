"""Chinese headlines and leads drafted by a language model

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table(
        "zh_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("week", sa.String(length=16), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("lead", sa.Text(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "prompt_version", "model", name="uq_zh_drafts_key"),
    )
    with op.batch_alter_table("zh_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zh_drafts_week"), ["week"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table("zh_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zh_drafts_week"))

    op.drop_table("zh_drafts")
