"""A customer's time zone (a customers file's `timezone`): checked by row and column, kept as the zone database
spells it, moved by a later file's zone, kept by an empty cell (as a locale is: a file of customers whose zones its
source does not know wiped every zone known before, and moved their best-hour sends to the shop's clock) and by a
file without the column, and shown with the customer's record and in
their subject access export."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from service.db.models import Customer
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import import_frame
from tests.service.test_importing import upload_customers

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3"],
        "email": ["c1@example.com", "c2@example.com", "c3@example.com"],
        "first_name": "Ana",
        "marketing_consent": "true",
        "timezone": ["America/Los_Angeles", " australia/sydney ", ""],
    }
)


def _zones(engine) -> dict[str, str | None]:
    with session_scope(engine) as session:
        return dict(session.execute(select(Customer.external_id, Customer.timezone)).all())


def test_an_unknown_time_zone_is_refused_by_row_and_column_and_nothing_is_written(engine):
    customers = CUSTOMERS.assign(timezone=["America/Los_Angeles", "Pacific Time", "GMT+2:00"])
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "customers", customers)
    examples = "give an IANA name, such as Europe/Berlin or America/New_York"
    assert [(p.row, p.column, p.message) for p in raised.value.problems] == [
        (3, "timezone", f"'Pacific Time' is not a time zone: {examples}"),
        (4, "timezone", f"'GMT+2:00' is not a time zone: {examples}"),
    ]
    assert _zones(engine) == {}


def test_a_zone_is_kept_as_the_zone_database_spells_it_and_an_empty_cell_or_no_column_keeps_it(client, engine):
    upload_customers(client, CUSTOMERS)
    assert _zones(engine) == {"c1": "America/Los_Angeles", "c2": "Australia/Sydney", "c3": None}
    assert "timezone" not in client.get("/customers/c1").json()["attributes"]  # a documented column
    assert [client.get(f"/customers/{c}").json()["timezone"] for c in ("c1", "c3")] == ["America/Los_Angeles", None]

    with session_scope(engine) as session:  # a file without the column: each customer keeps theirs
        import_frame(session, "customers", CUSTOMERS.drop(columns="timezone"))
    assert _zones(engine) == {"c1": "America/Los_Angeles", "c2": "Australia/Sydney", "c3": None}
    with session_scope(engine) as session:  # a zone moves; an empty cell keeps the stored zone, as a locale's does
        import_frame(session, "customers", CUSTOMERS.assign(timezone=["", "Europe/Berlin", "UTC"]))
    assert _zones(engine) == {"c1": "America/Los_Angeles", "c2": "Europe/Berlin", "c3": "UTC"}
    with session_scope(engine) as session:  # a new customer's empty cell: the shop's clock
        import_frame(session, "customers", CUSTOMERS.assign(customer_id=["c4", "c5", "c6"], timezone=""))
    assert {c: _zones(engine)[c] for c in ("c4", "c5", "c6")} == {"c4": None, "c5": None, "c6": None}

    export = client.get("/customers/c2/export").json()  # personal data: in the subject access export
    assert export["customer"]["timezone"] == "Europe/Berlin"
