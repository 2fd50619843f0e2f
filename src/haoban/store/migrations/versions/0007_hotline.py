"""12345 hotline tickets

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "hotline_tickets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("caller_name", sa.String(length=64), nullable=True),
        sa.Column("caller_phone", sa.String(length=32), nullable=True),
        sa.Column("caller_masked", sa.String(length=32), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        _ts("occurred_at"),
        _ts("received_at", False),
        sa.Column("request_type", sa.String(length=8), nullable=True),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("risk_words", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("places", sa.JSON(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("due_at"),
        sa.Column("sla_rule", sa.String(length=64), nullable=False),
        sa.Column("suggestion", sa.JSON(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("review_reason", sa.String(length=200), nullable=False),
        sa.Column("labels_verified", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.Column("direct_answer", sa.JSON(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("satisfaction", sa.String(length=8), nullable=True),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("extension", sa.JSON(), nullable=True),
        _ts("first_response_at"),
        _ts("replied_at"),
        _ts("closed_at"),
        sa.Column("urgency_score", sa.Float(), nullable=False),
        _ts("created_at", False),
        _ts("updated_at", False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("hotline_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_hotline_tickets_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_hotline_tickets_department", ["department"], unique=False)
        batch_op.create_index("ix_hotline_tickets_received", ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_hotline_tickets_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_hotline_tickets_needs_review"), ["needs_review"], unique=False)
        batch_op.create_index(batch_op.f("ix_hotline_tickets_labels_verified"), ["labels_verified"], unique=False)
        batch_op.create_index(batch_op.f("ix_hotline_tickets_merged_into"), ["merged_into"], unique=False)

    op.create_table(
        "hotline_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _ts("created_at", False),
        sa.ForeignKeyConstraint(["ticket_id"], ["hotline_tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hotline_events", schema=None) as batch_op:
        batch_op.create_index("ux_hotline_events_ticket_seq", ["ticket_id", "seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("hotline_events", schema=None) as batch_op:
        batch_op.drop_index("ux_hotline_events_ticket_seq")
    op.drop_table("hotline_events")
    with op.batch_alter_table("hotline_tickets", schema=None) as batch_op:
        for name in ("merged_into", "labels_verified", "needs_review", "status"):
            batch_op.drop_index(batch_op.f(f"ix_hotline_tickets_{name}"))
        batch_op.drop_index("ix_hotline_tickets_received")
        batch_op.drop_index("ix_hotline_tickets_department")
        batch_op.drop_index("ix_hotline_tickets_status_due")
    op.drop_table("hotline_tickets")
