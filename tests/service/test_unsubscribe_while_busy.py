"""An unsubscribe link followed while another connection holds SQLite's one write lock past the busy timeout (a big
customers import writing) was answered 503 and lost: the person is told it is recorded and takes effect before any
further email, it is kept on disk (once, however often the button is pressed), written once the lock is free at the
moment of the click, exactly once, and no send mails them meanwhile, nor does an export offer them to another
sender."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import timedelta

from sqlalchemy import select

from service import clock, unsubscribe_spool
from service import unsubscribe as unsubscribe_ops
from service.clock import utcnow
from service.consent import consent_history
from service.db.models import Customer, Event, Send
from service.db.session import session_scope
from service.kept_unsubscribes import apply_kept
from service.signed_links import UnsubscribeLinks
from tests.service.conftest import set_host_clock_off
from tests.service.test_sending import approved_draft, new_campaign, send_job

# What the page says while the unsubscribe waits on disk: the truth, that it is recorded and holds before any email.
KEPT = "It takes effect before any further email is sent."


def _mailed_before(engine) -> tuple[int, int]:
    """Customer c1, mailed a month ago: (their row id, that send's id)."""
    with session_scope(engine) as session:
        send = Send(customer=Customer(external_id="c1", email="c1@example.com", marketing_consent=True),
                    subject="Hi", campaign_type="win_back", sent_at=utcnow() - timedelta(days=30))  # fmt: skip
        session.add(send)
        session.flush()
        return send.customer_id, send.id


def _recorded(engine, customer_id: int) -> tuple[bool, list, list]:
    """Whether the customer is unsubscribed, their consent history's unsubscribes (when, through what), and the
    unsubscribe events' moments."""
    with session_scope(engine) as session:
        unsubscribed = session.get(Customer, customer_id).unsubscribed
        changes = [(c.took_effect_at, c.source) for c in consent_history(session, customer_id)
                   if c.change == "unsubscribed"]  # fmt: skip
        moments = session.scalars(select(Event.occurred_at).where(Event.kind == "unsubscribe")).all()
    return unsubscribed, changes, moments


def test_an_unsubscribe_while_the_lock_is_held_is_told_recorded_and_written_after_at_the_click_s_time(
    client, engine, locked
):
    customer_id, send_id = _mailed_before(engine)
    token = UnsubscribeLinks.configured().token(send_id)
    release = locked()  # a customers import's write
    try:
        before = utcnow()
        page = client.post(f"/unsubscribe/{token}")
        after = utcnow()
        again = client.get(f"/unsubscribe/{token}")  # the page opened again: it does not ask a second time
        time.sleep(0.5)  # still held, several busy timeouts on
        assert _recorded(engine, customer_id) == (False, [], [])  # kept: nothing could be written yet
    finally:
        release()

    assert page.status_code == 200, page.text
    assert KEPT in page.text and KEPT in again.text
    assert client.app.state.tailor.kept_unsubscribes.wait(10)
    unsubscribed, changes, moments = _recorded(engine, customer_id)
    assert unsubscribed and len(changes) == 1 and changes[0][1] == "unsubscribe link"
    assert before <= changes[0][0] <= after and moments == [changes[0][0]]  # the click's moment, not the write's
    assert unsubscribe_spool.kept() == []


def test_a_send_after_the_lock_is_freed_applies_a_kept_unsubscribe_first_and_once(
    client, engine, locked, mail_server, monkeypatch
):
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example/")
    customer_id, send_id = _mailed_before(engine)
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "c1")
    token = UnsubscribeLinks.configured().token(send_id)
    release = locked()
    try:
        with session_scope(engine) as session:  # the route's work, without waking the app's writer of kept ones
            told = unsubscribe_ops.unsubscribe(session, token)
        clicked = unsubscribe_spool.kept()
        exported = client.get(f"/campaigns/{campaign_id}/export")  # for another sender: not to be mailed either
    finally:
        release()
    assert told.unsubscribed and told.kept_for_later and len(clicked) == 1
    assert exported.status_code == 200 and [json.loads(line)["mailable"] for line in exported.text.splitlines()] == [
        False
    ]

    result = send_job(client, campaign_id)["result"]

    assert messages == [] and result["sent"] == 0 and result["skipped"] == 1
    unsubscribed, changes, moments = _recorded(engine, customer_id)
    assert unsubscribed and [moment for moment, _ in changes] == moments == [clicked[0].clicked_at]
    # Written again, as after a crash between the database's commit and the file's update: nothing more recorded.
    unsubscribe_spool.keep(send_id, clicked[0].clicked_at)
    assert apply_kept(engine) == 1 and apply_kept(engine) == 0
    assert _recorded(engine, customer_id) == (unsubscribed, changes, moments)


