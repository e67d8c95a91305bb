"""Open and click tracking in the email Tailor sends itself, through a real SMTP server on loopback: what the email
carries with TAILOR_TRACK_OPENS and TAILOR_TRACK_CLICKS and without them, and what following its links records."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from generation.brands import load_brand
from service import tracking
from service.db.models import Customer, Draft, Event, Send, Variant
from service.db.session import session_scope
from service.settings import TrackingSettings
from service.signed_links import TrackingLinks
from service.tracking import PIXEL, EngagementRecorder, tracked_html
from tests.service.conftest import set_host_clock_off
from tests.service.test_sending import new_campaign, send_job

PUBLIC = "https://mail.shop.example"
PRODUCT = "https://shop.example/p/T1?utm_source=tailor&size=a%20b+c"
FOOTER = load_brand("hearth").footer_for("en")


def _approved_with_links(client, engine, campaign_id: int) -> int:
    """An approved draft whose email links to a product (an address with a query that HTML escapes), to a mailbox,
    and to a place in itself."""
    html = (
        f'<html><body><p>Hello</p><p><a href="{PRODUCT.replace("&", "&amp;")}" style="color:#000;">View</a></p>'
        '<p><a href="mailto:help@shop.example">Ask us</a> <a href="#top">Top</a></p>'
        f"<p>{FOOTER}</p></body></html>"
    )
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        variant = Variant(label="A", subject="Hello", html=html, text=f"Hello\nView: {PRODUCT}\n--\n{FOOTER}\n")
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id, draft_id = variant.id, draft.id
    assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200
    return draft_id


def _sent(client, engine, mail_server, monkeypatch, **tracking: str):
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", PUBLIC)
    for name, value in tracking.items():
        monkeypatch.setenv(f"TAILOR_TRACK_{name.upper()}", value)
    campaign_id = new_campaign(client)
    _approved_with_links(client, engine, campaign_id)
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    (message,) = messages
    return campaign_id, message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


def _events(engine, campaign_id: int, client=None) -> list[str]:
    if client is not None:  # the records the links left to the app's recorder, written
        assert client.app.state.tailor.engagement.flush()
    with session_scope(engine) as session:
        found = select(Event.kind).join(Send).where(Send.campaign_id == campaign_id, Event.kind != "delivered")
        return sorted(session.scalars(found))


def test_a_tracked_email_records_one_open_and_one_click_per_link_and_leads_on(client, engine, mail_server, monkeypatch):
    campaign_id, html, text = _sent(client, engine, mail_server, monkeypatch, opens="true", clicks="true")

    clicks = re.findall(r'<a href="([^"]*)" style="color:#000;">View</a>', html)
    assert len(clicks) == 1 and clicks[0].startswith(f"{PUBLIC}/track/click/")
    assert PRODUCT.replace("&", "&amp;") not in html  # only through Tailor
    assert '<a href="mailto:help@shop.example">' in html and '<a href="#top">' in html  # not web addresses
    assert re.search(rf'<a href="{PUBLIC}/unsubscribe/[^"]+"', html)  # an unsubscribe is no click
    image = re.search(r'<img src="([^"]*)" width="1" height="1" alt=""[^>]*></body>', html)
    assert image and image.group(1).startswith(f"{PUBLIC}/track/open/")
    assert f"View: {PRODUCT}" in text and "/track/" not in text  # the text body's links as written

    recipient = TestClient(client.app)  # the recipient has no API key
    set_host_clock_off(monkeypatch, timedelta(minutes=1))  # who reads it a minute later: no link scanner
    click = clicks[0].replace("&amp;", "&").removeprefix(PUBLIC)
    assert recipient.head(click, follow_redirects=False).status_code == 302  # a link checker's: not recorded
    assert _events(engine, campaign_id, client) == []
    for _ in range(2):  # clicked twice: one click
        led = recipient.get(click, follow_redirects=False)
        assert led.status_code == 302 and led.headers["location"] == PRODUCT
        assert "no-store" in led.headers["cache-control"]
    opened = image.group(1).removeprefix(PUBLIC)
    for _ in range(2):  # the image loaded again as the email is read again: one open
        pixel = recipient.get(opened)
        assert pixel.status_code == 200 and pixel.content == PIXEL and pixel.headers["content-type"] == "image/gif"
    assert _events(engine, campaign_id, client) == ["click", "open"]
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["sent"], performance["opened"], performance["clicked"]) == (1, 1, 1)
    assert (performance["tracked_opens"], performance["tracked_clicks"]) == (1, 1)
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "opened 1 (100.0%), clicked 1 (100.0%)" in page and "tracked by Tailor: opens in 1 of 1, clicks in 1" in page
    (send,) = client.get("/customers/c1/sends").json()  # and the customer's own record says so
    assert send["tracking"] == "opens,clicks" and {e["kind"] for e in send["events"]} == {"delivered", "open", "click"}


def test_a_tracked_link_whose_address_was_changed_leads_nowhere(client, engine, mail_server, monkeypatch):
    """Its signature covers the address: anyone could otherwise have made Tailor's links lead to their own site."""
    campaign_id, html, _ = _sent(client, engine, mail_server, monkeypatch, clicks="true")
    click = re.search(r'href="([^"]*/track/click/[^"]*)"', html).group(1).replace("&amp;", "&")
    token = click.removeprefix(PUBLIC).split("?")[0]
    recipient = TestClient(client.app)

    for forged in (f"{token}?url=https%3A%2F%2Fevil.example%2F", f"{token}?url=", token):
        page = recipient.get(forged, headers={"Accept-Language": "de-CH, de;q=0.9"}, follow_redirects=False)
        assert page.status_code == 404 and "Dieser Link ist nicht gültig" in page.text, forged
    style = re.search(r'<link rel="stylesheet" href="([^"]*)"', page.text).group(1)
    assert urljoin(f"https://shop.example/mail{token}", style) == "https://shop.example/mail/static/review.css"
    assert recipient.get(re.sub(r"/track/click/\d+", "/track/open/1", token)).status_code == 404
    assert _events(engine, campaign_id, client) == []


