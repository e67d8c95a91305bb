"""One email address on several customer ids (a household, a duplicate account): the import says so, an
unsubscribe or a bounce under one id stops them all, and a campaign mails the address once."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from service.db.models import Customer, Draft, Send
from service.db.session import session_scope
from service.importing import import_file, import_frame
from service.pipeline.frames import mailable_profiles
from service.pipeline.generate import shared_address_notes
from tests.service.test_sending import approved_draft, new_campaign, send_job

HOUSEHOLD = pd.DataFrame(
    {
        "customer_id": ["90001", "90002", "90003"],
        "email": ["shared@example.com", "Shared@Example.COM", "own@example.com"],
        "first_name": ["Ann", "Bob", "Cy"],
        "locale": ["en", "en", "en"],
        "marketing_consent": ["true", "true", "true"],
    }
)


def test_an_import_warns_of_customers_sharing_an_address(engine, tmp_path):
    """Two customer ids with one address were imported without a word, and each was mailed."""
    path = tmp_path / "customers.csv"
    HOUSEHOLD.to_csv(path, index=False)
    with session_scope(engine) as session:
        summary = import_file(session, "customers", path)
    (warning,) = summary.warnings
    assert warning.startswith("1 address is held by more than one customer id: 90001 and 90002.")
    assert "@" not in warning  # ids, not the address: a job's result goes to the webhook, where no erasure reaches
    assert "mails each address once" in warning

    later = HOUSEHOLD.iloc[[2]].assign(customer_id="90004", email="OWN@example.com")  # one stored before
    with session_scope(engine) as session:
        (warning,) = import_frame(session, "customers", later).warnings
    assert "90003 and 90004" in warning and "90001" not in warning  # not this file's


def test_an_unsubscribe_under_one_customer_id_stops_every_id_with_that_address(client, engine, mail_server,
                                                                                 monkeypatch):  # fmt: skip
    """After 90001 unsubscribed, 90002 at the same address was still mailable, and was mailed."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    with session_scope(engine) as session:
        import_frame(session, "customers", HOUSEHOLD)
    first = new_campaign(client)
    approved_draft(client, engine, first, "90001")
    assert send_job(client, first)["result"]["sent"] == 1
    [sent] = client.get("/customers/90001/sends").json()
    assert client.post("/events", json={"events": [{"send_id": sent["id"], "kind": "unsubscribe"}]}).status_code == 200

    assert client.get("/customers/90002").json()["unsubscribed"] is True
    assert client.get("/customers/90003").json()["unsubscribed"] is False
    with session_scope(engine) as session:
        assert mailable_profiles(session).index.tolist() == ["90003"]
    second = new_campaign(client)
    draft_id = approved_draft(client, engine, second, "90002")
    assert client.get(f"/drafts/{draft_id}").json()["cannot_mail"] == "unsubscribed"
    result = send_job(client, second)["result"]
    assert (result["sent"], result["skipped"]) == (0, 1)

    # an id imported later with the unsubscribed address, in another spelling, is not mailed either
    newcomer = HOUSEHOLD.iloc[[0]].assign(customer_id="90005", email="SHARED@example.com")
    with session_scope(engine) as session:
        import_frame(session, "customers", newcomer)
    assert client.get("/customers/90005").json()["unsubscribed"] is True


def test_a_bounce_under_one_customer_id_holds_for_every_id_with_that_address(engine, tmp_path):
    """A shop's suppression list marked 90001's address bounced; 90002 at the same address stayed mailable."""
    with session_scope(engine) as session:
        import_frame(session, "customers", HOUSEHOLD)
        import_frame(session, "customers", HOUSEHOLD.iloc[[0]].assign(email_bounced="true"))
    with session_scope(engine) as session:
        bounced = dict(session.execute(select(Customer.external_id, Customer.bounced_email)).all())
        assert bounced == {"90001": "shared@example.com", "90002": "Shared@Example.COM", "90003": None}
        assert mailable_profiles(session).index.tolist() == ["90003"]


