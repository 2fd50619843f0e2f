"""sensitive-word lexicons

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lexicon_categories",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "lexicon_terms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lexicon_terms", schema=None) as batch_op:
        batch_op.create_index("ux_lexicon_terms_key", ["kind", "category", "term"], unique=True)
        batch_op.create_index(batch_op.f("ix_lexicon_terms_category"), ["category"], unique=False)
    meta = op.create_table(
        "lexicon_meta",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    # "version" is bumped by every lexicon change (workers rebuild their automaton when it moves);
    # "seeded" flips to 1 when the starter lexicon has been loaded.
    op.bulk_insert(meta, [{"key": "version", "value": 0}, {"key": "seeded", "value": 0}])


def downgrade() -> None:
    op.drop_table("lexicon_meta")
    with op.batch_alter_table("lexicon_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lexicon_terms_category"))
        batch_op.drop_index("ux_lexicon_terms_key")
    op.drop_table("lexicon_terms")
    op.drop_table("lexicon_categories")
