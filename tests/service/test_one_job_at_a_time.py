"""Jobs that run one at a time stay one at a time when two servers (or a server and a command) on one database start
them at the same moment: the look for a live job and the job's row are one step."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from service.db.models import Job
from service.db.session import make_engine, session_scope
from service.jobs import ThreadJobRunner
from service.jobs.schedule import PeriodicJob


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
