"""Service requests with their statutory due date and disputed bill, uploaded documents, theft reports and feedback;
OTP challenges without an account (a new-connection applicant proving a mobile).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cis.models.base import Code

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = "status IN ('submitted', 'under_review', 'approved')"
OPEN_BILL = f"{OPEN} AND disputed_bill_id IS NOT NULL"
OPEN_KIND = f"{OPEN} AND account_id IS NOT NULL AND kind <> 'bill_revision'"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disputed_bill_id", ID, nullable=True))
        batch_op.add_column(sa.Column("revised_bill_id", ID, nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("area_class", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_service_request_disputed_bill_id_bill"), "bill", ["disputed_bill_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_service_request_revised_bill_id_bill"), "bill", ["revised_bill_id"], ["id"]
        )
        batch_op.create_index(
            "ix_service_request_sub_division_id_status_due_at", ["sub_division_id", "status", "due_at"], unique=False
        )
        batch_op.create_index(
            "uq_service_request_open_disputed_bill",
            ["disputed_bill_id"],
            unique=True,
            postgresql_where=sa.text(OPEN_BILL),
            sqlite_where=sa.text(OPEN_BILL),
        )
        batch_op.create_index(
            "uq_service_request_open_account_kind",
            ["account_id", "kind"],
            unique=True,
            postgresql_where=sa.text(OPEN_KIND),
            sqlite_where=sa.text(OPEN_KIND),
        )

    op.create_table(
        "document",
        sa.Column("id", ID, nullable=False),
        sa.Column("owner_kind", sa.String(length=10), nullable=False),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("request_id", ID, nullable=True),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("storage_name", Code(64), nullable=False),
        sa.Column("original_name", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", Code(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_document_account_id_account")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["service_request.id"], name=op.f("fk_document_request_id_service_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_document_storage_name")),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_request_id"), ["request_id"], unique=False)

    op.create_table(
        "theft_report",
        sa.Column("id", ID, nullable=False),
        sa.Column("reference", Code(16), nullable=True),
        sa.Column("locality", sa.String(length=120), nullable=False),
        sa.Column("landmark", sa.String(length=120), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sub_division_id", ID, nullable=True),
        sa.Column("document_id", ID, nullable=True),
        sa.Column("reporter_hash", Code(64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_theft_report_document_id_document")),
        sa.ForeignKeyConstraint(
            ["sub_division_id"], ["sub_division.id"], name=op.f("fk_theft_report_sub_division_id_sub_division")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theft_report")),
        sa.UniqueConstraint("reference", name=op.f("uq_theft_report_reference")),
    )
    with op.batch_alter_table("theft_report", schema=None) as batch_op:
        batch_op.create_index("ix_theft_report_status_created_at", ["status", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_theft_report_sub_division_id"), ["sub_division_id"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", ID, nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_feedback_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=ID, nullable=True)


def downgrade() -> None:
    """Downgrade schema (applicants' OTP challenges, which name no account, are deleted first)."""
    op.execute("DELETE FROM otp_challenge WHERE account_id IS NULL")
    with op.batch_alter_table("otp_challenge", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=ID, nullable=False)

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_account_id"))
    op.drop_table("feedback")
    with op.batch_alter_table("theft_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_theft_report_sub_division_id"))
        batch_op.drop_index("ix_theft_report_status_created_at")
    op.drop_table("theft_report")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_request_id"))
        batch_op.drop_index(batch_op.f("ix_document_account_id"))
    op.drop_table("document")

    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.drop_index("uq_service_request_open_account_kind")
        batch_op.drop_index("uq_service_request_open_disputed_bill")
        batch_op.drop_index("ix_service_request_sub_division_id_status_due_at")
        batch_op.drop_constraint(batch_op.f("fk_service_request_revised_bill_id_bill"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_service_request_disputed_bill_id_bill"), type_="foreignkey")
        batch_op.drop_column("due_at")
        batch_op.drop_column("area_class")
        batch_op.drop_column("reason")
        batch_op.drop_column("revised_bill_id")
        batch_op.drop_column("disputed_bill_id")
