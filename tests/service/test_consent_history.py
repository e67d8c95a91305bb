"""Each customer's consent history (GDPR Art. 7(1): the shop must be able to show when a person agreed and when they
withdrew): every consent given or withdrawn and every unsubscribe, with when it took effect, when Tailor recorded it
and what brought it (which import, which link or event of which send); listed in the subject access export, erased
with the customer, and a file that says the same again adds nothing."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from service import unsubscribe as unsubscribe_ops
from service.clock import utcnow
from service.customers import erase_customer
from service.db.models import ConsentChange, Customer, ErasedCustomer, Send
from service.db.session import session_scope
from service.importing import import_file
from service.signed_links import UnsubscribeLinks
from tests.service.conftest import wait_for_job
from tests.service.test_consent_times import imported_in_chunks
from tests.service.test_importing import CUSTOMERS, upload_customers


def _history(client, customer: str) -> list[dict]:
    """The customer's consent history as the export lists it, less the moments (compared apart)."""
    return [
        {key: value for key, value in change.items() if not key.endswith("_at")}
        for change in client.get(f"/customers/{customer}/export").json()["consent_history"]
    ]


def _moments(client, customer: str) -> list[tuple[datetime, datetime]]:
    history = client.get(f"/customers/{customer}/export").json()["consent_history"]
    return [
        tuple(datetime.fromisoformat(change[key]).replace(tzinfo=None) for key in ("took_effect_at", "recorded_at"))
        for change in history
    ]


def _imported(change: str, file: str = "customers.csv", job: str | None = None) -> dict:
    return {"change": change, "source": "import", "import_file": file, "import_job_id": job, "send_id": None}


def _send(engine, customer: str, sent_at: datetime) -> int:
    with session_scope(engine) as session:
        owner = session.scalar(select(Customer).where(Customer.external_id == customer))
        send = Send(customer=owner, subject="News", campaign_type="cross_sell", sent_at=sent_at)
        session.add(send)
        session.flush()
        return send.id


def test_an_import_records_each_consent_it_gives_or_withdraws_and_the_same_file_again_adds_nothing(client):
    """c1 consents, c2 does not (never agreed: nothing to record); the nightly file again adds nothing; a file that
    withdraws c1's consent, imported as a job, is recorded with its file name and job."""
    before = utcnow()
    upload_customers(client, CUSTOMERS)
    assert _history(client, "c1") == [_imported("given")]
    assert _history(client, "c2") == []
    [(took_effect, recorded)] = _moments(client, "c1")
    assert before <= took_effect == recorded <= utcnow()

    upload_customers(client, CUSTOMERS)
    assert _history(client, "c1") == [_imported("given")]

    withdrawn = CUSTOMERS.assign(marketing_consent=["false", "no"]).to_csv(index=False).encode()
    answer = client.post(
        "/imports/customers", files={"file": ("nightly.csv", withdrawn, "text/csv")}, params={"background": "true"}
    )
    job_id = answer.json()["job_id"]
    assert wait_for_job(client, job_id, timeout=60)["status"] == "succeeded"
    assert _history(client, "c1") == [_imported("given"), _imported("withdrawn", "nightly.csv", job_id)]
    assert _history(client, "c2") == []
    assert client.get("/customers/c1").json()["consent_source"] == f"withdrawn by import of nightly.csv (job {job_id})"
    assert client.get("/customers/c2").json()["consent_source"] is None


def test_a_change_takes_effect_when_the_file_says_the_shop_collected_it(client):
    """`consent_at` is when the consent was given or withdrawn; Tailor records it later."""
    upload_customers(client, CUSTOMERS.assign(consent_at=["2025-04-01 09:30", ""]))
    [(took_effect, recorded)] = _moments(client, "c1")
    assert took_effect == datetime(2025, 4, 1, 9, 30) and recorded > took_effect


