"""service-item catalogue, life-event bundles, enterprise policies

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "guide_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("item_type", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_guide_items_code"),
    )
    with op.batch_alter_table("guide_items", schema=None) as batch_op:
        batch_op.create_index("ix_guide_items_department", ["department"], unique=False)
    op.create_table(
        "guide_bundles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_guide_bundles_code"),
    )
    op.create_table(
        "guide_policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_guide_policies_code"),
    )
    op.create_table(
        "guide_aliases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("canonical", sa.String(length=100), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("canonical", name="uq_guide_aliases_canonical"),
    )


def downgrade() -> None:
    op.drop_table("guide_aliases")
    op.drop_table("guide_policies")
    op.drop_table("guide_bundles")
    with op.batch_alter_table("guide_items", schema=None) as batch_op:
        batch_op.drop_index("ix_guide_items_department")
    op.drop_table("guide_items")
