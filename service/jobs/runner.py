"""The job-runner interface and its two local implementations.

A job is a plain function `work(progress, **params) -> dict` that reports progress through `Progress`.
Every runner records the job in the `jobs` table, so the API can show status and progress whichever runner
executes it; a distributed runner (Ray) only has to implement `submit`. A job that fails on a user's error keeps
the body the API would answer for it (`service.errors.error_body`, with a bad file's problems) as its result.
Every job that ends is announced to `TAILOR_WEBHOOK_URL` when one is set (`service.jobs.webhooks`). When the
server stops, `ThreadJobRunner.shutdown` stops its jobs: they fail as interrupted, to be submitted again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from generation.errors import GenerationError
from service.db.clock import database_now, now_in_database
from service.db.models import UNFINISHED_JOB, Job, job_progress
from service.db.session import one_submission_at_a_time, session_scope, take_the_write_lock
from service.errors import Conflict, JobCancelled, NotFound, TailorError, as_told, error_body
from service.jobs.heartbeat import beat_for, job_beats
from service.jobs.recovery import (
    INTERRUPTED,
    abandoned,
    failed_saying,
    interrupted,
    look_for_interrupted_jobs,
    worker_name,
)
from service.jobs.webhooks import WebhookSettings, announce_briefly, announce_job, deliver_pending, let_go, owe
from service.settings import JobSettings

log = logging.getLogger("tailor.jobs")

JobFunction = Callable[..., dict[str, Any]]


# How often a running job looks up whether it was asked to stop (see Progress).
CANCEL_CHECK_SECONDS = 1.0
# How often at most a running job's reports are written to its row, besides a step's first and last (see Progress).
WRITE_EVERY_SECONDS = 0.25
# What jobs of this process report inside their own SQLite write transaction, by job id (see Progress): done, total,
# message and the job's progress fraction, if it reports one.
_held: dict[str, tuple[int, int, str, float | None]] = {}
# Jobs of this process asked to stop (see request_cancel): told in memory, as their row may be locked by their
# own write transaction.
_cancel_asked: set[str] = set()
# Of those, the ones stopped because the server stops (see ThreadJobRunner.shutdown): failed as interrupted.
_interrupting: set[str] = set()
# The work and params of this process's jobs still in the queue, by job id: a queued job cancelled here is undone
# at once (see undone_if_never_run).
_queued: dict[str, tuple[JobFunction, dict[str, Any]]] = {}
NEVER_STARTED = "cancelled on request before it started"
# The jobs this process runs now, by id: a job of this process that is in none of these and in no queue was lost
# (see sweep_jobs).
_running: set[str] = set()
# Job endings this process could not write (the database was down when the job ended), by job id: written by the
# next sweep_jobs, rather than the job staying "running" for the life of the process.
_unwritten: dict[str, dict[str, Any]] = {}
# Jobs whose endings a sweep wrote late, until a sweep has looked at the campaigns they may have left generating:
# recovery on SQLite does not look while another process writes (see sweep_jobs).
_ended_late: set[str] = set()
# Jobs of this process that another had failed as interrupted (their beats missed while this process stalled, or
# while the database was away) before their own ending was written over it, by job id: the ending they had, which
# the job's second announcement says it corrects (see _write_ending).
_corrected: dict[str, dict[str, Any]] = {}


class Progress:
    """Records how far a job has got; writes to the database at most a few times a second, and inside
    `during_write_transaction` on SQLite only when it ends. It is also where a job learns that it was asked to
    stop: a report made after POST /jobs/{id}/cancel raises JobCancelled (looked up at most once a second), so
    the job stops between two steps and its transaction, if any, is rolled back; once it was, every later report
    raises it too (a report of all done included), and ``asked_to_stop`` says so between reports.

    A report's figures are its step's (what the listener, a command's bar for that step, hears); ``of_job``, where
    given, are the whole job's, which its row and GET /jobs/{id} show instead: a job of several steps whose row took
    each step's figures went from 3 of 3 ranked back to 0 of 3 written, its `progress` from 1.0 back to 0.0.
    ``fraction``, where given, is the whole job's progress from 0 to 1 where its figures cannot say it (a generate
    job's count drafts, none written while it ranks products): its row keeps it (Job.progress_fraction) and shows it
    as `progress`, never lower than one reported before; a listener with a ``job_progress`` method (a command's bar)
    hears it there."""

    def __init__(self, engine: Engine, job_id: str, listener: Callable[[int, int, str], None] | None = None):
        self.engine = engine
        self.job_id = job_id
        self.listener = listener
        self._last_write = 0.0
        self._last_cancel_check = time.monotonic()
        self._holding = False
        self._stopped = False  # asked to stop, and told so at a report: every later report raises
        self._fraction: float | None = None  # the highest progress fraction reported

    def __call__(
        self, done: int, total: int, message: str = "", *, of_job: tuple[int, int] | None = None,
        fraction: float | None = None,
    ) -> None:  # fmt: skip
        if fraction is not None:
            self._fraction = max(self._fraction or 0.0, min(fraction, 1.0))
        if self.listener:
            self.listener(done, total, message)
            if self._fraction is not None and (follow := getattr(self.listener, "job_progress", None)):
                follow(self._fraction)
        job_done, job_total = of_job or (done, total)
        stop = self._stopped or (job_done < job_total and self.asked_to_stop())  # not at the last: the work is done
        if self._holding:
            _held[self.job_id] = (job_done, job_total, message, self._fraction)
        # A stop keeps the last figures; a step's first report (done 0) is written at once, as what comes after it
        # may take long (the first group's copy): else the row kept saying what the job did before.
        elif stop or done == 0 or done >= total or time.monotonic() - self._last_write >= WRITE_EVERY_SECONDS:
            self._last_write = time.monotonic()
            self._write(job_done, job_total, message, self._fraction)
        if stop:
            self._stopped = True
            at = f": {message}" if message else ""  # what it was doing, where the figures count a job's stages
            raise JobCancelled(f"cancelled on request after {job_done:,} of {job_total:,}{at}")

    def asked_to_stop(self) -> bool:
        """Whether the job was asked to stop: told in memory in this process, looked up in its row (another
        process's request) at most once a second. A read, which waits for no writer: asked inside the job's own
        write transaction too."""
        if self._stopped or self.job_id in _cancel_asked:
            return True
        now = time.monotonic()
        if now - self._last_cancel_check < CANCEL_CHECK_SECONDS:
            return False
        self._last_cancel_check = now
        with self.engine.connect() as connection:  # a read: it waits for no writer, on SQLite either
            return connection.scalar(select(Job.status).where(Job.id == self.job_id)) == "cancelling"

    def _write(self, done: int, total: int, message: str, fraction: float | None = None) -> None:
        with session_scope(self.engine) as session:
            job = session.get(Job, self.job_id)
            job.done, job.total, job.heartbeat_at = done, total, database_now()  # a report is a beat too, at no cost
            if message:
                job.message = message
            if fraction is not None:
                job.progress_fraction = fraction

    @contextlib.contextmanager
    def during_write_transaction(self) -> Iterator[None]:
        """Around a job's own write transaction (an import's). SQLite lets one connection write at a time, so
        the job's row written from another would wait for the transaction, and fail after the busy timeout:
        there the figures stay in memory, where `held_progress` finds them, and reach the row when it ends. So does
        its beat (service.jobs.heartbeat), at once: meanwhile no other connection could write it either."""
        if self.engine.dialect.name != "sqlite":
            yield
            return
        self._holding = True
        try:
            yield
        finally:  # a job that failed or was stopped inside the transaction keeps its last figures too
            self._holding = False
            held = _held.pop(self.job_id, None)
            try:
                if held:
                    self._write(*held)
                else:
                    with session_scope(self.engine) as session:
                        beat_for(session, [self.job_id])
            except Exception:  # figures for show: never in place of the job's own outcome
                log.warning("job progress not written", extra={"job_id": self.job_id}, exc_info=True)


def asked_to_stop() -> frozenset[str]:
    """The jobs of this process asked to stop whose rows may still say queued or running (see request_cancel): they
    show as "cancelling" (held_progress), and a list of jobs by status counts them as such."""
    return frozenset(_cancel_asked)


def held_progress(job: Job) -> dict[str, Any]:
    """What this process holds in memory about the job beyond its row, as fields of the job's status: progress
    reported inside its write transaction (see `Progress.during_write_transaction`), and "cancelling" once it
    was asked to stop; empty when it holds none."""
    held: dict[str, Any] = {}
    if job.id in _cancel_asked and job.status in UNFINISHED_JOB:
        held["status"] = "cancelling"
    if (figures := _held.get(job.id)) is not None:
        done, total, message, fraction = figures
        held |= {"done": done, "total": total, "progress": job_progress(done, total, fraction)}
        held |= {"message": message} if message else {}
    return held


# A check made as a job's row is written (see submit_checked): it raises to refuse the job (JobRunning, Conflict).
JobCheck = Callable[[Session], None]


class JobRunning(Exception):
    """A job that runs one at a time was not submitted: ``job_id``, of its kind, is still live (see submit_checked)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} is still running")
        self.job_id = job_id


class JobRunner(Protocol):
    def submit(self, kind: str, work: JobFunction, **params: Any) -> str:
        """Start `work(progress, **params)` and return the job id at once or when done."""
        ...

    def submit_checked(self, kind: str, work: JobFunction, check: JobCheck | None, **params: Any) -> str:
        """``submit``, once ``check(session)`` has passed in the transaction that writes the job's row, checked
        submissions one at a time (``service.db.session.one_submission_at_a_time``): what it raises refuses the job,
        no row written."""
        ...


def undone_if_never_run(undo: Callable[..., None]) -> Callable[[JobFunction], JobFunction]:
    """Mark a job function whose caller prepares something for it before queueing it (a campaign marked
    "generating"): when the job is cancelled before it starts, ``undo(session, **params)`` puts that back in the
    transaction that records the cancellation, else it would wait forever for a job that never comes."""

    def mark(work: JobFunction) -> JobFunction:
        work.undo_if_never_run = undo  # type: ignore[attr-defined]
        return work

    return mark


def _cancel_queued(
    session: Session, job_id: str, work: JobFunction, params: dict[str, Any], *statuses: str, error: str | None = None
) -> bool:
    """Mark the job cancelled before it started (failed as interrupted when the server stops; failed with ``error``
    where that is given), if it is still in one of ``statuses``, and undo in the same transaction what was prepared
    for it; whether it was."""
    ending = {"status": "cancelled", "error": NEVER_STARTED}
    if job_id in _interrupting and error is None:
        error = interrupted(session.scalar(select(Job.kind).where(Job.id == job_id)))
    if error is not None:
        ending = {"status": "failed", "error": error, "message": failed_saying(error)}
    cancelled = update(Job).where(Job.id == job_id, Job.status.in_(statuses))
    if not session.execute(cancelled.values(**ending)).rowcount:
        return False
    owe(session, [job_id])  # with its ending: announced at least once, even if this process dies first
    if undo := getattr(work, "undo_if_never_run", None):
        undo(session, **params)
    return True


def _not_started(engine: Engine, job_id: str, work: JobFunction, params: dict[str, Any], refused: Exception) -> None:
    """The database refused the UPDATE that starts the job (busy past its timeout, away a moment): its work never
    ran. Said in the log, and written as the job's failure with the reason, what was prepared for it undone as for a
    cancelled one; where the database refuses that too, the row stays queued, and this process, which no longer
    holds it, fails it as interrupted at its next sweep (or another's sweep does, once its beats stop)."""
    told = as_told(refused)
    said = getattr(told, "orig", None) or told  # the database's own words, not the statement SQLAlchemy wraps them in
    reason = str(told) if isinstance(told, TailorError) else " ".join(f"{type(said).__name__}: {said}".split())[:300]
    error = f"not started: {reason}"
    log.error("job not started", extra={"job_id": job_id, "error": error, "trace": traceback.format_exc()})
    try:
        with session_scope(engine) as session:
            _cancel_queued(session, job_id, work, params, "queued", "cancelling", error=error)
    except SQLAlchemyError as again:
        log.error("job not started, nor its failure written", extra={"job_id": job_id, "error": str(again)[:300]})


def _create_job(
    engine: Engine, kind: str, work: JobFunction | None = None, params: dict[str, Any] | None = None,
    check: JobCheck | None = None,
) -> str:  # fmt: skip
    """The job's row, queued; a campaign's job (generate, send, refresh_facts) only while its campaign is there,
    held until the row is committed (CampaignNotFound, saying when, for one deleted): a deletion's checks read the
    jobs, and one that read them before the row was written, or that committed since the request read the campaign,
    went on, and the request was answered 202 for a job that then failed saying the campaign was deleted. With
    ``check``, only once it passed, one checked submission at a time (``one_submission_at_a_time``)."""
    job_id = str(uuid.uuid4())
    params = params or {}
    campaign_id = params.get("campaign_id")  # a campaign's job (generate, send) is found by its campaign
    if work is not None:  # before its row: a sweep meanwhile finds it this process's (sweep_jobs)
        _queued[job_id] = (work, params)
    try:
        with session_scope(engine) as session:
            if check is not None:
                one_submission_at_a_time(session)
            if campaign_id is not None:
                from service.campaigns import hold_campaign  # which imports the jobs' recovery, and so this module

                take_the_write_lock(session)  # SQLite: no deletion between the campaign read and the row written
                hold_campaign(session, campaign_id)
            if check is not None:
                check(session)
            session.add(
                Job(id=job_id, kind=kind, status="queued", worker=worker_name(), campaign_id=campaign_id,
                    heartbeat_at=database_now())
            )  # fmt: skip
            if (since := JobSettings().kept_since()) is not None:  # as jobs are made, the old finished ones go
                _delete_finished_before(session, since)
    except BaseException:
        _queued.pop(job_id, None)
        raise
    job_beats(engine).hold(job_id)  # until it ends (see _run), queued as running: this process holds it
    return job_id


def _delete_finished_before(session: Session, since: datetime) -> None:
    """Delete the jobs that ended before ``since``: created then (the index's range) and not written since (their
    ending's time), so that a job that ran long is not deleted the moment it ends, and one cancelled while queued
    keeps the row its thread still reads. The latest succeeded training stays whatever its age: its result's data
    marker is what a scheduled retrain compares with (service.pipeline.training.last_training_marker), and without
    it every retrain trains again though nothing arrived. A job whose announcement is owed (``webhooks.owe``) stays
    until it is delivered or given up, or has been owed for as long as jobs are kept: with few days kept, a job that
    ended before them and was announced late (failed as interrupted, its ending written by the sweep) went with its
    announcement, unlogged."""
    from service.pipeline.training import TRAINING_JOBS

    not_owed = or_(Job.announcement_pending_since.is_(None), Job.announcement_pending_since < since)
    old = delete(Job).where(Job.created_at < since, Job.updated_at < since, Job.status.not_in(UNFINISHED_JOB), not_owed)
    latest_training = session.scalar(
        select(Job.id)
        .where(Job.kind.in_(TRAINING_JOBS), Job.status == "succeeded")
        .order_by(Job.created_at.desc())
        .limit(1)
    )
    if latest_training is not None:
        old = old.where(Job.id != latest_training)
    session.execute(old.execution_options(synchronize_session=False))


def request_cancel(engine: Engine, job_id: str, announce: Callable[[list[str]], None] | None = None) -> Job:
    """Ask a job to stop: it stops at its next progress report (see Progress), or, still queued, never starts. A
    queued job of this process is "cancelled" at once (and what was prepared for it undone); a running one is told
    in memory (its row may be locked by its own import); one of another process through its row, marked
    "cancelling" until that process stops it. NotFound for no such job, Conflict for one that has ended. One whose
    process died is failed as interrupted by a sweep, and the jobs it ended are given to ``announce``: owed but not
    tried, they waited for the server's next sweep (with ``TAILOR_JOBS_SWEEP_SECONDS=0``, its next start)."""
    with session_scope(engine) as session:  # a read, which no writer blocks
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"Job {job_id} does not exist.")
        session.expunge(job)
        now = now_in_database(session)
    if job.status not in UNFINISHED_JOB:
        raise Conflict(f"Job {job_id} already {job.status}: there is nothing to cancel.")
    # Its process is gone (a command killed, a host stopped): nobody would ever stop it. Not one of this process, known
    # by what it holds: its beat may be late (its own import's SQLite transaction keeps it from being written).
    if job.worker != worker_name() and abandoned(job, now):
        ended = sweep_jobs(engine)
        if announce is not None:
            announce(ended)
        with session_scope(engine) as session:
            job = session.get(Job, job_id)
            session.expunge(job)
        if job.status not in UNFINISHED_JOB:
            log.info(f"job {job.status}", extra={"job_id": job_id, "kind": job.kind, "error": job.error})
            return job
        # Left unfinished: its beat came meanwhile, or recovery could not look now (SQLite's writer busy): it is
        # asked to stop as any job of another process is.
    if job.status == "queued" and (queued := _queued.get(job_id)) is not None:
        with session_scope(engine) as session:  # only while still queued: _run starts it only from queued too
            if _cancel_queued(session, job_id, *queued, "queued"):
                job.status, job.error = "cancelled", NEVER_STARTED
        if job.status == "cancelled":  # else it started meanwhile: it is asked as a running job
            log.info("job cancelled", extra={"job_id": job_id, "kind": job.kind, "error": job.error})
            return job
    if job.worker == worker_name():
        _cancel_asked.add(job_id)
    elif job.status != "cancelling":
        with session_scope(engine) as session:  # only from the status read: a job that ended keeps its ending
            session.execute(update(Job).where(Job.id == job_id, Job.status == job.status).values(status="cancelling"))
        job.status = "cancelling"
    log.info("job cancel requested", extra={"job_id": job_id, "kind": job.kind})
    return job


