"""Best send hour per customer through the API: own opens move a customer off the shop's best hour, and a
customer without history gets the shop's best hour."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.app import create_app
from service.clock import as_text, as_utc, utcnow
from service.db.models import Customer, Draft, Event, Job, Send, Variant
from service.db.session import session_scope
from service.pipeline.due_drafts import has_due_drafts
from tests.service.conftest import wait_for_job


def add_sends(session, customer: Customer, hour: int, n: int, opened: int) -> None:
    """n past sends at `hour`, the first `opened` of them opened."""
    for i in range(n):
        sent_at = datetime(2026, 10, 1, hour) + timedelta(days=i)
        send = Send(customer=customer, subject="News", campaign_type="cross_sell", sent_at=sent_at)
        if i < opened:
            send.events.append(Event(kind="open", occurred_at=sent_at + timedelta(minutes=5)))
        session.add(send)


def test_send_hours_from_own_opens_with_population_fallback(client, engine):
    assert client.get("/customers/night/send-time").status_code == 404
    with session_scope(engine) as session:
        regulars = [Customer(external_id=f"reg{i}", email=f"reg{i}@example.com") for i in range(2)]
        night, newbie = (Customer(external_id=name, email=f"{name}@example.com") for name in ("night", "newbie"))
        session.add_all([*regulars, night, newbie])
    response = client.get("/customers/newbie/send-time")
    assert response.status_code == 409 and "no sends older than 7 days" in response.json()["message"]

    with session_scope(engine) as session:
        for regular in session.scalars(select(Customer).where(Customer.external_id.like("reg%"))):
            add_sends(session, regular, 10, 10, 5)  # the shop opens at 10:00 about half the time, at 20:00 rarely
            add_sends(session, regular, 20, 10, 1)
        night = session.scalar(select(Customer).where(Customer.external_id == "night"))
        add_sends(session, night, 20, 6, 6)  # this customer opens in the evening
        add_sends(session, night, 10, 2, 0)
    own = client.get("/customers/night/send-time").json()
    assert own == {**own, "customer_id": "night", "best_hour": 20, "source": "own", "n_sends": 8, "n_opens": 6}
    assert own["expected_open_rate"] > 0.5
    fallback = client.get("/customers/newbie/send-time").json()
    assert fallback["best_hour"] == 10 and fallback["source"] == "population" and fallback["n_sends"] == 0
    # The shop's 10 opens of 22 sends at 10:00 (night's 2 unopened included), shrunk toward its overall 18 of 48
    # by a prior worth 50 sends.
    assert fallback["expected_open_rate"] == pytest.approx((10 + 50 * 18 / 48) / (22 + 50))

    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        for external_id in ("night", "newbie"):
            customer = session.scalar(select(Customer).where(Customer.external_id == external_id))
            session.add(Draft(campaign_id=campaign_id, customer_id=customer.id))
    hours = client.get(f"/campaigns/{campaign_id}/send-times").json()
    assert [(h["customer_id"], h["best_hour"]) for h in hours] == [("night", 20), ("newbie", 10)]
    page = client.get(f"/campaigns/{campaign_id}/send-times", params={"limit": 1, "offset": 1}).json()
    assert [h["customer_id"] for h in page] == ["newbie"]  # a page at a time: a big campaign's was one answer
    assert client.get(f"/campaigns/{campaign_id}/send-times", params={"limit": 1001}).status_code == 422
    assert client.get("/campaigns/999/send-times").status_code == 404

    # Sends of the last days are not learned from: their opens may still come (a campaign sent at 20:00 an hour
    # ago made 20:00 look like the hour nobody opens).
    yesterday_evening = (utcnow() - timedelta(days=1)).replace(hour=20, minute=0)
    with session_scope(engine) as session:
        night = session.scalar(select(Customer).where(Customer.external_id == "night"))
        for _ in range(30):
            session.add(Send(customer=night, subject="Fresh", campaign_type="vip", sent_at=yesterday_evening))
    assert client.get("/customers/night/send-time").json() == own


def import_file(client, kind: str, text: str) -> None:
    response = client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", text.encode(), "text/csv")})
    assert response.status_code == 200, response.text


def test_no_hour_is_named_from_a_handful_of_sends_or_from_sends_that_all_fall_at_one_hour(client, engine):
    """Two imported sends made midnight everybody's best hour, at a 100 % open rate; a sends file with dates but
    no times puts every send at 00:00, where there is no other hour to compare it with."""
    customers = "customer_id,email,first_name,locale,marketing_consent\n"
    import_file(client, "customers", customers + "a,a@example.com,Ann,en,true\nb,b@example.com,Bo,en,true\n")
    header = "send_id,customer_id,subject,campaign_type,sent_at,opened\n"
    dated = [f"s{day},{'ab'[day % 2]},News,vip,2026-09-{day + 1:02d},true\n" for day in range(24)]
    import_file(client, "sends", header + "".join(dated[:2]))
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]

    few = client.get("/customers/a/send-time")
    assert few.status_code == 409 and few.json()["message"].startswith(
        "There are 2 past sends to learn send times from: at least 20 are needed"
    )
    with session_scope(engine) as session:  # sent yesterday: the shop need not import, only wait
        customer = session.scalar(select(Customer).where(Customer.external_id == "a"))
        for _ in range(30):
            session.add(
                Send(customer=customer, subject="Fresh", campaign_type="vip", sent_at=utcnow() - timedelta(days=1))
            )
    waiting = client.get("/customers/a/send-time").json()["message"]
    assert "30 more were sent within 7 days and count once their opens are in (TAILOR_SCORING_OUTCOME_DAYS)." in waiting
    import_file(client, "sends", header + "".join(dated))
    one_hour = client.get("/customers/a/send-time")
    assert one_hour.status_code == 409
    assert "All 24 past sends were made at 00:00" in one_hour.json()["message"]
    assert "dates but no times" in one_hour.json()["message"]
    refused = client.post(f"/campaigns/{campaign_id}/send", params={"at_best_hour": True})  # before it is queued
    assert refused.status_code == 409 and "All 24 past sends" in refused.json()["message"]

    timed = [f"t{day},a,News,vip,2026-09-{day + 1:02d}T18:30:00,false\n" for day in range(4)]
    import_file(client, "sends", header + "".join(timed))
    answer = client.get("/customers/a/send-time")
    assert answer.status_code == 200 and answer.json()["best_hour"] == 0 and answer.json()["n_sends"] == 16


def test_sends_of_which_none_was_opened_name_no_hour(client):
    """A sends file without its optional opened column records no opens: every hour's rate was 0, and the first
    hour the shop had sent at, 03:00, was named everybody's best, mailing a campaign at best hours in the night."""
    customers = "customer_id,email,first_name,locale,marketing_consent\n"
    import_file(client, "customers", customers + "".join(f"c{i},c{i}@example.com,Ann,en,true\n" for i in range(10)))
    header = "send_id,customer_id,subject,campaign_type,sent_at\n"
    rows = [f"s{i}-{hour},c{i},News,vip,2026-09-01T{hour:02d}:00:00Z\n" for i in range(10) for hour in (3, 9, 14)]
    import_file(client, "sends", header + "".join(rows))
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]

    answer = client.get("/customers/c1/send-time")
    assert answer.status_code == 409, answer.json()
    assert answer.json()["message"].startswith("None of the 30 past sends was opened, so no hour can be told")
    refused = client.post(f"/campaigns/{campaign_id}/send", params={"at_best_hour": True})
    assert refused.status_code == 409 and "None of the 30 past sends was opened" in refused.json()["message"]


