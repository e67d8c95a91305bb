"""Jobs that run one at a time stay one at a time when two servers (or a server and a command) on one database start
them at the same moment: the look for a live job and the job's row are one step."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from service.db.models import Job
from service.db.session import make_engine, session_scope
from service.jobs import ThreadJobRunner
from service.jobs.schedule import PeriodicJob
from service.signed_links import UnsubscribeLinks
from tests import forked_cli
from tests.service.test_cli_send_due import campaign_with_drafts


def _second_server_engine(engine):
    """Another server's engine on the same database (its own pool, its own connections)."""
    return make_engine(engine.url.render_as_string(hide_password=False))


def _jobs_of(engine, kind: str) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind))


def _ticks_at_once(schedules: list[PeriodicJob]) -> list[Exception]:
    """Each schedule's tick on a thread of its own, both past their look for a live job before either submits (their
    ``ready`` checks meet at a barrier); what the ticks raised."""
    failures: list[Exception] = []

    def tick(schedule: PeriodicJob) -> None:
        try:
            schedule._tick()
        except Exception as error:  # noqa: BLE001 (told by the caller's assertion)
            failures.append(error)

    threads = [threading.Thread(target=tick, args=(schedule,)) for schedule in schedules]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_two_servers_schedules_ticking_at_once_start_one_retrain(shared_engine):
    """Both servers' scheduled retrain looked for a live retrain, found none, and each submitted one: two trainings
    of the same data, twice the memory, racing to publish their models."""
    other_engine = _second_server_engine(shared_engine)
    both_looked = threading.Barrier(2, timeout=30)
    ticked = threading.Event()  # a training takes minutes: the first is still running as the second tick submits
    runs = []

    def ready() -> bool:
        both_looked.wait()  # each has found no live retrain by now
        return True

    def retrain(progress) -> dict:
        runs.append(threading.current_thread().name)
        ticked.wait(30)
        return {}

    runners = [ThreadJobRunner(shared_engine), ThreadJobRunner(other_engine)]
    schedules = [
        PeriodicJob(runner, engine, "retrain", retrain, 3600, {}, ready)
        for runner, engine in zip(runners, (shared_engine, other_engine), strict=True)
    ]
    try:
        assert _ticks_at_once(schedules) == []
        ticked.set()
        submitted = [schedule.last_job_id for schedule in schedules if schedule.last_job_id is not None]
        for runner, schedule in zip(runners, schedules, strict=True):
            if schedule.last_job_id is not None:
                runner.wait(schedule.last_job_id, timeout=30)
        assert len(submitted) == 1
        assert _jobs_of(shared_engine, "retrain") == 1
        assert len(runs) == 1
    finally:
        ticked.set()
        for runner in runners:
            runner.shutdown()
        other_engine.dispose()


def test_the_send_due_command_starts_no_due_check_beside_the_one_a_server_submitted_since_it_looked(
    shared_engine, monkeypatch
):
    """`tailor send-due` from cron looked for a live due-check, found none, and ran its own beside the one a server's
    tick submitted between that look and its job's row: both shared out the same due drafts."""
    from service.pipeline import campaign_runs

    server_engine = _second_server_engine(shared_engine)
    released = threading.Event()
    server_runner = ThreadJobRunner(server_engine)
    server_schedule = PeriodicJob(server_runner, server_engine, "send_due", lambda progress: released.wait(30) or {},
                                  300, {})  # fmt: skip

    def due_once_the_server_ticked(engine) -> bool:
        server_schedule._tick()  # the server's due-check, submitted after the command's look, before its row
        return True

    monkeypatch.setattr(campaign_runs, "has_due_drafts", due_once_the_server_ticked)
    try:
        result = campaign_runs.send_due_now(shared_engine, links_must_answer=False)
        assert server_schedule.last_job_id is not None
        assert result == {"running": server_schedule.last_job_id}
        assert _jobs_of(shared_engine, "send_due") == 1
    finally:
        released.set()
        server_runner.shutdown()
        server_engine.dispose()


# `tailor send-due --unchecked-links` in a process of its own (argv: its name, the other's, the folder where the two
# meet): past its look for a live due-check and for due drafts (campaign_runs.live_job, has_due_drafts), it waits for
# the other to be past its own, so that neither saw the other's job there. Its check under the submission lock, once
# passed, waits up to 2 s for the other's to pass too: held by the lock, the other's cannot until this one's row is
# committed (without the lock both would pass, and both run a due-check).
SEND_DUE_AT_ONCE = """
import sys, time
from pathlib import Path
from service.cli import main
from service.pipeline import campaign_runs

me, other, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
has_due_drafts, none_live = campaign_runs.has_due_drafts, campaign_runs.none_live

def meet(step, seconds):
    (folder / f"{me}.{step}").touch()
    deadline = time.monotonic() + seconds
    while not (folder / f"{other}.{step}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)

def looked_at_once(engine):
    due = has_due_drafts(engine)
    meet("looked", 60)
    return due

def checked_at_once(kind):
    check = none_live(kind)

    def at_once(session):
        check(session)  # JobRunning: the other's due-check is live
        meet("checked", 2)

    return at_once

campaign_runs.has_due_drafts, campaign_runs.none_live = looked_at_once, checked_at_once
sys.argv = ["tailor", "send-due", "--unchecked-links"]
main()
"""


