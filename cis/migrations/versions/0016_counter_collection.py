"""Counter collection: on a payment the cheque or DD's number and bank, and the cashier who took it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import Code

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payment", sa.Column("instrument_no", Code(20)))
    op.add_column("payment", sa.Column("instrument_bank", sa.String(60)))
    # The cashier (a staff id; no foreign key: a payment outlives a login) who took it at the counter.
    op.add_column("payment", sa.Column("collected_by", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("payment", "collected_by")
    op.drop_column("payment", "instrument_bank")
    op.drop_column("payment", "instrument_no")
