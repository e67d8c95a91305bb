"""A request to send a campaign deleted while it is answered: the route read the campaign, the deletion's checks read
the jobs before the send job was queued, and the request answered 202 for a job that then failed saying the campaign
was deleted; a marketing tool told 202 took the send for under way. It is a 404 naming the campaign, and no job is
queued; a send job queued first keeps the deletion refused."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.db.session import session_scope


def _app_and_campaign(engine) -> tuple[TestClient, int]:
    """A client of the app on ``engine`` (its API key made; a 500 answered, not raised) and a new campaign
    (``spring``) that sent nothing."""
    from service.app import create_app
    from service.auth import create_key
    from service.campaigns import ensure_brand
    from service.db.models import Campaign

    with session_scope(engine) as session:
        key = create_key(session, "tests")
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    client = TestClient(create_app(engine), headers={"X-API-Key": key}, raise_server_exceptions=False)
    return client, campaign_id


def _send_jobs(engine) -> int:
    from service.db.models import Job

    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.kind == "send"))


def test_a_send_request_whose_campaign_is_deleted_before_its_job_is_queued_is_a_404(
    any_engine, tailor_home, monkeypatch
):
    """The deletion commits once the request has read the campaign, as its job is queued."""
    from service.campaigns import delete_campaign
    from service.jobs.runner import ThreadJobRunner

    client, campaign_id = _app_and_campaign(any_engine)
    submit = ThreadJobRunner.submit

    def deleted_first(runner, kind, work, **params) -> str:
        with session_scope(any_engine) as deleting:
            delete_campaign(deleting, params["campaign_id"])
        return submit(runner, kind, work, **params)

    monkeypatch.setattr(ThreadJobRunner, "submit", deleted_first)
    with client:
        answer = client.post(f"/campaigns/{campaign_id}/send")
    assert answer.status_code == 404, answer.text
    assert answer.json()["message"].startswith(f"Campaign {campaign_id} ('spring') was deleted on ")
    assert _send_jobs(any_engine) == 0


def test_a_send_request_making_an_experiment_beside_a_deletion_is_answered_as_it_ends(
    any_engine, tailor_home, monkeypatch
):
    """A deletion on a thread of its own, begun once the request has read the campaign, before it writes the holdout
    share: the campaign's row went from under that UPDATE (a 500). Either the request is answered 202 and the deletion
    refused for its job (or, the send over first, let go), or the deletion goes and the request is a 404."""
    from service.campaigns import delete_campaign
    from service.db.models import Campaign, Job
    from service.errors import Conflict
    from service.routes import campaigns as campaign_routes

    client, campaign_id = _app_and_campaign(any_engine)
    set_holdout_share, refused = campaign_routes.set_holdout_share, []

    def delete() -> None:
        try:
            with session_scope(any_engine) as deleting:
                delete_campaign(deleting, campaign_id)
        except Conflict as error:
            refused.append(error)

    deleting = threading.Thread(target=delete)

    def deletion_begun(session, campaign, holdout_share) -> None:
        deleting.start()
        deleting.join(timeout=1)  # done, or waiting for the request
        set_holdout_share(session, campaign, holdout_share)

    monkeypatch.setattr(campaign_routes, "set_holdout_share", deletion_begun)
    with client:
        answer = client.post(f"/campaigns/{campaign_id}/send", params={"holdout_share": 0.2})
        deleting.join(timeout=30)
    assert not deleting.is_alive()
    with session_scope(any_engine) as session:
        kept = session.get(Campaign, campaign_id) is not None
        job = session.get(Job, answer.json()["job_id"]) if answer.status_code == 202 else None
    if answer.status_code == 202 and not kept:
        # The send ended (a campaign of no drafts sends at once) before the deletion had the database: it went then,
        # as any deletion of a campaign whose send is over does. Under load the runner's thread can come first.
        assert refused == [] and job is not None and (job.status, job.error) == ("succeeded", None), job
    elif answer.status_code == 202:
        assert len(refused) == 1, refused
        assert str(refused[0]).startswith(f"Campaign {campaign_id} is being sent: cancel its job (POST /jobs/")
    else:
        assert answer.status_code == 404, answer.text
        assert not kept and refused == [] and _send_jobs(any_engine) == 0
        assert answer.json()["message"].startswith(f"Campaign {campaign_id} ('spring') was deleted on ")


@pytest.mark.postgres
def test_a_send_request_beside_a_deletion_not_yet_committed_is_a_404(postgres_url, tailor_home):
    """PostgreSQL: the deletion, its checks passed, is not yet committed as the request reads the campaign and queues
    its job; it commits once the request waits for it."""
    from service.app import create_app
    from service.auth import create_key
    from tests.service.test_campaign_delete_races import _raised_beside_a_deletion

    answers = []

    def send(engine, campaign_id: int) -> None:
        with session_scope(engine) as session:
            key = create_key(session, "tests")
        with TestClient(create_app(engine), headers={"X-API-Key": key}) as client:
            answers.append(client.post(f"/campaigns/{campaign_id}/send"))

    campaign_id, raised = _raised_beside_a_deletion(postgres_url, "send_request_delete_race", send)
    assert raised == [] and len(answers) == 1
    assert answers[0].status_code == 404, answers[0].text
    assert answers[0].json()["message"].startswith(f"Campaign {campaign_id} ('spring') was deleted on ")


def test_a_campaign_whose_send_request_was_answered_202_is_not_deleted(any_engine, tailor_home, monkeypatch):
    """The other order: the job queued (202), the deletion is refused naming it, and nothing is deleted."""
    from service.campaigns import delete_campaign
    from service.db.models import Campaign
    from service.errors import Conflict
    from service.jobs import runner

    client, campaign_id = _app_and_campaign(any_engine)
    monkeypatch.setattr(runner._Lane, "submit", lambda self, call, *args: runner.Future())  # queued, never run
    with client:
        answer = client.post(f"/campaigns/{campaign_id}/send")
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        with pytest.raises(Conflict) as refused, session_scope(any_engine) as session:
            delete_campaign(session, campaign_id)
    assert str(refused.value).startswith(f"Campaign {campaign_id} is being sent: cancel its job (POST /jobs/{job_id}")
    with session_scope(any_engine) as session:
        assert session.get(Campaign, campaign_id) is not None
