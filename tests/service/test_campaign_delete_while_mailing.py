"""A campaign deleted while the due-check (whose job names no campaign) mails one of its drafts: the deletion waited
for the email's transaction and was then refused as having "sent 1 email", or went first and the due-check reported
the campaign deleted. It is refused at once, saying a draft is being sent now, and nothing is deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.db.session import session_scope


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
