"""review sessions: the review page's login cookie holds a random session token, kept here as a hash with the
key it was opened with, the reviewer's name and when it ends, instead of the API key itself

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], name="fk_review_sessions_api_key", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_review_sessions_token_hash"),
    )
    op.create_index("ix_review_sessions_expires_at", "review_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_review_sessions_expires_at", table_name="review_sessions")
    op.drop_table("review_sessions")
