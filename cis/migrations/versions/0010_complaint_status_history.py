"""A complaint's status history (`complaint_event`), backfilled from what each complaint records of itself.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_ACTOR = "system:migration"

complaint = sa.table(
    "complaint",
    sa.column("id", sa.BigInteger),
    sa.column("channel", sa.String),
    sa.column("status", sa.String),
    sa.column("created_at", UtcDateTime),
    sa.column("resolved_at", UtcDateTime),
    sa.column("resolution", sa.Text),
)
complaint_event = sa.table(
    "complaint_event",
    sa.column("complaint_id", sa.BigInteger),
    sa.column("step", sa.String),
    sa.column("level", sa.SmallInteger),
    sa.column("actor", sa.String),
    sa.column("note", sa.Text),
    sa.column("at", UtcDateTime),
)


def _backfill() -> None:
    """What every complaint on record already tells of its history, in one INSERT ... SELECT: it was registered
    (by its channel, when it was created); resolved, when it has a resolution time; closed, when it is. When
    it was assigned or escalated is not on record, so those steps are not made up."""
    c = complaint.c
    no_level = sa.cast(sa.null(), sa.SmallInteger)
    registered = sa.select(
        c.id.label("complaint_id"),
        sa.literal("registered", sa.String).label("step"),
        sa.literal(0, sa.Integer).label("rank"),
        no_level.label("level"),
        (sa.literal("channel:", sa.String) + c.channel).label("actor"),
        sa.cast(sa.null(), sa.Text).label("note"),
        c.created_at.label("at"),
    )
    resolved = sa.select(
        c.id,
        sa.literal("resolved", sa.String),
        sa.literal(1, sa.Integer),
        no_level,
        sa.literal(BACKFILL_ACTOR, sa.String),
        c.resolution,
        c.resolved_at,
    ).where(c.resolved_at.is_not(None))
    closed = sa.select(
        c.id,
        sa.literal("closed", sa.String),
        sa.literal(2, sa.Integer),
        no_level,
        sa.literal(BACKFILL_ACTOR, sa.String),
        sa.cast(sa.null(), sa.Text),
        sa.func.coalesce(c.resolved_at, c.created_at),
    ).where(c.status == "closed")
    steps = sa.union_all(registered, resolved, closed).subquery("steps")
    # Ids in the order of each complaint's history, so that steps at the same moment keep their order.
    ordered = sa.select(
        steps.c.complaint_id, steps.c.step, steps.c.level, steps.c.actor, steps.c.note, steps.c.at
    ).order_by(steps.c.complaint_id, steps.c.rank)
    op.get_bind().execute(
        sa.insert(complaint_event).from_select(["complaint_id", "step", "level", "actor", "note", "at"], ordered)
    )


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "complaint_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=True),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_complaint_event_complaint_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_event")),
    )
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_event_complaint_id_at", ["complaint_id", "at"], unique=False)
    _backfill()


def downgrade() -> None:
    """Downgrade schema (the history goes with its table)."""
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_event_complaint_id_at")
    op.drop_table("complaint_event")
