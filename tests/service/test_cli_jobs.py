"""`tailor jobs list|show|cancel`: a shop without a server had no way to see what its cron runs did (a due-check that
failed, an import refused), why, or to stop a generation started in another terminal: only GET /jobs told."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from service.campaigns import ensure_brand
from service.clock import utcnow
from service.db.models import Campaign, Job
from service.db.session import session_scope
from service.jobs.recovery import worker_name
from tests.service.test_cli import run
from tests.service.test_cli_send_due import campaign_with_drafts


def some_jobs(engine) -> int:
    """Four jobs, the newest last: an import that failed, a send of a campaign that succeeded, a due-check running
    in this (live) process and a generation queued in it; the campaign's id. Their process's last beat is dated a
    few minutes ahead: on a loaded machine the command started 30 s after the beat was written, and took the jobs
    for a stopped process's (three beats missed)."""
    now = utcnow()
    beat = now + timedelta(minutes=5)
    with session_scope(engine) as session:
        campaign = Campaign(name="autumn", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        session.add_all([
            Job(id="import-1", kind="import", status="failed", error="customers rejected, nothing was written: row 2",
                message="failed: customers rejected, nothing was written: row 2",
                result={"error": "InvalidInput", "problems": [{"row": 2, "column": "email"}]},
                created_at=now - timedelta(minutes=40), updated_at=now - timedelta(minutes=39)),
            Job(id="send-1", kind="send", status="succeeded", campaign_id=campaign.id, done=3, total=3,
                message="sent 3", result={"sent": 3}, created_at=now - timedelta(minutes=30),
                updated_at=now - timedelta(minutes=29)),
            Job(id="due-1", kind="send_due", status="running", worker=worker_name(), heartbeat_at=beat, done=1,
                total=4, message="campaign 1", created_at=now - timedelta(minutes=1)),
            Job(id="generate-1", kind="generate", status="queued", worker=worker_name(), heartbeat_at=beat,
                campaign_id=campaign.id, created_at=now),
        ])  # fmt: skip
        return campaign.id


def test_jobs_list_shows_the_latest_jobs_newest_first_and_keeps_to_a_kind_or_status(engine, tailor_home):
    campaign_id = some_jobs(engine)

    listed = run(["jobs", "list"], tailor_home)

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["generate-1", "due-1", "send-1", "import-1"]
    assert re.fullmatch(
        rf"generate-1  generate of campaign {campaign_id}  queued  0%  \S+ \S+ UTC, not ended", lines[0]
    )
    assert re.fullmatch(r"due-1  send_due  running  25%  \S+ \S+ UTC, not ended  campaign 1", lines[1])
    assert re.fullmatch(
        rf"send-1  send of campaign {campaign_id}  succeeded  100%  \S+ \S+ UTC to \S+  sent 3", lines[2]
    )
    assert lines[3].endswith("  customers rejected, nothing was written: row 2")
    failed = run(["jobs", "list", "--status", "failed"], tailor_home)
    assert [line.split("  ")[0] for line in failed.stdout.splitlines()] == ["import-1"]
    sends = run(["jobs", "list", "--kind", "send", "--limit", "1"], tailor_home)
    assert [line.split("  ")[0] for line in sends.stdout.splitlines()] == ["send-1"]
    none = run(["jobs", "list", "--kind", "train"], tailor_home)
    assert none.returncode == 0 and none.stdout == "" and none.stderr.strip() == "no jobs of the kind train"
    assert run(["jobs", "list", "--kind", "trian"], tailor_home).returncode == 2


def test_jobs_show_gives_a_job_s_error_and_result(engine, tailor_home):
    some_jobs(engine)

    shown = run(["jobs", "show", "import-1"], tailor_home)

    assert shown.returncode == 0, shown.stderr
    head, result = shown.stdout.split("result:\n")
    assert head.splitlines()[0] == "job import-1: import, failed"
    assert "error: customers rejected, nothing was written: row 2" in head.splitlines()
    assert "progress: 0% (0 of 0)" in head.splitlines()  # the error once: its message says it again
    assert json.loads(result) == {"error": "InvalidInput", "problems": [{"row": 2, "column": "email"}]}
    missing = run(["jobs", "show", "nope"], tailor_home)
    assert missing.returncode == 2 and missing.stderr.strip() == "error: Job nope does not exist."


def test_jobs_cancel_asks_another_process_s_job_to_stop_and_refuses_one_that_ended(engine, tailor_home):
    some_jobs(engine)

    cancelled = run(["jobs", "cancel", "due-1"], tailor_home)

    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == (
        "job due-1 (send_due) asked to stop: it stops at its next step (`tailor jobs show due-1`)"
    )
    with session_scope(engine) as session:
        assert session.get(Job, "due-1").status == "cancelling"  # which its process reads at its next step
    ended = run(["jobs", "cancel", "send-1"], tailor_home)
    assert ended.returncode == 2
    assert ended.stderr.strip() == "error: Job send-1 already succeeded: there is nothing to cancel."


def test_a_send_due_run_is_listed_as_the_server_s_due_check_is(engine, tailor_home, mail_server):
    controller, messages = mail_server
    campaign_with_drafts(engine, "autumn", due=1)
    sent = run(["send-due", "--unchecked-links"], tailor_home, TAILOR_SMTP_PORT=str(controller.port))
    assert sent.returncode == 0 and len(messages) == 1, sent.stderr
    assert run(["send-due"], tailor_home).stdout.splitlines()[-1] == "nothing is due"  # and no job for that

    listed = run(["jobs", "list", "--kind", "send_due"], tailor_home)

    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert re.search(r"  send_due  succeeded  100%  ", line), line


def test_jobs_list_offers_a_next_page_only_when_there_is_one(engine, tailor_home):
    """A listing of exactly --limit jobs said "--offset N for the next" though none was left: the page it offered
    was empty. One job more than --limit is still offered."""
    some_jobs(engine)  # four jobs

    exactly = run(["jobs", "list", "--limit", "4"], tailor_home)
    one_more = run(["jobs", "list", "--limit", "3"], tailor_home)
    offered = run(["jobs", "list", "--limit", "3", "--offset", "3"], tailor_home)

    assert exactly.returncode == 0 and len(exactly.stdout.splitlines()) == 4, exactly.stderr
    assert "for the next" not in exactly.stderr, exactly.stderr
    assert one_more.returncode == 0 and len(one_more.stdout.splitlines()) == 3, one_more.stderr
    assert one_more.stderr.strip() == "jobs 1 to 3 shown: --offset 3 for the next"
    assert [line.split("  ")[0] for line in offered.stdout.splitlines()] == ["import-1"]
    assert "for the next" not in offered.stderr, offered.stderr


def test_jobs_list_pages_to_older_jobs_as_get_jobs_does(engine, client, tailor_home):
    """`tailor jobs list` stopped at its --limit (500 at most), newest first: a shop's older jobs (last month's
    failed due-checks) could not be listed at all, though GET /jobs pages with ?offset."""
    some_jobs(engine)

    first = run(["jobs", "list", "--limit", "2"], tailor_home)
    rest = run(["jobs", "list", "--limit", "2", "--offset", "2"], tailor_home)
    beyond = run(["jobs", "list", "--kind", "send", "--offset", "1"], tailor_home)

    assert first.returncode == 0 and rest.returncode == 0, (first.stderr, rest.stderr)
    assert [line.split("  ")[0] for line in first.stdout.splitlines()] == ["generate-1", "due-1"]
    assert first.stderr.strip() == "jobs 1 to 2 shown: --offset 2 for the next"
    listed = [line.split("  ")[0] for line in rest.stdout.splitlines()]
    assert listed == ["send-1", "import-1"] and rest.stderr.strip() == ""  # the last page: no next one to offer
    paged = client.get("/jobs", params={"limit": 2, "offset": 2})
    assert [job["id"] for job in paged.json()] == listed
    assert beyond.returncode == 0 and beyond.stdout == ""
    assert beyond.stderr.strip() == "no jobs of the kind send after the first 1"
    assert run(["jobs", "list", "--offset", "-1"], tailor_home).returncode == 2
    past_the_database = run(["jobs", "list", "--offset", str(2**63)], tailor_home)  # SQLite's driver failed on it
    assert past_the_database.returncode == 2 and "Traceback" not in past_the_database.stderr
    assert "Invalid value for '--offset'" in past_the_database.stderr
