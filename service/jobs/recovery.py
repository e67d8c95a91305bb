"""After a crash: jobs whose process died are marked failed, so that nobody polls them forever.

Every job beats while a process holds it, queued or running, whatever its kind (``heartbeat_at``, every
``HEARTBEAT_SECONDS``: service.jobs.heartbeat). A job that missed ``MISSED_BEATS`` beats has lost its process,
whichever host it ran on and whoever asks: two containers that share a hostname and a pid (each its own PID 1)
cannot tell each other's processes apart, and a host that died never comes back to fail its own jobs. When the API
starts, and at each sweep, such a job is failed with a message saying it was interrupted and what comes next; so is
one of this process that it no longer has (see ``fail_interrupted_jobs``). A job written by a process that does not
beat (an earlier release's: ``heartbeat_at`` null) is judged by its worker (``host:pid:boot``, the boot id drawn
afresh each time a process starts), as before: on this host, one whose process no longer exists, or whose pid is
this process's or another live process's started at another time, or that names no process; on another host, one
whose row has not moved for ``STALE_AFTER``. A campaign left "generating" with no generate job still queued or
running (its job interrupted, or ended without putting it back) is failed too, so that it can be generated again
or deleted. A draft left "sending" by a process that died (service.pipeline.sending claims a draft before mailing
it) goes back to review, flagged: the mail server may have taken its email before the process died, so a person
approves it again or rejects it, rather than the customer being mailed twice. A draft's claim lasts one email: one
still "sending" ``STALE_AFTER`` after it was claimed, whichever host claimed it, was left by a process that stopped
(a host that never started again), and goes back to review the same way, at this start and whenever a send or the
due-check begins. Processes that recover at once (two replicas starting, a server and a command) each fail a job
only if its row is still as they read it, so that each job is failed, and announced, by one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, exists, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.db.clock import now_in_database
from service.db.models import UNFINISHED_JOB, Campaign, Draft, Job
from service.db.session import session_scope, take_the_write_lock
from service.jobs import heartbeat
from service.jobs.webhooks import owe

log = logging.getLogger("tailor.jobs")

INTERRUPTED = "interrupted: the process running this job stopped before it finished; submit it again"
# What comes next for a job that stopped, where it is not to submit it again: nobody submitted the jobs the server
# and an import start of themselves, and an import keeps nothing of its file (it is written in one transaction).
AFTER_INTERRUPTION = {
    "import": "nothing of its file was written (a file is imported whole or not at all): import it again",
    "audience": "the next import of orders that changes them, or `tailor audience refresh`, recomputes the audience",
    "retrain": "the next scheduled retrain (TAILOR_RETRAIN_EVERY_HOURS) trains the models",
    "send_due": "the next due-check sends the drafts that are due (one it was mailing is back in review, flagged)",
    "refresh_facts": "the drafts it refreshed stay so: start it again to refresh the others",
}
PERHAPS_SENT = "Sending was "  # how the reasons of a draft whose email may have gone begin (and SEND_CUT_OFF's)
SEND_INTERRUPTED = (
    "Sending was interrupted: the process sending this email stopped before it recorded whether the mail server "
    "took it, so the customer may have it already. Approve it again to send it, or reject it"
)
# A job of another host whose row has not moved for this long, or a draft claimed this long ago and still being
# sent (a claim spans one email, whose mail server answers within its timeout), was left by a process that stopped.
STALE_AFTER = timedelta(hours=1)
# The ids of the jobs a process holds (queued, running, with an ending to write), or a function that gives them then.
Held = Collection[str] | Callable[[], Collection[str]]


def interrupted(kind: str) -> str:
    """The error of a ``kind`` job that stopped with its process (or with the server): what happens next."""
    return INTERRUPTED.replace("submit it again", AFTER_INTERRUPTION.get(kind, "submit it again"))


def failed_saying(error: str) -> str:
    """The message of a job failed with ``error``: the last step its progress named ("reading the file") read as if
    it were still at it."""
    return f"failed: {error}"


def process_start(pid: int) -> str | None:
    """When the process ``pid`` started, as this machine's boot and the clock ticks since it (Linux's /proc): no
    other process that has or had that pid shares it, in this boot or another; None where /proc does not tell."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
        started = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]  # field 22, starttime
    except (OSError, IndexError):
        return None
    return f"{boot}_{started}"