def test_a_click_with_no_open_recorded_counts_as_an_open_at_its_hour(client):
    """Images blocked, an email service reports clicks of emails it never saw opened: the customer who clicked
    every 14:00 email was counted as never opening, and got the shop's hour."""
    customers = "customer_id,email,first_name,locale,marketing_consent\n"
    import_file(client, "customers", customers + "".join(f"c{i},c{i}@example.com,Ann,en,true\n" for i in range(10)))
    header = "send_id,customer_id,subject,campaign_type,sent_at,opened,clicked\n"
    rows = [f"s{i}-09,c{i},News,vip,2026-09-01T09:00:00Z,{str(i < 5).lower()},false\n" for i in range(10)]
    rows += [f"s{i}-14-{day},c{i},News,vip,2026-09-0{day}T14:00:00Z,false,{str(i == 0).lower()}\n"
             for i in range(10) for day in (2, 3, 4)]  # fmt: skip
    import_file(client, "sends", header + "".join(rows))

    clicker = client.get("/customers/c0/send-time").json()
    assert (clicker["best_hour"], clicker["n_opens"], clicker["source"]) == (14, 4, "own")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Tokyo"])
def test_dates_only_sends_name_no_hour_on_a_shop_clock_that_is_not_utc(client, engine, monkeypatch, zone):
    """A dates-only file's midnights (UTC) are 01:00 and 02:00 on Berlin's clock either side of the clocks going
    forward: two hours, so Berlin's customers got a best hour of 1:00; in Tokyo they are all 09:00."""
    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", zone)
    customers = "customer_id,email,first_name,locale,marketing_consent\n"
    import_file(client, "customers", customers + "a,a@example.com,Ann,en,true\nb,b@example.com,Bo,en,true\n")
    header = "send_id,customer_id,subject,campaign_type,sent_at,opened\n"
    days = [datetime(2025, 3, 15) + timedelta(days=day) for day in range(30)]  # 2025-03-30: summer time begins
    rows = [f"s{i},{'ab'[i % 2]},News,vip,{day:%Y-%m-%d},{str(i % 3 == 0).lower()}\n" for i, day in enumerate(days)]
    import_file(client, "sends", header + "".join(rows))
    answer = client.get("/customers/a/send-time")
    assert answer.status_code == 409, answer.json()
    told = {  # Tokyo's clock has one hour, named on it (a shop that sends at 9:00 there does not send at midnight)
        "Europe/Berlin": "All 30 past sends were made at 00:00 UTC",
        "Asia/Tokyo": "All 30 past sends were made at 09:00, so no other hour",
    }
    assert told[zone] in answer.json()["message"]
    assert "dates but no times puts every send at 00:00 UTC" in answer.json()["message"]


