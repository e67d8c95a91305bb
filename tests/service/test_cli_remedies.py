"""An error of the shared service that names something to do names it as its reader does it: the API's answer the
request to send, the command line the command to run. A marketer at `tailor` was told "POST /jobs/{id}/cancel",
which they could not act on."""

from __future__ import annotations

from service.campaigns import ensure_brand
from service.clock import utcnow
from service.db.models import Campaign, Job
from service.db.session import session_scope
from service.jobs.recovery import worker_name
from tests.service.conftest import trained_in_process
from tests.service.test_cli import run

CUSTOMERS = "customer_id,email,first_name,locale,marketing_consent\nc1,ann@example.com,Ann,en,true\n"


def _campaign_with_a_job(engine, status: str, kind: str) -> tuple[int, str]:
    """A campaign in ``status`` with a queued job of ``kind`` held by this (live) process: its id and the job's."""
    with session_scope(engine) as session:
        campaign = Campaign(name="autumn", brand=ensure_brand(session, "hearth"), campaign_type="vip", status=status)
        session.add(campaign)
        session.flush()
        job = Job(id=f"{kind}-1", kind=kind, status="queued", worker=worker_name(), heartbeat_at=utcnow(),
                  campaign_id=campaign.id)  # fmt: skip
        session.add(job)
        return campaign.id, job.id


def test_a_refusal_for_a_running_job_names_the_command_that_cancels_it(client, engine, tailor_home, tmp_path):
    imported = client.post("/imports/customers", files={"file": ("customers.csv", CUSTOMERS.encode(), "text/csv")})
    assert imported.status_code == 200, imported.text
    campaign_id, job_id = _campaign_with_a_job(engine, "generating", "generate")
    cancel = f"cancel its job (`tailor jobs cancel {job_id}`) first."

    erased = run(["customers", "erase", "c1", "--yes"], tailor_home)
    exported = run(["export", "--campaign", str(campaign_id), "--out", str(tmp_path / "drafts.jsonl")], tailor_home)

    assert erased.returncode == 2 and erased.stderr.splitlines() == [
        f"error: Campaign {campaign_id} is being generated and may be writing this customer's draft: erase them once "
        f"it is ready, or {cancel}"
    ]
    assert exported.returncode == 2 and exported.stderr.splitlines() == [
        f"error: Campaign {campaign_id} is being generated (0 drafts written so far): export it once it is ready, or "
        f"{cancel}"
    ]
    answer = client.delete("/customers/c1")  # the API's client is told the request
    assert answer.status_code == 409 and answer.json()["message"].endswith(f"(POST /jobs/{job_id}/cancel) first.")


def test_generating_a_campaign_being_sent_names_the_command_that_cancels_the_send(engine, tailor_home, demo_files):
    trained_in_process(engine, demo_files)  # what is asked is checked after the models are there
    campaign_id, job_id = _campaign_with_a_job(engine, "ready", "send")

    again = run(["campaigns", "generate", str(campaign_id)], tailor_home, TAILOR_LLM_MODEL="fake")

    assert again.returncode == 2 and again.stderr.splitlines()[-1] == (
        f"error: Campaign {campaign_id} is being sent: it is not written again once it sends. Cancel its job "
        f"(`tailor jobs cancel {job_id}`) first, or create a new campaign."
    )
    assert "POST /" not in again.stderr