def _end(engine: Engine, job_id: str, **values: Any) -> None:
    """Write a job's ending (status, error, result); when the database cannot take it now, keep it for sweep_jobs
    to write, and say so in the log, rather than leave the job running for good."""
    try:
        _write_ending(engine, job_id, values)
    except SQLAlchemyError as error:
        _unwritten[job_id] = values
        log.error(
            "job ending not written; kept to write again",
            extra={"job_id": job_id, "status": values.get("status"), "error": " ".join(str(error).split())[:300]},
        )


def _write_ending(engine: Engine, job_id: str, values: dict[str, Any]) -> None:
    """Write the job's own ending, whatever its row says: where another process failed it as interrupted meanwhile
    (it missed its beats: this process stalled, or the database was away, for longer than they allow), the job
    did go on, and what it did (a generation's drafts, its campaign's status) is what its ending says. That
    ending is kept in ``_corrected``, for the job's announcement to say it corrects it."""
    with session_scope(engine) as session:
        job = session.get(Job, job_id, with_for_update=True)  # recovery's still-as-read UPDATE waits, then misses
        ended_before = None if job.status in UNFINISHED_JOB else {"status": job.status, "error": job.error}
        for name, value in {"error": None, **values}.items():  # no error left from the ending it replaces
            setattr(job, name, value)
        if values.get("status") == "failed":
            job.message = failed_saying(values["error"])
        if values.get("status") == "cancelled":  # why it stopped, not the step it was at, read as if still at it
            job.message = values["error"]
        if values.get("status") == "succeeded":  # 0 of 0 for a job with nothing to do, as it said
            job.done = job.total = max(job.done, job.total)
        owe(session, [job_id], ended_before)  # with its ending: announced at least once, even if this process dies
    if ended_before is not None:
        _corrected[job_id] = ended_before
        log.warning(
            "job ending written over an earlier one: the job went on after it was taken for interrupted",
            extra={"job_id": job_id, "status": values.get("status"), "was": ended_before["status"]},
        )