def test_a_shop_that_always_sends_at_nine_on_its_clock_has_no_other_hour_to_compare_across_daylight_saving(
    client, engine, monkeypatch
):
    """9:00 in Berlin is 08:00 UTC in winter and 07:00 in summer: two hours of UTC, one of the shop's clock."""
    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Berlin")
    with session_scope(engine) as session:
        customer = Customer(external_id="berlin", email="b@example.com")
        for first, hour in ((datetime(2026, 1, 12), 8), (datetime(2026, 7, 13), 7)):
            for day in range(12):
                session.add(Send(customer=customer, subject="News", campaign_type="vip",
                                 sent_at=first.replace(hour=hour) + timedelta(days=day)))  # fmt: skip
    answer = client.get("/customers/berlin/send-time")
    assert (
        answer.status_code == 409
        and "All 24 past sends were made at 09:00, so no other hour" in (answer.json()["message"])
    )


def test_sending_at_best_hour_mails_each_customer_when_their_hour_comes(
    client, engine, api_key, mail_server, monkeypatch
):
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example")  # links recipients reach: no warning
    if datetime.now().minute == 59:  # keep "this hour" the same hour for the whole test
        time.sleep(61 - datetime.now().second)
    this_hour, evening = datetime.now().hour, (datetime.now().hour + 12) % 24
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        for name in ("early", "late"):
            draft_for(session, campaign_id, name, status="pending")
    draft_ids = [d["id"] for d in client.get(f"/campaigns/{campaign_id}/drafts").json()]
    for draft_id in draft_ids:
        assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200
    refused = client.post(f"/campaigns/{campaign_id}/send", params={"at_best_hour": True})
    assert refused.status_code == 409 and "no sends older than 7 days" in refused.json()["message"]

    with session_scope(engine) as session:
        early, late = (session.scalar(select(Customer).where(Customer.external_id == n)) for n in ("early", "late"))
        add_sends(session, early, this_hour, 8, 7)
        add_sends(session, late, evening, 8, 4)
        add_sends(session, late, this_hour, 8, 0)
    response = client.post(f"/campaigns/{campaign_id}/send", params={"at_best_hour": True})
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    expected_later = as_text(datetime.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=12))
    assert job["result"] == {
        "sent": 1, "skipped": 0, "deferred": 0, "waiting": 1, "next_send_at": expected_later, "held_back": [],
        "held_back_count": 0, "held_back_by_reason": {}, "refused": [],
    }  # fmt: skip
    assert [m["To"] for m in messages] == ["early@example.com"]
    drafts = {d["customer_id"]: d for d in client.get(f"/campaigns/{campaign_id}/drafts").json()}
    assert drafts["early"]["status"] == "sent"
    assert drafts["late"]["status"] == "approved" and drafts["late"]["send_after"] == expected_later
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert f"sends {as_utc(datetime.fromisoformat(expected_later)).strftime('%a %H:%M')} UTC" in page

    assert not has_due_drafts(engine)
    monkeypatch.setenv("TAILOR_SEND_DUE_CHECK_MINUTES", str(0.3 / 60))  # the server checks every 0.3 s
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as scheduled:
        time.sleep(1.0)
        assert due_check_jobs(engine) == []  # ticks with nothing due leave no jobs behind
        with session_scope(engine) as session:  # time passes: the evening comes
            session.get(Draft, drafts["late"]["id"]).send_after = datetime.now() - timedelta(minutes=1)
        deadline = time.monotonic() + 30
        while scheduled.get(f"/drafts/{drafts['late']['id']}").json()["status"] != "sent":
            assert time.monotonic() < deadline, due_check_jobs(engine)
            time.sleep(0.2)
    [(status, result)] = due_check_jobs(engine)
    expected = {"sent": 1, "skipped": 0, "deferred": 0, "waiting": 0, "next_send_at": None, "held_back": [],
                "held_back_count": 0, "held_back_by_reason": {}, "refused": []}  # fmt: skip
    assert status == "succeeded" and result == {"campaigns": {str(campaign_id): expected}}
    assert [m["To"] for m in messages] == ["early@example.com", "late@example.com"]


