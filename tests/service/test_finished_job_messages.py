"""A finished job's message says what it did, as the generate job's "done: wrote 3 drafts": a refresh of a campaign
with nothing to refresh kept "refreshing drafts: 0 of 0" once it succeeded, and a due-check kept the id of the last
campaign it was at ("campaign 7")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.clock import utcnow
from service.db.models import Customer, Job, Send
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
        assert job.message == "done: sent 3 emails for 2 campaigns, skipped 0, deferred 0", job.message


@pytest.mark.parametrize(
    ("kind", "told"),
    [
        ("send", "done: sent 1 email, skipped 1, deferred 1"),
        ("send_due", "done: sent 1 email for 1 campaign, skipped 1, deferred 1"),
    ],
)
def test_a_send_says_what_became_of_every_draft_it_looked_at(engine, mail_server, monkeypatch, kind, told):
    """A send that skipped a draft (its customer unsubscribed) and deferred one (its customer mailed yesterday) ended
    saying "sent 1", as if it had looked at one draft."""
    from service.pipeline.campaign_runs import send_due_now, send_now

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = campaign_with_drafts(engine, "autumn", due=3)
    with session_scope(engine) as session:
        customers = {customer.external_id: customer for customer in session.scalars(select(Customer))}
        customers["autumn1"].unsubscribed = True
        yesterday = utcnow() - timedelta(days=1)
        session.add(Send(customer=customers["autumn2"], subject="Earlier", campaign_type="vip", sent_at=yesterday))

    if kind == "send":
        send_now(engine, campaign_id, links_must_answer=False)
    else:
        send_due_now(engine, links_must_answer=False)

    with session_scope(engine) as session:
        (job,) = session.scalars(select(Job).where(Job.kind == kind)).all()
        assert job.status == "succeeded" and [m["To"] for m in messages] == ["autumn0@example.com"]
        assert job.message == told, job.message
