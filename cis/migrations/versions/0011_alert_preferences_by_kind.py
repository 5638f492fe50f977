"""Alerts by kind on each account (outage, roster schedule, bill and reminder), every kind on until switched off;
the fan-out's index carries the outage and roster switches, so a feeder's accounts are still read from the index
alone by the outage fan-out and the roster SMS.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("alert_outage", "alert_roster", "alert_bill")
OLD_INCLUDE = ["id", "status", "alert_channel", "sms_opt_out", "landline"]
# The outage fan-out and the roster SMS read a feeder's accounts from this index alone (index-only scans).
NEW_INCLUDE = ["alert_outage", "alert_roster"]


def upgrade() -> None:
    # A column with a constant default is added without rewriting the table (PostgreSQL 11+, SQLite): a plain
    # ALTER TABLE on both, never batch mode's copy of a million accounts.
    for name in KINDS:
        op.add_column("account", sa.Column(name, sa.Boolean(), server_default=sa.true(), nullable=False))
    op.drop_index("ix_account_dt_id", table_name="account")
    op.create_index("ix_account_dt_id", "account", ["dt_id"], postgresql_include=[*OLD_INCLUDE, *NEW_INCLUDE])


def downgrade() -> None:
    op.drop_index("ix_account_dt_id", table_name="account")
    op.create_index("ix_account_dt_id", "account", ["dt_id"], postgresql_include=OLD_INCLUDE)
    for name in reversed(KINDS):
        op.drop_column("account", name)  # SQLite 3.35+ drops a column in place
