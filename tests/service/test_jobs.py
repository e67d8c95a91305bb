"""Both job runners record status, progress and results (or the error) on the job row."""

from __future__ import annotations

from service.db.models import Job
from service.db.session import session_scope
from service.errors import NotReady
from service.jobs import InlineJobRunner, ThreadJobRunner


def counting(progress, steps: int) -> dict:
    for step in range(steps):
        progress(step, steps, f"step {step}")
    return {"steps": steps}


def failing(progress) -> dict:
    progress(0, 2, "about to fail")
    raise NotReady("nothing to train on: import orders first")


def _job(engine, job_id: str) -> Job:
    with session_scope(engine) as session:
        return session.get(Job, job_id)


def test_inline_runner_reports_progress_to_listener_and_row(engine):
    seen = []
    runner = InlineJobRunner(engine, lambda done, total, message: seen.append((done, total, message)))
    job = _job(engine, runner.submit("count", counting, steps=3))
    assert [s[0] for s in seen] == [0, 1, 2] and runner.last_result == {"steps": 3}
    assert (job.status, job.progress, job.result) == ("succeeded", 1.0, {"steps": 3})


def test_thread_runner_records_failures_with_the_users_message(engine):
    runner = ThreadJobRunner(engine)
    job_id = runner.submit("fail", failing)
    runner.wait(job_id, timeout=10)  # a failed job does not bring the API's worker thread down
    job = _job(engine, job_id)
    assert job.status == "failed" and job.error == "nothing to train on: import orders first"
    assert job.progress == 0.0 and job.message == "about to fail"
    ok = runner.submit("count", counting, steps=2)
    runner.wait(ok, timeout=10)
    assert _job(engine, ok).status == "succeeded"
    runner.shutdown()
