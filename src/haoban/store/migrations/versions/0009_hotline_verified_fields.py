"""hotline: which labels of a ticket a person confirmed

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotline_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_fields", sa.JSON(), nullable=False, server_default="[]"))
    # Until now a confirmed ticket counted as confirmed in all three fields; keep that for existing rows.
    op.execute(
        """UPDATE hotline_tickets SET verified_fields = '["request_type", "domain", "department"]' """
        "WHERE labels_verified"
    )


def downgrade() -> None:
    with op.batch_alter_table("hotline_tickets", schema=None) as batch_op:
        batch_op.drop_column("verified_fields")
