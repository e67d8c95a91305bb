"""One clock whatever the server's zone: on a server set to America/New_York, imported sends, events, the emails the
service sends, experiment assignments, scheduled moments, best-hour send times and the contact policy all keep UTC
without a zone, so that each compares with the others. Before, the service's own clock was the server's local time
while the database defaults and imports were UTC: hours apart."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import select

from service.clock import as_text, utcnow
from service.db.models import Assignment, Draft, Event, Send
from service.db.session import session_scope
from tests.service.conftest import wait_for_job
from tests.service.test_experiments import approved_campaign
from tests.service.test_sending import approved_draft, new_campaign, send_job

NEW_YORK = ZoneInfo("America/New_York")


def in_new_york(moment: datetime) -> str:
    """A naive UTC moment as a shop in New York writes it: its local time with the offset."""
    return moment.replace(tzinfo=UTC).astimezone(NEW_YORK).isoformat()


def import_history(client, sends: list[tuple[str, str, str, int]]) -> None:
    """Import customers and their past sends (send_id, customer_id, sent_at as written, opened) through the API."""
    customer_ids = sorted({customer_id for _, customer_id, _, _ in sends})
    files = {
        "customers": pd.DataFrame(
            {"customer_id": customer_ids, "email": [f"{c}@example.com" for c in customer_ids],
             "first_name": customer_ids, "locale": "en", "marketing_consent": "true"}
        ),
        "sends": pd.DataFrame(
            [(send_id, customer_id, "News", "cross_sell", sent_at, opened)
             for send_id, customer_id, sent_at, opened in sends],
            columns=["send_id", "customer_id", "subject", "campaign_type", "sent_at", "opened"],
        ),
    }  # fmt: skip
    for kind, frame in files.items():
        csv = frame.to_csv(index=False).encode()
        response = client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", io.BytesIO(csv), "text/csv")})
        assert response.status_code == 200, response.text


def near_now(moment: datetime) -> bool:
    return abs(moment - utcnow()) < timedelta(minutes=2)


def test_an_event_with_a_zone_on_a_send_imported_with_one_is_taken_in_utc(client, engine, server_in_new_york):
    """Reproduced on TZ=America/New_York: a send imported as 09:00-05:00 was kept as 14:00 (UTC), an open posted as
    09:30-05:00 was read as 09:30 (local) and refused: '... 09:30 is before the email was sent (... 14:00)'."""
    sent = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    import_history(client, [("s1", "c1", in_new_york(sent), 0)])
    with session_scope(engine) as session:
        send_id, stored = session.execute(select(Send.id, Send.sent_at)).one()
    assert stored == sent

    events = [
        {"send_id": send_id, "kind": "open", "occurred_at": in_new_york(sent + timedelta(minutes=30))},
        {"send_id": send_id, "kind": "click", "occurred_at": (sent + timedelta(minutes=40)).isoformat()},  # UTC
        {"send_id": send_id, "kind": "conversion", "value": 20},  # now
    ]
    response = client.post("/events", json={"events": events})
    assert response.status_code == 200, response.text
    with session_scope(engine) as session:
        recorded = dict(session.execute(select(Event.kind, Event.occurred_at).where(Event.kind != "delivered")).all())
    assert recorded["open"] == sent + timedelta(minutes=30)
    assert recorded["click"] == sent + timedelta(minutes=40)
    assert near_now(recorded["conversion"])

    # Still to come in UTC, though not in New York's local time: refused.
    ahead = {"send_id": send_id, "kind": "open", "occurred_at": (utcnow() + timedelta(hours=2)).isoformat()}
    refused = client.post("/events", json={"events": [ahead]})
    assert refused.status_code == 422 and "UTC has not come yet" in refused.json()["message"]


def test_sends_their_events_and_a_holdout_s_assignments_share_the_utc_clock(
    client, engine, mail_server, monkeypatch, server_in_new_york
):
    """Holdout rows took the database default (UTC) and mailed rows the server's local time: the holdout's
    purchase window started five hours after the mailed arms'."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = approved_campaign(client, engine, 20, "z", holdout_share=0.3)
    assert send_job(client, campaign_id)["status"] == "succeeded"
    with session_scope(engine) as session:
        sent_at = list(session.scalars(select(Send.sent_at)))
        delivered = list(session.scalars(select(Event.occurred_at).where(Event.kind == "delivered")))
        assigned = dict(session.execute(select(Assignment.arm, Assignment.assigned_at)).all())
    assert messages and len(sent_at) == len(messages) == len(delivered)
    assert all(near_now(moment) for moment in [*sent_at, *delivered, *assigned.values()])
    assert "holdout" in assigned and set(assigned) - {"holdout"}


