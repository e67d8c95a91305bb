"""job heartbeat_at: when the process holding a job (queued or running) last said it lives, every few seconds
whatever the job's kind, so that recovery tells a dead job from a live one by its beat (``service.jobs.heartbeat``)
rather than by which host and pid ask; null for a job of a process that does not beat (written before this)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-04 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
