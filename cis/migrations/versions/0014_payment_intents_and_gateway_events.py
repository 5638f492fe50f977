"""Payments by link: payment intents (our short URL /p/<token>, the gateway's link), the gateways' webhook events
(each event id once), and on a payment the intent it paid, its method and when it was reversed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import BigId, Code, UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_intent",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("token", Code(16), nullable=False),
        sa.Column("account_id", BigId, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("bill_id", BigId, sa.ForeignKey("bill.id")),
        sa.Column("amount_paise", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("gateway", sa.String(20)),
        sa.Column("gateway_link_id", Code(64)),
        sa.Column("gateway_url", sa.String(300)),
        sa.Column("mobile", sa.String(16)),
        sa.Column("failed_attempts", sa.SmallInteger(), nullable=False),
        sa.Column("last_failure", sa.String(200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("paid_at", UtcDateTime()),
        sa.UniqueConstraint("token", name="uq_payment_intent_token"),
        sa.UniqueConstraint("gateway_link_id", name="uq_payment_intent_gateway_link_id"),
    )
    op.create_index("ix_payment_intent_account_id_status", "payment_intent", ["account_id", "status"])
    op.create_table(
        "gateway_event",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("gateway", sa.String(20), nullable=False),
        sa.Column("event_id", Code(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payment_ref", Code(64)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("gateway", "event_id", name="uq_gateway_event_gateway_event_id"),
    )
    # Nullable columns: added without rewriting the payment table (millions of rows) on either database.
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes a foreign key only inline in ADD COLUMN (Alembic would copy the whole table to add one).
        op.execute("ALTER TABLE payment ADD COLUMN intent_id INTEGER REFERENCES payment_intent (id)")
    else:
        op.add_column("payment", sa.Column("intent_id", BigId))
        op.create_foreign_key("fk_payment_intent_id_payment_intent", "payment", "payment_intent", ["intent_id"], ["id"])
    op.add_column("payment", sa.Column("method", sa.String(12)))
    op.add_column("payment", sa.Column("reversed_at", UtcDateTime()))
    op.create_index("ix_payment_intent_id", "payment", ["intent_id"])


def downgrade() -> None:
    op.drop_index("ix_payment_intent_id", table_name="payment")
    op.drop_column("payment", "reversed_at")
    op.drop_column("payment", "method")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_payment_intent_id_payment_intent", "payment", type_="foreignkey")
    op.drop_column("payment", "intent_id")
    op.drop_table("gateway_event")
    op.drop_index("ix_payment_intent_account_id_status", table_name="payment_intent")
    op.drop_table("payment_intent")
