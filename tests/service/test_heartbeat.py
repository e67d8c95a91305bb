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


def test_a_cancellation_the_heartbeat_meets_is_raised_at_the_next_report_even_the_last():
    """A group's copy took minutes and the job's next report was its "all written" one, which a cancellation does
    not stop: the job went on to save every draft and ended "succeeded", its cancel accepted and ignored."""
    from service.errors import JobCancelled

    reports = []

    def cancelled_meanwhile(done: int, total: int, message: str = "") -> None:
        reports.append((done, total))
        if "still working" in message:
            raise JobCancelled("cancelled on request after 0 of 6")

    with Heartbeat(cancelled_meanwhile, every=0.1) as beat:
        beat(0, 6, "writing drafts 0/6")
        time.sleep(0.35)
        try:
            beat(6, 6, "writing drafts 6/6")
        except JobCancelled:
            pass
        else:
            raise AssertionError("the last report did not stop the job")
    assert (6, 6) not in reports


def test_a_generation_cancelled_while_the_model_writes_stops_before_saving(client, demo_files, monkeypatch):
    import threading

    import generation.llm.fake as fake
    from tests.service.conftest import trained_shop

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setattr(Heartbeat.__init__, "__defaults__", (0.2,))  # a beat every 0.2 s of silence
    trained_shop(client, demo_files)
    writing, go = threading.Event(), threading.Event()
    answer = fake.answer

    def slow_model(messages, schema):
        writing.set()
        go.wait(60)
        return answer(messages, schema)

    monkeypatch.setattr(fake, "answer", slow_model)
    campaign_id = client.post(
        "/campaigns",
        json={
            "name": "cancel me",
            "brand": "hearth",
            "campaign_type": "vip",
            "audience_query": "locale = en",
            "max_customers": 6,
        },  # every draft's copy from the model: none is written before the cancel
    ).json()["id"]
    job_id = client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"]
    assert writing.wait(60)
    assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelling"
    time.sleep(1.0)  # the heartbeat's beats meet the cancellation while the model still writes
    go.set()
    deadline = time.monotonic() + 60
    while (job := client.get(f"/jobs/{job_id}").json())["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "cancelled", job
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "failed"
    assert client.get(f"/campaigns/{campaign_id}/drafts").json() == []


def test_a_generation_taken_for_interrupted_while_it_still_ran_leaves_its_campaign_as_it_made_it(
    client, demo_files, monkeypatch
):
    """A generation whose beats were missed (its process stalled past them) was failed as interrupted by another
    process, and its campaign with it; the generation went on and stored its drafts. Its ending wins, the error of
    the interruption gone with it (its row said "succeeded" beside "interrupted: ... submit it again"), and its
    campaign is what it made it: ready, with its drafts."""
    import threading

    import generation.llm.fake as fake
    from service.jobs.recovery import fail_interrupted_jobs
    from tests.service.conftest import trained_shop

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    writing, go = threading.Event(), threading.Event()
    answer = fake.answer

    def stalled_model(messages, schema):
        writing.set()
        go.wait(60)
        return answer(messages, schema)

    monkeypatch.setattr(fake, "answer", stalled_model)
    campaign = {"name": "stalled", "brand": "hearth", "campaign_type": "vip", "max_customers": 3}
    campaign_id = client.post("/campaigns", json=campaign).json()["id"]
    job_id = client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"]
    assert writing.wait(60)
    # as another process judges a process that stalled past its beats: one that holds none of its jobs
    assert fail_interrupted_jobs(client.app.state.tailor.engine, live=()) == [job_id]
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "failed"
    go.set()
    deadline = time.monotonic() + 60
    while (job := client.get(f"/jobs/{job_id}").json())["status"] == "failed":
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert (job["status"], job["error"], job["result"]["drafts"]) == ("succeeded", None, 3)
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "ready"
    assert len(client.get(f"/campaigns/{campaign_id}/drafts").json()) == 3


def test_a_cancellation_the_heartbeat_meets_says_the_step_not_how_long_it_was_worked_on(engine):
    """A generation cancelled while the model wrote ended with the error "cancelled on request after 0 of 5: writing
    drafts: 0 of 5 (still working: 10 s on this step)": the heartbeat's words, as if it were still working."""
    import pytest

    from service.errors import JobCancelled

    with session_scope(engine) as session:
        session.add(Job(id="j1", kind="generate", status="running"))
    with Heartbeat(Progress(engine, "j1"), every=0.2) as beat:
        beat(0, 5, "writing drafts: 0 of 5")
        with session_scope(engine) as session:
            session.get(Job, "j1").status = "cancelling"  # as another process asks it
        time.sleep(2.0)  # the heartbeat's reports meet it (the row is looked at once a second)
        with pytest.raises(JobCancelled) as stopped:
            beat(5, 5, "writing drafts: 5 of 5")
    assert str(stopped.value) == "cancelled on request after 0 of 5: writing drafts: 0 of 5"
