"""One open complaint of a category per account: a partial unique index (earlier duplicates closed first).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import Json, UtcDateTime

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('open', 'reopened') AND account_id IS NOT NULL"

complaint = sa.table(
    "complaint",
    sa.column("id", sa.BigInteger),
    sa.column("number", sa.String),
    sa.column("account_id", sa.BigInteger),
    sa.column("category", sa.String),
    sa.column("status", sa.String),
    sa.column("resolved_at", UtcDateTime),
    sa.column("resolution", sa.Text),
)
audit_log = sa.table(
    "audit_log",
    sa.column("at", UtcDateTime),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("detail", Json),
)


def _close_duplicates() -> None:
    """Before the index: of an account's open complaints of one category, the oldest stays open; each later one
    is closed as its duplicate, with an audit row (the field works the first one)."""
    bind = op.get_bind()
    is_open = sa.and_(complaint.c.status.in_(("open", "reopened")), complaint.c.account_id.is_not(None))
    rows = bind.execute(
        sa.select(complaint.c.id, complaint.c.number, complaint.c.account_id, complaint.c.category, complaint.c.status)
        .where(is_open)
        .order_by(complaint.c.account_id, complaint.c.category, complaint.c.id)
    ).all()
    first: dict[tuple[int, str], str] = {}
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        key = (row.account_id, row.category)
        if key not in first:
            first[key] = row.number
            continue
        note = f"Closed as a duplicate of complaint {first[key]}, open for the same account and category."
        bind.execute(
            sa.update(complaint)
            .where(complaint.c.id == row.id)
            .values(status="closed", resolved_at=now, resolution=note)
        )
        bind.execute(
            sa.insert(audit_log).values(
                at=now,
                actor="system:migration",
                action="complaint.closed_as_duplicate",
                entity="complaint",
                entity_id=str(row.number or row.id),
                detail={"duplicate_of": first[key], "status_was": row.status},
            )
        )


def upgrade() -> None:
    """Upgrade schema."""
    _close_duplicates()
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(
            "uq_complaint_open_account_category",
            ["account_id", "category"],
            unique=True,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    """Downgrade schema (the duplicates closed on the way up stay closed)."""
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("uq_complaint_open_account_category")