# With the pid, it tells this process from another that had or has the same pid: its start where /proc tells it (a
# pid reused after a restart, by a container's new processes or a rebooted machine's, names a live process that is
# another one), else drawn once per process start (which tells this process from an earlier one with its pid).
BOOT_ID = process_start(os.getpid()) or uuid.uuid4().hex[:12]


def worker_name() -> str:
    """This process as a job's worker: ``host:pid:boot``."""
    return f"{socket.gethostname()}:{os.getpid()}:{BOOT_ID}"


# Between a send claim's process and its own token (no worker name holds it: a hostname has no "/").
_CLAIM_TOKEN = "/"


def new_send_claim() -> str:
    """A claim on a draft for this process to send (``Draft.claimed_by``): its worker name, for recovery to judge
    whether its process stopped, and a token of this claim's own. Named by its process alone, a sender that stalled
    over an hour mid-email, its claim taken back meanwhile (``STALE_AFTER``) and the draft claimed again by this same
    process, took the new claim for its own, and gave back a draft that was being mailed."""
    return f"{worker_name()}{_CLAIM_TOKEN}{uuid.uuid4().hex}"


def claimant(claimed_by: str | None) -> str | None:
    """The process (its worker name) that made a send claim; an earlier release's claim is that name alone."""
    return claimed_by.partition(_CLAIM_TOKEN)[0] if claimed_by else None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def is_orphaned(worker: str | None) -> bool:
    """Whether a job run by ``worker`` can no longer finish: its process on this host is gone, or has this
    process's pid without being this process (one before it, ``host:pid`` or another boot), or its pid is another
    live process's now (one that started at another time than ``worker`` says)."""
    if not worker:
        return True
    if worker == worker_name():
        return False
    name, _, rest = worker.partition(":")
    pid, _, boot = rest.partition(":")
    if name != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid() or not process_alive(int(pid)):
        return True
    # a live process with the pid is the job's only if it started when the job's did (where its worker tells that)
    return "_" in boot and process_start(int(pid)) not in (None, boot)


# A job queued on a live host waits, its row unmoved, behind that host's long jobs: taken for abandoned only after
# a day, where a running one (its progress, or its heartbeat, moves its row every few seconds) after STALE_AFTER.
QUEUED_STALE_AFTER = timedelta(days=1)


def abandoned_elsewhere(job: Job, now: datetime) -> bool:
    """Whether ``job`` belongs to a process on another host that stopped: its row has not moved for ``STALE_AFTER``
    (``QUEUED_STALE_AFTER`` for one still queued) before ``now``, by the database's clock: this host's own clock
    hours off it failed another host's live jobs, or left a dead one's for hours more. A host that died, or a
    container replaced by a redeploy (a new hostname), never comes back to fail its own jobs, and they held their
    campaigns "generating" for good."""
    name = (job.worker or "").partition(":")[0]
    stale_after = QUEUED_STALE_AFTER if job.status == "queued" else STALE_AFTER
    return bool(name) and name != socket.gethostname() and job.updated_at <= now - stale_after


# A job whose beat is this many beats late lost its process: a few, so that a beat the database could not take at
# once, or a clock a few seconds off another host's, is not taken for a death.
MISSED_BEATS = 3


def beats_missed_seconds() -> float:
    """How long after its last beat a job is taken for one whose process died."""
    return MISSED_BEATS * heartbeat.HEARTBEAT_SECONDS


