"""公文 toolkit: saved documents and their versions

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gongwen_documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("doc_type", sa.String(length=16), nullable=True),
        sa.Column("doc_number", sa.String(length=64), nullable=True),
        sa.Column("department_path", sa.String(length=1000), nullable=True),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("owner_name", sa.String(length=100), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gongwen_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gongwen_documents_department_path"), ["department_path"], unique=False)
        batch_op.create_index(batch_op.f("ix_gongwen_documents_updated_at"), ["updated_at"], unique=False)
    op.create_table(
        "gongwen_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["gongwen_documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "number", name="uq_gongwen_version"),
    )
    with op.batch_alter_table("gongwen_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gongwen_versions_document_id"), ["document_id"], unique=False)


def downgrade() -> None:
    op.drop_table("gongwen_versions")
    op.drop_table("gongwen_documents")
