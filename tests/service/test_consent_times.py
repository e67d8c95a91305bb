"""When a customer's marketing consent took its value (GDPR Art. 7(1): the shop must be able to show when consent was
given or withdrawn): every way consent is written dates a change, and only a change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from service.clock import utcnow
from service.db.models import Customer
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import import_file, import_frame
from tests.service.conftest import wait_for_job
from tests.service.test_importing import CUSTOMERS, upload_customers


def _shown(client, customer: str) -> datetime | None:
    moment = client.get(f"/customers/{customer}").json()["consent_changed_at"]
    return moment and datetime.fromisoformat(moment).replace(tzinfo=None)


def _stored(engine) -> dict[str, tuple[bool, datetime | None]]:
    with session_scope(engine) as session:
        rows = session.execute(select(Customer.external_id, Customer.marketing_consent, Customer.consent_changed_at))
        return {external: (consent, changed_at) for external, consent, changed_at in rows}


def test_an_import_dates_the_consent_it_gives_or_changes_and_the_same_consent_again_keeps_its_time(client):
    """The shop's nightly customers file says the same consent again: its time stays when it was given; a file that
    withdraws it (here in a background import) dates the withdrawal, and the subject access export shows it."""
    before = utcnow().replace(microsecond=0)
    upload_customers(client, CUSTOMERS)  # c1 consents, c2 does not
    given = {customer: _shown(client, customer) for customer in ("c1", "c2")}
    assert all(before <= moment <= utcnow() for moment in given.values())

    again = upload_customers(client, CUSTOMERS)
    assert (again["updated"], again["unchanged"]) == (0, 2)
    assert {customer: _shown(client, customer) for customer in ("c1", "c2")} == given

    withdrawn = CUSTOMERS.assign(marketing_consent=["false", "no"]).to_csv(index=False).encode()
    answer = client.post(
        "/imports/customers", files={"file": ("customers.csv", withdrawn, "text/csv")}, params={"background": "true"}
    )
    assert wait_for_job(client, answer.json()["job_id"], timeout=60)["status"] == "succeeded"
    assert client.get("/customers/c1").json()["marketing_consent"] is False
    assert given["c1"] < _shown(client, "c1") <= utcnow() and _shown(client, "c2") == given["c2"]
    export = client.get("/customers/c1/export").json()["customer"]
    assert datetime.fromisoformat(export["consent_changed_at"]).replace(tzinfo=None) == _shown(client, "c1")


def test_a_parquet_file_read_in_chunks_dates_only_the_consents_it_changes(any_engine, tmp_path, monkeypatch):
    """On SQLite and PostgreSQL, a file a few lines at a time: a change in a later chunk is dated, the rest keep
    their time."""
    customers, path = imported_in_chunks(any_engine, tmp_path, monkeypatch)
    first = _stored(any_engine)
    assert all(changed_at is not None for _, changed_at in first.values())

    customers.assign(marketing_consent=["true", "false", "true", "false", "false"]).to_parquet(path)
    with session_scope(any_engine) as session:
        summary = import_file(session, "customers", path)
    assert (summary.updated, summary.unchanged) == (1, 4)
    now = _stored(any_engine)
    assert now["c4"][0] is False and now["c4"][1] > first["c4"][1]
    assert {c: now[c] for c in ("c0", "c1", "c2", "c3")} == {c: first[c] for c in ("c0", "c1", "c2", "c3")}


def test_a_consent_written_on_the_record_is_dated_when_it_changes(engine):
    """Code that writes a customer (a script, an eval, a later API) dates consent as an import does."""
    with session_scope(engine) as session:
        session.add(Customer(external_id="c1", email="c1@example.com", marketing_consent=True))
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer))
        given = customer.consent_changed_at
        assert given is not None
        customer.marketing_consent = True
        assert customer.consent_changed_at == given
        customer.marketing_consent = False
        assert customer.consent_changed_at > given


def test_a_customers_file_may_say_when_the_shop_collected_each_consent(engine):
    """The shop collected consent at checkout, long before the file reached Tailor: its `consent_at` is the time
    kept for a consent the file gives or changes, and for one stored before Tailor kept a time; the same consent
    again keeps its time whatever the file says; an empty cell is dated now."""
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "email": ["c1@example.com", "c2@example.com", "c3@example.com"],
            "first_name": "Ana",
            "marketing_consent": ["true", "true", "false"],
            "consent_at": ["2025-03-01T10:00:00+02:00", "", "2025-04-02 09:30"],
        }
    )
    before = utcnow().replace(microsecond=0)
    with session_scope(engine) as session:
        import_frame(session, "customers", customers)
    stored = _stored(engine)
    assert stored["c1"] == (True, datetime(2025, 3, 1, 8, 0)) and stored["c3"] == (False, datetime(2025, 4, 2, 9, 30))
    assert before <= stored["c2"][1] <= utcnow()
    assert "consent_at" not in _attributes(engine, "c1")  # a documented column, not kept as an attribute

    with session_scope(engine) as session:  # c2 as a customer stored before 0042 is: no time
        session.execute(update(Customer).where(Customer.external_id == "c2").values(consent_changed_at=None))
    with session_scope(engine) as session:  # the same consents, without times: nothing says when c2's was given
        assert import_frame(session, "customers", customers.drop(columns="consent_at")).unchanged == 3
    assert _stored(engine)["c2"] == (True, None)
    later = customers.assign(
        marketing_consent=["true", "true", "true"], consent_at=["2025-06-01", "2025-05-05", "2025-06-07 12:00"]
    )
    with session_scope(engine) as session:
        summary = import_frame(session, "customers", later)
    assert (summary.updated, summary.unchanged) == (2, 1)
    assert _stored(engine) == {
        "c1": (True, datetime(2025, 3, 1, 8, 0)),  # the same consent: its time stays
        "c2": (True, datetime(2025, 5, 5)),  # no time before: the file's
        "c3": (True, datetime(2025, 6, 7, 12, 0)),  # given now: when the shop collected it
    }


def test_a_consent_time_that_is_no_date_or_has_not_come_yet_is_refused_by_row_and_column(engine):
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "email": ["c1@example.com", "c2@example.com", "c3@example.com"],
            "first_name": "Ana",
            "marketing_consent": "true",
            "consent_at": ["2025-03-01", "at checkout", "2099-01-01"],
        }
    )
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "customers", customers)
    assert [(p.row, p.column, p.message) for p in raised.value.problems] == [
        (3, "consent_at", "'at checkout' is not a date/time"),
        (4, "consent_at", "has not come yet: it says when the shop collected the consent (is the year right?)"),
    ]  # fmt: skip
    assert _stored(engine) == {}


def _attributes(engine, customer: str) -> dict:
    with session_scope(engine) as session:
        return session.scalar(select(Customer.attributes).where(Customer.external_id == customer))


def imported_in_chunks(engine, tmp_path, monkeypatch) -> tuple[pd.DataFrame, Path]:
    """Five customers, c0 to c4 (c0, c2 and c4 consenting), imported from a parquet file read two rows at a time: the
    file and its frame, for a later import to change."""
    monkeypatch.setattr("service.importing.files.CHUNK_ROWS", 2)
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(5)],
            "email": [f"c{i}@example.com" for i in range(5)],
            "first_name": "Ana",
            "marketing_consent": ["true", "false", "true", "false", "true"],
        }
    )
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path)
    with session_scope(engine) as session:
        import_file(session, "customers", path)
    return customers, path
