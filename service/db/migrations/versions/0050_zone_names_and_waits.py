"""zone names: customers' zones stored under another name of their country's zone written under the
name the rules that run give it.

An earlier Babel gave countries' zones by CLDR's ids (India's Asia/Calcutta, Vietnam's Asia/Saigon), which the
import stopped taking for the country's once Babel named them otherwise: such a customer stayed on the old country's
clock for good when a file moved them (service.db.zone_names says which zones are renamed, and which an earlier rule
chose that are left). The customers are read in batches, only the rows renamed are written, and nothing changes run
again.

Going down leaves the zones as they are: their former names are not kept to write back, and the older version reads a
zone by either name.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-06 06:00:00
"""

from alembic import op

from service.db.zone_names import rename_country_zones

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rename_country_zones(op.get_bind())


def downgrade() -> None:
    """Nothing to undo (the module's docstring)."""
