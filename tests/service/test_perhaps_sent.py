"""A send whose mail server's answer was lost (the connection dropped while it took the email) may or may not have
reached its customer: the figures and the engagement model leave it out until an event says it went, the contact
policy counts it, and a customer's history shows it, marked as perhaps sent."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
from sqlalchemy import select

from service.audiences import mailed_recently
from service.clock import utcnow
from service.db.models import Customer, Send
from service.db.session import session_scope
from service.pipeline import frames
from tests.service.test_send_transactions import _AnswerLostServer
from tests.service.test_sending import approved_draft, new_campaign, send_job, serving_smtp


def _one_sent_one_perhaps(client, engine, monkeypatch) -> tuple[int, dict[str, int]]:
    """A campaign whose email to c1 the mail server took, and whose email to c2 it was taking when the connection
    dropped; and each customer's send id."""
    with serving_smtp(_AnswerLostServer(accept=1), monkeypatch):
        campaign_id = new_campaign(client)
        for external_id in ("c1", "c2"):
            approved_draft(client, engine, campaign_id, external_id=external_id)
        assert send_job(client, campaign_id)["status"] == "failed"
    with session_scope(engine) as session:
        sends = session.execute(
            select(Customer.external_id, Send.id).join(Customer).where(Send.campaign_id == campaign_id)
        )
        return campaign_id, dict(sends.all())


def _opened(client, send_id: int) -> None:
    response = client.post("/events", json={"events": [{"send_id": send_id, "kind": "open"}]})
    assert response.status_code == 200 and response.json()["recorded"] == 1, response.text


def test_a_campaign_counts_an_email_perhaps_sent_apart_from_those_sent(client, engine, monkeypatch):
    """The campaign said it sent 2 emails, and c1's open was an open rate of 50 %, when c2 may never have had one."""
    campaign_id, sends = _one_sent_one_perhaps(client, engine, monkeypatch)
    _opened(client, sends["c1"])

    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["sent"], performance["perhaps_sent"]) == (1, 1)
    assert performance["opened"] == 1 and performance["opened_rate"] == 1.0
    page = client.get(f"/review/campaigns/{campaign_id}")
    assert "sent 1: opened 1 (100.0%)" in page.text and "perhaps sent 1" in page.text

    deleted = client.delete(f"/campaigns/{campaign_id}")
    assert deleted.json()["message"].startswith(f"Campaign {campaign_id} has sent 2 emails, 1 of them perhaps: ")

    _opened(client, sends["c2"])  # an open says it went
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["sent"], performance["perhaps_sent"], performance["opened_rate"]) == (2, 0, 1.0)


def test_a_campaign_whose_only_email_was_perhaps_sent_has_no_rates(client, engine, monkeypatch):
    with serving_smtp(_AnswerLostServer(accept=0), monkeypatch):
        campaign_id = new_campaign(client)
        approved_draft(client, engine, campaign_id, external_id="c1")
        assert send_job(client, campaign_id)["status"] == "failed"
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["sent"], performance["perhaps_sent"], performance["opened_rate"]) == (0, 1, None)
    assert client.get("/review").status_code == 200
    assert client.get(f"/review/campaigns/{campaign_id}").status_code == 200
    deleted = client.delete(f"/campaigns/{campaign_id}")  # it said "has sent 1 email", which no figure showed
    assert deleted.status_code == 409
    assert deleted.json()["message"] == f"Campaign {campaign_id} has perhaps sent 1 email: it is kept with its results."


def test_the_engagement_model_and_send_times_do_not_learn_from_an_email_perhaps_sent(client, engine, monkeypatch):
    """The engagement model learnt "not opened" from an email its customer may never have had, and send times
    counted it at its hour; imported history, which has no draft, is learnt from as before."""
    _one_sent_one_perhaps(client, engine, monkeypatch)
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        imported = Send(customer_id=customer.id, subject="Old news", campaign_type="winback", sent_at=utcnow())
        session.add(imported)
    with session_scope(engine) as session:
        learnt = frames.sends_frame(session)
        assert sorted(learnt.customer_id) == ["c1", "c1"]
        assert len(frames.sends_frame(session, sent_before=utcnow() + timedelta(days=1), latest=5)) == 2
        assert frames.count_sends(session, utcnow() + timedelta(days=1)) == (2, 0)
        population, customers = frames.send_open_counts(session, ["c1", "c2"])
        assert population.sends.sum() == 2 and set(customers.customer_id) == {"c1"}