def due_check_jobs(engine) -> list[tuple[str, dict]]:
    with session_scope(engine) as session:
        jobs = session.scalars(select(Job).where(Job.kind == "send_due").order_by(Job.created_at))
        return [(job.status, job.result) for job in jobs]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_counted_by_the_database_the_hours_are_those_of_every_send_read_one_by_one(
    any_engine, demo_files, timezone, monkeypatch
):
    """The database counts sends and opens per hour (on the shop's clock, across daylight-saving changes: the demo
    store's sends span them); the best hours are exactly those learned from each send."""
    import pandas as pd

    from scoring.send_time import best_send_hours
    from service.importing import import_file
    from service.send_times import best_hours

    with session_scope(any_engine) as session:
        for kind in ("customers", "products", "sends"):
            import_file(session, kind, demo_files[kind])
    sends = pd.read_csv(demo_files["sends"], parse_dates=["sent_at"])
    sends["opened"] = sends["opened"].astype(str).str.lower().isin(["true", "1"]).astype(int)
    asked = [*sends["customer_id"].drop_duplicates().head(40), "no-history"]
    expected = best_send_hours(sends, asked, timezone=timezone).reset_index()
    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", timezone)
    with session_scope(any_engine) as session:
        served = pd.DataFrame([row.model_dump() for row in best_hours(session, asked)])
    pd.testing.assert_frame_equal(served[expected.columns], expected, check_exact=True)
    assert set(served["source"]) == {"own", "population"} and set(served["timezone"]) == {timezone}


def test_best_hours_are_on_the_shops_clock_and_sends_wait_for_it_in_utc(client, engine, monkeypatch):
    """A Berlin shop's customers open at 9 by their own clock, summer and winter: 07:00 and 08:00 UTC. Learned in
    UTC the habit was split in two; the best hour is 9 on the shop's clock, and the send waits for 9 in Berlin."""
    from service.send_times import schedule_at_best_hours

    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Berlin")
    with session_scope(engine) as session:
        customer = Customer(external_id="berlin", email="b@example.com", marketing_consent=True)
        for first, hour in ((datetime(2026, 1, 12), 8), (datetime(2026, 7, 13), 7)):  # 9:00 CET, then 9:00 CEST
            for day in range(6):
                sent_at = first.replace(hour=hour) + timedelta(days=day)
                send = Send(customer=customer, subject="News", campaign_type="vip", sent_at=sent_at)
                send.events.append(Event(kind="open", occurred_at=sent_at + timedelta(minutes=3)))
                session.add(send)
        for day in range(8):  # and at noon, unopened
            session.add(Send(customer=customer, subject="News", campaign_type="vip",
                             sent_at=datetime(2026, 3, 2, 11) + timedelta(days=day)))  # fmt: skip
    answer = client.get("/customers/berlin/send-time").json()
    assert (answer["best_hour"], answer["timezone"], answer["source"]) == (9, "Europe/Berlin", "population")

    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == "berlin"))
        draft = Draft(campaign_id=campaign_id, customer=customer, status="approved")
        session.add(draft)
        session.flush()
        scheduled = schedule_at_best_hours(session, campaign_id, now=datetime(2026, 11, 30, 12, 0))
        assert scheduled == 1 and draft.send_after == datetime(2026, 12, 1, 8, 0)  # 9:00 in Berlin, winter


def test_an_unknown_shop_time_zone_is_refused_naming_the_setting(monkeypatch):
    from pydantic import ValidationError

    from service.settings import SendScheduleSettings

    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Atlantis")
    with pytest.raises(ValidationError, match="unknown time zone 'Europe/Atlantis'"):
        SendScheduleSettings()


def draft_for(session, campaign_id: int, name: str, status: str = "approved") -> Customer:
    """A new customer `name` with a one-variant draft in the campaign (that variant selected); the customer."""
    variant = Variant(label="A", subject=f"For {name}", html="<p>x</p>", text="x")
    customer = Customer(external_id=name, email=f"{name}@example.com", marketing_consent=True)
    draft = Draft(campaign_id=campaign_id, customer=customer, variants=[variant], status=status)
    session.add(draft)
    session.flush()
    draft.selected_variant_id = variant.id
    return customer