@pytest.mark.parametrize(("tracking", "carried"), [({}, ""), ({"clicks": "true"}, "clicks")])
def test_each_send_records_what_its_email_tells_of(client, engine, mail_server, monkeypatch, tracking, carried):
    """A campaign's "opened 0" read the same whether none opened or none of its email could tell of an open."""
    campaign_id, html, _ = _sent(client, engine, mail_server, monkeypatch, **tracking)

    assert (f'<a href="{PRODUCT.replace("&", "&amp;")}"' in html) is (carried == "")
    assert "/track/open/" not in html and "<img" not in html
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["tracked_opens"], performance["tracked_clicks"]) == (0, int(carried == "clicks"))
    with session_scope(engine) as session:
        assert session.scalars(select(Send.tracking).where(Send.campaign_id == campaign_id)).all() == [carried]


def test_a_click_while_the_database_is_down_still_leads_on_and_is_logged(client, caplog):
    """The recipient's way to the product does not hang on the count: the record is left to the recorder's thread,
    and its failure is logged, not shown."""
    links = TrackingLinks.configured()
    click = links.click_url(1, PRODUCT).removeprefix(links.base_url)
    recorder = client.app.state.tailor.engagement
    recorder.engine = create_engine("sqlite:////nonexistent-folder/tailor.db")
    with caplog.at_level(logging.WARNING, logger="tailor.tracking"):
        led = TestClient(client.app).get(click, follow_redirects=False)
        assert recorder.flush()

    assert led.status_code == 302 and led.headers["location"] == PRODUCT
    assert [r.getMessage() for r in caplog.records] == ["tracked opens and clicks were not recorded"]


def test_a_burst_of_opens_and_clicks_is_recorded_once_each_in_batches_and_a_bad_one_costs_no_other(
    engine, caplog, monkeypatch
):
    """Each image or click held one of the server's request threads while it waited its turn to write: a campaign
    opened by thousands at once (images loaded on arrival) left the API and the review page waiting for threads."""
    import threading

    from service.signed_links import OPEN_EVENT_ID, click_event_id

    with session_scope(engine) as session:
        customer = Customer(external_id="b1", email="b1@example.com", marketing_consent=True)
        sent_at = datetime(2026, 12, 1, tzinfo=UTC)
        sends = [Send(customer=customer, subject="Hi", campaign_type="win_back", sent_at=sent_at) for _ in range(300)]
        session.add_all(sends)
        session.flush()
        ids = [send.id for send in sends]
    batches, write, readers_done = [], tracking._write, threading.Event()

    def held_write(engine, batch) -> None:  # the database slow to take the first: the others wait their turn
        batches.append(len(batch))
        readers_done.wait(30)
        write(engine, batch)

    monkeypatch.setattr(tracking, "_write", held_write)
    recorder = EngagementRecorder(engine)

    def reader(send_id: int) -> None:
        for _ in range(2):  # the image loaded twice, the link clicked twice
            recorder.add(send_id, "open", OPEN_EVENT_ID)
            recorder.add(send_id, "click", click_event_id(PRODUCT))

    threads = [threading.Thread(target=reader, args=(send_id,)) for send_id in ids]
    with caplog.at_level(logging.WARNING, logger="tailor.tracking"):
        for thread in threads:
            thread.start()
        recorder.add(999_999, "open", OPEN_EVENT_ID)  # a send this database never had
        for thread in threads:
            thread.join()
        readers_done.set()
        recorder.close()  # writes what waits

    with session_scope(engine) as session:
        recorded = session.execute(select(Event.send_id, Event.kind)).all()
    assert sorted(recorded) == sorted((send_id, kind) for send_id in ids for kind in ("open", "click"))
    assert max(batches) == EngagementRecorder.BATCH  # many at a time, not a transaction each
    assert "a tracked open was not recorded" in caplog.text


