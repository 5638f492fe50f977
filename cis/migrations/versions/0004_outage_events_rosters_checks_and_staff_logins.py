"""Outage events and revisions, roster schedules and subscriptions, restoration checks, staff login attempts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

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
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("remote_addr", sa.String(length=45), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_remote_addr_at", ["remote_addr", "at"], unique=False)
        batch_op.create_index("ix_login_attempt_username_at", ["username", "at"], unique=False)

    op.create_table(
        "roster_schedule",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("division_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("off_slots", sa.String(length=120), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_roster_schedule_division_id_division")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_schedule")),
    )
    with op.batch_alter_table("roster_schedule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_schedule_division_id"), ["division_id"], unique=False)

    op.create_table(
        "outage_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("division_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("substation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("roster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cause", sa.String(length=200), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_restore_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("announced_restore_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["division_id"], ["division.id"], name=op.f("fk_outage_event_division_id_division")),
        sa.ForeignKeyConstraint(
            ["roster_id"], ["roster_schedule.id"], name=op.f("fk_outage_event_roster_id_roster_schedule")
        ),
        sa.ForeignKeyConstraint(
            ["substation_id"], ["substation.id"], name=op.f("fk_outage_event_substation_id_substation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_event")),
    )
    with op.batch_alter_table("outage_event", schema=None) as batch_op:
        batch_op.create_index("ix_outage_event_status_division_id", ["status", "division_id"], unique=False)

    op.create_table(
        "outage_event_feeder",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("feeder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outage_event.id"], name=op.f("fk_outage_event_feeder_event_id_outage_event")
        ),
        sa.ForeignKeyConstraint(["feeder_id"], ["feeder.id"], name=op.f("fk_outage_event_feeder_feeder_id_feeder")),
        sa.PrimaryKeyConstraint("event_id", "feeder_id", name=op.f("pk_outage_event_feeder")),
    )
    with op.batch_alter_table("outage_event_feeder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outage_event_feeder_feeder_id"), ["feeder_id"], unique=False)

    op.create_table(
        "outage_revision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_restore_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("author", sa.String(length=60), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outage_event.id"], name=op.f("fk_outage_revision_event_id_outage_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_revision")),
        sa.UniqueConstraint("event_id", "number", name=op.f("uq_outage_revision_event_id_number")),
    )
    with op.batch_alter_table("outage_revision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outage_revision_unfanned",
            ["id"],
            unique=False,
            postgresql_where=sa.text("fanned_out_at IS NULL AND notify"),
            sqlite_where=sa.text("fanned_out_at IS NULL AND notify"),
        )

    op.create_table(
        "outage_fanout",
        sa.Column("revision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("feeder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["feeder_id"], ["feeder.id"], name=op.f("fk_outage_fanout_feeder_id_feeder")),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["outage_revision.id"], name=op.f("fk_outage_fanout_revision_id_outage_revision")
        ),
        sa.PrimaryKeyConstraint("revision_id", "feeder_id", name=op.f("pk_outage_fanout")),
    )
    op.create_table(
        "roster_feeder",
        sa.Column("roster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("feeder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["feeder_id"], ["feeder.id"], name=op.f("fk_roster_feeder_feeder_id_feeder")),
        sa.ForeignKeyConstraint(
            ["roster_id"], ["roster_schedule.id"], name=op.f("fk_roster_feeder_roster_id_roster_schedule")
        ),
        sa.PrimaryKeyConstraint("roster_id", "feeder_id", name=op.f("pk_roster_feeder")),
    )
    with op.batch_alter_table("roster_feeder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_feeder_feeder_id"), ["feeder_id"], unique=False)

    op.create_table(
        "outage_check",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "e164", sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.SmallInteger(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_outage_check_account_id_account")),
        sa.ForeignKeyConstraint(["event_id"], ["outage_event.id"], name=op.f("fk_outage_check_event_id_outage_event")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_check")),
        sa.UniqueConstraint("event_id", "account_id", name=op.f("uq_outage_check_event_id_account_id")),
    )
    with op.batch_alter_table("outage_check", schema=None) as batch_op:
        batch_op.create_index("ix_outage_check_e164_asked_at", ["e164", "asked_at"], unique=False)

    op.create_table(
        "roster_subscription",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "e164", sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_roster_subscription_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_subscription")),
        sa.UniqueConstraint("account_id", "e164", name=op.f("uq_roster_subscription_account_id_e164")),
    )
    with op.batch_alter_table("roster_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_subscription_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_channel", sa.String(length=5), server_default="sms", nullable=False))
        batch_op.add_column(
            sa.Column(
                "landline",
                sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
                nullable=True,
            )
        )

    # The fan-out reads a feeder's accounts DT by DT: on PostgreSQL the index carries what it needs.
    op.drop_index("ix_account_dt_id", table_name="account")
    op.create_index(
        "ix_account_dt_id",
        "account",
        ["dt_id"],
        postgresql_include=["id", "status", "alert_channel", "sms_opt_out", "landline"],
    )

    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outage_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_complaint_outage_event_id"), ["outage_event_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_complaint_outage_event_id_outage_event"), "outage_event", ["outage_event_id"], ["id"]
        )

    with op.batch_alter_table("feeder_interruption", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.add_column(sa.Column("consumers", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_feeder_interruption_event_id"), ["event_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_feeder_interruption_event_id_outage_event"), "outage_event", ["event_id"], ["id"]
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_failed_sms_updated_at",
            ["updated_at"],
            unique=False,
            postgresql_where=sa.text("status = 'failed' AND channel = 'sms'"),
            sqlite_where=sa.text("status = 'failed' AND channel = 'sms'"),
        )
        batch_op.create_index(
            "ix_outbox_pending_voice_priority_id",
            ["priority", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending' AND channel = 'voice'"),
            sqlite_where=sa.text("status = 'pending' AND channel = 'voice'"),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_failed_sms_updated_at")
        batch_op.drop_index(
            "ix_outbox_pending_voice_priority_id",
            postgresql_where=sa.text("status = 'pending' AND channel = 'voice'"),
            sqlite_where=sa.text("status = 'pending' AND channel = 'voice'"),
        )

    with op.batch_alter_table("feeder_interruption", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_feeder_interruption_event_id_outage_event"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_feeder_interruption_event_id"))
        batch_op.drop_column("consumers")
        batch_op.drop_column("event_id")

    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_complaint_outage_event_id_outage_event"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_complaint_outage_event_id"))
        batch_op.drop_column("outage_event_id")

    op.drop_index("ix_account_dt_id", table_name="account")
    op.create_index("ix_account_dt_id", "account", ["dt_id"])
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("landline")
        batch_op.drop_column("alert_channel")

    with op.batch_alter_table("roster_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_subscription_account_id"))

    op.drop_table("roster_subscription")
    with op.batch_alter_table("outage_check", schema=None) as batch_op:
        batch_op.drop_index("ix_outage_check_e164_asked_at")

    op.drop_table("outage_check")
    with op.batch_alter_table("roster_feeder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_feeder_feeder_id"))

    op.drop_table("roster_feeder")
    op.drop_table("outage_fanout")
    with op.batch_alter_table("outage_revision", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outage_revision_unfanned",
            postgresql_where=sa.text("fanned_out_at IS NULL AND notify"),
            sqlite_where=sa.text("fanned_out_at IS NULL AND notify"),
        )

    op.drop_table("outage_revision")
    with op.batch_alter_table("outage_event_feeder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outage_event_feeder_feeder_id"))

    op.drop_table("outage_event_feeder")
    with op.batch_alter_table("outage_event", schema=None) as batch_op:
        batch_op.drop_index("ix_outage_event_status_division_id")

    op.drop_table("outage_event")
    with op.batch_alter_table("roster_schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_schedule_division_id"))

    op.drop_table("roster_schedule")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_username_at")
        batch_op.drop_index("ix_login_attempt_remote_addr_at")

    op.drop_table("login_attempt")
