"""The contact policy's two waits on one customer, a recent email and another campaign's holdout: the later holds,
at the first look (as a send chooses its drafts) and at the second (as each email goes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.campaigns import ensure_brand
from service.clock import utcnow
from service.db.models import Assignment, Campaign, Customer, Draft, Send
from service.db.session import session_scope
from service.pipeline.contact_policy import defer_if_mailed_meanwhile, defer_recently_mailed

MIN_DAYS, HOLDOUT_DAYS = 7, 14


@pytest.fixture(params=[(1, 13), (6, 2)], ids=["the email's wait is later", "the holdout's wait is later"])
def waiting(request, engine):
    """A customer mailed some days ago and held out of another campaign's experiment some days ago, with an approved
    draft of a third campaign; the moment, when the later wait ends, and how its reason begins."""
    mailed_days_ago, held_out_days_ago = request.param
    now = utcnow()
    mailed, held_out = now - timedelta(days=mailed_days_ago), now - timedelta(days=held_out_days_ago)
    with session_scope(engine) as session:
        brand = ensure_brand(session, "hearth")
        experiment = Campaign(name="experiment", brand=brand, campaign_type="vip")
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        session.add_all([
            Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=mailed),
            experiment,
            Draft(campaign=Campaign(name="next", brand=brand, campaign_type="vip"), customer=customer,
                  status="approved"),
        ])  # fmt: skip
        session.flush()
        session.add(Assignment(campaign_id=experiment.id, customer_id=customer.id, arm="holdout", assigned_at=held_out))
    # by hand: 1 day ago + 7 = 6 days on, against 13 days ago + 14 = 1 day on; 6 ago + 7 = 1 on, against 2 ago + 14
    later = max(mailed + timedelta(days=MIN_DAYS), held_out + timedelta(days=HOLDOUT_DAYS))
    why = "the customer was mailed" if mailed_days_ago == 1 else "the customer was held out of another campaign"
    return now, later, f"Deferred by the contact policy to {later:%Y-%m-%d %H:%M} UTC: {why}"


def _draft(session) -> Draft:
    return session.scalar(select(Draft))


def test_the_first_look_holds_the_draft_until_the_later_wait_ends(engine, waiting):
    now, later, reason_begins = waiting
    with session_scope(engine) as session:
        draft = _draft(session)
        assert defer_recently_mailed(session, [draft.id], now, MIN_DAYS, HOLDOUT_DAYS) == ([], 1)
        assert draft.send_after == later
        (reason,) = draft.flag_reasons
        assert reason.startswith(reason_begins), reason


def test_the_second_look_holds_the_draft_until_the_later_wait_ends(engine, waiting):
    now, later, reason_begins = waiting
    with session_scope(engine) as session:
        draft = _draft(session)
        assert defer_if_mailed_meanwhile(session, draft, now, MIN_DAYS, HOLDOUT_DAYS, "UTC", {}) is True
        assert draft.send_after == later
        (reason,) = draft.flag_reasons
        assert reason.startswith(reason_begins), reason


@pytest.mark.parametrize("policy", ["min_days", "holdout_days"])
def test_the_second_look_with_one_wait_off_holds_the_draft_for_the_other_alone(engine, waiting, policy):
    """One wait on, the other's setting 0: the draft waits for the one on alone (the look's one statement then reads
    a NULL in place of the other's time)."""
    now, _later, _reason = waiting
    min_days, holdout_days = (MIN_DAYS, 0) if policy == "min_days" else (0, HOLDOUT_DAYS)
    with session_scope(engine) as session:
        mailed = session.scalar(select(Send.sent_at))
        held_out = session.scalar(select(Assignment.assigned_at))
        draft = _draft(session)
        assert defer_if_mailed_meanwhile(session, draft, now, min_days, holdout_days, "UTC", {}) is True
        expected = (
            mailed + timedelta(days=MIN_DAYS) if policy == "min_days" else held_out + timedelta(days=HOLDOUT_DAYS)
        )
        assert draft.send_after == expected