def test_a_request_to_send_decides_when_every_approved_draft_goes(client, engine, mail_server, monkeypatch):
    """Sent at best hour, then postponed a week with `at`: the drafts kept their best hours of the next day, and one
    whose hour had passed was mailed at once, days before the moment the campaign was scheduled for."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    evening = (datetime.now().hour + 12) % 24
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        for name in ("ann", "bob"):
            customer = draft_for(session, campaign_id, name)
            add_sends(session, customer, evening, 6, 5)  # both open in the evening, twelve hours from now
            add_sends(session, customer, (evening + 6) % 24, 5, 0)  # and not at night
    first = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send", params={"at_best_hour": True})
                         .json()["job_id"])  # fmt: skip
    assert first["result"]["sent"] == 0 and first["result"]["waiting"] == 2

    week = (utcnow() + timedelta(days=7)).replace(hour=6, minute=0, second=0, microsecond=0)
    params = {"at": week.isoformat(), "at_best_hour": True}
    later = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send", params=params).json()["job_id"])
    assert later["result"]["sent"] == 0 and messages == []
    times = [as_utc(datetime.fromisoformat(d["send_after"])) for d in client.get(f"/campaigns/{campaign_id}/drafts")
             .json()]  # fmt: skip
    assert all(week <= moment < week + timedelta(days=1) and moment.hour == evening for moment in times), times
    campaign = client.get(f"/campaigns/{campaign_id}").json()
    assert as_utc(datetime.fromisoformat(campaign["next_send_at"])) >= week

    now = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send").json()["job_id"])  # send now, after all
    assert now["result"]["sent"] == 2 and sorted(m["To"] for m in messages) == ["ann@example.com", "bob@example.com"]


def test_a_campaign_scheduled_for_later_says_how_many_the_contact_policy_will_hold_back_then(
    client, engine, mail_server, monkeypatch
):
    """A marketer scheduling for Friday learned from the audience preview how many were mailed within the contact
    policy's days of now, not of Friday: the campaign, its page and the send's result count them by its moment."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "3")
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        for name, mailed_days_ago in (("ann", 1), ("bob", 5), ("cy", None)):
            customer = draft_for(session, campaign_id, name)
            if mailed_days_ago is not None:
                sent_at = datetime.now() - timedelta(days=mailed_days_ago)
                session.add(Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=sent_at))

    def scheduled_in(days: float) -> dict:
        at = (utcnow() + timedelta(days=days)).isoformat()
        return wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send", params={"at": at}).json()["job_id"])

    tomorrow = scheduled_in(1)["result"]  # ann was mailed 2 days before it; bob 6 days
    assert (tomorrow["sent"], tomorrow["waiting"], tomorrow["mailed_recently_by_then"]) == (0, 3, 1)
    assert client.get(f"/campaigns/{campaign_id}").json()["mailed_recently_by_then"] == 1
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "1 of its customers were mailed too recently before then" in page
    assert scheduled_in(3)["result"]["mailed_recently_by_then"] == 0  # 4 days after ann's email
    now = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send").json()["job_id"])["result"]
    assert "mailed_recently_by_then" not in now and now["deferred"] == 1  # sent now: ann waits, as the policy says
    assert client.get(f"/campaigns/{campaign_id}").json()["mailed_recently_by_then"] is None


def test_the_count_held_back_by_a_schedule_reads_the_campaigns_drafts_alone_in_one_statement(
    client, engine, monkeypatch
):
    """Each read of a scheduled campaign read its moment again, then every customer mailed within the contact
    policy's days shop-wide and every address mailed, into Python (six statements, their rows growing with the
    shop): the database counts the campaign's customers mailed under their own id or at their address."""
    from sqlalchemy import event

    from service.db.models import Campaign
    from service.send_times import waiting_drafts

    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "3")
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    yesterday = datetime.now() - timedelta(days=1)
    with session_scope(engine) as session:
        customers = {name: draft_for(session, campaign_id, name) for name in ("ann", "bea", "cy", "dee")}
        eve = draft_for(session, campaign_id, "eve", status="pending")  # not approved: not sent on schedule
        elsewhere = Customer(external_id="bea-shop", email="BEA@example.com ", marketing_consent=True)
        moved = Customer(external_id="cy-old", email="cy-new@example.com", marketing_consent=True)
        outside = Customer(external_id="zed", email="zed@example.com", marketing_consent=True)
        mailed = {customers["ann"]: yesterday, elsewhere: yesterday, customers["dee"]: yesterday - timedelta(days=4)}
        mailed |= {eve: yesterday, outside: yesterday}
        for customer, sent_at in mailed.items():
            session.add(Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=sent_at))
        # mailed at cy's address under the id that held it then (it has another address now)
        session.add(Send(customer=moved, subject="Earlier", campaign_type="vip", sent_at=yesterday,
                         to_email="cy@example.com"))  # fmt: skip
        session.get(Campaign, campaign_id).scheduled_at = utcnow() + timedelta(days=1)

    statements = []

    def record(_connection, _cursor, statement, *_):
        statements.append(statement)

    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        event.listen(engine, "before_cursor_execute", record)
        try:
            told = waiting_drafts(session, campaign, utcnow())
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert told["mailed_recently_by_then"] == 3, told  # ann, bea at her address, cy at his; not dee (5 days), eve
    assert len(statements) == 2, statements  # what waits, and that count
    assert client.get(f"/campaigns/{campaign_id}").json()["mailed_recently_by_then"] == 3


