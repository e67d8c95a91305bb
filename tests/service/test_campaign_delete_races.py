"""A campaign deleted on PostgreSQL as a request to generate it, or a job to send it, runs: PostgreSQL lets them read
the campaign before the deletion commits. They wait for the deletion and say the campaign was deleted: a request to
generate said a job was "already" generating it (none was), a send job started at that moment succeeded, sending
nothing, for a campaign gone, and the due-check failed whole."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

pytestmark = pytest.mark.postgres


def due_check_running(engine, checked: dict) -> threading.Thread:
    """The due-check begun on a thread of its own: its report lands in ``checked``, or what it raised, as "raised"."""
    from service.pipeline import sending

    def due_check() -> None:
        try:
            checked.update(sending.send_due_drafts(lambda *_: None, engine))
        except Exception as error:  # the test reports it
            checked["raised"] = error

    thread = threading.Thread(target=due_check)
    thread.start()
    return thread


def due_on_postgres(postgres_url, name: str, mail_server, monkeypatch):
    """A migrated database ``name`` of the throwaway cluster with one campaign of one approved draft due, mailed
    through ``mail_server`` (the unsubscribe links' key made first); the engine and the messages the server took."""
    from service.signed_links import UnsubscribeLinks
    from tests.service.conftest import new_migrated_postgres_database
    from tests.service.test_send_claims import due_campaign

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    UnsubscribeLinks.configured()
    engine = new_migrated_postgres_database(postgres_url, name)
    due_campaign(engine, 1)
    return engine, messages


def _raised_beside_a_deletion(postgres_url, name: str, request: Callable[..., object]) -> tuple[int, list]:
    """Run ``request(engine, campaign_id)`` on a thread while a deletion of a new campaign (``spring``), its checks
    passed, is not yet committed; commit it once the request waits on it (or has ended). The campaign's id and what the
    request raised."""
    from service.campaigns import delete_campaign, ensure_brand
    from service.db.models import Campaign
    from service.db.session import session_scope
    from tests.service.conftest import new_migrated_postgres_database

    engine = new_migrated_postgres_database(postgres_url, name)
    with session_scope(engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    deleting, raised = Session(engine), []

    def run() -> None:
        try:
            request(engine, campaign_id)
        except Exception as error:  # the test reports it
            raised.append(error)

    try:
        delete_campaign(deleting, campaign_id)  # its checks read no job of the campaign; not yet committed
        requesting = threading.Thread(target=run)
        requesting.start()
        with engine.connect() as watcher:  # until the request waits on the deletion's lock, or went on without it
            for _ in range(200):
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                seen = watcher.execute(text(waiting)).scalar()
                watcher.rollback()  # pg_stat_activity is read once a transaction: the next look reads it anew
                if seen or not requesting.is_alive():
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the request neither waited for the deletion nor ended")
        deleting.commit()
        requesting.join(timeout=30)
    finally:
        deleting.close()
        engine.dispose()
    return campaign_id, raised


def test_a_request_to_generate_a_campaign_being_deleted_says_it_was_deleted(postgres_url):
    from service.campaigns import start_generating
    from service.db.session import session_scope
    from service.errors import CampaignNotFound

    def generate(engine, campaign_id: int) -> None:
        with session_scope(engine) as session:
            start_generating(session, campaign_id)

    campaign_id, raised = _raised_beside_a_deletion(postgres_url, "generate_delete_race", generate)
    assert len(raised) == 1 and isinstance(raised[0], CampaignNotFound), raised
    assert str(raised[0]).startswith(f"Campaign {campaign_id} ('spring') was deleted on ")


def test_a_send_job_started_as_its_campaign_is_deleted_says_it_was_deleted(postgres_url, tailor_home):
    """The job was queued after the deletion read the jobs: it must not go on for a campaign gone."""
    from service.errors import CampaignNotFound
    from service.pipeline.sending import send_campaign

    def send(engine, campaign_id: int) -> None:
        send_campaign(lambda *_: None, engine, campaign_id)

    campaign_id, raised = _raised_beside_a_deletion(postgres_url, "send_delete_race", send)
    assert len(raised) == 1 and isinstance(raised[0], CampaignNotFound), raised
    assert str(raised[0]).startswith(f"Campaign {campaign_id} ('spring') was deleted on ")


def test_a_deletion_while_the_due_check_mails_the_campaign_is_refused_at_once_and_the_email_goes(
    postgres_url, mail_server, tailor_home, monkeypatch
):
    """The due-check's job names no campaign, so a deletion's checks did not see it: a deletion between a draft's
    claim and its send passed them, the send waited for the deletion and left the campaign saying it was deleted (or,
    the email recorded first, the deletion waited for it and was refused as "has sent 1 email"). The deletion is
    refused at once, saying a draft is being sent now, and the due-check mails it."""
    from service.campaigns import delete_campaign
    from service.errors import Conflict
    from service.pipeline import sending

    engine, messages = due_on_postgres(postgres_url, "due_delete_race", mail_server, monkeypatch)
    claimed, go_on, checked = threading.Event(), threading.Event(), {}
    claim = sending.claim

    def claimed_then_held(*args):
        won = claim(*args)
        claimed.set()
        assert go_on.wait(60)
        return won

    monkeypatch.setattr(sending, "claim", claimed_then_held)
    checking = due_check_running(engine, checked)
    deleting = Session(engine)
    try:
        assert claimed.wait(60)
        campaign_id = deleting.scalar(text("SELECT id FROM campaigns"))
        with pytest.raises(Conflict) as refused:
            delete_campaign(deleting, campaign_id)
        deleting.rollback()
        go_on.set()
        checking.join(timeout=30)
    finally:
        go_on.set()
        deleting.close()
    assert str(refused.value) == (
        f"Campaign {campaign_id} has a draft being sent now: try again once the send is over."
    )
    assert "raised" not in checked, checked
    assert checked["campaigns"][str(campaign_id)]["sent"] == 1
    with engine.connect() as reader:
        assert reader.execute(text("SELECT count(*) FROM campaigns")).scalar() == 1
    engine.dispose()
    assert len(messages) == 1


def test_a_send_claim_made_as_a_deletion_checks_is_refused_or_refuses_it(postgres_url, mail_server, tailor_home,
                                                                          monkeypatch):  # fmt: skip
    """The due-check read the campaign before the deletion began, and claims a draft once the deletion's checks saw
    none being sent, before its DELETE: the claim was committed, the deletion went on, and the due-check reported
    the campaign deleted after claiming one of its drafts. Either the claim never happens (the campaign deleted) or
    the deletion is refused (the email goes)."""
    from service import campaigns
    from service.db.models import DeletedCampaign
    from service.db.session import session_scope
    from service.errors import Conflict
    from service.pipeline import sending

    engine, messages = due_on_postgres(postgres_url, "claim_delete_race", mail_server, monkeypatch)
    at_claim, go_on, claimed, checked = threading.Event(), threading.Event(), [], {}
    claim, sent = sending.claim, campaigns._sent

    def claim_once_told(*args):
        at_claim.set()
        assert go_on.wait(60)
        try:
            claimed.append(claim(*args))
        except Exception as error:  # what the test looks at
            claimed.append(error)
            raise
        return claimed[-1]

    def claim_between_checks_and_delete(session, campaign_id):  # the deletion's last check
        if session.get(DeletedCampaign, campaign_id) is None:  # not yet written: not the checks its DELETE follows
            return sent(session, campaign_id)
        go_on.set()
        with engine.connect() as watcher:  # until the claim is made, or waits for the deletion
            for _ in range(200):
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                seen = watcher.execute(text(waiting)).scalar()
                watcher.rollback()
                if seen or claimed:
                    break
                time.sleep(0.05)
        return sent(session, campaign_id)

    monkeypatch.setattr(sending, "claim", claim_once_told)
    monkeypatch.setattr(campaigns, "_sent", claim_between_checks_and_delete)
    checking = due_check_running(engine, checked)
    try:
        assert at_claim.wait(60)
        with session_scope(engine) as session:
            campaign_id = session.scalar(text("SELECT id FROM campaigns"))
        try:
            with session_scope(engine) as deleting:
                campaigns.delete_campaign(deleting, campaign_id)
            refused = None
        except Conflict as error:
            refused = error
        checking.join(timeout=30)
    finally:
        go_on.set()
    with engine.connect() as reader:
        kept = reader.execute(text("SELECT count(*) FROM campaigns")).scalar() == 1
    engine.dispose()
    assert "raised" not in checked, checked
    report = checked["campaigns"][str(campaign_id)]
    if kept:  # the claim first: the deletion refused, the email sent
        assert str(refused) == f"Campaign {campaign_id} has a draft being sent now: try again once the send is over."
        assert report["sent"] == 1 and len(messages) == 1
    else:  # the deletion first: no claim made, and the due-check says the campaign was deleted
        assert refused is None and not any(isinstance(made, str) for made in claimed), claimed
        assert report["not_sent"].startswith(f"Campaign {campaign_id} ('due') was deleted on ")
        assert messages == []
