"""A generation job as a marketing tool sees it through GET /jobs/{id}: its progress only moves forward over the
whole job, and a cancel takes effect within seconds, whatever the model is still writing."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from generation.llm import Endpoint, register
from generation.llm.fake import answer as fake_answer
from service.db.models import Job
from service.db.session import session_scope
from service.jobs.heartbeat import Heartbeat
from service.jobs.listing import job_out
from service.pipeline.campaign_runs import create_and_generate
from service.pipeline.generate import RANKING_SHARE
from tests.service.conftest import generated_campaign, trained_in_process, trained_shop

# The model "held_until_released": each call says it began, then waits for the test to release it (a local model
# writing a group's copy, which litellm cannot abort), then answers as the fake model does.
_HELD = {"began": threading.Semaphore(0), "calls": 0, "released": threading.Event()}


@register("held_until_released")
def _held_until_released(model, settings):
    def answer(messages, schema) -> str:
        _HELD["calls"] += 1
        _HELD["began"].release()
        _HELD["released"].wait(120)
        return fake_answer(messages, schema)

    return Endpoint(model="openai/held_until_released", api_key="x", mock=answer)


def _generated_as_polled(engine, limit: int) -> tuple[list, object]:
    """A cross-sell campaign of ``limit`` customers generated, and its job as GET /jobs/{id} showed it at each of its
    reports, then as it ended."""
    polled = []

    def as_polled(_done: int, _total: int, _message: str = "") -> None:
        with session_scope(engine) as session:
            job = session.scalars(select(Job).where(Job.kind == "generate")).first()
            if job is not None:
                polled.append(job_out(job))

    create_and_generate(
        engine, campaign_type="cross_sell", brand="hearth", limit=limit, name=None, audience_query=None,
        listener=as_polled,
    )  # fmt: skip
    with session_scope(engine) as session:
        return polled, job_out(session.scalars(select(Job).where(Job.kind == "generate")).one())


def test_a_generation_s_progress_never_goes_back(engine, demo_files, monkeypatch):
    """The job's `progress` reached 1.0 at "recommending products: 3 of 3 customers", then dropped to 0.0 at
    "writing drafts: 0 of 3": a tool polling it drew a bar that jumped back. The step's own count stays in the
    message (and the command line's per-step bars, which hear the step's figures, stay as they were)."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setattr("service.pipeline.generate.RECOMMEND_CHUNK", 2)
    trained_in_process(engine, demo_files)
    polled, ended = _generated_as_polled(engine, limit=3)
    seen = [(shown.progress, shown.message) for shown in polled]
    progress = [figure for figure, _ in seen] + [ended.progress]
    assert progress == sorted(progress), seen
    assert "recommending products: 3 of 3 customers" in [message for _, message in seen]
    assert ended.progress == 1.0 and (ended.done, ended.total) == (3, 3)


