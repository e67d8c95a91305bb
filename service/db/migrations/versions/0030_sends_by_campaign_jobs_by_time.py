"""sends by campaign, jobs by time and status: a campaign's figures (GET /campaigns, the review page's list) read
every send and event ever stored, once per campaign listed (2.2 s for 13 campaigns over 210,000 sends); the job list
and the schedules' checks read the whole jobs table, which grows by a few rows a day and is never pruned.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-10 09:00:00
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sends_campaign_id", "sends", ["campaign_id"], unique=False)
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"], unique=False)
    op.create_index("ix_jobs_status", "jobs", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_index("ix_jobs_created_at", table_name="jobs")
    op.drop_index("ix_sends_campaign_id", table_name="sends")
