"""The 1912 console and the officers' workflows: agents' extensions (screen-pop), notes on accounts, calls popped
on an agent's screen, a complaint's closure code and verified closure, and the indexes the console's searches and
the consumer 360 read by.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import BigId, Code, UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASKED = sa.text("status = 'resolved' AND closure_asked_to IS NOT NULL")
COMPLAINT_COLUMNS = (
    ("resolution_code", lambda: sa.String(24)),
    ("confirm_by", UtcDateTime),
    ("closure_asked_to", lambda: Code(16)),
    ("closure_code_hash", lambda: sa.String(64)),
    ("closed_how", lambda: sa.String(16)),
)


def upgrade() -> None:
    # Nullable columns without a default: added in place on both databases, no table rewrite.
    op.add_column("staff", sa.Column("extension", sa.String(40)))
    op.create_index("ix_staff_extension", "staff", ["extension"], unique=True)
    for name, kind in COMPLAINT_COLUMNS:
        op.add_column("complaint", sa.Column(name, kind()))
    op.create_index("ix_complaint_sub_division_id_status", "complaint", ["sub_division_id", "status"])
    op.create_index(
        "ix_complaint_closure_asked_to",
        "complaint",
        ["closure_asked_to"],
        postgresql_where=ASKED,
        sqlite_where=ASKED,
    )
    op.create_index(
        "ix_consumer_name_prefix",
        "consumer",
        [sa.text('lower(name) COLLATE "C"') if _postgres() else sa.text("lower(name)")],
    )
    op.create_index(
        "ix_consumer_name_hi_prefix",
        "consumer",
        [sa.text('name_hi COLLATE "C"') if _postgres() else sa.text("name_hi")],
    )
    op.create_index("ix_outbox_account_id_id", "outbox", ["account_id", "id"])
    op.create_index("ix_ivr_call_caller_started_at", "ivr_call", ["caller", "started_at"])
    op.create_table(
        "account_note",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("account_id", BigId, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("staff_id", BigId, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_account_note_account_id_at", "account_note", ["account_id", "at"])
    op.create_table(
        "screen_pop",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("staff_id", BigId, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("call_id", BigId, sa.ForeignKey("ivr_call.id"), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_screen_pop_staff_id_id", "screen_pop", ["staff_id", "id"])


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def downgrade() -> None:
    op.drop_index("ix_screen_pop_staff_id_id", table_name="screen_pop")
    op.drop_table("screen_pop")
    op.drop_index("ix_account_note_account_id_at", table_name="account_note")
    op.drop_table("account_note")
    op.drop_index("ix_ivr_call_caller_started_at", table_name="ivr_call")
    op.drop_index("ix_outbox_account_id_id", table_name="outbox")
    op.drop_index("ix_consumer_name_hi_prefix", table_name="consumer")
    op.drop_index("ix_consumer_name_prefix", table_name="consumer")
    op.drop_index("ix_complaint_closure_asked_to", table_name="complaint")
    op.drop_index("ix_complaint_sub_division_id_status", table_name="complaint")
    for name, _ in reversed(COMPLAINT_COLUMNS):
        op.drop_column("complaint", name)
    op.drop_index("ix_staff_extension", table_name="staff")
    op.drop_column("staff", "extension")
