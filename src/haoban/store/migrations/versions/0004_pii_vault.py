"""PII pseudonym vault

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pii_vault",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pii_vault", schema=None) as batch_op:
        batch_op.create_index("ux_pii_vault_digest", ["digest"], unique=True)
        batch_op.create_index("ux_pii_vault_token", ["token"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("pii_vault", schema=None) as batch_op:
        batch_op.drop_index("ux_pii_vault_token")
        batch_op.drop_index("ux_pii_vault_digest")
    op.drop_table("pii_vault")
