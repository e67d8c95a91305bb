"""A finished job's message says what it did, as the generate job's "done: wrote 3 drafts": a refresh of a campaign
with nothing to refresh kept "refreshing drafts: 0 of 0" once it succeeded, and a due-check kept the id of the last
campaign it was at ("campaign 7")."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Job
from service.db.session import session_scope
from tests.service.conftest import wait_for_job
from tests.service.test_cli_send_due import campaign_with_drafts
from tests.service.test_sending import new_campaign


def test_a_refresh_with_nothing_to_refresh_says_so_once_it_succeeded(client):
    campaign_id = new_campaign(client)

    answer = client.post(f"/campaigns/{campaign_id}/drafts/refresh-facts", json={"reviewer": "Ola"})

    assert answer.status_code == 202, answer.text
    job = wait_for_job(client, answer.json()["job_id"])
    assert job["status"] == "succeeded" and (job["done"], job["total"]) == (0, 0), job
    assert job["message"] == "done: nothing to refresh: no waiting draft shows a fact the catalog changed", job


def test_a_due_check_says_what_it_sent_once_it_succeeded(engine, mail_server, monkeypatch):
    from service.pipeline.campaign_runs import send_due_now

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_with_drafts(engine, "autumn", due=2)
    campaign_with_drafts(engine, "winter", due=1)

    send_due_now(engine, links_must_answer=False)

    with session_scope(engine) as session:
        (job,) = session.scalars(select(Job).where(Job.kind == "send_due")).all()
        assert job.status == "succeeded" and len(messages) == 3
        assert job.message == "done: sent 3 emails for 2 campaigns", job.message
