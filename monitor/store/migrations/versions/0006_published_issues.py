"""Corrections from published issues: feedback origin and strength, the items of each draft,
the issues learned

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=64), nullable=False, server_default="editor")
        )
        batch_op.add_column(
            sa.Column("weak", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_ids", sa.JSON(), nullable=True))
    op.create_table(
        "learned_issues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("profile", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_learned_issues_key"),
    )


def downgrade() -> None:
    """Downgrade schema."""

    op.drop_table("learned_issues")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_column("item_ids")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("weak")
        batch_op.drop_column("origin")
