"""content hash of the last body read, and the indexes the status and health queries need

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("item_sources", schema=None) as batch_op:
        batch_op.create_index("ix_item_sources_first_seen_at", ["first_seen_at"], unique=False)
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.create_index("ix_polls_source_id_id", ["source_id", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_index("ix_polls_source_id_id")
    with op.batch_alter_table("item_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_item_sources_first_seen_at")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