def test_two_send_due_commands_at_once_in_two_processes_run_one_due_check(shared_engine, tailor_home, mail_server,
                                                                          tmp_path, monkeypatch):  # fmt: skip
    """`tailor send-due` from two hosts' crons at the same moment, each a process of its own with its own connection
    (the tests above hold the lock in two engines of one process): one runs the due-check and mails every due draft,
    the other leaves them to it, naming its job, as README says of two servers' due-checks."""
    controller, messages = mail_server
    received, one_ended = controller.handler.handle_DATA, threading.Event()

    async def once_one_ended(*args):
        """The winner's emails wait until a command has ended (60 s at most): its due-check is live while the other
        checks for one, however late a loaded machine lets the other look."""
        deadline = time.monotonic() + 60
        while not one_ended.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return await received(*args)

    controller.handler.handle_DATA = once_one_ended
    url = shared_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SMTP_TIMEOUT_SECONDS", "90")  # the answer to an email held that long
    UnsubscribeLinks.configured()  # the signing key both share, made before they start
    campaign_with_drafts(shared_engine, "both", due=2)
    commands = {
        me: forked_cli.popen([sys.executable, "-c", SEND_DUE_AT_ONCE, me, other, tmp_path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        for me, other in [("a", "b"), ("b", "a")]
    }  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while all(command.poll() is None for command in commands.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        first = next((me for me, command in commands.items() if command.poll() is not None), None)
        one_ended.set()
        outputs = {me: command.communicate(timeout=120) for me, command in commands.items()}
    finally:
        one_ended.set()
        for command in commands.values():
            if command.poll() is None:
                command.kill()

    assert first is not None, outputs  # the one refused ends while the other's emails wait
    assert all(command.returncode == 0 for command in commands.values()), outputs
    with session_scope(shared_engine) as session:
        due_checks = session.execute(select(Job.id, Job.status).where(Job.kind == "send_due")).all()
    assert len(due_checks) == 1, (due_checks, outputs)
    [(job_id, status)] = due_checks
    assert status == "succeeded"
    winner = "b" if first == "a" else "a"
    assert outputs[first][0] == f"a due-check is running already (job {job_id}): it sends what is due\n", outputs
    assert "  sent 2 emails" in outputs[winner][0].splitlines(), outputs
    assert sorted(m["To"] for m in messages) == ["both0@example.com", "both1@example.com"]


class _OtherRequestFirst:
    """``runner``, which lets ``meanwhile()`` (another server's request) run when asked to submit, before it does: a
    request made between this one's checks and its job's row."""

    def __init__(self, runner: ThreadJobRunner, meanwhile) -> None:
        self.runner, self.meanwhile = runner, meanwhile

    def submit(self, kind, work, **params) -> str:
        self.meanwhile()
        return self.runner.submit(kind, work, **params)

    def submit_checked(self, kind, work, check, **params) -> str:
        self.meanwhile()
        return self.runner.submit_checked(kind, work, check, **params)


def _campaign(engine) -> int:
    from service.campaigns import ensure_brand
    from service.db.models import Campaign

    with session_scope(engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="vip", status="ready")
        session.add(campaign)
        session.flush()
        return campaign.id


@pytest.fixture
def held_refreshes(monkeypatch):
    """Refresh jobs that run until the test ends, as one of a big campaign runs for minutes."""
    from service import refreshed_facts

    released = threading.Event()
    monkeypatch.setattr(refreshed_facts, "refresh_campaign", lambda progress, **params: {"held": released.wait(30)})
    yield
    released.set()


def test_two_refreshes_of_a_campaign_asked_at_once_queue_one_job(shared_engine, held_refreshes):
    """Two servers each asked to refresh the campaign's drafts at the same moment (the review page's button pressed
    on both) each found no refresh running, and queued one: two jobs wrote the same drafts."""
    from service.errors import Conflict
    from service.refreshed_facts import KIND, start_refresh

    campaign_id = _campaign(shared_engine)
    other_engine = _second_server_engine(shared_engine)
    runners = [ThreadJobRunner(shared_engine), ThreadJobRunner(other_engine)]
    others = []

    def other_server_refreshes() -> None:
        with session_scope(other_engine) as session:
            others.append(start_refresh(session, runners[1], other_engine, campaign_id, "Bo", None))

    try:
        with (
            pytest.raises(Conflict, match="being refreshed already") as refused,
            session_scope(shared_engine) as session,
        ):
            start_refresh(session, _OtherRequestFirst(runners[0], other_server_refreshes), shared_engine, campaign_id,
                          "Ola", None)  # fmt: skip
        assert len(others) == 1 and f"POST /jobs/{others[0]}/cancel" in str(refused.value)
        assert _jobs_of(shared_engine, KIND) == 1
    finally:
        for runner in runners:
            runner.shutdown(grace_seconds=0)
        other_engine.dispose()


def test_a_refresh_asked_as_the_campaign_starts_generating_is_refused(shared_engine, held_refreshes):
    """A refresh checked the campaign was not generating; a request to generate it came and went before the refresh's
    job was queued: the refresh wrote drafts the generation was writing anew."""
    from service.campaigns import start_generating
    from service.errors import Conflict
    from service.refreshed_facts import KIND, start_refresh

    campaign_id = _campaign(shared_engine)
    other_engine = _second_server_engine(shared_engine)
    runner = ThreadJobRunner(shared_engine)

    def other_server_generates() -> None:
        with session_scope(other_engine) as session:
            start_generating(session, campaign_id)

    try:
        with pytest.raises(Conflict, match="is being generated"), session_scope(shared_engine) as session:
            start_refresh(session, _OtherRequestFirst(runner, other_server_generates), shared_engine, campaign_id,
                          "Ola", None)  # fmt: skip
        assert _jobs_of(shared_engine, KIND) == 0
    finally:
        runner.shutdown(grace_seconds=0)
        other_engine.dispose()


def test_a_generation_asked_as_a_refresh_is_queued_is_refused(shared_engine, held_refreshes, monkeypatch):
    """A request to generate checked that no refresh of the campaign's drafts was queued; one was queued before it
    marked the campaign generating: both wrote the same drafts."""
    from service.campaigns import start_generating
    from service.errors import Conflict
    from service.jobs import recovery
    from service.refreshed_facts import KIND, start_refresh

    campaign_id = _campaign(shared_engine)
    other_engine = _second_server_engine(shared_engine)
    runner = ThreadJobRunner(other_engine)
    refreshes, refused = [], []

    def other_server_refreshes() -> None:
        try:
            with session_scope(other_engine) as session:
                refreshes.append(start_refresh(session, runner, other_engine, campaign_id, "Bo", None))
        except Conflict as error:
            refused.append(error)

    flag_interrupted_sends = recovery.flag_interrupted_sends
    refreshing = threading.Thread(target=other_server_refreshes)

    def after_the_job_checks(session, campaign_id) -> None:  # start_generating's, before it marks the campaign
        refreshing.start()
        refreshing.join(timeout=1)  # done, or waiting for the generation to commit
        flag_interrupted_sends(session, campaign_id)

    monkeypatch.setattr(recovery, "flag_interrupted_sends", after_the_job_checks)
    generated = []
    try:
        try:
            with session_scope(shared_engine) as session:
                generated.append(start_generating(session, campaign_id).status)
        except Conflict as error:
            refused.append(error)
        refreshing.join(timeout=30)
        assert not refreshing.is_alive()
        assert len(refused) == 1, refused  # the generation or the refresh: not both
        assert len(generated) + _jobs_of(shared_engine, KIND) == 1
    finally:
        runner.shutdown(grace_seconds=0)
        other_engine.dispose()


def test_a_server_s_scheduled_retrain_waits_for_a_training_another_server_runs(shared_engine, monkeypatch):
    """POST /train on one server, and the other's scheduled retrain came: it looked for a live retrain alone, found
    none, and trained the same data beside the training (the last training's marker, which would have skipped it, is
    written only as the training ends)."""
    import time

    from fastapi.testclient import TestClient

    from service.app import create_app

    other_engine = _second_server_engine(shared_engine)
    other_server, released = ThreadJobRunner(other_engine), threading.Event()
    training = other_server.submit("train", lambda progress: {"held": released.wait(60)})
    monkeypatch.setenv("TAILOR_RETRAIN_EVERY_HOURS", str(0.2 / 3600))  # every 0.2 s
    try:
        with TestClient(create_app(shared_engine)):
            time.sleep(1.5)  # seven ticks
            assert _jobs_of(shared_engine, "retrain") == 0
            released.set()
            other_server.wait(training, timeout=30)
            deadline = time.monotonic() + 30
            while not _jobs_of(shared_engine, "retrain"):  # once the training ended, the schedule's next tick
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        released.set()
        other_server.shutdown()
        other_engine.dispose()


def test_two_orders_imports_ending_at_once_queue_one_audience_refresh(shared_engine):
    """Two orders imports that ended at the same moment (two servers, or two requests of one) each found no audience
    refresh waiting in the queue, and each queued one: the second recomputed every customer's profile again."""
    from service.pipeline.training import AUDIENCE_JOB, submit_audience_refresh

    other_engine = _second_server_engine(shared_engine)
    runners = [ThreadJobRunner(shared_engine), ThreadJobRunner(other_engine)]
    released = threading.Event()
    for runner in runners:  # each server's one job worker busy: the refreshes wait in the queue
        runner.submit("retrain", lambda progress: {"held": released.wait(30)})
    others = []

    def other_import_ends() -> None:
        others.append(submit_audience_refresh(runners[1], other_engine))

    try:
        queued = submit_audience_refresh(_OtherRequestFirst(runners[0], other_import_ends), shared_engine)
        assert others == [queued]
        assert _jobs_of(shared_engine, AUDIENCE_JOB) == 1
    finally:
        released.set()
        for runner in runners:
            runner.shutdown(grace_seconds=0)
        other_engine.dispose()