def test_the_count_held_back_by_a_schedule_and_the_export_read_alike_on_postgres(any_engine, monkeypatch):
    """The count and the export's reads are SQL of their own (casts, CASE, subqueries on addresses): the same
    figures and lines on PostgreSQL as on SQLite."""
    from service.campaigns import create_campaign
    from service.db.models import Campaign
    from service.pipeline.exporting import export_records
    from service.schemas import CampaignIn
    from service.send_times import waiting_drafts

    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "3")
    yesterday = datetime.now() - timedelta(days=1)
    with session_scope(any_engine) as session:
        campaign_id = create_campaign(session, CampaignIn(name="t", brand="hearth", campaign_type="vip")).id
        customers = {name: draft_for(session, campaign_id, name) for name in ("ann", "bea", "cy", "dee")}
        elsewhere = Customer(external_id="bea-shop", email="BEA@example.com ", marketing_consent=True)
        moved = Customer(external_id="cy-old", email="cy-new@example.com", marketing_consent=True)
        for customer, sent_at in {customers["ann"]: yesterday, elsewhere: yesterday,
                                  customers["dee"]: yesterday - timedelta(days=4)}.items():  # fmt: skip
            session.add(Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=sent_at))
        session.add(Send(customer=moved, subject="Earlier", campaign_type="vip", sent_at=yesterday,
                         to_email="cy@example.com"))  # fmt: skip
        customers["dee"].unsubscribed = True
        session.get(Campaign, campaign_id).scheduled_at = utcnow() + timedelta(days=1)
    with session_scope(any_engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert waiting_drafts(session, campaign, utcnow())["mailed_recently_by_then"] == 3
        ids = list(session.scalars(select(Draft.id).where(Draft.campaign_id == campaign_id).order_by(Draft.id)))
        lines = list(export_records(session, ids))
    assert [(line["customer_id"], line["mailable"], line["subject"]) for line in lines] == [
        ("ann", True, "For ann"), ("bea", True, "For bea"), ("cy", True, "For cy"), ("dee", False, "For dee"),
    ]  # fmt: skip


def test_drafts_approved_after_a_send_scheduled_at_best_hours_wait_for_their_customers_best_hour(
    client, engine, mail_server, monkeypatch
):
    """One approved now and one with the pending others, after the request: both at their best hour from the
    scheduled moment, as the draft approved before it (they waited for the campaign's moment instead)."""
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(mail_server[0].port))
    evening = (utcnow().hour + 12) % 24
    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        for name, status in (("ann", "approved"), ("bob", "pending"), ("cy", "pending")):
            customer = draft_for(session, campaign_id, name, status)
            add_sends(session, customer, evening, 6, 5)  # all open in the evening
            add_sends(session, customer, (evening + 6) % 24, 2, 0)  # and not at night
    week = (utcnow() + timedelta(days=7)).replace(hour=6, minute=0, second=0, microsecond=0)
    params = {"at": week.isoformat(), "at_best_hour": True}
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send", params=params).json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    assert client.get(f"/campaigns/{campaign_id}").json()["at_best_hour"] is True

    drafts = {d["customer_id"]: d for d in client.get(f"/campaigns/{campaign_id}/drafts").json()}
    assert client.post(f"/drafts/{drafts['bob']['id']}/approve", json={}).status_code == 200
    approved = client.post(f"/campaigns/{campaign_id}/drafts/approve", json={"reviewer": "x"})
    assert approved.status_code == 200 and approved.json()["approved"] == 1
    times = {
        d["customer_id"]: as_utc(datetime.fromisoformat(d["send_after"]))
        for d in client.get(f"/campaigns/{campaign_id}/drafts").json()
    }
    assert set(times) == {"ann", "bob", "cy"}
    assert all(week <= moment < week + timedelta(days=1) and moment.hour == evening for moment in times.values()), times

    wait_for_job(
        client, client.post(f"/campaigns/{campaign_id}/send", params={"at": week.isoformat()}).json()["job_id"]
    )
    assert client.get(f"/campaigns/{campaign_id}").json()["at_best_hour"] is False  # rescheduled without best hours


