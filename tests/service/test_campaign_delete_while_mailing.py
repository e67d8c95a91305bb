"""A campaign deleted while the due-check (whose job names no campaign) mails one of its drafts: the deletion waited
for the email's transaction and was then refused as having "sent 1 email", or went first and the due-check reported
the campaign deleted. It is refused at once, saying a draft is being sent now, and nothing is deleted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from service.db.session import busy_wait_at_most, session_scope
from tests.service.test_campaign_delete_races import due_check_running


def _campaign_with_a_draft(engine, status: str, claimed_by: str | None) -> tuple[int, int]:
    """A new campaign (``spring``) with one draft of this status and claim: their ids."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign, Customer, Draft

    with session_scope(engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        draft = Draft(campaign=campaign, customer=customer, status=status, claimed_by=claimed_by)
        session.add(draft)
        session.flush()
        return campaign.id, draft.id


def test_a_campaign_whose_draft_the_due_check_is_mailing_is_not_deleted(any_engine):
    from service.campaigns import delete_campaign
    from service.db.models import Campaign, DeletedCampaign, Draft
    from service.errors import Conflict
    from service.jobs.recovery import new_send_claim

    claimed = new_send_claim()  # as the due-check's sender leaves it while the mail server takes its email
    campaign_id, draft_id = _campaign_with_a_draft(any_engine, "sending", claimed)

    with pytest.raises(Conflict) as refused, session_scope(any_engine) as session:
        delete_campaign(session, campaign_id)
    assert str(refused.value) == (
        f"Campaign {campaign_id} has a draft being sent now: try again once the send is over."
    )
    with session_scope(any_engine) as session:
        assert session.get(Campaign, campaign_id) is not None
        assert session.get(DeletedCampaign, campaign_id) is None
        draft = session.get(Draft, draft_id)
        assert (draft.status, draft.claimed_by) == ("sending", claimed)  # the send's claim left as it was


def test_a_campaign_whose_draft_was_left_sending_by_a_sender_that_died_is_deleted(any_engine):
    """A claim an hour old is a sender's that stopped (service.jobs.recovery): no send will end it, and its email
    was not recorded, so the campaign sent nothing and is deleted."""
    from service.campaigns import delete_campaign
    from service.clock import utcnow
    from service.db.models import Campaign, Draft
    from service.jobs.recovery import STALE_AFTER

    campaign_id, draft_id = _campaign_with_a_draft(any_engine, "sending", "web-2:7:0123456789ab/0f")
    with session_scope(any_engine) as session:
        session.get(Draft, draft_id).updated_at = utcnow() - STALE_AFTER - timedelta(minutes=1)

    with session_scope(any_engine) as session:
        delete_campaign(session, campaign_id)
    with session_scope(any_engine) as session:
        assert session.get(Campaign, campaign_id) is None and session.get(Draft, draft_id) is None


def test_a_deletion_while_an_email_s_transaction_is_open_is_refused_without_waiting_for_it(
    any_engine, mail_server, tailor_home, monkeypatch
):
    """The due-check records a draft's send (its campaign held: on PostgreSQL a row lock, on SQLite the write lock of
    the contact policy's look) when the deletion comes: the deletion waited for that transaction before it was refused
    (on SQLite the busy timeout, 10 s, should the send be slow). It is refused at once, and the email goes."""
    from service.campaigns import delete_campaign
    from service.db.models import Campaign
    from service.errors import Conflict
    from service.pipeline import sending
    from service.signed_links import UnsubscribeLinks
    from tests.service.test_send_claims import due_campaign

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    UnsubscribeLinks.configured()
    due_campaign(any_engine, 1)
    recording, go_on, checked = threading.Event(), threading.Event(), {}
    send_of = sending.send_of

    def recorded_once_told(*args):
        recording.set()
        assert go_on.wait(60)
        return send_of(*args)

    monkeypatch.setattr(sending, "send_of", recorded_once_told)
    checking = due_check_running(any_engine, checked)
    try:
        assert recording.wait(60)
        with session_scope(any_engine) as session:
            campaign_id = session.scalar(select(Campaign.id))
        started = time.monotonic()
        with (
            pytest.raises(Conflict) as refused,
            session_scope(any_engine) as deleting,
            _waiting_for_locks_at_most(deleting, seconds=3),  # a wait fails the test, rather than holding it
        ):
            delete_campaign(deleting, campaign_id)
        waited = time.monotonic() - started
        go_on.set()
        checking.join(timeout=30)
    finally:
        go_on.set()
    assert str(refused.value) == f"Campaign {campaign_id} has a draft being sent now: try again once the send is over."
    assert waited < 1.5, waited
    assert "raised" not in checked, checked
    assert checked["campaigns"][str(campaign_id)]["sent"] == 1 and len(messages) == 1
    with session_scope(any_engine) as session:
        assert session.get(Campaign, campaign_id) is not None


@contextmanager
def _waiting_for_locks_at_most(session, seconds: int) -> Iterator[None]:
    """Within the block, the session waits at most ``seconds`` for a lock another transaction holds (a row's on
    PostgreSQL, for this transaction; the write lock on SQLite), then fails."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{seconds}s'"))
        yield
        return
    with busy_wait_at_most(session, seconds * 1000):
        yield