def corrected_ending(job_id: str) -> dict[str, Any] | None:
    """The ending (status, error) that the job's own ending, written by this process, replaced; None for a job whose
    ending nobody wrote before it. Asked once, for the job's announcement."""
    return _corrected.pop(job_id, None)


def sweep_jobs(engine: Engine) -> list[str]:
    """While the server runs: write the job endings the database could not take when they came, then fail the jobs
    no process will finish (a command killed on this host, or a job of this process it no longer has) and their
    campaigns left generating, and those of the jobs whose endings were written late; the ids of the jobs it ended,
    each to announce: those whose endings it wrote late (their runner did not announce them: see
    ``ThreadJobRunner._run_quietly``), then those it failed. What it could not do (an ending the database still
    refuses, a look SQLite's writer kept from happening, and so the campaigns of the endings written) is kept for the
    next sweep: a campaign left generating by an ending written late stayed so until the server started again."""
    ended = []
    for job_id, values in list(_unwritten.items()):
        try:
            _write_ending(engine, job_id, values)
        except SQLAlchemyError:
            continue  # still down: the next sweep tries again
        _unwritten.pop(job_id, None)
        job_beats(engine).release(job_id)
        ended.append(job_id)
    if ended:
        log.info("job endings written late", extra={"jobs": ended})
    _ended_late.update(ended)
    looked_at = set(_ended_late)
    failed = look_for_interrupted_jobs(engine, live=_jobs_held, ended=looked_at)
    if failed is None:
        return ended
    _ended_late.difference_update(looked_at)
    return ended + failed


