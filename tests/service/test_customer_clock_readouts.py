"""Where a person reads when a customer's email goes (the campaign's review page, a late draft's reason), the time is
on the customer's clock, named by their zone, for a customer with a zone of their own; and a campaign whose
customers live in several zones says so rather than give one time of the shop's as everyone's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from sqlalchemy import select

from service.clock import utcnow
from service.db.models import Campaign, Customer, Draft, Send
from service.db.session import session_scope
from tests.service.test_sending import approved_draft, new_campaign

ZONES = {"ny": "America/New_York", "ktm": "Asia/Kathmandu", "ber": "Europe/Berlin", "shop": None}


def _customers(engine) -> None:
    with session_scope(engine) as session:
        for external_id, zone in ZONES.items():
            session.add(
                Customer(
                    external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True, timezone=zone
                )
            )


def _local(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def test_the_campaign_page_says_each_drafts_send_time_on_its_customers_clock(client, engine, monkeypatch):
    """A Berlin shop's campaign sent at best hours: the New Yorker's 09:00 read "sends Fri 15:00 CET", and the
    campaign "scheduled for" one Berlin time, as if everyone were mailed then."""
    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Berlin")
    _customers(engine)
    campaign_id = new_campaign(client)
    drafts = {external_id: approved_draft(client, engine, campaign_id, external_id) for external_id in ZONES}
    friday = datetime(2027, 1, 8)  # winter: New York 5 hours behind UTC, Kathmandu 5:45 ahead, Berlin 1 ahead
    nine = {
        "ny": friday + timedelta(hours=14),  # 09:00 in New York
        "ktm": friday + timedelta(hours=3, minutes=15),  # 09:00 in Kathmandu
        "ber": friday + timedelta(hours=8),  # 09:00 in Berlin
        "shop": friday + timedelta(hours=8),  # 09:00 on the shop's clock
    }
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        campaign.scheduled_at, campaign.at_best_hour = friday, True
        for external_id, draft_id in drafts.items():
            session.get(Draft, draft_id).send_after = nine[external_id]

    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "sends Fri 09:00 America/New_York" in page and "sends Fri 09:00 Asia/Kathmandu" in page
    assert page.count("sends Fri 09:00 CET") == 2  # a customer in the shop's zone, and one on its clock
    assert "sends Fri 15:00 CET" not in page and "sends Fri 04:15 CET" not in page
    # what "sends" means is words under the list, not a tooltip a touch screen never shows
    key = re.search(r'<p[^>]* id="draft-times-key"[^>]*>(.*?)</p>', page, re.S)
    assert key is not None and "sends: the customer's best send hour" in unescape(key[1])
    assert "tried again" not in key[1] and 'title="the customer' not in page
    assert (
        "scheduled at each customer's best hour on their own clock from Fri 08 Jan 01:00 CET; its customers live in "
        "3 time zones (America/New_York, Asia/Kathmandu, Europe/Berlin)"
    ) in page
    listed = client.get("/review").text  # the list of campaigns: not one time for all
    assert "scheduled at best hours from Fri 08 Jan 01:00 CET" in listed

    with session_scope(engine) as session:  # one moment for all: the page says it is one, across their zones
        session.get(Campaign, campaign_id).at_best_hour = False
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert (
        "scheduled for Fri 08 Jan 01:00 CET, one moment for all its customers, who live in 3 time zones "
        "(America/New_York, Asia/Kathmandu, Europe/Berlin)"
    ) in page

    with session_scope(engine) as session:  # customers in many zones: the first few named, the others counted
        for number, zone in enumerate(["Asia/Tokyo", "Europe/Lisbon", "Pacific/Kiritimati", "Pacific/Pago_Pago"]):
            customer = Customer(external_id=f"more{number}", email=f"more{number}@example.com", timezone=zone)
            session.add(Draft(campaign_id=campaign_id, customer=customer, status="approved"))
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert (
        "who live in 7 time zones (America/New_York, Asia/Kathmandu, Asia/Tokyo, Europe/Berlin, Europe/Lisbon and 2 "
        "more)"
    ) in page


def test_a_late_drafts_reason_says_when_it_was_due_on_its_customers_clock(client, engine, monkeypatch):
    """A New Yorker's 09:00 email held back after an outage read "it was due at ... 15:00 CET" to a copywriter
    deciding whether a morning email may still go."""
    from service.pipeline.sending import send_due_drafts

    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Berlin")
    _customers(engine)
    campaign_id = new_campaign(client)
    drafts = {external_id: approved_draft(client, engine, campaign_id, external_id) for external_id in ("ny", "shop")}
    due = (utcnow() - timedelta(hours=30)).replace(second=0, microsecond=0)
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).scheduled_at = due
        for draft_id in drafts.values():
            session.get(Draft, draft_id).send_after = due

    held_back = send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["held_back"]
    told = {entry["customer_id"]: entry["changes"] for entry in held_back}
    in_new_york, in_berlin = _local(due, "America/New_York"), _local(due, "Europe/Berlin")
    assert told == {
        "ny": [f"it was due at {in_new_york:%Y-%m-%d %H:%M} America/New_York, 30 hours ago"],
        "shop": [f"it was due at {in_berlin:%Y-%m-%d %H:%M} {in_berlin.tzname()}, 30 hours ago"],
    }
    with session_scope(engine) as session:
        reasons = session.scalars(select(Draft.flag_reasons).where(Draft.id == drafts["ny"])).one()
    assert reasons[-1].startswith(f"Held back at sending: it was due at {in_new_york:%Y-%m-%d %H:%M} America/New_York")
    page = client.get(f"/review/drafts/{drafts['ny']}").text
    assert f"it was due at {in_new_york:%Y-%m-%d %H:%M} America/New_York" in page


def test_a_deferred_drafts_page_says_until_when_on_its_customers_clock(client, engine, monkeypatch):
    """The contact policy moved a New Yorker's 09:00 email on by days, to 09:00 there; the draft's page said it
    was deferred "to ... 14:00 UTC", where the campaign's page says it sends at 09:00 America/New_York."""
    from service.pipeline.contact_policy import defer_recently_mailed

    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Berlin")
    _customers(engine)
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id, "ny")
    now = utcnow().replace(second=0, microsecond=0)
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == "ny"))
        session.add(Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=now - timedelta(hours=1)))
        session.get(Draft, draft_id).send_after = now - timedelta(minutes=5)
    with session_scope(engine) as session:
        assert defer_recently_mailed(session, [draft_id], now, min_days=3, timezone="Europe/Berlin") == ([], 1)
        until = session.get(Draft, draft_id).send_after

    page = client.get(f"/review/drafts/{draft_id}").text
    in_new_york = _local(until, "America/New_York")
    assert f"Deferred by the contact policy to {in_new_york:%Y-%m-%d %H:%M} America/New_York: the customer" in page
    assert f"{until:%Y-%m-%d %H:%M} UTC:" not in page
