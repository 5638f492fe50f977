"""Consumer portal sign-in: one password per account (consumer_login), revocable sessions (consumer_session), and
OTP challenges answered only by the browser that asked (otp_challenge.ticket_hash).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TICKET = sa.text("ticket_hash IS NOT NULL")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "consumer_login",
        sa.Column("id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_consumer_login_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_login")),
        sa.UniqueConstraint("account_id", name=op.f("uq_consumer_login_account_id")),
    )
    op.create_table(
        "consumer_session",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column(
            "mobile",
            sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("remote_addr", sa.String(length=45), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_consumer_session_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_consumer_session_token_hash")),
    )
    with op.batch_alter_table("consumer_session", schema=None) as batch_op:
        batch_op.create_index("ix_consumer_session_account_id_revoked_at", ["account_id", "revoked_at"], unique=False)
    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_otp_challenge_ticket_hash",
            ["ticket_hash"],
            unique=True,
            postgresql_where=TICKET,
            sqlite_where=TICKET,
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.drop_index("ix_otp_challenge_ticket_hash")
        batch_op.drop_column("ticket_hash")
    with op.batch_alter_table("consumer_session", schema=None) as batch_op:
        batch_op.drop_index("ix_consumer_session_account_id_revoked_at")
    op.drop_table("consumer_session")
    op.drop_table("consumer_login")