def beats_missed_since(session: Session) -> datetime:
    """The moment by the database's clock, which writes the beats too (service.db.clock), from which a job that has
    not beaten since is taken for one whose process died: one host's clock off another's plays no part."""
    return now_in_database(session) - timedelta(seconds=beats_missed_seconds())


def abandoned(job: Job, now: datetime) -> bool:
    """Whether no process will ever finish ``job``, ``now`` by the database's clock (``now_in_database``): it has
    not beaten for ``MISSED_BEATS`` beats; or, for a job of a process that does not beat, its process on this host is
    gone (``is_orphaned``), or its host stopped (``abandoned_elsewhere``)."""
    if job.heartbeat_at is not None:
        return job.heartbeat_at <= now - timedelta(seconds=beats_missed_seconds())
    return is_orphaned(job.worker) or abandoned_elsewhere(job, now)


def fail_interrupted_jobs(engine: Engine, live: Held | None = None, ended: Collection[str] = ()) -> list[str]:
    """``look_for_interrupted_jobs``, where a look SQLite's writer kept from happening failed none."""
    return look_for_interrupted_jobs(engine, live, ended) or []


def look_for_interrupted_jobs(
    engine: Engine, live: Held | None = None, ended: Collection[str] = ()
) -> list[str] | None:
    """Fail the unfinished jobs whose process died, and the campaigns left generating by no live job; flag for review
    the drafts left sending by a process that died; the jobs' ids.

    At start (``live`` None) every campaign left generating with no generate job unfinished is failed; with one
    unfinished (a command's, run meanwhile), only the campaigns of the generate jobs failed here. While the
    server runs (``live``: the ids of the jobs this process still has, queued, running or with an ending to write,
    or a function giving them, asked once the unfinished jobs are read: see ``service.jobs.runner.sweep_jobs``)
    a job of this process that it no longer has is failed too (its ending was never written), and only the
    campaigns of the generate jobs failed here or ``ended`` (whose endings were written late) are failed: another
    campaign may be marked generating a moment before its job is queued. On SQLite, where another process writes
    for more than a second (an import), nothing is failed, and None says it did not look: the next sweep looks again
    (it takes the write lock without waiting, below), for ``ended`` too; and recovery that waited for another's
    write lets the beats that write held back land before it reads them."""
    waited, ids = False, None
    for _ in range(WRITER_TRIES):
        try:
            with session_scope(engine) as session:
                # On SQLite the one writer before it reads the jobs, without waiting: a job inside its own long
                # write transaction (an import) cannot beat meanwhile, and its beat lands as the transaction ends
                # (``Progress``); waiting for the lock, recovery would read the beat from before and fail a live job.
                take_the_write_lock(session, wait=False)
                if not waited:
                    ids = _fail_interrupted(session, live, ended)
        except OperationalError as error:
            if engine.dialect.name != "sqlite" or "locked" not in str(error.orig):
                raise
            waited = True
            time.sleep(0.2)
            continue
        if ids is not None:
            break
        # The write it waited for just ended: the beats it held back wait for the same lock (service.jobs.heartbeat),
        # and read before they land, they were as old as that write, and live jobs were failed.
        waited = False
        time.sleep(BEATS_LAND_SECONDS)
    if ids is None:
        log.info("interrupted jobs not looked for: another process writes to the database; the next sweep does")
        return None
    if ids:
        log.warning("interrupted jobs failed", extra={"jobs": ids})
    return ids


# On SQLite, how many times recovery tries to become the one writer at once, 0.2 s apart, before it leaves the jobs
# to the next sweep (fail_interrupted_jobs).
WRITER_TRIES = 5
# How long recovery that waited for another's write leaves the writer to the beats that write held back (they wait
# for the lock, and SQLite lets a waiting connection try again every 100 ms at most) before it looks.
BEATS_LAND_SECONDS = 0.3


