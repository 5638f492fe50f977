"""SMS opt-outs by mobile, OTP challenges, the console provider's inbox, and the outbox columns the dispatcher needs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"
IN_FLIGHT = "status IN ('sending', 'unknown')"
HAS_ID = "provider_id IS NOT NULL"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sms_console_message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "recipient",
            sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("sender", sa.String(length=11), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("dlt_template_id", sa.String(length=19), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("segments", sa.SmallInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_console_message")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_sms_console_message_outbox_id")),
    )
    with op.batch_alter_table("sms_console_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_console_message_recipient"), ["recipient"], unique=False)

    op.create_table(
        "sms_opt_out",
        sa.Column(
            "e164", sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=12), nullable=False),
        sa.Column("message_ref", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("e164", name=op.f("pk_sms_opt_out")),
    )
    op.create_table(
        "otp_challenge",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "requested_by",
            sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "sent_to",
            sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_ref", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_otp_challenge_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_challenge")),
    )
    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.create_index("ix_otp_challenge_account_id_created_at", ["account_id", "created_at"], unique=False)
        batch_op.create_index("ix_otp_challenge_requested_by_created_at", ["requested_by", "created_at"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("segments", sa.SmallInteger(), nullable=True))
        # The dispatcher's indexes, partial so that claiming a row maintains neither the queue index (the row
        # leaves it) nor the provider index (the row enters it only when the provider names it).
        batch_op.drop_index("ix_outbox_status_priority_id")
        batch_op.drop_index("ix_outbox_provider_id")
        batch_op.create_index(
            "ix_outbox_pending_priority_id",
            ["priority", "id"],
            unique=False,
            postgresql_where=sa.text(PENDING),
            sqlite_where=sa.text(PENDING),
        )
        batch_op.create_index(
            "ix_outbox_in_flight_claimed_at",
            ["claimed_at"],
            unique=False,
            postgresql_where=sa.text(IN_FLIGHT),
            sqlite_where=sa.text(IN_FLIGHT),
        )
        batch_op.create_index(
            "ix_outbox_provider_id",
            ["provider", "provider_id"],
            unique=False,
            postgresql_where=sa.text(HAS_ID),
            sqlite_where=sa.text(HAS_ID),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_provider_id", postgresql_where=sa.text(HAS_ID), sqlite_where=sa.text(HAS_ID))
        batch_op.drop_index(
            "ix_outbox_in_flight_claimed_at", postgresql_where=sa.text(IN_FLIGHT), sqlite_where=sa.text(IN_FLIGHT)
        )
        batch_op.drop_index(
            "ix_outbox_pending_priority_id", postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING)
        )
        batch_op.create_index("ix_outbox_provider_id", ["provider", "provider_id"], unique=False)
        batch_op.create_index("ix_outbox_status_priority_id", ["status", "priority", "id"], unique=False)
        batch_op.drop_column("segments")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("claimed_at")

    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.drop_index("ix_otp_challenge_requested_by_created_at")
        batch_op.drop_index("ix_otp_challenge_account_id_created_at")

    op.drop_table("otp_challenge")
    op.drop_table("sms_opt_out")
    with op.batch_alter_table("sms_console_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_console_message_recipient"))

    op.drop_table("sms_console_message")