def test_an_unsubscribe_by_link_event_file_or_address_is_recorded_and_consent_left_as_the_shop_gave_it(client, engine):
    """An unsubscribe is the person withdrawing, whatever the file's consent says: recorded as `unsubscribed` with
    what brought it; `marketing_consent` stays as the shop's file gave it (suppression reads both, as before)."""
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "email": ["ann@example.com", "bo@example.com", "bo@example.com", "cy@example.com"],
            "first_name": "X",
            "marketing_consent": "true",
            "consent_at": "2025-01-01",
            "unsubscribed": ["false", "false", "false", "true"],
        }
    )
    upload_customers(client, customers)
    assert _history(client, "c4") == [_imported("given"), _imported("unsubscribed")]

    link_send = _send(engine, "c1", utcnow() - timedelta(days=2))
    TestClient(client.app).post(f"/unsubscribe/{UnsubscribeLinks.configured().token(link_send)}")
    link = {"change": "unsubscribed", "source": "unsubscribe link", "import_file": None, "import_job_id": None}
    assert _history(client, "c1") == [_imported("given"), {**link, "send_id": link_send}]

    complained = _send(engine, "c2", utcnow() - timedelta(days=2))
    occurred_at = (utcnow() - timedelta(days=1)).replace(microsecond=0)
    event = {"send_id": complained, "kind": "complaint", "occurred_at": occurred_at.isoformat()}
    assert client.post("/events", json={"events": [event]}).json()["recorded"] == 1
    assert client.post("/events", json={"events": [event]}).json()["duplicates"] == 1
    by_event = {**link, "source": "complaint event", "send_id": complained}
    assert _history(client, "c2") == [_imported("given"), by_event]
    assert _moments(client, "c2")[1][0] == occurred_at  # when the person complained, recorded since
    household = {**link, "source": "address unsubscribed", "send_id": None}
    assert _history(client, "c3") == [_imported("given"), household]

    assert all(client.get(f"/customers/{c}").json()["marketing_consent"] for c in ("c1", "c2", "c3", "c4"))
    upload_customers(client, customers)  # the shop's file again: nothing new
    assert [len(_history(client, c)) for c in ("c1", "c2", "c3", "c4")] == [2, 2, 2, 2]
    by_link = client.get("/customers/c1").json()["consent_source"]
    assert by_link == f"unsubscribed by unsubscribe link of send {link_send}"


def test_erasure_erases_the_customer_s_history(client, engine):
    upload_customers(client, CUSTOMERS)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(ConsentChange)) == 1
        erase_customer(session, "c1")
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(ConsentChange)) == 0


def test_a_consent_stored_undated_is_recorded_given_when_a_file_first_dates_it(client, engine):
    """A consent stored before Tailor kept its time has no history (0045 makes none up); the first file that says when
    the shop collected it starts one, as 0045 would have; the next night's file adds nothing."""
    upload_customers(client, CUSTOMERS)
    with session_scope(engine) as session:
        session.execute(update(Customer).values(consent_changed_at=None))
        session.execute(delete(ConsentChange))
    dated = CUSTOMERS.assign(consent_at=["2024-05-06", "2024-05-06"])
    upload_customers(client, dated)
    assert _history(client, "c1") == [_imported("given")] and _history(client, "c2") == []
    assert _moments(client, "c1")[0][0] == datetime(2024, 5, 6)
    upload_customers(client, dated)
    assert len(_history(client, "c1")) == 1


def test_a_file_read_in_chunks_records_its_changes_on_sqlite_and_postgres(any_engine, tmp_path, monkeypatch):
    """New customers' row ids are read back once written, chunk by chunk; the changed one of a later file alone is
    recorded."""
    customers, path = imported_in_chunks(any_engine, tmp_path, monkeypatch)
    customers.assign(marketing_consent=["true", "false", "true", "true", "true"]).to_parquet(path)
    with session_scope(any_engine) as session:
        import_file(session, "customers", path, job_id="job-2")
    with session_scope(any_engine) as session:
        rows = session.execute(
            select(Customer.external_id, ConsentChange.change, ConsentChange.import_file, ConsentChange.import_job_id)
            .join(Customer, Customer.id == ConsentChange.customer_id)
            .order_by(ConsentChange.id)
        )
        assert [tuple(row) for row in rows] == [
            ("c0", "given", "customers.parquet", None),
            ("c2", "given", "customers.parquet", None),
            ("c4", "given", "customers.parquet", None),
            ("c3", "given", "customers.parquet", "job-2"),
        ]