def _jobs_held() -> set[str]:
    """The ids of the jobs this process holds: queued, running, or with an ending to write. Asked by recovery once
    it has read the unfinished jobs: a set taken before that read missed a job submitted in between (its id is held
    before its row is written), which recovery then failed as interrupted before it started."""
    return set(_queued) | _running | set(_unwritten)


def _run(
    engine: Engine, job_id: str, work: JobFunction, params: dict[str, Any], listener=None, told: bool = False
) -> dict[str, Any]:
    """Run the job; with ``told``, a failure that is the person's to act on is theirs to read from the caller (a
    command's `error:` line), and logged at INFO, not as a warning: a command printed it twice, once as JSON."""
    _running.add(job_id)
    try:
        return _run_it(engine, job_id, work, params, listener, told)
    finally:
        _running.discard(job_id)
        if job_id not in _unwritten:  # one whose ending is still to write beats until the sweep writes it
            job_beats(engine).release(job_id)


def _run_it(
    engine: Engine, job_id: str, work: JobFunction, params: dict[str, Any], listener, told: bool
) -> dict[str, Any]:
    _queued.pop(job_id, None)
    try:
        with session_scope(engine) as session:
            kind = session.get(Job, job_id).kind
            # Only from queued: request_cancel may have cancelled it (and undone what it had) meanwhile.
            start = update(Job).where(Job.id == job_id, Job.status == "queued").values(status="running")
            if job_id in _cancel_asked or not session.execute(start).rowcount:  # asked while it waited in the queue
                _cancel_queued(session, job_id, work, params, "queued", "cancelling")
                _cancel_asked.discard(job_id)
                _interrupting.discard(job_id)
                log.info("job cancelled", extra={"job_id": job_id, "kind": kind, "error": NEVER_STARTED})
                return {}
    except Exception as refused:
        _not_started(engine, job_id, work, params, refused)
        raise
    started = time.perf_counter()
    log.info("job started", extra={"job_id": job_id, "kind": kind})
    try:
        result = work(Progress(engine, job_id, listener), **params)
    except (JobCancelled, KeyboardInterrupt) as cancelled:  # asked, or Ctrl-C on the command that runs it
        reason = str(cancelled) if isinstance(cancelled, JobCancelled) else "cancelled: interrupted (Ctrl-C)"
        status = "cancelled"
        if job_id in _interrupting:  # the server stops: the job was not the person's to cancel, but to run again
            status, reason = "failed", interrupted(kind)
        log.info(f"job {status}", extra={"job_id": job_id, "kind": kind, "error": reason})
        # what it did before it stopped, where the work says (a send: its emails sent, skipped and refused)
        done = getattr(cancelled, "done_before", None)
        _end(engine, job_id, status=status, error=reason, **({"result": done} if done else {}))
        raise
    except Exception as raised:
        error = as_told(raised)
        theirs = isinstance(error, TailorError | GenerationError)  # the person's to act on: the message says all
        message = str(error) if theirs else f"{type(error).__name__}: {error}"
        # An import's refusal names its rows' customers ("unknown customer 'C00017'"), and a log line is beyond an
        # erasure's reach: it keeps the refusal's kind, the job's row the message (service.logs.about_a_person).
        logged = type(error).__name__ if kind == "import" and theirs else message
        failure = {"job_id": job_id, "kind": kind, "error": logged}
        if theirs:
            (log.info if told else log.warning)("job failed", extra=failure)
        else:
            log.error("job failed", extra={**failure, "trace": traceback.format_exc()})
        told = {"result": error_body(error)} if isinstance(error, TailorError) else {}  # e.g. a file's problems
        _end(engine, job_id, status="failed", error=message, **told)
        raise
    finally:
        _cancel_asked.discard(job_id)
        _interrupting.discard(job_id)
    _end(engine, job_id, status="succeeded", result=result)
    seconds = round(time.perf_counter() - started, 2)
    log.info("job finished", extra={"job_id": job_id, "kind": kind, "seconds": seconds})
    return result