def test_a_generation_s_progress_moves_while_it_ranks_and_its_figures_still_count_drafts(
    engine, demo_files, monkeypatch
):
    """The job's `progress` stayed 0.0 for its whole ranking (some 12 s for 6,000 customers), which looked hung: its
    figures count drafts, none written meanwhile. Now it moves chunk by chunk over RANKING_SHARE, then over the rest
    as drafts are written, never back; done and total still count drafts, as API clients read them."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setattr("service.pipeline.generate.RECOMMEND_CHUNK", 2)
    monkeypatch.setattr("service.jobs.runner.WRITE_EVERY_SECONDS", 0.0)  # each report reaches the row
    trained_in_process(engine, demo_files)
    polled, ended = _generated_as_polled(engine, limit=8)
    seen = [(shown.progress, shown.done, shown.total, shown.message) for shown in polled]
    ranking = [(progress, done, total) for progress, done, total, message in seen if "customers" in message]
    ranked = [progress for progress, _, _ in ranking]
    assert ranked[-1] == RANKING_SHARE and len({p for p in ranked if 0 < p < RANKING_SHARE}) >= 2, seen
    assert {(done, total) for _, done, total in ranking} == {(0, 8)}, seen  # no draft written yet, of 8
    drafting = [progress for progress, _, _, message in seen if "drafts" in message]
    assert all(RANKING_SHARE <= p <= 1 for p in drafting) and any(RANKING_SHARE < p < 1 for p in drafting), seen
    progress = [figure for figure, *_ in seen] + [ended.progress]
    assert progress == sorted(progress), seen
    assert ended.progress == 1.0 and (ended.done, ended.total) == (8, 8)


def test_a_generation_s_progress_moves_draft_by_draft_before_a_group_s_drafts_are_stored(
    engine, demo_files, monkeypatch
):
    """A 10-customer campaign read "writing drafts: 0 of 10" for 6 s, then done: its progress moved a stored batch
    (at most a group) at a time, and a group of thousands from a real model said nothing for minutes. Now the job's
    `progress` and message move as each draft is written; done still counts the drafts stored."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setattr("service.jobs.runner.WRITE_EVERY_SECONDS", 0.0)  # each report reaches the row
    monkeypatch.setattr("service.pipeline.generate.DRAFT_REPORT_SECONDS", 0.0)  # each draft is told
    trained_in_process(engine, demo_files)
    polled, ended = _generated_as_polled(engine, limit=10)
    seen = [(shown.progress, shown.done, shown.total, shown.message) for shown in polled]
    writing = [row for row in seen if row[3].startswith("writing drafts")]
    # a draft written and not yet stored: the progress is past that of the drafts stored, and the message says so
    ahead = [row for row in writing if row[0] > RANKING_SHARE + (1 - RANKING_SHARE) * row[1] / row[2] + 1e-9]
    assert ahead and all("stored)" in message for *_, message in ahead), seen
    progress = [figure for figure, *_ in seen] + [ended.progress]
    assert progress == sorted(progress), seen
    assert ended.progress == 1.0 and (ended.done, ended.total) == (10, 10)


def test_the_generate_command_s_bar_follows_the_job_s_progress(engine, demo_files, monkeypatch):
    """`tailor campaigns create`'s bar drew each step's figures: 0 of 8 drafts again once the products were ranked.
    It follows the job's progress now, through the ranking too, each step's count in its message."""
    from service.cli import progress_bar

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setattr("service.pipeline.generate.RECOMMEND_CHUNK", 2)
    trained_in_process(engine, demo_files)
    drawn: list[tuple[float, str]] = []  # the bar's share filled and its words, at each report

    with progress_bar("generating", counts=False) as bar:

        class Drawing:  # the command's bar, looked at after each report
            def __call__(self, done: int, total: int, message: str = "") -> None:
                bar(done, total, message)
                self.look()

            def job_progress(self, fraction: float) -> None:
                bar.job_progress(fraction)
                self.look()

            def look(self) -> None:
                task = bar.bar.tasks[0]
                drawn.append((task.completed / task.total if task.total else 0.0, task.description))

        create_and_generate(
            engine, campaign_type="cross_sell", brand="hearth", limit=8, name=None, audience_query=None,
            listener=Drawing(),
        )  # fmt: skip
    filled = [share for share, _ in drawn]
    assert filled == sorted(filled) and filled[-1] == 1.0, drawn
    assert any(0 < share < RANKING_SHARE for share, words in drawn if "recommending products" in words), drawn