def test_the_first_look_counts_an_email_to_the_address_under_another_id(engine):
    """A send chooses its drafts with the household's emails counted, not only at the second look: a batch of n
    drafts otherwise took one whose email the second look would hold back, and sent fewer than n."""
    now = utcnow()
    mailed = now - timedelta(days=1)
    with session_scope(engine) as session:
        brand = ensure_brand(session, "hearth")
        twin = Customer(external_id="ann-2", email=" Ann@Example.com", marketing_consent=True)
        session.add_all([
            Send(customer=Customer(external_id="ann", email="ann@example.com", marketing_consent=True),
                 subject="Earlier", campaign_type="vip", sent_at=mailed, to_email="ann@example.com"),
            Draft(campaign=Campaign(name="next", brand=brand, campaign_type="vip"), customer=twin, status="approved"),
        ])  # fmt: skip
    with session_scope(engine) as session:
        draft = _draft(session)
        assert defer_recently_mailed(session, [draft.id], now, MIN_DAYS) == ([], 1)
        assert draft.send_after == mailed + timedelta(days=MIN_DAYS)


def test_a_deferred_best_hour_keeps_its_time_of_day_on_the_customers_own_clock(engine):
    """A Los Angeles customer's best hour is 10:00 there (17:00 UTC in summer). Deferred past the night Los Angeles
    leaves summer time (1 November 2026), the draft kept 17:00 on the shop's clock (UTC): 09:00 for the customer."""
    from datetime import datetime

    now = datetime(2026, 10, 30, 12, 0)
    with session_scope(engine) as session:
        customer = Customer(external_id="la", email="la@example.com", marketing_consent=True,
                            timezone="America/Los_Angeles")  # fmt: skip
        campaign = Campaign(name="next", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add_all([
            Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=datetime(2026, 10, 30, 6, 0)),
            Draft(campaign=campaign, customer=customer, status="approved", send_after=datetime(2026, 10, 30, 17, 0)),
        ])  # fmt: skip
    with session_scope(engine) as session:
        draft = _draft(session)
        assert defer_recently_mailed(session, [draft.id], now, min_days=3, timezone="UTC") == ([], 1)
        assert draft.send_after == datetime(2026, 11, 2, 18, 0)  # the wait ends 1 Nov 22:00 there: 2 Nov 10:00 PST


@pytest.mark.parametrize(
    ("zone", "meant", "mailed", "expected"),
    [
        # New York's 01:30 comes twice on 1 November 2026 (01:30 EDT, 05:30 UTC; 01:30 EST, 06:30 UTC). The wait ended
        # at 01:45 EDT, and the draft waited a whole day, though 01:30 came again 45 minutes later.
        ("America/New_York", (10, 29, 5, 30), (10, 29, 5, 45), (11, 1, 6, 30)),
        # Berlin's 02:30 does not come on 28 March 2027: the draft goes at the hour after the gap, 03:30 CEST.
        ("Europe/Berlin", (3, 25, 1, 30), (3, 25, 0, 45), (3, 28, 1, 30)),
    ],
    ids=["repeated hour", "skipped hour"],
)
def test_a_deferral_ending_on_a_daylight_saving_night_keeps_the_time_of_day_there(
    engine, zone, meant, mailed, expected
):
    from datetime import datetime

    year = 2026 if zone == "America/New_York" else 2027
    now = datetime(year, *mailed) + timedelta(minutes=1)
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True, timezone=zone)
        campaign = Campaign(name="next", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add_all([
            Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=datetime(year, *mailed)),
            Draft(campaign=campaign, customer=customer, status="approved", send_after=datetime(year, *meant)),
        ])  # fmt: skip
    with session_scope(engine) as session:
        draft = _draft(session)
        assert defer_recently_mailed(session, [draft.id], now, min_days=3) == ([], 1)
        assert draft.send_after == datetime(year, *expected)