def test_an_email_service_s_unsubscribe_while_the_lock_is_held_is_a_503_to_retry_and_written_when_sent_again(
    client, engine, locked
):
    """POST /events keeps its 503: an email service retries a 5xx (with the event's own time, so the retry is the
    event, at its moment); nothing of the batch is written meanwhile."""
    customer_id, send_id = _mailed_before(engine)
    clicked_at = utcnow() - timedelta(minutes=1)
    body = {"events": [{"send_id": send_id, "kind": "unsubscribe", "occurred_at": clicked_at.isoformat() + "Z"}]}
    release = locked()
    try:
        busy = client.post("/events", json=body)
    finally:
        release()

    assert busy.status_code == 503 and busy.headers["retry-after"] == "30"
    assert _recorded(engine, customer_id) == (False, [], []) and unsubscribe_spool.kept() == []
    assert client.post("/events", json=body).json()["recorded"] == 1
    assert _recorded(engine, customer_id) == (True, [(clicked_at, "unsubscribe event")], [clicked_at])


def test_the_page_answers_within_about_a_second_not_the_busy_timeout(client, engine, tailor_home):
    """The POST waited SQLite's whole busy timeout (10 s) behind an import's write before it could answer."""
    customer_id, send_id = _mailed_before(engine)
    holder = sqlite3.connect(tailor_home / "tailor.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        page = client.post(f"/unsubscribe/{UnsubscribeLinks.configured().token(send_id)}")
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert page.status_code == 200 and KEPT in page.text
    assert waited < 3, f"the page waited {waited:.1f} s"
    assert client.app.state.tailor.kept_unsubscribes.wait(15) and _recorded(engine, customer_id)[0]


def test_a_line_cut_short_by_a_stopped_process_costs_no_other_unsubscribe(tailor_home, caplog):
    """A line the process stopped writing (never answered to anyone) is removed; one kept after it is read whole, not
    joined to it, and forgetting one keeps the others."""
    clicked_at = utcnow()
    unsubscribe_spool.keep(1, clicked_at)
    with unsubscribe_spool.spool_path().open("a") as spool:
        spool.write('{"id": "0f", "send_')  # no newline: cut short
    unsubscribe_spool.keep(2, clicked_at)

    first, second = unsubscribe_spool.kept()
    assert (first.send_id, second.send_id, second.clicked_at) == (1, 2, clicked_at)
    assert "cut short" in caplog.text
    unsubscribe_spool.forget({first.id})
    assert unsubscribe_spool.kept() == [second]
    assert len(unsubscribe_spool.spool_path().read_text().splitlines()) == 1


def test_the_page_of_a_kept_unsubscribe_says_it_is_recorded_not_done_and_done_once_written(client, engine, locked):
    """It said "You are unsubscribed" while nothing was written yet: what is true is that the unsubscribe is recorded
    and takes effect before any further email. Once written, the page opened again says unsubscribed."""
    customer_id, send_id = _mailed_before(engine)
    token = UnsubscribeLinks.configured().token(send_id)
    release = locked()
    try:
        page = client.post(f"/unsubscribe/{token}")
        again = client.get(f"/unsubscribe/{token}")  # a mail scanner's fetch, or the person's: it writes nothing
    finally:
        release()

    for shown in (page, again):
        assert shown.status_code == 200 and "Your unsubscribe is recorded" in shown.text, shown.text
        assert "We have recorded your request to stop marketing email from us to c1@example.com." in shown.text
        assert KEPT in shown.text and "You are unsubscribed" not in shown.text and "<form" not in shown.text
    assert len(unsubscribe_spool.kept()) == 1
    assert client.app.state.tailor.kept_unsubscribes.wait(10) and _recorded(engine, customer_id)[0]
    written = client.get(f"/unsubscribe/{token}").text
    assert "You are unsubscribed" in written and KEPT not in written


def test_a_click_again_while_kept_keeps_nothing_more_and_the_first_click_is_the_moment(engine, locked, tailor_home):
    """The page posted again (a reload), or a mail client's one-click unsubscribe sent again, while the first was
    kept: a second line was kept, and once the database was free a click again wrote the unsubscribe at its own
    moment, not the first click's, which the consent history is to keep."""
    customer_id, send_id = _mailed_before(engine)
    token = UnsubscribeLinks.configured().token(send_id)
    release = locked()
    try:
        with session_scope(engine) as session:  # the route's work, without waking the app's writer of kept ones
            first = unsubscribe_ops.unsubscribe(session, token)
        with session_scope(engine) as session:
            second = unsubscribe_ops.unsubscribe(session, token)
        kept = unsubscribe_spool.kept()
    finally:
        release()
    assert first.kept_for_later and second.kept_for_later and len(kept) == 1

    time.sleep(0.01)  # the click below comes later than the first
    with session_scope(engine) as session:  # the database free, the first still kept: written at its moment
        third = unsubscribe_ops.unsubscribe(session, token)
    assert third.unsubscribed and not third.kept_for_later
    assert apply_kept(engine) == 1 and unsubscribe_spool.kept() == []
    unsubscribed, changes, moments = _recorded(engine, customer_id)
    assert unsubscribed and [moment for moment, _ in changes] == moments == [kept[0].clicked_at]


def test_a_click_again_after_the_clock_was_set_back_is_written_now_as_the_writer_writes_a_kept_one(
    client, engine, locked, monkeypatch
):
    """A click again while the first was kept reused the first click's moment; the host's clock set back since (by
    more than the events' allowed skew) made that moment one still to come, and the click was refused as dated after
    now, where the writer of kept unsubscribes writes such a one at the current time. The click is the unsubscribe:
    written now, and the kept one then finds it done and records nothing more."""
    customer_id, send_id = _mailed_before(engine)
    token = UnsubscribeLinks.configured().token(send_id)
    release = locked()
    try:
        with session_scope(engine) as session:  # the route's work, without waking the app's writer of kept ones
            first = unsubscribe_ops.unsubscribe(session, token)
        kept = unsubscribe_spool.kept()
    finally:
        release()
    assert first.kept_for_later and len(kept) == 1

    set_host_clock_off(monkeypatch, -timedelta(hours=1))  # set back an hour (by hand, or a clock sync's step)
    before = clock.utcnow()
    page = client.post(f"/unsubscribe/{token}")
    after = clock.utcnow()

    assert page.status_code == 200 and "You are unsubscribed" in page.text and KEPT not in page.text, page.text
    unsubscribed, changes, moments = _recorded(engine, customer_id)
    assert after < kept[0].clicked_at - timedelta(minutes=50)
    assert unsubscribed and len(changes) == 1 and before <= changes[0][0] <= after and moments == [changes[0][0]]
    assert apply_kept(engine) == 1 and unsubscribe_spool.kept() == []
    assert _recorded(engine, customer_id) == (unsubscribed, changes, moments)
