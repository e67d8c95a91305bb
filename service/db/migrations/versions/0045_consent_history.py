"""consent history: every change of whether a customer may be sent marketing email (consent given or withdrawn, an
unsubscribe), with when it took effect, when Tailor recorded it and what brought it, so that the shop can show when
the person agreed and when they withdrew (GDPR Art. 7(1)) after the customer's columns have moved on.

A customer stored before starts the history with what is known of it, recorded as "stored before 0045": a consent
given at a known time (``consent_changed_at``), and an unsubscribe taken at a known time (``unsubscribed_at``). An
undated consent or unsubscribe starts none: the history would have to make a time up. Neither does a dated refusal
(no consent, with a time): an import dated every new customer's value, so it says as often "never agreed, imported
then" as "withdrew then", and a withdrawal the person never made is no truth to hand a regulator; the customer's own
columns still say it.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-05 18:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

STORED_BEFORE = "stored before 0045"


def upgrade() -> None:
    op.create_table(
        "consent_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("took_effect_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("import_file", sa.String(length=300), nullable=True),
        sa.Column("import_job_id", sa.String(length=36), nullable=True),
        sa.Column("send_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_changes_customer_id", "consent_changes", ["customer_id"])
    customers = sa.table(
        "customers", sa.column("id", sa.Integer), sa.column("marketing_consent", sa.Boolean),
        sa.column("consent_changed_at", sa.DateTime), sa.column("unsubscribed", sa.Boolean),
        sa.column("unsubscribed_at", sa.DateTime),
    )  # fmt: skip
    changes = sa.table(
        "consent_changes", sa.column("customer_id"), sa.column("change"), sa.column("took_effect_at"),
        sa.column("recorded_at"), sa.column("source"),
    )  # fmt: skip
    now = datetime.now(UTC).replace(tzinfo=None)  # UTC without a zone, as every DateTime column holds it
    for change, held, since in (
        ("given", customers.c.marketing_consent, customers.c.consent_changed_at),
        ("unsubscribed", customers.c.unsubscribed, customers.c.unsubscribed_at),
    ):
        known = sa.select(
            customers.c.id, sa.literal(change, sa.String), since, sa.literal(now, sa.DateTime),
            sa.literal(STORED_BEFORE, sa.String),
        ).where(held.is_(sa.true()), since.is_not(None))  # fmt: skip
        op.execute(changes.insert().from_select(list(changes.c), known))


def downgrade() -> None:
    op.drop_index("ix_consent_changes_customer_id", table_name="consent_changes")
    op.drop_table("consent_changes")
