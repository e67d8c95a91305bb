"""Clicks a link scanner made on Tailor's tracked links (service.machine_clicks): one as the email arrives, or a sweep
of its links within a second, is recorded as a `machine_click`, kept apart from the readers' clicks in every count."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from service.campaigns import ensure_brand
from service.db.models import Campaign, Customer, Draft, Event, Product, Send
from service.db.session import make_engine, session_scope
from service.outcome_reports import reported_by_email_service
from service.signed_links import click_event_id
from service.tracking import Engagement, _written

SENT_AT = datetime(2026, 3, 2, 9, 0, 0)
TEA, KNIFE = "https://shop.example/p/T1", "https://shop.example/p/K1"
MUG = "https://shop.example/p/M1"


@pytest.fixture
def sent(engine) -> tuple[int, int]:
    """A campaign's email showing the tea and the knife, sent at ``SENT_AT``: (campaign id, send id)."""
    return email_sent(engine)


def email_sent(engine) -> tuple[int, int]:
    """A campaign's email showing the tea and the knife, sent at ``SENT_AT``, in ``engine``'s database (SQLite or
    PostgreSQL): (campaign id, send id)."""
    with session_scope(engine) as session:
        campaign = Campaign(name="Send test", brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        session.add_all(
            [Product(sku="T1", name="Tea", price=5.0, url=TEA), Product(sku="K1", name="Knife", price=40.0, url=KNIFE)]
        )
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        picks = [{"product_id": "T1", "url": TEA}, {"product_id": "K1", "url": KNIFE}]
        draft = Draft(campaign=campaign, customer=customer, status="sent", recommendations=picks)
        session.add(draft)
        session.flush()
        send = Send(customer=customer, campaign_id=campaign.id, draft_id=draft.id, subject="Hi",
                    campaign_type="cross_sell", sent_at=SENT_AT, tracking="opens,clicks")  # fmt: skip
        session.add(send)
        session.flush()
        campaign.status = "sent"
        return campaign.id, send.id


def _click(send_id: int, url: str, seconds: float) -> Engagement:
    return Engagement(send_id, "click", click_event_id(url), SENT_AT + timedelta(seconds=seconds), url)


def _recorded(engine) -> list[tuple[str, str | None, float]]:
    """(kind, product sku, seconds after sending) of the send's clicks, in the order they came."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Event.kind, Product.sku, Event.occurred_at)
            .outerjoin(Product, Product.id == Event.product_id)
            .where(Event.kind.in_(["click", "machine_click"]))
            .order_by(Event.occurred_at)
        )
        return [(kind, sku, (moment - SENT_AT).total_seconds()) for kind, sku, moment in rows]


def test_a_click_as_the_email_arrives_is_a_scanner_s_and_the_reader_s_later_click_of_that_link_still_counts(
    client, engine, sent
):
    campaign_id, send_id = sent
    _written(engine, [_click(send_id, TEA, 0.4)])  # the gateway's scanner, as the mail server took the email
    _written(engine, [_click(send_id, TEA, 600)])  # the reader, ten minutes later, on the same link
    assert _recorded(engine) == [("machine_click", None, 0.4), ("click", "T1", 600.0)]

    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["clicked"], performance["opened"], performance["machine_clicked"]) == (1, 1, 1)
    assert performance["product_clicks"] == [{"product_id": "T1", "product": "T1", "name": "Tea", "clicks": 1}]
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "clicked by link scanners, not readers, in 1 (not counted)" in page


def test_a_sweep_of_an_email_s_links_within_a_second_is_a_scanner_s_even_across_batches(client, engine, sent):
    campaign_id, send_id = sent
    _written(engine, [_click(send_id, TEA, 30.0)])  # alone, it looks like a reader's
    assert _recorded(engine) == [("click", "T1", 30.0)]
    _written(engine, [_click(send_id, KNIFE, 30.6)])  # the next link 0.6 s later: the first was a scanner's too
    assert _recorded(engine) == [("machine_click", None, 30.0), ("machine_click", None, 30.6)]

    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["clicked"], performance["opened"], performance["machine_clicked"]) == (0, 0, 1)
    assert performance["product_clicks"] == []


def test_a_sweep_of_three_links_is_a_scanner_s_to_its_last_click(client, engine, sent):
    """A scanner follows every link of an email, each click recorded apart: the third came after the first two had
    been made machine clicks, found no reader's click beside it, and counted as a reader's."""
    campaign_id, send_id = sent
    with session_scope(engine) as session:
        session.add(Product(sku="M1", name="Mug", price=8.0, url=MUG))
        draft = session.scalars(select(Draft)).one()
        draft.recommendations = [*draft.recommendations, {"product_id": "M1", "url": MUG}]
    for seconds, url in ((30.0, TEA), (30.3, KNIFE), (30.6, MUG)):
        _written(engine, [_click(send_id, url, seconds)])
    assert _recorded(engine) == [("machine_click", None, 30.0), ("machine_click", None, 30.3),
                                 ("machine_click", None, 30.6)]  # fmt: skip

    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["clicked"], performance["opened"], performance["machine_clicked"]) == (0, 0, 1)
    assert performance["product_clicks"] == []


def test_a_reader_s_clicks_at_a_reader_s_pace_all_count(engine, sent):
    _, send_id = sent
    # The same link twice in a second (a double click: one click), and the other link three seconds on.
    _written(engine, [_click(send_id, TEA, 30.0), _click(send_id, TEA, 30.2), _click(send_id, KNIFE, 33.2)])
    assert _recorded(engine) == [("click", "T1", 30.0), ("click", "K1", 33.2)]


def test_a_shop_can_tell_none_apart(engine, sent, monkeypatch):
    monkeypatch.setenv("TAILOR_TRACK_MACHINE_SECONDS", "0")
    _, send_id = sent
    _written(engine, [_click(send_id, TEA, 0.1), _click(send_id, KNIFE, 0.2)])
    assert _recorded(engine) == [("click", "T1", 0.1), ("click", "K1", 0.2)]


def test_an_email_service_may_report_a_scanner_s_click_as_one(client, sent):
    campaign_id, send_id = sent
    event = {"send_id": send_id, "kind": "machine_click", "occurred_at": "2026-03-02T09:00:02Z"}
    assert client.post("/events", json={"events": [event]}).json()["recorded"] == 1
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["clicked"], performance["machine_clicked"]) == (0, 1)


def test_an_email_service_s_machine_click_shows_it_reports_clicks_and_tailor_s_own_does_not(client, engine, sent):
    """An experiment counts a send untracked by Tailor in its click rate once an email service is seen to report
    clicks: a scanner's click it posted shows it does, as surely as a reader's; one Tailor told apart says nothing."""
    _, send_id = sent
    _written(engine, [_click(send_id, TEA, 0.4)])  # Tailor's link, clicked by a scanner as the email arrived
    with session_scope(engine) as session:
        assert session.scalars(select(Event.kind)).all() == ["machine_click"]
        assert not reported_by_email_service(session, "click")
    event = {"send_id": send_id, "kind": "machine_click", "occurred_at": "2026-03-02T09:00:02Z"}
    assert client.post("/events", json={"events": [event]}).json()["recorded"] == 1
    with session_scope(engine) as session:
        assert reported_by_email_service(session, "click") and reported_by_email_service(session, "open")


def test_a_scanner_s_second_sweep_is_told_apart_though_its_first_hit_the_same_links(client, engine, sent):
    campaign_id, send_id = sent
    # A gateway sweeps the email as it arrives, and again when its reader opens it an hour later (a time-of-click
    # check), each click in a batch of its own.
    for seconds, url in ((0.2, TEA), (0.3, KNIFE), (3600.0, TEA), (3600.4, KNIFE)):
        _written(engine, [_click(send_id, url, seconds)])
    # One machine click a link, as one click: the second sweep's are the first's duplicates, and nothing is lost.
    assert _recorded(engine) == [("machine_click", None, 0.2), ("machine_click", None, 0.3)]
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["clicked"], performance["machine_clicked"]) == (0, 1)


def test_an_email_service_s_report_of_a_click_makes_no_tracked_click_a_scanner_s(client, engine, sent):
    campaign_id, send_id = sent
    # The mail relay tracks clicks too: the reader's one click goes through both, and its report comes first.
    event = {"send_id": send_id, "kind": "click", "occurred_at": "2026-03-02T09:10:00.200Z"}
    assert client.post("/events", json={"events": [event]}).json()["recorded"] == 1
    _written(engine, [_click(send_id, TEA, 600.0)])
    assert _recorded(engine) == [("click", "T1", 600.0), ("click", None, 600.2)]


def test_a_click_the_clocks_put_before_the_sending_is_no_scanner_s(engine, sent):
    _, send_id = sent
    # The host that sent the email runs a minute ahead of the server that tracks its links: its reader's click,
    # a minute on, reads as a moment before the sending; only one within a second of it is a scanner's.
    _written(engine, [_click(send_id, TEA, -60.0), _click(send_id, KNIFE, -0.5)])
    assert _recorded(engine) == [("click", "T1", -60.0), ("machine_click", None, -0.5)]


def test_a_sweep_two_servers_record_at_the_same_moment_is_told_apart(shared_engine):
    """Two servers (two engines on one SQLite file, or one PostgreSQL database), each recording one click of a sweep:
    the second's batch comes while the first's has read the recorded clicks and not yet written its own. Each must
    read what the other wrote: on PostgreSQL each transaction read the clicks committed before it, and both were
    recorded as readers'."""
    engine = shared_engine
    _, send_id = email_sent(engine)
    other_server = make_engine(engine.url.render_as_string(hide_password=False))
    started: list[threading.Thread] = []

    def the_other_server_records_now(conn, cursor, statement, *args):
        if not started and statement.lstrip().startswith("SELECT") and "FROM events" in statement:
            started.append(threading.Thread(target=_written, args=(other_server, [_click(send_id, KNIFE, 30.6)])))
            started[0].start()
            _until_done_or_waiting(started[0], engine)  # it writes now, or waits for this server's write

    event.listen(engine, "after_cursor_execute", the_other_server_records_now)
    try:
        _written(engine, [_click(send_id, TEA, 30.0)])
    finally:
        event.remove(engine, "after_cursor_execute", the_other_server_records_now)
    started[0].join(timeout=30)
    other_server.dispose()
    assert _recorded(engine) == [("machine_click", None, 30.0), ("machine_click", None, 30.6)]


def _until_done_or_waiting(thread: threading.Thread, engine, seconds: float = 10.0) -> None:
    """Until ``thread`` ends or, on PostgreSQL, a transaction waits for a lock another holds (SQLite cannot tell
    that: two seconds, well past its start)."""
    if engine.dialect.name != "postgresql":
        thread.join(timeout=2)
        return
    deadline = time.monotonic() + seconds
    with engine.connect() as watcher:
        while thread.is_alive() and time.monotonic() < deadline:
            if watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                return
            watcher.rollback()  # each look a snapshot of its own
            time.sleep(0.01)
