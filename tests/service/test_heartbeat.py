"""A job whose one step runs long (a slow model writing a group's copy) keeps its row moving: a poller saw the same
figures and `updated_at` for two minutes, and could not tell a working generation from a stuck one."""

from __future__ import annotations

import time

from service.db.models import Job
from service.db.session import session_scope
from service.jobs.heartbeat import Heartbeat
from service.jobs.runner import Progress


def test_a_long_step_is_reported_again_with_how_long_it_has_taken(engine):
    with session_scope(engine) as session:
        session.add(Job(id="j1", kind="generate", status="running"))
    progress = Progress(engine, "j1")
    with Heartbeat(progress, every=0.2) as beat:
        beat(9, 20, "writing drafts 9/20")
        with session_scope(engine) as session:
            first = session.get(Job, "j1").updated_at
        time.sleep(0.7)  # the model writes a group's copy
        with session_scope(engine) as session:
            job = session.get(Job, "j1")
            assert (job.done, job.total) == (9, 20) and job.updated_at > first
            assert job.message.startswith("writing drafts 9/20 (still working: ") and "s on this step)" in job.message
        beat(20, 20, "writing drafts 20/20")
    progress(20, 20, "done: wrote 20 drafts")  # as the generation job ends
    time.sleep(0.5)  # the heartbeat stopped with the work: it does not write over the end
    with session_scope(engine) as session:
        assert session.get(Job, "j1").message == "done: wrote 20 drafts"


def test_the_heartbeat_leaves_a_cancellation_to_the_jobs_own_next_report(engine):
    reports = []

    def cancelled(done: int, total: int, message: str = "") -> None:
        reports.append(message)
        if "still working" in message:
            raise RuntimeError("cancelled on request")

    with Heartbeat(cancelled, every=0.1) as beat:
        beat(1, 3, "step")
        time.sleep(0.35)
    assert reports[0] == "step" and len(reports) >= 2  # it kept beating, and nothing escaped its thread