def test_the_contact_policy_counts_its_days_in_utc(client, engine, mail_server, monkeypatch, server_in_new_york):
    """The policy's window was measured from the server's local now against sends kept in UTC: a customer mailed
    51 hours ago was held back for five more hours under a two-day policy."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    now = utcnow().replace(microsecond=0)
    import_history(
        client,
        [
            ("s1", "free", in_new_york(now - timedelta(hours=51)), 0),
            ("s2", "waits", in_new_york(now - timedelta(hours=45)), 0),
        ],
    )
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "free")
    waits = approved_draft(client, engine, campaign_id, "waits")
    result = send_job(client, campaign_id)["result"]
    assert (result["sent"], result["deferred"]) == (1, 1)
    assert [m["To"] for m in messages] == ["free@example.com"]
    assert client.get(f"/drafts/{waits}").json()["send_after"] == as_text(now + timedelta(hours=3))


def test_a_scheduled_moment_is_utc_without_a_zone_and_converted_with_one(
    client, engine, mail_server, monkeypatch, server_in_new_york
):
    """`at` without a zone was the server's local time: 2 hours ago in UTC was still to come in New York, and a
    moment with a zone was stored in New York's time."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "c1")
    url = f"/campaigns/{campaign_id}/send"

    past = client.post(url, params={"at": (utcnow() - timedelta(hours=2)).isoformat()})
    assert past.status_code == 422 and "has passed" in past.json()["problems"][0]["message"]

    at = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    zoned = at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata")).isoformat()  # +05:30
    job = wait_for_job(client, client.post(url, params={"at": zoned}).json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    assert (job["result"]["sent"], job["result"]["next_send_at"]) == (0, as_text(at))
    assert client.get(f"/campaigns/{campaign_id}").json()["scheduled_at"] == as_text(at)


def test_best_hours_from_a_zoned_import_are_utc_hours_and_schedule_in_utc(
    client, engine, mail_server, monkeypatch, server_in_new_york
):
    """The best hour learned from sends kept in UTC was scheduled on the server's local clock: a customer whose
    hour had just passed in UTC was given a send time in the past, and mailed at once."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    if utcnow().minute == 59:  # keep "this hour" the same hour for the whole test
        time.sleep(61 - utcnow().second)
    this_hour = utcnow().replace(minute=0, second=0, microsecond=0)
    best = this_hour - timedelta(hours=2)  # an hour that has just passed in UTC (and is still to come in New York)
    days = range(8, 18)  # older than the outcome window's 7 days: 20 sends, enough to learn from
    history = [(f"s{day}", "c1", in_new_york(best - timedelta(days=day)), 1) for day in days]
    history += [(f"t{day}", "c1", in_new_york(this_hour - timedelta(days=day)), 0) for day in days]
    import_history(client, history)
    assert client.get("/customers/c1/send-time").json()["best_hour"] == best.hour

    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id, "c1")
    response = client.post(f"/campaigns/{campaign_id}/send", params={"at_best_hour": True})
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    tomorrow = best + timedelta(days=1)
    assert (job["result"]["sent"], job["result"]["next_send_at"]) == (0, as_text(tomorrow)) and messages == []
    with session_scope(engine) as session:
        assert session.get(Draft, draft_id).send_after == tomorrow


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2026-11-20T09:00:00-05:00", datetime(2026, 11, 20, 14)),
        ("2026-07-20T09:00:00-04:00", datetime(2026, 7, 20, 13)),
        ("2026-11-20T09:00:00", datetime(2026, 11, 20, 9)),
        ("2026-11-20T09:00:00Z", datetime(2026, 11, 20, 9)),
    ],
)
def test_as_utc_converts_a_zone_and_takes_a_naive_moment_as_utc(written, stored, server_in_new_york):
    from service.clock import as_utc

    assert as_utc(datetime.fromisoformat(written)) == stored