def _fail_interrupted(session: Session, held: Held | None, ended: Collection[str]) -> list[str]:
    """``fail_interrupted_jobs`` in ``session``."""
    unfinished = session.scalars(select(Job).where(Job.status.in_(UNFINISHED_JOB))).all()
    live = held() if callable(held) else held  # after the read: a job held since has its row read too
    # Before their jobs are failed: a sender is judged by the beat of its unfinished jobs, and once they were failed
    # one on another host had none left, and its drafts stayed "sending" for STALE_AFTER.
    flag_interrupted_sends(session)
    orphans = []
    if unfinished:  # no job to judge (most starts): no clock to read
        now = now_in_database(session)
        orphans = [job for job in unfinished if _lost(job, live, now)]
    failed = [job for job in orphans if _fail_as_interrupted(session, job)]
    ids = [job.id for job in failed]
    left = update(Campaign).where(Campaign.status == "generating", ~exists(_unfinished_generation()))
    if live is not None:
        of_jobs = select(Job.campaign_id).where(Job.id.in_([*ids, *ended]), Job.kind == "generate")
        left = left.where(Campaign.id.in_(of_jobs))
    elif any(job.kind == "generate" and job not in failed for job in unfinished):
        # another process may be marking a campaign generating now: only the failed jobs' campaigns
        left = left.where(Campaign.id.in_([job.campaign_id for job in failed if job.kind == "generate"]))
    session.execute(left.values(status="failed").execution_options(synchronize_session=False))
    return ids


def _lost(job: Job, live: Collection[str] | None, now: datetime) -> bool:
    """Whether no process will finish ``job``: one of this process that it no longer has (``live``), or another's
    that is ``abandoned``. This process's own jobs are known by what it holds, not by their beat, which a database
    busy or down a while may have kept from being written."""
    if job.worker == worker_name():
        return live is not None and job.id not in live
    return abandoned(job, now)


def _fail_as_interrupted(session: Session, job: Job) -> bool:
    """Fail ``job`` as interrupted if its row is still as it was read; whether it was. Of two processes recovering
    at once (two replicas starting, a server and a command), only one fails it, and so announces it, where both
    did; and a job that ended or moved meanwhile keeps that."""
    ending = {"status": "failed", "error": interrupted(job.kind)}
    ending["message"] = failed_saying(ending["error"])
    if job.kind == "generate":  # its last report before a batch stored may not have been written
        ending["done"] = max(job.done, min(drafts_stored(session, job), job.total))
    as_read = update(Job).where(
        Job.id == job.id, Job.status == job.status, Job.updated_at == job.updated_at,
        Job.heartbeat_at.is_not_distinct_from(job.heartbeat_at),
    )  # fmt: skip
    if not session.execute(as_read.values(**ending).execution_options(synchronize_session=False)).rowcount:
        return False
    owe(session, [job.id])  # with its ending: announced at least once, even if this process dies first
    return True


def _unfinished_generation():
    """Whether a generate job of the campaign being updated is queued or running, as the update reads it: a
    campaign another process started generating after the jobs were read is left to that process."""
    return select(Job.id).where(Job.kind == "generate", Job.campaign_id == Campaign.id, Job.status.in_(UNFINISHED_JOB))


def drafts_stored(session: Session, job: Job) -> int:
    """How many drafts the generate ``job`` stored for its campaign: those written since it was created (a run
    writes every untouched draft anew, and the ones a person touched keep their earlier time)."""
    written = select(func.count()).select_from(Draft)
    return session.scalar(written.where(Draft.campaign_id == job.campaign_id, Draft.created_at >= job.created_at))


def back_to_review(draft: Draft, reason: str) -> None:
    """Give a draft being sent back to a person, flagged with ``reason``: its email may have gone, and only a person
    may send it again (no try of its address is planned any more: a draft back after its last refusal for now
    showed the time of a retry that would never come)."""
    for name, value in _for_review(draft, reason).items():
        setattr(draft, name, value)