# How many times a command tries again to write a job ending the database did not take, and how long apart, before it
# returns without announcing it (see InlineJobRunner): no sweep of its own comes to write it later.
ENDING_TRIES = 3
ENDING_RETRY_SECONDS = 1.0


def _ending_written_now(engine: Engine, job_id: str) -> bool:
    """Whether the job's ending is written, trying again, ``ENDING_TRIES`` times at most, one the database did not
    take when it came (locked, or away a moment). One still not written stays for a sweep of this process, if it
    serves; else its beats stop with it, and another's sweep fails it as interrupted, and announces that."""
    for _ in range(ENDING_TRIES):
        if (values := _unwritten.get(job_id)) is None:
            return True
        time.sleep(ENDING_RETRY_SECONDS)
        try:
            _write_ending(engine, job_id, values)
        except SQLAlchemyError:
            continue
        _unwritten.pop(job_id, None)
        job_beats(engine).release(job_id)
        log.info("job ending written late", extra={"jobs": [job_id]})
        return True
    if (values := _unwritten.get(job_id)) is None:
        return True
    log.error("job ending not written: not announced; once this process stops it is failed as interrupted",
              extra={"job_id": job_id, "status": values.get("status")})  # fmt: skip
    return False


class InlineJobRunner:
    """Runs the job in the caller's thread (the CLI), reporting progress to an optional listener. An ending the
    database did not take when it came is tried again before the command returns, and announced only once written,
    as the server's runner does (a command announced the job "running", for its ending, or nothing); announced
    briefly (one try, kept for later when not delivered: ``service.jobs.webhooks.announce_briefly``)."""

    def __init__(self, engine: Engine, listener: Callable[[int, int, str], None] | None = None) -> None:
        self.engine = engine
        self.listener = listener
        self.last_result: dict[str, Any] = {}

    def submit(self, kind: str, work: JobFunction, **params: Any) -> str:
        return self.submit_checked(kind, work, None, **params)

    def submit_checked(self, kind: str, work: JobFunction, check: JobCheck | None, **params: Any) -> str:
        # queued here until _run has it: no sweep fails it
        job_id = _create_job(self.engine, kind, work, params, check)
        try:
            self.last_result = _run(self.engine, job_id, work, params, self.listener, told=True)
        finally:
            # before the command returns: a daemon thread would die with it
            if _ending_written_now(self.engine, job_id):
                announce_briefly(self.engine, [(job_id, corrected_ending(job_id))])
        return job_id


