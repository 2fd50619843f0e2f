"""policy Q&A: conversations, messages, feedback

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_conversations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kbs", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("qa_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_conversations_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qa_conversations_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "qa_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("rewritten", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("intent", sa.String(length=8), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["qa_conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("qa_messages", schema=None) as batch_op:
        batch_op.create_index("ix_qa_messages_conv_seq", ["conversation_id", "seq"], unique=True)

    op.create_table(
        "qa_feedback",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["qa_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("qa_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_feedback_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qa_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_feedback_message_id"))
    op.drop_table("qa_feedback")
    with op.batch_alter_table("qa_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_qa_messages_conv_seq")
    op.drop_table("qa_messages")
    with op.batch_alter_table("qa_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_conversations_updated_at"))
        batch_op.drop_index(batch_op.f("ix_qa_conversations_user_id"))
    op.drop_table("qa_conversations")
