"""A campaign deleted on PostgreSQL as a request to generate or send it runs: PostgreSQL lets the request read the
campaign before the deletion commits. The request waits for the deletion and says the campaign was deleted; a
request to generate said a job was "already" generating it (none was), and a send job started at that moment
succeeded, sending nothing, for a campaign gone (with approved drafts it claimed one, then failed on the database's
foreign key)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

pytestmark = pytest.mark.postgres


def _raised_beside_a_deletion(postgres_url, name: str, request: Callable[..., object]) -> tuple[int, list]:
    """Run ``request(engine, campaign_id)`` on a thread while a deletion of a new campaign (``spring``), its checks
    passed, is not yet committed; commit it once the request waits on it (or has ended). The campaign's id and what the
    request raised."""
    from service.campaigns import delete_campaign, ensure_brand
    from service.db.migrate import upgrade
    from service.db.models import Campaign
    from service.db.session import session_scope
    from tests.service.conftest import new_postgres_database

    engine = new_postgres_database(postgres_url, name)
    upgrade(engine)
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
