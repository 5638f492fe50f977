"""Call records name the system fault that spoiled a call and the reference of the outbound call they answer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

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
    # Nullable columns and a partial index holding only calls we placed: no table rewrite.
    with op.batch_alter_table("ivr_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fault", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "outbound_ref",
                sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_index(
            "ix_ivr_call_outbound_ref",
            ["outbound_ref"],
            unique=False,
            postgresql_where=sa.text("outbound_ref IS NOT NULL"),
            sqlite_where=sa.text("outbound_ref IS NOT NULL"),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("ivr_call", schema=None) as batch_op:
        batch_op.drop_index("ix_ivr_call_outbound_ref")
        batch_op.drop_column("outbound_ref")
        batch_op.drop_column("fault")