def test_a_best_hour_the_clock_skips_is_moved_that_night_alone_when_deferred(engine, tmp_path):
    """A Berlin customer opens at 02:00 there. Scheduled at best hours the day before Berlin enters summer time
    (28 March 2027), the draft goes at 03:00 CEST that night, as 02:00 does not come. Deferred by the contact policy
    past that night, it kept 03:00 on every later day: an hour off the customer's habit for good."""
    from datetime import datetime

    from service.importing import import_file
    from service.send_times import schedule_at_best_hours, schedule_campaign

    (tmp_path / "customers.csv").write_text(
        "customer_id,email,first_name,marketing_consent,timezone\nb1,b1@example.com,B,true,Europe/Berlin\n"
    )
    lines = ["send_id,customer_id,subject,campaign_type,sent_at,opened"]
    for day in range(10):  # November 2026: 02:00 in Berlin (CET) is 01:00 UTC
        lines += [f"n{day},b1,News,vip,2026-11-{2 + day:02d}T01:00:00Z,true"]
        lines += [f"d{day},b1,News,vip,2026-11-{2 + day:02d}T13:00:00Z,false"]
    (tmp_path / "sends.csv").write_text("\n".join(lines) + "\n")
    now = datetime(2027, 3, 27, 12, 0)
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "customers.csv")
        import_file(session, "sends", tmp_path / "sends.csv")
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer))
        campaign = Campaign(name="night", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(Draft(campaign=campaign, customer=customer, status="approved"))
        session.flush()
        schedule_campaign(session, campaign, now, at_best_hour=True)
        assert schedule_at_best_hours(session, campaign.id, now) == 1
        draft = _draft(session)
        assert draft.send_after == datetime(2027, 3, 28, 1, 0)  # 03:00 CEST: 02:00 is skipped that night
        session.add(Send(customer=customer, subject="Other", campaign_type="vip", sent_at=now - timedelta(hours=1)))
    with session_scope(engine) as session:
        draft = _draft(session)
        assert defer_recently_mailed(session, [draft.id], now, min_days=3) == ([], 1)
        # the wait ends 30 March 13:00 CEST: the next 02:00 there is 31 March's, 00:00 UTC
        assert draft.send_after == datetime(2027, 3, 31, 0, 0)


@pytest.mark.parametrize(
    ("scheduled_at", "expected"),
    [((3, 25, 1, 30), (3, 31, 0, 30)), ((3, 25, 2, 30), (3, 31, 1, 30))],
    ids=["02:30, skipped that night", "03:30, its own"],
)
def test_a_scheduled_time_of_day_the_clock_skipped_is_kept_after_that_night(engine, scheduled_at, expected):
    """A campaign scheduled for 02:30 in Berlin (25 March 2027, CET); its draft, deferred to the night Berlin enters
    summer time, went at 03:30 CEST, the moment after the gap. Deferred again from there, it kept 03:30. A campaign
    scheduled for 03:30 keeps 03:30, sent at that same moment that night."""
    from datetime import datetime

    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True, timezone="Europe/Berlin")
        campaign = Campaign(name="next", brand=ensure_brand(session, "hearth"), campaign_type="vip",
                            scheduled_at=datetime(2027, *scheduled_at))  # fmt: skip
        session.add_all([
            Send(customer=customer, subject="Earlier", campaign_type="vip", sent_at=datetime(2027, 3, 27, 12, 0)),
            Draft(campaign=campaign, customer=customer, status="approved", send_after=datetime(2027, 3, 28, 1, 30)),
        ])  # fmt: skip
    with session_scope(engine) as session:
        draft = _draft(session)
        assert defer_recently_mailed(session, [draft.id], datetime(2027, 3, 27, 12, 1), min_days=3) == ([], 1)
        assert draft.send_after == datetime(2027, *expected)  # the campaign's time of day there, in CEST
