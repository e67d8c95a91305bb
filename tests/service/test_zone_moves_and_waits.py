"""A customer's move to another zone and the contact policy's wait: a draft deferred to when the wait ends, having no
time of day of its own (its campaign sent now), stays at that moment; one waiting for a time of day (a best hour)
moved east to before the wait ends is deferred again by the due-check, to that hour once the wait has ended, and is
neither sent early nor lost. Sent through the API to a mail server on loopback, the clock set on as the days pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from service.clock import utcnow, wall_clock
from service.db.models import Customer, Draft, Send
from service.db.session import session_scope
from service.pipeline.sending import send_due_drafts
from tests.service.conftest import set_host_clock_off, wait_for_job
from tests.service.test_sending import approved_draft, new_campaign, send_job

NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
MIN_DAYS = 2  # TAILOR_SEND_MIN_DAYS_BETWEEN's default


def _live_in(client, zone: str) -> int:
    """Import a customers file giving the New Yorker `ny` this zone; how many drafts it moved."""
    customers = f"customer_id,email,first_name,marketing_consent,timezone\nny,ny@example.com,Ny,true,{zone}\n"
    response = client.post("/imports/customers", files={"file": ("customers.csv", customers.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    return response.json()["drafts_moved"]


def _mailed(engine, at: datetime) -> None:
    with session_scope(engine) as session:
        ny = session.scalar(select(Customer).where(Customer.external_id == "ny"))
        session.add(Send(customer=ny, subject="Another campaign", campaign_type="vip", sent_at=at))


def _send_time(engine, draft_id: int) -> datetime | None:
    with session_scope(engine) as session:
        return session.get(Draft, draft_id).send_after


def _due_check(engine, monkeypatch, at: datetime) -> dict:
    set_host_clock_off(monkeypatch, at - utcnow())
    return send_due_drafts(lambda *_: None, engine)["campaigns"]


def _new_yorker_with_a_draft(client, engine, monkeypatch, mail_server) -> tuple[int, int, list]:
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    assert _live_in(client, "America/New_York") == 0
    campaign_id = new_campaign(client)
    return campaign_id, approved_draft(client, engine, campaign_id, "ny"), messages


def test_a_draft_deferred_to_the_end_of_the_wait_stays_there_when_its_customer_moves(
    client, engine, mail_server, monkeypatch
):
    """A campaign sent now to a New Yorker mailed yesterday: the policy holds the email until the wait ends, a
    moment, no time of their day. A file moved them to Berlin: the draft moved 6 hours earlier, before the wait
    ended, and the due-check then deferred it again to that later time of day, 18 hours after the wait ended."""
    campaign_id, draft_id, messages = _new_yorker_with_a_draft(client, engine, monkeypatch, mail_server)
    mailed = utcnow() - timedelta(days=1)
    _mailed(engine, mailed)
    assert send_job(client, campaign_id)["result"]["deferred"] == 1
    wait_ends = mailed + timedelta(days=MIN_DAYS)
    assert _send_time(engine, draft_id) == wait_ends

    assert _live_in(client, "Europe/Berlin") == 0
    assert _send_time(engine, draft_id) == wait_ends
    assert _due_check(engine, monkeypatch, wait_ends - timedelta(hours=3)) == {}  # nothing due before the wait ends
    assert _send_time(engine, draft_id) == wait_ends
    assert _due_check(engine, monkeypatch, wait_ends + timedelta(minutes=1))[str(campaign_id)]["sent"] == 1
    assert len(messages) == 1


def test_a_draft_deferred_to_the_end_of_a_wait_and_again_goes_as_the_second_wait_ends(
    client, engine, mail_server, monkeypatch
):
    """Mailed by another campaign while it waited, the draft was deferred again at the first wait's time of day,
    which meant nothing: an hour after the second wait ended here, up to a day in general."""
    campaign_id, draft_id, messages = _new_yorker_with_a_draft(client, engine, monkeypatch, mail_server)
    now = utcnow()
    _mailed(engine, now - timedelta(days=1))
    assert send_job(client, campaign_id)["result"]["deferred"] == 1
    first_wait_ends = now - timedelta(days=1) + timedelta(days=MIN_DAYS)
    mailed_again = now - timedelta(hours=1)  # as the send's answer came, by another server on the database
    _mailed(engine, mailed_again)

    assert _due_check(engine, monkeypatch, first_wait_ends + timedelta(minutes=1))[str(campaign_id)]["deferred"] == 1
    assert _send_time(engine, draft_id) == mailed_again + timedelta(days=MIN_DAYS)
    assert messages == []


def test_a_best_hour_moved_east_to_before_the_wait_ends_is_deferred_again_to_that_hour(
    client, engine, mail_server, monkeypatch
):
    """A New Yorker's best hour deferred past the wait, to that hour in New York; moved to Berlin, the same hour
    there comes 6 hours earlier, before the wait ends. The due-check then holds it again (the send applies the
    policy again), to that hour in Berlin on the first day the wait has ended: not sent early, nor lost."""
    campaign_id, draft_id, messages = _new_yorker_with_a_draft(client, engine, monkeypatch, mail_server)
    now = utcnow()
    mailed = now - timedelta(hours=2)
    _mailed(engine, mailed)
    wait_ends = mailed + timedelta(days=MIN_DAYS)
    best_hour = (now - timedelta(hours=1)).replace(second=0, microsecond=0)  # due, an hour after the wait's hour
    with session_scope(engine) as session:
        session.get(Draft, draft_id).send_after = best_hour
    assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["deferred"] == 1
    in_new_york = _send_time(engine, draft_id)
    assert wall_clock(in_new_york, NEW_YORK).time() == wall_clock(best_hour, NEW_YORK).time()
    assert in_new_york > wait_ends

    assert _live_in(client, "Europe/Berlin") == 1
    in_berlin = _send_time(engine, draft_id)
    assert wall_clock(in_berlin, BERLIN) == wall_clock(in_new_york, NEW_YORK) and in_berlin < wait_ends
    assert _due_check(engine, monkeypatch, in_berlin + timedelta(minutes=1))[str(campaign_id)]["deferred"] == 1
    assert messages == []
    next_day = (in_berlin.replace(tzinfo=UTC).astimezone(BERLIN) + timedelta(days=1)).astimezone(UTC)  # its hour
    assert _send_time(engine, draft_id) == next_day.replace(tzinfo=None) > wait_ends
    assert _due_check(engine, monkeypatch, next_day.replace(tzinfo=None))[str(campaign_id)]["sent"] == 1
    assert len(messages) == 1


def test_a_draft_deferred_to_a_wait_s_end_then_approved_for_a_scheduled_moment_keeps_that_moment_s_hour(
    client, engine, mail_server, monkeypatch
):
    """Deferred to the wait's end, taken back for review, and approved again once its campaign was scheduled for a
    moment, the draft waits for that moment; mailed meanwhile, it is deferred to that moment's hour on its customer's
    clock as every draft of a scheduled campaign is, not to the new wait's end, as if it still had no hour."""
    campaign_id, draft_id, messages = _new_yorker_with_a_draft(client, engine, monkeypatch, mail_server)
    now = utcnow()
    _mailed(engine, now - timedelta(days=1))
    assert send_job(client, campaign_id)["result"]["deferred"] == 1
    assert client.post(f"/drafts/{draft_id}/reopen", json={"comment": "another offer"}).status_code == 200
    moment = (now + timedelta(days=3)).replace(second=0, microsecond=0)
    scheduled = client.post(f"/campaigns/{campaign_id}/send", params={"at": f"{moment.isoformat()}Z"})
    assert scheduled.status_code == 202, scheduled.text
    assert wait_for_job(client, scheduled.json()["job_id"])["status"] == "succeeded"
    assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200
    assert _send_time(engine, draft_id) == moment

    _mailed(engine, moment - timedelta(hours=1))
    assert _due_check(engine, monkeypatch, moment + timedelta(minutes=1))[str(campaign_id)]["deferred"] == 1
    its_hour = (moment.replace(tzinfo=UTC).astimezone(NEW_YORK) + timedelta(days=MIN_DAYS)).astimezone(UTC)
    assert _send_time(engine, draft_id) == its_hour.replace(tzinfo=None)
    assert messages == []