def test_an_erased_customer_s_link_or_event_is_recorded_for_the_address_not_the_send(client, engine):
    """c1 and c2 share an address; c1 is erased. Their old email's link, or a complaint of it, unsubscribes c2, whose
    history says their address asked, without naming the erased send."""
    household = CUSTOMERS.assign(email="home@example.com", marketing_consent="true", consent_at="2025-01-01")
    for follow in ("link", "event"):
        upload_customers(client, household)
        send_id = _send(engine, "c1", utcnow() - timedelta(days=2))
        with session_scope(engine) as session:
            erase_customer(session, "c1")
        if follow == "link":
            TestClient(client.app).post(f"/unsubscribe/{UnsubscribeLinks.configured().token(send_id)}")
        else:
            client.post("/events", json={"events": [{"send_id": send_id, "kind": "complaint"}]})
        by_address = {"change": "unsubscribed", "source": "address unsubscribed", "import_file": None,
                      "import_job_id": None, "send_id": None}  # fmt: skip
        assert _history(client, "c2") == [_imported("given"), by_address], follow
        assert client.get("/customers/c2").json()["consent_source"].startswith("unsubscribed by their address")
        with session_scope(engine) as session:
            erase_customer(session, "c2")
            session.execute(delete(ErasedCustomer))  # the shop lifted both erasures: the next round imports them


def test_an_unsubscribe_posted_twice_at_once_is_recorded_once(shared_engine, tailor_home):
    """The page's button pressed twice (or a mail client's one-click POST beside it): the second request read the
    customer subscribed before the first committed, and recorded a second unsubscribe once the first's write let it."""
    with session_scope(shared_engine) as session:
        customer = Customer(external_id="c1", email="ann@example.com", marketing_consent=True)
        send = Send(customer=customer, subject="News", campaign_type="cross_sell", sent_at=utcnow() - timedelta(days=1))
        session.add(send)
        session.flush()
        send_id = send.id
    token = UnsubscribeLinks.configured().token(send_id)
    failures = []

    def second_press() -> None:
        try:
            with session_scope(shared_engine) as second:
                unsubscribe_ops.unsubscribe(second, token)
        except Exception as error:  # noqa: BLE001 (told by the assertion below)
            failures.append(error)

    with session_scope(shared_engine) as first:
        unsubscribe_ops.unsubscribe(first, token)  # written, not yet committed
        other = threading.Thread(target=second_press)
        other.start()
        other.join(timeout=1)
    other.join(timeout=30)
    assert failures == []
    with session_scope(shared_engine) as session:
        assert session.scalars(select(ConsentChange.source)).all() == ["unsubscribe link"]
        assert session.scalar(select(Customer.unsubscribed).where(Customer.external_id == "c1"))


def test_a_household_stopped_by_a_file_is_not_said_to_have_asked_from_an_email(client):
    """c1's row in the customers file unsubscribes, and so their address: c2 at it is stopped, and so is c3, a new id
    at it in a later file. No email was unsubscribed from: their history must not say one was."""
    household = CUSTOMERS.assign(email=["home@example.com", "Home@example.com"], marketing_consent="true")
    upload_customers(client, household.assign(unsubscribed=["true", "false"]))
    upload_customers(client, household.iloc[:1].assign(customer_id="c3"))
    by_address = {"change": "unsubscribed", "source": "address unsubscribed", "import_file": None,
                  "import_job_id": None, "send_id": None}  # fmt: skip
    for customer in ("c2", "c3"):
        assert _history(client, customer) == [_imported("given"), by_address], customer
        source = client.get(f"/customers/{customer}").json()["consent_source"]
        assert (
            source == "unsubscribed by their address: unsubscribed under another customer id at it, or from an "
            "email to an erased customer"
        ), customer
