"""The compensation ledger (Standards of Performance breaches: accrued, claimed, approved, credited) and the credit
line it makes on a bill.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import BigId, UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "compensation",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("account_id", BigId, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("complaint_id", BigId, sa.ForeignKey("complaint.id"), nullable=False),
        sa.Column("standard", sa.String(24), nullable=False),
        sa.Column("days", sa.SmallInteger(), nullable=False),
        sa.Column("amount_paise", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("accrued_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_at", UtcDateTime()),
        sa.Column("claimed_via", sa.String(10)),
        sa.Column("decided_by", sa.String(60)),
        sa.Column("decided_at", UtcDateTime()),
        sa.Column("note", sa.Text()),
        sa.Column("bill_id", BigId, sa.ForeignKey("bill.id")),
        sa.UniqueConstraint("complaint_id", "standard", name="uq_compensation_complaint_id_standard"),
    )
    op.create_index("ix_compensation_account_id_status", "compensation", ["account_id", "status"])
    op.create_index("ix_compensation_status_id", "compensation", ["status", "id"])
    # A constant default: added without rewriting the bill table (PostgreSQL 11+, SQLite).
    op.add_column("bill", sa.Column("compensation_paise", sa.BigInteger(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    op.drop_column("bill", "compensation_paise")
    op.drop_index("ix_compensation_status_id", table_name="compensation")
    op.drop_index("ix_compensation_account_id_status", table_name="compensation")
    op.drop_table("compensation")
