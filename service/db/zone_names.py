"""Customers' zones stored under another name of the zone their country gives (service.zones.renamed_zone), written
again under the name the rules that run give it (migration 0050).

An earlier Babel named zones by CLDR's ids (Babel 2.12: India's Asia/Calcutta, Vietnam's Asia/Saigon), and the
customers whose zone came from their country kept that name after Babel named it otherwise: the import no longer
took it for their country's (service.zones.gives_the_zone), and such a customer stayed on the old country's clock
for good once a file moved them. Every customer stored with another name of their country's zone is renamed, the
zones a shop gave in a `timezone` column too: nothing stored tells those from the ones a country gave, and a name of
the same zone changes no clock.

Left as they are: a zone an earlier rule chose among a country's zones that show one time (Malaysia's Asia/Kuching,
which Tailor gave before it gave the capital's, Asia/Kuala_Lumpur; Cyprus's Asia/Famagusta; Kazakhstan's
Asia/Qyzylorda; the Marshall Islands' Pacific/Kwajalein) is where some of the country's customers live, and a shop
gives it too (a customer in Sarawak): which were given cannot be told, and the clocks agree, so the import takes them
for their country's already."""

from __future__ import annotations

import sqlalchemy as sa

from service.db.batches import pages_by_id
from service.zones import cldr_zone_aliases, country_given, renamed_zone


def rename_country_zones(connection: sa.Connection, batch: int = 5_000) -> int:
    """Renames each stored customer's zone that is another name of their country's (``renamed_zone``), a batch of
    rows at a time (a big shop's do not fit in memory at once), reading only the customers stored with a name CLDR
    keeps as another zone's; how many were renamed. Written for migrations: it reads the customers table as it is at
    any revision since 0044."""
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer()),
        sa.column("timezone", sa.String()),
        sa.column("attributes", sa.JSON()),
    )
    read = (
        sa.select(customers.c.id, customers.c.timezone, customers.c.attributes)
        .where(customers.c.timezone.in_(sorted(cldr_zone_aliases())))
        .order_by(customers.c.id)
        .limit(batch)
    )
    write = sa.update(customers).where(customers.c.id == sa.bindparam("row_id"))
    renamed = 0
    for rows in pages_by_id(connection, read, customers.c.id):
        zones = {row.id: renamed_zone(country_given(row.attributes or {}), row.timezone) for row in rows}
        rewritten = [{"row_id": row_id, "timezone": zone} for row_id, zone in zones.items() if zone is not None]
        if rewritten:
            connection.execute(write, rewritten)
        renamed += len(rewritten)
    return renamed
