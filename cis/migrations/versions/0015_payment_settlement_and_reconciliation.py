"""Reconciliation: on a payment the settlement that paid it out (and when), and what a reconciliation found
(settled but not posted, posted but not settled in time, amounts that differ).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import BigId, Code, UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payment", sa.Column("settlement_id", Code(40)))
    op.add_column("payment", sa.Column("settled_at", UtcDateTime()))
    op.create_table(
        "payment_recon_issue",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("gateway_ref", Code(64), nullable=False),
        sa.Column("ours_paise", sa.BigInteger()),
        sa.Column("theirs_paise", sa.BigInteger()),
        sa.Column("detail", sa.String(200)),
        sa.Column("found_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint(
            "gateway", "day", "kind", "gateway_ref", name="uq_payment_recon_issue_gateway_day_kind_gateway_ref"
        ),
    )


def downgrade() -> None:
    op.drop_table("payment_recon_issue")
    op.drop_column("payment", "settled_at")
    op.drop_column("payment", "settlement_id")
