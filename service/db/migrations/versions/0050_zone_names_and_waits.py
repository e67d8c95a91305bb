"""zone names and waits: customers' zones stored under another name of their country's zone written under the name
the rules that run give it, and drafts the contact policy deferred to its wait's end before 0049 marked so, as it
marks them since.

An earlier Babel gave countries' zones by CLDR's ids (India's Asia/Calcutta, Vietnam's Asia/Saigon), which the
import stopped taking for the country's once Babel named them otherwise: such a customer stayed on the old country's
clock for good when a file moved them (service.db.zone_names says which zones are renamed, and which an earlier rule
chose that are left). A draft deferred to a wait's end before 0049 is told by its contact policy's note, which says
the wait its send time ends (service.db.wait_end_drafts): it moved with its customer to another zone as a time of
their day, east to before the wait ended. Both read each table in batches, write only the rows they change, and
change nothing run again.

Going down leaves both as they are: a zone's former name and the drafts' former flag are not kept to write back,
and the older version reads them as it reads its own (a zone by either name; a draft deferred to its wait's end after
0049).

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-06 06:00:00
"""

from alembic import op

from service.db.wait_end_drafts import mark_wait_end_drafts
from service.db.zone_names import rename_country_zones

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    rename_country_zones(connection)
    mark_wait_end_drafts(connection)


def downgrade() -> None:
    """Nothing to undo (the module's docstring)."""
