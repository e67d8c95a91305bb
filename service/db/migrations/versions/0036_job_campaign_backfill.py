"""job campaign backfill: a generate job made before jobs named their campaign (0017) gets the campaign its
result names, so that `GET /jobs?campaign_id=` lists it too

Only what a row itself says is filled: a generate job that ended well wrote `campaign_id` in its result. A send job's
result never named its campaign, and one that failed or was cancelled wrote none, so those keep a null
`campaign_id`. Sends from before 0014 keep a null `to_email`: the address the customer has now need not be the one
the email went to, and a bounce marks the address a send names.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-03 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    connection = op.get_bind()
    jobs = sa.table(
        "jobs", sa.column("id", sa.String()), sa.column("kind", sa.String()), sa.column("result", sa.JSON()),
        sa.column("campaign_id", sa.Integer()),
    )  # fmt: skip
    read = (
        sa.select(jobs.c.id, jobs.c.result)
        .where(jobs.c.kind == "generate", jobs.c.campaign_id.is_(None))
        .order_by(jobs.c.id)
        .limit(BATCH)
    )
    write = sa.update(jobs).where(jobs.c.id == sa.bindparam("job_id")).values(campaign_id=sa.bindparam("campaign"))
    last = ""
    while rows := connection.execute(read.where(jobs.c.id > last)).all():
        last = rows[-1].id
        named = [
            {"job_id": row.id, "campaign": row.result["campaign_id"]}
            for row in rows
            if isinstance(row.result, dict) and type(row.result.get("campaign_id")) is int
        ]
        if named:
            connection.execute(write, named)


def downgrade() -> None:
    """Nothing to undo: the column is 0017's, and the campaigns filled in are the ones those jobs generated."""