def test_an_open_of_an_erased_send_or_one_never_made_records_nothing_and_raises_nothing(engine, caplog):
    recorder = EngagementRecorder(engine)
    with caplog.at_level(logging.WARNING, logger="tailor.tracking"):
        recorder.add(424242, "open", "tailor-open")
        recorder.close()
    assert "a tracked open was not recorded" in caplog.text
    with session_scope(engine) as session:
        assert session.scalars(select(Event)).all() == []


@pytest.mark.parametrize(
    ("html", "expected_end"),
    [("<p>Hi</p></BODY></html>", "</BODY></html>"), ("<p>Hi</p>", '1px;">')],
)
def test_the_open_image_goes_at_the_end_of_the_body_or_of_a_fragment(html, expected_end):
    links = TrackingLinks(b"k" * 32, PUBLIC)
    tracked = tracked_html(html, 7, links, TrackingSettings(opens=True))

    assert tracked.endswith(expected_end) and tracked.count("<img") == 1
    assert links.opened(re.search(r"/track/open/([^\"]+)", tracked).group(1)) == 7
    assert links.opened("8" + re.search(r"/track/open/\d+(\.[^\"]+)", tracked).group(1)) is None  # another send's


def test_each_link_of_an_email_is_signed_for_its_own_address_and_send():
    links = TrackingLinks(b"k" * 32, PUBLIC)
    url = "https://shop.example/ü/p?q=1&r=a+b c#frag"
    token = links.click_url(3, url).split("/track/click/")[1].split("?")[0]

    assert links.clicked(token, url) == 3
    assert links.clicked(token, url + "x") is None and links.clicked(token.replace("3.", "4.", 1), url) is None
    assert TrackingLinks(b"j" * 32, PUBLIC).clicked(token, url) is None  # another key's


def test_clicks_while_an_import_holds_the_database_keep_tailor_answering_and_are_recorded_after(
    client, engine, mail_server, monkeypatch, live_server
):
    """A campaign's clicks come in a burst; each record waited SQLite's busy timeout behind a long import's write on a
    connection and a thread of its own, so that a burst took every connection: the unsubscribe links, the review page
    and /health waited behind them, and the clicks whose wait ran out were lost. (Found by a review of the links.)"""
    import sqlite3
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    campaign_id, _, _ = _sent(client, engine, mail_server, monkeypatch, clicks="true")
    with session_scope(engine) as session:
        send_id = session.scalar(select(Send.id).where(Send.campaign_id == campaign_id))
    links = TrackingLinks.configured()  # twenty links of the email, as a long one has
    clicks = [links.click_url(send_id, f"{PRODUCT}&n={n}").removeprefix(links.base_url) for n in range(20)]
    importing = sqlite3.connect(engine.url.database)
    importing.execute("BEGIN IMMEDIATE")  # a long import's write
    try:
        with httpx.Client(base_url=live_server, timeout=60) as recipient, ThreadPoolExecutor(20) as browsers:
            led = list(browsers.map(lambda click: recipient.get(click).status_code, clicks))
            started = time.monotonic()
            health = recipient.get("/health")
            waited = time.monotonic() - started
            clicked_at = datetime.now(UTC)
    finally:
        importing.rollback()
        importing.close()

    assert led == [302] * 20 and health.status_code == 200
    assert waited < 3, f"/health waited {waited:.1f} s behind the clicks' records"
    deadline = time.monotonic() + 60
    while len(_events(engine, campaign_id)) < 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    # Each recorded once the import's write was done; twenty links of one email within a second: a link scanner's.
    assert _events(engine, campaign_id) == ["machine_click"] * 20
    with session_scope(engine) as session:  # at the moment it came, not when it could be written
        moments = session.scalars(select(Event.occurred_at).where(Event.kind == "machine_click")).all()
    assert all(moment.replace(tzinfo=UTC) <= clicked_at for moment in moments)


def test_records_that_sqlite_s_writer_keeps_waiting_past_its_timeout_are_written_once_it_is_free(engine, caplog):
    """A record that waited out the busy timeout behind a long import's write was logged and lost."""
    import sqlite3
    import time

    from service.signed_links import OPEN_EVENT_ID

    with session_scope(engine) as session:
        send = Send(customer=Customer(external_id="w1", email="w1@example.com", marketing_consent=True),
                    subject="Hi", campaign_type="win_back", sent_at=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
        session.add(send)
        session.flush()
        send_id = send.id
    impatient = create_engine(f"sqlite:///{engine.url.database}", connect_args={"timeout": 0.1})
    recorder = EngagementRecorder(impatient)
    importing = sqlite3.connect(engine.url.database)
    importing.execute("BEGIN IMMEDIATE")  # a long import's write, held past the busy timeout several times
    with caplog.at_level(logging.WARNING, logger="tailor.tracking"):
        recorder.add(send_id, "open", OPEN_EVENT_ID)
        time.sleep(1.0)
        importing.rollback()
        importing.close()
        recorder.close()
    impatient.dispose()

    with session_scope(engine) as session:
        assert session.scalars(select(Event.kind).where(Event.send_id == send_id)).all() == ["open"]
    assert caplog.records == []