def test_a_shop_whose_sends_are_all_recent_is_told_they_count_once_their_opens_are_in(client, engine):
    """The case the wait was written for: a shop with a thousand sends from this week, none old enough, was still
    told only to import past sends."""
    with session_scope(engine) as session:
        customer = Customer(external_id="a", email="a@example.com")
        for i in range(1000):
            sent_at = utcnow() - timedelta(days=1, hours=i % 24)
            session.add(Send(customer=customer, subject="Fresh", campaign_type="vip", sent_at=sent_at))
    message = client.get("/customers/a/send-time").json()["message"]
    assert message.startswith("There are no sends older than 7 days")
    assert "1,000 more were sent within 7 days and count once their opens are in" in message


def test_customers_in_different_zones_who_open_at_ten_by_their_own_clock_are_mailed_at_ten_there(
    any_engine, monkeypatch, tmp_path
):
    """A New York shop's customers in New York and Los Angeles both open at 10:00 by their own clock. On the shop's
    clock alone, the Californian's habit was 13:00 and their best-hour email reached them at 07:00; by their own
    zone (a customers file's `timezone`) both have a best hour of 10, shown with their zone, and each send waits for
    10:00 there: two moments three hours apart. A customer without a zone keeps the shop's clock."""
    from service.campaigns import create_campaign
    from service.importing import import_file
    from service.schemas import CampaignIn
    from service.send_times import best_hours, schedule_at_best_hours

    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "America/New_York")
    customers = (
        "customer_id,email,first_name,marketing_consent,timezone\n"
        "ny,ny@example.com,Ny,true,America/New_York\n"
        "la,la@example.com,La,true,america/los_angeles\n"  # as a person may type it
        "shop,shop@example.com,Shop,true,\n"
    )
    lines = ["send_id,customer_id,subject,campaign_type,sent_at,opened"]
    for day in range(10):  # July: 10:00 is 14:00 UTC in New York, 17:00 UTC in Los Angeles
        date = f"2026-07-{6 + day:02d}"
        lines += [f"ny{day},ny,News,vip,{date}T14:00:00Z,true", f"ny{day}x,ny,News,vip,{date}T22:00:00Z,false"]
        lines += [f"la{day},la,News,vip,{date}T17:00:00Z,true", f"la{day}x,la,News,vip,{date}T22:00:00Z,false"]
    (tmp_path / "customers.csv").write_text(customers)
    (tmp_path / "sends.csv").write_text("\n".join(lines) + "\n")
    with session_scope(any_engine) as session:
        import_file(session, "customers", tmp_path / "customers.csv")
        import_file(session, "sends", tmp_path / "sends.csv")
    with session_scope(any_engine) as session:
        hours = {h.customer_id: (h.best_hour, h.timezone, h.source) for h in best_hours(session, ["ny", "la", "shop"])}
    assert hours == {
        "ny": (10, "America/New_York", "population"),
        "la": (10, "America/Los_Angeles", "population"),
        "shop": (10, "America/New_York", "population"),  # the population's 10:00 local, on the shop's clock
    }

    with session_scope(any_engine) as session:
        campaign_id = create_campaign(session, CampaignIn(name="t", brand="hearth", campaign_type="vip")).id
        for customer in session.scalars(select(Customer).order_by(Customer.external_id)):
            session.add(Draft(campaign_id=campaign_id, customer=customer, status="approved"))
        session.flush()
        assert schedule_at_best_hours(session, campaign_id, now=datetime(2026, 7, 20, 12, 0)) == 3
        moments = {draft.customer.external_id: draft.send_after for draft in session.scalars(select(Draft))}
    assert moments == {
        "ny": datetime(2026, 7, 20, 14, 0),
        "la": datetime(2026, 7, 20, 17, 0),
        "shop": datetime(2026, 7, 20, 14, 0),
    }


