"""IVR call records, feeder interruptions, and consumer-sent meter readings keyed by their channel request.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_INTERRUPTION = "restored_at IS NULL AND cancelled_at IS NULL"
HAS_REQUEST_ID = "channel_request_id IS NOT NULL"
CONSUMER_READING = "kind = 'consumer'"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "feeder_interruption",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("feeder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_restore_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["feeder_id"], ["feeder.id"], name=op.f("fk_feeder_interruption_feeder_id_feeder")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeder_interruption")),
    )
    with op.batch_alter_table("feeder_interruption", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feeder_interruption_live_feeder_id",
            ["feeder_id"],
            unique=False,
            postgresql_where=sa.text(LIVE_INTERRUPTION),
            sqlite_where=sa.text(LIVE_INTERRUPTION),
        )

    op.create_table(
        "ivr_call",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column(
            "call_ref",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("lang", sa.String(length=2), nullable=True),
        sa.Column(
            "path",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=60), nullable=True),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_ivr_call_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_call")),
        sa.UniqueConstraint("channel", "call_ref", name=op.f("uq_ivr_call_channel_call_ref")),
    )
    with op.batch_alter_table("ivr_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ivr_call_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_ivr_call_started_at", ["started_at"], unique=False)

    # A nullable column and two partial indexes: no table rewrite, and the indexes hold only consumers' readings.
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "channel_request_id",
                sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_index(
            "ix_reading_consumer_account_id_read_on",
            ["account_id", "read_on"],
            unique=True,
            postgresql_where=sa.text(CONSUMER_READING),
            sqlite_where=sa.text(CONSUMER_READING),
        )
        batch_op.create_index(
            "ix_reading_source_channel_request_id",
            ["source", "channel_request_id"],
            unique=True,
            postgresql_where=sa.text(HAS_REQUEST_ID),
            sqlite_where=sa.text(HAS_REQUEST_ID),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_reading_source_channel_request_id",
            postgresql_where=sa.text(HAS_REQUEST_ID),
            sqlite_where=sa.text(HAS_REQUEST_ID),
        )
        batch_op.drop_index(
            "ix_reading_consumer_account_id_read_on",
            postgresql_where=sa.text(CONSUMER_READING),
            sqlite_where=sa.text(CONSUMER_READING),
        )
        batch_op.drop_column("channel_request_id")

    with op.batch_alter_table("ivr_call", schema=None) as batch_op:
        batch_op.drop_index("ix_ivr_call_started_at")
        batch_op.drop_index(batch_op.f("ix_ivr_call_account_id"))

    op.drop_table("ivr_call")
    with op.batch_alter_table("feeder_interruption", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_feeder_interruption_live_feeder_id",
            postgresql_where=sa.text(LIVE_INTERRUPTION),
            sqlite_where=sa.text(LIVE_INTERRUPTION),
        )

    op.drop_table("feeder_interruption")