def _for_review(draft: Draft, reason: str) -> dict[str, object]:
    """What ``back_to_review`` writes on ``draft``."""
    return {
        "status": "flagged", "flagged": True, "claimed_by": None, "retry_after": None,
        "flag_reasons": [*draft.flag_reasons, reason],
    }  # fmt: skip


def _back_to_review_as_read(session: Session, draft: Draft, reason: str) -> bool:
    """``back_to_review``, if the draft is still being sent under the claim it was read with (its sender and the
    claim's time); whether it was. Its sender, judged stopped (its beats late: the database away a while), may have
    recorded its email sent, or given it back, since it was read: a blind write flagged a sent draft as perhaps
    sent. One not put back is read again at its next use."""
    as_read = update(Draft).where(
        Draft.id == draft.id, Draft.status == "sending", Draft.claimed_by == draft.claimed_by,
        Draft.updated_at == draft.updated_at,
    )  # fmt: skip
    change = as_read.values(**_for_review(draft, reason)).execution_options(synchronize_session="fetch")
    if session.execute(change).rowcount:
        return True
    session.expire(draft)
    return False


def stopped_processes(session: Session, workers: set[str | None]) -> set[str | None]:
    """Of ``workers`` (processes named as a job's worker: a draft's sender, a staging folder's owner), those that
    stopped. What a process does beyond its jobs it does for a job (a send, an import's staged file), so one whose jobs
    beat stopped once they missed their beats, whichever host or container asks (``is_orphaned`` took a live process
    in another container with this hostname and pid for a dead one); one with no beating job is judged by its name."""
    beating = select(Job.worker, func.max(Job.heartbeat_at)).where(
        Job.worker.in_([worker for worker in workers if worker]),
        Job.status.in_(UNFINISHED_JOB),
        Job.heartbeat_at.is_not(None),
    )
    last_beats = dict(session.execute(beating.group_by(Job.worker)).all())
    missed = beats_missed_since(session)
    return {
        worker
        for worker in workers
        if worker != worker_name() and (last_beats[worker] <= missed if worker in last_beats else is_orphaned(worker))
    }


def drafts_being_sent(session: Session, campaign_id: int | None = None) -> list[Draft]:
    """The drafts (of ``campaign_id``, or of every campaign) that a sender claimed: "sending"."""
    sending = select(Draft).where(Draft.status == "sending")
    if campaign_id is not None:
        sending = sending.where(Draft.campaign_id == campaign_id)
    return list(session.scalars(sending))


def interrupted_sends(session: Session, drafts_sending: list[Draft]) -> list[Draft]:
    """Of these drafts being sent, those whose sender stopped (``stopped_processes``, of each claim's ``claimant``)
    or that were claimed ``STALE_AFTER`` ago or longer, whoever claimed them; read only."""
    if not drafts_sending:  # none claimed (most calls): no sender's beats to ask for, nor a clock to read
        return []
    gone = stopped_processes(session, {claimant(draft.claimed_by) for draft in drafts_sending})
    claimed_before = now_in_database(session) - STALE_AFTER
    return [
        draft for draft in drafts_sending if claimant(draft.claimed_by) in gone or draft.updated_at <= claimed_before
    ]


def flag_interrupted_sends(session: Session, campaign_id: int | None = None) -> list[int]:
    """Put back to review, flagged as perhaps sent, the drafts (of ``campaign_id``, or of every campaign) left
    "sending" by a process that stopped (``stopped_processes``, of each claim's ``claimant``), or claimed
    ``STALE_AFTER`` ago or longer, whoever claimed them (``updated_at`` moves with the claim, written by the
    database's clock as it is judged here, and nothing else changes a draft while it is sent); their ids."""
    drafts_sending = drafts_being_sent(session, campaign_id)
    interrupted = interrupted_sends(session, drafts_sending)
    drafts = [draft.id for draft in interrupted if _back_to_review_as_read(session, draft, SEND_INTERRUPTED)]
    if drafts:
        log.warning("interrupted sends flagged for review", extra={"drafts": drafts})
    return drafts