def test_dates_only_sends_name_no_hour_when_some_customers_live_in_another_zone(client, engine):
    """A dates-only file's midnights (UTC) are 09:00 for a customer in Tokyo and 00:00 for one on the shop's clock:
    two local hours, from which Tokyo's customers got a best hour of 9 that no send ever tested."""
    customers = "customer_id,email,first_name,marketing_consent,timezone\n"
    import_file(client, "customers", customers + "a,a@example.com,Ann,true,Asia/Tokyo\nb,b@example.com,Bo,true,\n")
    header = "send_id,customer_id,subject,campaign_type,sent_at,opened\n"
    days = [datetime(2025, 3, 1) + timedelta(days=day) for day in range(30)]
    rows = [f"s{i},{'ab'[i % 2]},News,vip,{day:%Y-%m-%d},{str(i % 3 == 0).lower()}\n" for i, day in enumerate(days)]
    import_file(client, "sends", header + "".join(rows))
    answer = client.get("/customers/a/send-time")
    assert answer.status_code == 409, answer.json()
    assert "All 30 past sends were made at 00:00 UTC" in answer.json()["message"]


def test_customers_in_half_hour_and_date_line_zones_are_mailed_at_their_hour_there(any_engine, tmp_path):
    """Each customer opens at 09:00 by their own clock, in zones whose offsets are not whole hours (Kolkata +5:30,
    Kathmandu +5:45, Adelaide +10:30 in its summer) or lie either side of the date line (Kiritimati +14, Pago Pago
    -11): each best hour is 9, given with its zone, and a send at best hours waits for 09:00 there, on the next
    day where 09:00 has passed on their clock when it is sent (a calendar day apart from UTC's at the date line)."""
    from service.campaigns import create_campaign
    from service.importing import import_file
    from service.schemas import CampaignIn
    from service.send_times import best_hours, schedule_at_best_hours

    nine_utc = {  # 09:00 there, in December, as hours and minutes of UTC (Kiritimati's and Pago Pago's 09:00 of a day)
        "kol": ("Asia/Kolkata", (3, 30)), "ktm": ("Asia/Kathmandu", (3, 15)), "adl": ("Australia/Adelaide", (22, 30)),
        "kir": ("Pacific/Kiritimati", (19, 0)), "ppg": ("Pacific/Pago_Pago", (20, 0)),
    }  # fmt: skip
    customers = ["customer_id,email,first_name,marketing_consent,timezone"]
    sends = ["send_id,customer_id,subject,campaign_type,sent_at,opened"]
    for name, (zone, (hour, minute)) in nine_utc.items():
        customers.append(f"{name},{name}@example.com,{name},true,{zone}")
        for day in range(10):  # opened at 09:00 there, not at 21:00 there
            nine = datetime(2025, 12, 1 + day, hour, minute)
            sends.append(f"{name}{day},{name},News,vip,{nine:%Y-%m-%dT%H:%M}:00Z,true")
            sends.append(f"{name}{day}x,{name},News,vip,{nine + timedelta(hours=12):%Y-%m-%dT%H:%M}:00Z,false")
    (tmp_path / "customers.csv").write_text("\n".join(customers) + "\n")
    (tmp_path / "sends.csv").write_text("\n".join(sends) + "\n")
    with session_scope(any_engine) as session:
        import_file(session, "customers", tmp_path / "customers.csv")
        import_file(session, "sends", tmp_path / "sends.csv")
    with session_scope(any_engine) as session:
        hours = {h.customer_id: (h.best_hour, h.timezone) for h in best_hours(session, list(nine_utc))}
    assert hours == {name: (9, zone) for name, (zone, _) in nine_utc.items()}

    now = datetime(2026, 12, 5, 12, 0)  # 17:30 in Kolkata, 22:30 in Adelaide, 02:00 on the 6th in Kiritimati, 01:00 in
    with session_scope(any_engine) as session:  # Pago Pago
        campaign_id = create_campaign(session, CampaignIn(name="t", brand="hearth", campaign_type="vip")).id
        for customer in session.scalars(select(Customer)):
            session.add(Draft(campaign_id=campaign_id, customer=customer, status="approved"))
        session.flush()
        assert schedule_at_best_hours(session, campaign_id, now=now) == 5
        moments = {draft.customer.external_id: draft.send_after for draft in session.scalars(select(Draft))}
    assert moments == {
        "kol": datetime(2026, 12, 6, 3, 30),  # 09:00 on the 5th had passed there: the 6th's
        "ktm": datetime(2026, 12, 6, 3, 15),
        "adl": datetime(2026, 12, 5, 22, 30),  # 09:00 on the 6th there
        "kir": datetime(2026, 12, 5, 19, 0),  # 09:00 on the 6th there, the 5th in UTC
        "ppg": datetime(2026, 12, 5, 20, 0),  # 09:00 on the 5th there
    }