def test_the_contact_policy_counts_an_email_perhaps_sent(client, engine, monkeypatch):
    """A customer who may have been mailed is not mailed again within the contact policy's days."""
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "3")
    _one_sent_one_perhaps(client, engine, monkeypatch)
    with session_scope(engine) as session:
        assert mailed_recently(session, pd.Series(["c1", "c2", "c3"])) == 2


def test_a_customer_s_history_and_export_mark_an_email_perhaps_sent(client, engine, monkeypatch):
    """A customer asking what they were sent was shown an email that may never have gone as one that went."""
    campaign_id, sends = _one_sent_one_perhaps(client, engine, monkeypatch)
    for external_id, perhaps in (("c1", False), ("c2", True)):
        (shown,) = client.get(f"/customers/{external_id}/sends").json()
        assert (shown["id"], shown["perhaps_sent"]) == (sends[external_id], perhaps)
        (held,) = client.get(f"/customers/{external_id}/export").json()["sends"]
        assert held["perhaps_sent"] is perhaps

    export = client.get(f"/campaigns/{campaign_id}/export")
    lines = {line["customer_id"]: line for line in map(json.loads, export.text.splitlines())}
    assert (lines["c1"]["sent"], lines["c1"]["perhaps_sent"]) == (True, False)
    assert (lines["c2"]["sent"], lines["c2"]["perhaps_sent"]) == (False, True)


def test_every_reader_tells_an_email_perhaps_sent_from_one_that_went_on_either_database(any_engine):
    """The rule is one SQL expression (``Send.perhaps_sent``): on PostgreSQL as on SQLite, a send of Tailor's with no
    event is left out of the figures and the training rows, one with any event is not, nor is imported history."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign, Draft, Event
    from service.performance import campaign_performance

    now = utcnow().replace(microsecond=0)
    with session_scope(any_engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        for external_id, events in (("c1", ["delivered", "open"]), ("c2", []), ("c3", ["bounce"])):
            customer = Customer(external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True)
            draft = Draft(campaign=campaign, customer=customer, status="sent")
            session.add(draft)
            session.flush()
            send = Send(
                customer=customer, campaign_id=campaign.id, draft_id=draft.id, subject="Hello",
                campaign_type="cross_sell", sent_at=now, events=[Event(kind=kind, occurred_at=now) for kind in events],
            )  # fmt: skip
            session.add(send)
        session.add(Send(customer=customer, subject="Old news", campaign_type="winback", sent_at=now))
        session.flush()
        campaign_id = campaign.id

    with session_scope(any_engine) as session:
        performance = campaign_performance(session, campaign_id)
        assert (performance["sent"], performance["perhaps_sent"], performance["opened_rate"]) == (2, 1, 0.5)
        assert sorted(frames.sends_frame(session).customer_id) == ["c1", "c3", "c3"]
        assert len(frames.sends_frame(session, sent_before=now, latest=10)) == 3
        assert frames.count_sends(session, now) == (3, 0)
        assert frames.send_open_counts(session, ["c2"])[0].sends.sum() == 3
        perhaps = session.scalars(select(Customer.external_id).join(Send.customer).where(Send.perhaps_sent))
        assert perhaps.all() == ["c2"]


def test_an_email_perhaps_sent_and_opened_since_is_not_mailed_again_when_approved_again(client, engine, monkeypatch):
    """The open says the first email went: approved again (the flag asks a person to), it was mailed a second time,
    as only the mail server's "delivered" counted."""
    from service.db.models import Draft

    campaign_id, sends = _one_sent_one_perhaps(client, engine, monkeypatch)
    with session_scope(engine) as session:
        draft_id = session.scalar(select(Send.draft_id).where(Send.id == sends["c2"]))
    shown = client.get(f"/drafts/{draft_id}").json()  # a client saw a sent variant on a flagged draft, and no more
    assert (shown["status"], shown["perhaps_sent"]) == ("flagged", True)
    assert shown["sent_variant_id"] == shown["selected_variant_id"] is not None
    listed = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert sorted((d["customer_id"], d["perhaps_sent"]) for d in listed) == [("c1", False), ("c2", True)]
    _opened(client, sends["c2"])
    assert client.get(f"/drafts/{draft_id}").json()["perhaps_sent"] is False
    assert client.post(f"/drafts/{draft_id}/approve", json={"comment": "send it"}).status_code == 200
    relay = _AnswerLostServer(accept=99)
    with serving_smtp(relay, monkeypatch):
        assert send_job(client, campaign_id)["status"] == "succeeded"
    assert relay.messages == {}
    with session_scope(engine) as session:
        assert session.get(Draft, draft_id).status == "sent"
        assert [event.kind for event in session.get(Send, sends["c2"]).events] == ["open"]