def test_a_cancel_stops_a_generation_within_seconds_while_the_model_still_writes(client, demo_files, monkeypatch):
    """A cancel took some 165 s with the local model: it waited for the group being written and for every call
    already begun; and the cancelled job's error carried the heartbeat's "(still working: 10 s on this step)". Now
    no call begins after the cancel, the calls in flight are abandoned, and what they answer is never stored."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "held_until_released")
    monkeypatch.setenv("TAILOR_LLM_CONCURRENCY", "2")
    monkeypatch.setenv("TAILOR_LLM_CACHE", "false")
    monkeypatch.setattr(Heartbeat.__init__, "__defaults__", (0.2,))  # a beat every 0.2 s of silence
    _HELD.update(began=threading.Semaphore(0), calls=0, released=threading.Event())
    trained_shop(client, demo_files)
    campaign = {"name": "cancel me", "brand": "hearth", "campaign_type": "vip", "audience_query": "locale = en",
                "max_customers": 12}  # fmt: skip
    campaign_id = client.post("/campaigns", json=campaign).json()["id"]
    job_id = client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"]
    try:
        assert _HELD["began"].acquire(timeout=60)  # the model writes a group's copy
        time.sleep(0.6)  # the heartbeat says "still working" meanwhile
        assert "still working" in client.get(f"/jobs/{job_id}").json()["message"]
        asked = time.monotonic()
        assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelling"
        while (job := client.get(f"/jobs/{job_id}").json())["status"] == "cancelling":
            assert time.monotonic() - asked < 5, "the cancel waits for the model"
            time.sleep(0.1)
        took = time.monotonic() - asked
        calls_at_cancel = _HELD["calls"]
    finally:
        _HELD["released"].set()  # the calls in flight answer now, after the cancel
    assert job["status"] == "cancelled" and took < 5, job
    assert job["error"].startswith("cancelled on request after 0 of ") and "still working" not in job["error"], job
    time.sleep(1.0)  # what the abandoned calls answered would be stored by now
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "failed"
    assert client.get(f"/campaigns/{campaign_id}/drafts").json() == []
    assert _HELD["calls"] == calls_at_cancel <= 2  # no call began after the cancel


def test_a_training_s_and_an_audience_refresh_s_figures_never_go_back_either(engine, demo_files):
    """The other jobs of several steps weigh their steps into one set of figures (training's stages, the audience
    refresh's shares of 100), which the job's row and the command's bar both show: checked, as generation's were
    not."""
    from service.jobs import InlineJobRunner
    from service.pipeline.training import recompute_audience, train_all

    trained_in_process(engine, demo_files)
    for kind, work, params in (("train", train_all, {"model": None}), ("audience", recompute_audience, {})):
        reports: list[tuple[int, int, str]] = []
        InlineJobRunner(engine, listener=_reporting_to(reports)).submit(kind, work, engine=engine, **params)
        shares = [done / total if total else 0.0 for done, total, _ in reports]
        assert len(reports) > 2 and shares == sorted(shares) and shares[-1] == 1.0, (kind, reports)


def _reporting_to(reports: list[tuple[int, int, str]]):
    """A listener keeping each report in ``reports``."""
    return lambda done, total, message="": reports.append((done, total, message))


@pytest.mark.llm
def test_a_cancel_stops_a_generation_on_the_real_local_model_within_seconds(client, demo_files, monkeypatch):
    """The same with the real local model (SmolLM2 on xllamacpp), whose calls litellm cannot abort: the cancel
    took some 165 s, waiting for the groups it was writing."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "local/smollm2")
    monkeypatch.setenv("TAILOR_LLM_CACHE", "false")
    monkeypatch.setenv("TAILOR_LLM_MAX_TOKENS", "600")  # each call writes a while
    trained_shop(client, demo_files)
    campaign = {"name": "cancel me", "brand": "hearth", "campaign_type": "vip", "audience_query": "locale = en",
                "max_customers": 12}  # fmt: skip
    campaign_id = client.post("/campaigns", json=campaign).json()["id"]
    job_id = client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"]
    deadline = time.monotonic() + 120
    while not client.get(f"/jobs/{job_id}").json()["message"].startswith("writing drafts: 0 of"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(3.0)  # the model writes the first groups' copy
    asked = time.monotonic()
    assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelling"
    while (job := client.get(f"/jobs/{job_id}").json())["status"] == "cancelling":
        assert time.monotonic() - asked < 30, "the cancel waits for the model"
        time.sleep(0.1)
    took = time.monotonic() - asked
    print(f"cancelled after {took:.1f} s")
    assert job["status"] == "cancelled" and took < 5, (took, job)
    assert client.get(f"/campaigns/{campaign_id}/drafts").json() == []


def test_the_job_that_wrote_one_draft_says_draft(client, demo_files, monkeypatch):
    """GET /jobs and the webhook said "done: wrote 1 drafts (0 flagged for review)" of a one-customer campaign."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=1)
    (job,) = client.get("/jobs", params={"kind": "generate", "campaign_id": campaign_id}).json()
    flagged = client.get(f"/campaigns/{campaign_id}").json()["drafts"]["flagged"]
    assert job["message"] == f"done: wrote 1 draft ({flagged} flagged for review)"
