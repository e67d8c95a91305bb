"""TAILOR_HISTORY_KEEP_DAYS: sends with their events, and campaigns whose every draft and send is older, are deleted
once older than that; whom not to mail, and what a campaign being sent or an experiment still counting needs, stay.
Before it, a customer's history was kept for ever, with no setting to limit it (GDPR's storage limitation)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from service.campaigns import ensure_brand
from service.clock import utcnow
from service.db.models import (
    Assignment,
    Campaign,
    Customer,
    DeletedCampaign,
    Draft,
    ErasedSend,
    Event,
    Interaction,
    Job,
    Product,
    Review,
    Send,
)
from service.db.session import session_scope
from service.events import ERASED, ingest_events
from service.retention import prune_history
from service.schemas import EventIn
from service.settings import HistorySettings, environment_problem
from service.signed_links import UnsubscribeLinks
from service.unsubscribe import unsubscribe

OLD, RECENT = utcnow() - timedelta(days=100), utcnow() - timedelta(days=10)


def _customer(session, external_id: str) -> Customer:
    customer = Customer(external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True)
    session.add(customer)
    return customer


def _send(session, customer: Customer, sent_at, campaign: Campaign | None = None, **fields) -> Send:
    send = Send(customer=customer, subject="Hi", campaign_type="vip", sent_at=sent_at, to_email=customer.email,
                campaign_id=campaign.id if campaign else None, **fields)  # fmt: skip
    session.add(send)
    session.flush()
    return send


def _campaign(session, name: str, written_at, **fields) -> Campaign:
    """A campaign with one draft for a customer of its own, written (and last changed) at ``written_at``."""
    campaign = Campaign(name=name, brand=ensure_brand(session, "hearth"), campaign_type="vip", status="sent",
                        created_at=written_at, **fields)  # fmt: skip
    session.add(campaign)
    session.flush()
    customer = _customer(session, f"of-{name}")
    draft = Draft(campaign=campaign, customer=customer, status="sent", created_at=written_at, updated_at=written_at)
    draft.reviews.append(Review(action="approve", created_at=written_at))
    session.add(draft)
    session.flush()
    return campaign


def _count(engine, table) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(table))


def test_sends_events_and_campaigns_older_than_the_kept_days_go_and_the_rest_stays(any_engine, monkeypatch, caplog):
    engine = any_engine  # on PostgreSQL too: the deletes and the queries of what is in use are plain SQL, run on both
    with session_scope(engine) as session:
        c1 = _customer(session, "c1")
        product = Product(sku="p1", name="Mug", price=9.0)
        session.add(product)
        session.flush()
        bought = OLD - timedelta(days=900)
        session.add(Interaction(order_id="o1", customer_id=c1.id, product_id=product.id, timestamp=bought))
        old_campaign, recent_campaign = _campaign(session, "old", OLD), _campaign(session, "recent", RECENT)
        old_send = _send(session, c1, OLD, old_campaign, message_id="<old@shop.example>")
        imported = _send(session, c1, OLD - timedelta(days=400), external_id="s-old")  # imported, of no campaign
        recent = _send(session, c1, RECENT, recent_campaign)
        for send in (old_send, imported, recent):
            session.add(Event(send_id=send.id, kind="open", occurred_at=send.sent_at + timedelta(hours=1)))
        old_send_id, imported_id, recent_id = old_send.id, imported.id, recent.id
        old_campaign_id, recent_campaign_id = old_campaign.id, recent_campaign.id

    monkeypatch.delenv("TAILOR_HISTORY_KEEP_DAYS", raising=False)  # unset: kept for ever, as before
    assert prune_history(engine) == {}
    assert (_count(engine, Send), _count(engine, Event), _count(engine, Campaign)) == (3, 3, 2)

    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", "60")
    with caplog.at_level(logging.INFO, logger="tailor.retention"):
        assert prune_history(engine) == {"sends": 2, "events": 2, "campaigns": 1, "drafts": 1}
    with session_scope(engine) as session:
        assert session.scalars(select(Send.id)).all() == [recent_id]
        assert session.scalars(select(Event.send_id)).all() == [recent_id]
        assert session.scalars(select(Campaign.id)).all() == [recent_campaign_id]
        assert session.get(DeletedCampaign, old_campaign_id).name == "old"  # its id never given again
        assert session.scalar(select(func.count()).select_from(Draft)) == 1
        assert session.scalar(select(func.count()).select_from(Review)) == 1
        assert set(session.scalars(select(ErasedSend.id))) == {old_send_id, imported_id}
        assert session.scalar(select(func.count()).select_from(Interaction)) == 1  # orders are the shop's records
    (line,) = [record for record in caplog.records if record.name == "tailor.retention"]
    assert (line.sends, line.events, line.campaigns, line.drafts) == (2, 2, 1, 1)
    assert "c1" not in str(line.__dict__)

    # A late event of a deleted send is skipped, not refused with the batch's others, named by Tailor's id or, an
    # imported send, by the shop's.
    late_events = [
        EventIn(send_id=old_send_id, kind="click"), EventIn(send_id=recent_id, kind="click"),
        EventIn(shop_send_id="s-old", kind="open"),
    ]  # fmt: skip
    with session_scope(engine) as session:
        late = ingest_events(session, late_events)
    assert late == {
        "recorded": 1, "duplicates": 0,
        "skipped": [{"index": 0, "send_id": old_send_id, "reason": ERASED},
                    {"index": 2, "shop_send_id": "s-old", "reason": ERASED}],
    }  # fmt: skip
    assert prune_history(engine) == {"sends": 0, "events": 0, "campaigns": 0, "drafts": 0}


def test_sends_go_in_batches(engine, monkeypatch):
    monkeypatch.setattr("service.retention.SENDS_PER_BATCH", 3)
    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", "60")
    with session_scope(engine) as session:
        customer = _customer(session, "c1")
        for day in range(10):
            _send(session, customer, OLD - timedelta(days=day))
    statements = []
    from sqlalchemy import event

    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert prune_history(engine)["sends"] == 10
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert sum(statement.startswith("DELETE FROM sends") for statement in statements) == 4  # 3, 3, 3, 1
    assert _count(engine, Send) == 0


def test_a_customer_stays_unsubscribed_or_bounced_once_the_events_that_said_so_are_deleted(engine, monkeypatch):
    """The unsubscribe and the bounce are kept on the customer; and the unsubscribe link of an email deleted as old
    still stops the mail to its address."""
    with session_scope(engine) as session:
        left, bounced, later = (_customer(session, name) for name in ("left", "bounced", "later"))
        sends = {customer.external_id: _send(session, customer, OLD).id for customer in (left, bounced, later)}
        ingest_events(session, [
            EventIn(send_id=sends["left"], kind="unsubscribe", occurred_at=OLD + timedelta(days=1)),
            EventIn(send_id=sends["bounced"], kind="bounce", occurred_at=OLD + timedelta(minutes=1)),
        ])  # fmt: skip

    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", "60")
    assert prune_history(engine)["events"] == 2
    with session_scope(engine) as session:
        assert _count(engine, Event) == 0
        customers = {c.external_id: c for c in session.scalars(select(Customer))}
        assert customers["left"].unsubscribed and customers["left"].why_not_mailable == "unsubscribed"
        assert customers["bounced"].email_bounced
        assert customers["later"].mailable

        unsubscribe(session, UnsubscribeLinks.configured().token(sends["later"]))  # the link of a deleted email
    with session_scope(engine) as session:
        assert session.scalar(select(Customer.unsubscribed).where(Customer.external_id == "later"))


def test_a_campaign_being_sent_or_generated_or_an_experiment_still_counting_keeps_its_history(engine, monkeypatch):
    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", "60")
    with session_scope(engine) as session:
        kept = {}
        sending = _campaign(session, "sending", OLD)
        session.add(Job(id="send-job", kind="send", status="running", campaign_id=sending.id))
        generating = _campaign(session, "generating", OLD)
        generating.status = "generating"
        waiting = _campaign(session, "waiting", OLD)  # a draft waits for the due-check to send it
        session.add(Draft(campaign=waiting, customer=_customer(session, "w"), status="approved",
                          send_after=utcnow() + timedelta(hours=3), updated_at=OLD))  # fmt: skip
        retrying = _campaign(session, "retrying", OLD)  # sent now; one address was refused for now, tried again later
        session.add(Draft(campaign=retrying, customer=_customer(session, "r"), status="approved", refusals_for_now=1,
                          retry_after=utcnow() + timedelta(minutes=15), updated_at=OLD))  # fmt: skip
        experiment = _campaign(session, "experiment", OLD, holdout_share=0.1)
        late_arm = _customer(session, "late-arm")
        session.flush()
        session.add(Assignment(campaign_id=experiment.id, customer_id=late_arm.id, arm="holdout", assigned_at=RECENT))
        done = _campaign(session, "done", OLD)
        for campaign in (sending, generating, waiting, retrying, experiment, done):
            kept[campaign.name] = (
                campaign.id,
                _send(session, _customer(session, f"to-{campaign.name}"), OLD, campaign).id,
            )

    prune_history(engine)
    with session_scope(engine) as session:
        campaigns = set(session.scalars(select(Campaign.name)))
        sends = set(session.scalars(select(Send.id)))
    assert campaigns == {"sending", "generating", "waiting", "retrying", "experiment"}
    assert sends == {send_id for name, (_, send_id) in kept.items() if name != "done"}

    with session_scope(engine) as session:  # once the job ended and the window closed, they go too
        session.get(Job, "send-job").status = "succeeded"
        session.execute(Assignment.__table__.update().values(assigned_at=OLD))
    assert prune_history(engine)["campaigns"] == 2
    with session_scope(engine) as session:
        assert set(session.scalars(select(Campaign.name))) == {"generating", "waiting", "retrying"}


@pytest.mark.parametrize(
    ("setting", "days", "kept_days"),
    [
        ("TAILOR_EXPERIMENT_CONVERSION_WINDOW_DAYS", "45", "45"),
        ("TAILOR_SCORING_OUTCOME_DAYS", "40", "35"),
        ("TAILOR_SEND_MIN_DAYS_BETWEEN", "50", "50"),
    ],
)
def test_kept_days_no_longer_than_what_reads_the_history_back_are_refused_naming_it(
    engine, monkeypatch, setting, days, kept_days
):
    """A shorter history would delete what the setting still reads: refused at start, naming both."""
    from service.app import create_app

    monkeypatch.setenv(setting, days)
    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", kept_days)
    with pytest.raises(ValidationError) as refused:
        create_app(engine)
    told = environment_problem(refused.value)
    assert f"TAILOR_HISTORY_KEEP_DAYS='{kept_days}'" in told and setting in told

    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", str(int(float(days)) + 1))
    assert HistorySettings().keep_days == int(float(days)) + 1
    for too_few in ("29", "1.5", "0"):  # a month at least, in whole days
        monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", too_few)
        with pytest.raises(ValidationError):
            HistorySettings()


def test_the_server_prunes_the_history_while_it_runs(engine, api_key, monkeypatch):
    from fastapi.testclient import TestClient

    from service.app import create_app

    monkeypatch.setenv("TAILOR_HISTORY_KEEP_DAYS", "60")
    monkeypatch.setattr("service.app.PRUNE_EVERY_SECONDS", 0.2)
    with session_scope(engine) as session:
        _send(session, _customer(session, "c1"), OLD)
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}):
        deadline = time.monotonic() + 10
        while _count(engine, Send):
            assert time.monotonic() < deadline, "the old send was never deleted"
            time.sleep(0.1)


def test_a_shop_without_a_server_prunes_the_history_from_the_command_line(engine, tmp_path):
    """Only `tailor serve` pruned: a shop that runs Tailor from the command line and cron kept every send for ever,
    whatever TAILOR_HISTORY_KEEP_DAYS said."""
    from tests.service.test_cli import run

    with session_scope(engine) as session:
        _send(session, customer := _customer(session, "c1"), OLD)
        _send(session, customer, RECENT)
    database = {"DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    unset = run(["history", "prune"], tmp_path, **database)
    assert unset.returncode == 2 and "TAILOR_HISTORY_KEEP_DAYS is not set" in unset.stderr
    assert _count(engine, Send) == 2
    pruned = run(["history", "prune"], tmp_path, TAILOR_HISTORY_KEEP_DAYS="60", **database)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("history older than 60 days deleted: 1 send, 0 events, 0 campaigns, 0 drafts")
    assert _count(engine, Send) == 1