def test_a_campaign_mails_an_address_once(client, engine, mail_server, monkeypatch):
    """Both customers of one address had an approved draft, and the address got the campaign twice."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    with session_scope(engine) as session:
        import_frame(session, "customers", HOUSEHOLD)
    campaign_id = new_campaign(client)
    drafts = {
        external_id: approved_draft(client, engine, campaign_id, external_id) for external_id in HOUSEHOLD.customer_id
    }

    result = send_job(client, campaign_id)["result"]

    assert (result["sent"], result["skipped"]) == (2, 1)
    assert sorted(m["To"] for m in messages) == ["own@example.com", "shared@example.com"]
    second = client.get(f"/drafts/{drafts['90002']}").json()
    assert second["status"] == "skipped" and second["flagged"] is True
    assert second["flag_reasons"][-1].startswith("Not sent: customer 90001 has the same address")
    with session_scope(engine) as session:
        assert session.scalar(select(Draft.status).where(Draft.id == drafts["90001"])) == "sent"
        assert len(session.scalars(select(Send.id)).all()) == 2


def test_a_campaign_flags_the_draft_of_a_second_customer_at_an_address():
    audience = HOUSEHOLD.assign(email=["shared@example.com", "own@example.com", "SHARED@example.com"])
    notes = shared_address_notes(audience)
    assert notes[:2] == ["", ""]
    assert notes[2].startswith("Customer 90001 has the same address (SHARED@example.com) in this campaign")


def test_a_bounce_holds_for_the_address_it_came_from_whoever_has_it_now(client, engine):
    """A bounce was recorded only when the send had gone to its customer's address now, spelt alike: mailed at
    "Ann@x.example", re-imported as "ann@x.example", the customer stayed mailable at the address that bounced; and a
    household member still at an address its customer had left kept being mailed there."""
    from datetime import datetime

    with session_scope(engine) as session:
        moved = Customer(external_id="m1", email="old@x.example", marketing_consent=True)
        stayed = Customer(external_id="m2", email="OLD@x.example", marketing_consent=True)
        respelt = Customer(external_id="r1", email="Ann@x.example", marketing_consent=True)
        sent = [
            Send(customer=customer, subject="Hi", campaign_type="vip", sent_at=datetime(2026, 1, 5), to_email=to)
            for customer, to in ((moved, moved.email), (respelt, respelt.email))
        ]
        session.add_all([moved, stayed, respelt, *sent])
        session.flush()
        send_ids = [send.id for send in sent]
        moved.email, respelt.email = "new@x.example", "ann@x.example"  # as a later customers file gave them
    events = [{"send_id": send_id, "kind": "bounce"} for send_id in send_ids]
    assert client.post("/events", json={"events": events}).json()["recorded"] == 2
    bounced = {c["customer_id"]: c["email_bounced"] for c in client.get("/customers?limit=10").json()}
    assert bounced == {"m1": False, "m2": True, "r1": True}


def test_an_unsubscribe_holds_for_the_address_the_email_went_to_whoever_has_it_now(client, engine):
    """An email went to m1 at old@x.example, which a household member (m2) still has; m1 has moved since. Its
    unsubscribe link, followed at old@x.example, unsubscribed m1 (and the ids at m1's new address) and told the
    reader "old@x.example gets no more marketing email", while m2 went on being mailed there; followed once m1 was
    unsubscribed already, it did nothing at all. A bounce had been held for the address it came from."""
    from datetime import datetime

    from fastapi.testclient import TestClient

    from service.signed_links import UnsubscribeLinks

    with session_scope(engine) as session:
        people = {
            external_id: Customer(external_id=external_id, email=email, marketing_consent=True)
            for external_id, email in (
                ("m1", "old@x.example"), ("m2", "OLD@x.example"), ("n1", "nora@x.example"), ("n2", "nora@x.example"),
            )
        }  # fmt: skip
        sent = {
            external_id: Send(customer=people[external_id], subject="Hi", campaign_type="vip",
                              sent_at=datetime(2026, 1, 5), to_email=people[external_id].email)
            for external_id in ("m1", "n1")
        }  # fmt: skip
        session.add_all([*people.values(), *sent.values()])
        session.flush()
        send_ids = {external_id: send.id for external_id, send in sent.items()}
        people["m1"].email, people["n1"].email = "new@x.example", "nora.new@x.example"  # as a later file gave them
        people["n1"].unsubscribed = True  # at the new address, before the old email's link was followed

    events = [{"send_id": send_ids["m1"], "kind": "unsubscribe"}]
    assert client.post("/events", json={"events": events}).json()["recorded"] == 1
    page = TestClient(client.app).post(f"/unsubscribe/{UnsubscribeLinks.configured().token(send_ids['n1'])}")
    assert page.status_code == 200 and "nora@x.example" in page.text
    unsubscribed = {c["customer_id"]: c["unsubscribed"] for c in client.get("/customers?limit=10").json()}
    assert unsubscribed == {"m1": True, "m2": True, "n1": True, "n2": True}


def test_a_customer_written_in_bulk_without_its_address_key_is_still_in_its_household(engine):
    """A bulk insert that left the key out stored "" for it: the customer was in no household, so an unsubscribe
    under another id did not reach them. And a key may be longer than its address (İ lowers to two letters)."""
    from sqlalchemy import insert

    long_address = "İ" * 60 + "@" + "a" * 250 + ".com"  # 315 characters, its key 375
    with session_scope(engine) as session:
        session.execute(insert(Customer), [{"external_id": "b1", "email": " Bulk@X.example"},
                                           {"external_id": "b2", "email": long_address}])  # fmt: skip
        keys = dict(session.execute(select(Customer.external_id, Customer.email_key)).all())
    assert keys["b1"] == "bulk@x.example" and len(keys["b2"]) == 375


def test_customers_are_found_by_their_address_as_addresses_are_compared(client, engine):
    """A customer writes to support from their address: GET /customers had no way to find the customer ids it
    belongs to, so support could not start on "why did I get this email" or "delete me" without the database."""
    with session_scope(engine) as session:
        import_frame(session, "customers", HOUSEHOLD)

    found = client.get("/customers", params={"email": " SHARED@example.com "})

    assert found.status_code == 200, found.text
    assert [c["customer_id"] for c in found.json()] == ["90001", "90002"]  # the household's ids, both
    assert [c["customer_id"] for c in client.get("/customers?email=own@example.com").json()] == ["90003"]
    assert client.get("/customers?email=nobody@example.com").json() == []
    typo = client.get("/customers?email=own.example.com")
    assert typo.status_code == 422 and typo.json()["problems"][0]["field"] == "query.email", typo.text


def test_a_plus_address_written_as_it_stands_in_the_query_is_told_to_write_its_plus_as_2b(client, engine):
    """`GET /customers?email=ann+news@example.com` arrives as "ann news@example.com" (a query reads '+' as a space):
    it was refused as "is not an email address", of an address that is one, as the client wrote it."""
    with session_scope(engine) as session:
        import_frame(session, "customers", HOUSEHOLD.assign(email=["ann+news@example.com", "b@example.com", "c@x.io"]))

    written_as_it_stands = client.get("/customers?email=ann+news@example.com")

    assert written_as_it_stands.status_code == 422
    assert written_as_it_stands.json()["problems"] == [{
        "field": "query.email",
        "message": "'ann news@example.com' is not an email address: it has a space where its '+' was, as a URL's "
        "query reads a '+': write it as %2B (ann%2Bnews@example.com)",
    }]  # fmt: skip
    encoded = client.get("/customers?email=ann%2Bnews@example.com").json()
    assert [c["customer_id"] for c in encoded] == ["90001"]
    spaced = client.get("/customers", params={"email": "ann news"}).json()["problems"][0]
    assert spaced["message"] == "is not an email address"  # no address with a '+' either: said as ever