class _Lane:
    """Runs the calls it is given in order on ``threads`` daemon threads: a job still inside a long step when the
    process exits (after the grace period of ``ThreadJobRunner.shutdown``) does not hold the exit back, as a
    thread pool's threads would; its row stays running and the next start fails it as interrupted."""

    def __init__(self, name: str, threads: int = 1) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, name=f"{name}_{n}", daemon=True) for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[..., None], *args: Any) -> Future:
        future: Future = Future()
        self._calls.put((future, call, args))
        return future

    def close(self) -> None:
        """The threads end once the calls already given are done (or cancelled through their futures)."""
        for _ in self._threads:
            self._calls.put(None)

    def _serve(self) -> None:
        while (given := self._calls.get()) is not None:
            future, call, args = given
            if not future.set_running_or_notify_cancel():  # cancelled while it waited
                continue
            try:
                future.set_result(call(*args))
            except BaseException as error:  # noqa: BLE001 (the future holds it for whoever waits)
                future.set_exception(error)


class ThreadJobRunner:
    """Runs jobs one after another on a background thread of the API process; the kinds in ``own_lane`` run one
    after another on a second thread, beside the rest, so that (say) mail goes out on time during a long
    generation or training."""

    def __init__(self, engine: Engine, workers: int = 1, own_lane: tuple[str, ...] = ()) -> None:
        self.engine = engine
        self._pool = _Lane("tailor-job", threads=workers)
        self._lane = _Lane("tailor-lane") if own_lane else None
        self.own_lane = frozenset(own_lane)
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()
        # Webhook deliveries in the order jobs end, off the job lanes: a slow receiver delays no job.
        self._announcer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tailor-webhook")
        self._last_failed_try = float("-inf")  # time.monotonic() when a first try was last not delivered

    def submit(self, kind: str, work: JobFunction, **params: Any) -> str:
        return self.submit_checked(kind, work, None, **params)

    def submit_checked(self, kind: str, work: JobFunction, check: JobCheck | None, **params: Any) -> str:
        job_id = _create_job(self.engine, kind, work, params, check)
        pool = self._lane if kind in self.own_lane else self._pool  # no kind is in an empty lane
        future = pool.submit(self._run_quietly, job_id, work, params)
        with self._lock:
            self._futures[job_id] = future
        future.add_done_callback(lambda _: self._forget(job_id))  # a server runs jobs for months: not one kept each
        return job_id

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._futures.pop(job_id, None)

    def _run_quietly(self, job_id: str, work: JobFunction, params: dict[str, Any]) -> None:
        try:
            with contextlib.suppress(Exception):  # _run recorded the error on the job row
                _run(self.engine, job_id, work, params)
        finally:
            # An ending the database could not take is announced by the sweep that writes it: read now, the job
            # was announced "running", or not at all, and its ending never.
            if job_id not in _unwritten:
                self._announce(job_id)

    def announce(self, job_ids: Iterable[str]) -> None:
        """Announce to the webhook jobs that ended without running here, or whose endings were written late: those
        failed as interrupted, at start or by the sweep, and those the sweep wrote the ending of (a marketing tool
        waiting for the end of a send would otherwise wait for ever)."""
        for job_id in job_ids:
            self._announce(job_id)

    def deliver_pending(self) -> None:
        """Try again, after the deliveries already queued, the announcements the webhook did not take, kept on their
        jobs' rows (the sweep's: ``service.jobs.webhooks.deliver_pending``)."""
        with contextlib.suppress(RuntimeError):  # after shutdown: the next start's sweep tries
            self._announcer.submit(deliver_pending, self.engine)

    def _announce(self, job_id: str) -> None:
        corrects = corrected_ending(job_id)  # asked whether announced or not: a server runs jobs for months
        try:
            webhook = WebhookSettings()
        except ValidationError:  # announce_job logs why (a server refuses to start with it: service.app)
            webhook = None
        if webhook is None or webhook.url:
            with contextlib.suppress(RuntimeError):  # a job that ended after shutdown's grace: no more deliveries
                self._announcer.submit(self._first_try, job_id, webhook, corrects, time.monotonic())

    def _first_try(
        self, job_id: str, webhook: WebhookSettings | None, corrects: dict[str, Any] | None, queued_at: float
    ) -> None:
        """On the delivery thread: the job's first try, unless a try that ended after this one was queued was not
        delivered. The receiver did not answer it, so the announcements queued behind it are left to the sweep
        untried, as a command leaves them: each would have waited its own timeout (a burst of endings against a
        receiver that took the connection and never answered held the queue, and the server's shutdown, that many
        timeouts). Endings queued after that failure are tried: the receiver may be back."""
        if webhook is not None and queued_at < self._last_failed_try:
            let_go(self.engine, job_id, webhook)
        elif announce_job(self.engine, job_id, webhook, corrects) is False:
            self._last_failed_try = time.monotonic()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        with self._lock:
            future = self._futures.get(job_id)
        if future:
            future.result(timeout=timeout)

    def shutdown(self, grace_seconds: float | None = None) -> list[str]:
        """Stop for the process to exit: queued jobs never start, running ones are asked to stop at their next
        progress report and waited for ``grace_seconds`` at most (`TAILOR_JOBS_SHUTDOWN_GRACE_SECONDS`). Either
        way the job is failed as interrupted, saying to submit it again; what it had in an open transaction is
        rolled back, as with any stop. The ids of the jobs still running after the grace period: their rows stay
        running, their threads end with the process, and the next start fails them as interrupted."""
        grace = JobSettings().shutdown_grace_seconds if grace_seconds is None else grace_seconds
        with self._lock:
            futures = dict(self._futures)
        for lane in (self._pool, self._lane):
            if lane is not None:
                lane.close()
        running: dict[Future, str] = {}
        for job_id, future in futures.items():
            if future.done():
                continue
            _interrupting.add(job_id)
            _cancel_asked.add(job_id)
            if future.cancel():  # still waiting for its lane: it never starts
                if (queued := _queued.pop(job_id, None)) is not None:
                    with session_scope(self.engine) as session:
                        _cancel_queued(session, job_id, *queued, "queued", "cancelling")
                job_beats(self.engine).release(job_id)
                _cancel_asked.discard(job_id)
                _interrupting.discard(job_id)
                log.info("job failed", extra={"job_id": job_id, "error": INTERRUPTED})
                self._announce(job_id)
            else:
                running[future] = job_id
        if running:
            log.info("stopping running jobs", extra={"jobs": list(running.values()), "grace_seconds": grace})
        _, still_running = wait(running, timeout=min(grace, threading.TIMEOUT_MAX))  # 1e300 s: past the clock
        left = [running[future] for future in still_running]
        if left:
            log.warning("jobs still running at shutdown", extra={"jobs": left, "grace_seconds": grace})
        self._announcer.shutdown(wait=True)  # the jobs that ended are still announced
        return left
