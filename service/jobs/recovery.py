"""After a crash: jobs whose process died are marked failed, so that nobody polls them forever.

A job records the process that runs it (``host:pid:boot``, the boot id drawn afresh each time a process starts).
When the API starts, an unfinished job (queued or running) whose process on this host no longer exists, or that
names no process (written before jobs recorded one), is failed with a message saying it was interrupted. A job
that names this very pid but another boot (a container's PID 1 restarted, which gets the same pid again) was run
by an earlier process and is failed too; a campaign left "generating" with no generate
job still queued or running (its job interrupted, or ended without putting it back) is failed too, so that it
can be generated again or deleted. A draft left "sending" by a process that died (service.pipeline.sending claims
a draft before mailing it) goes back to review, flagged: the mail server may have taken its email before the
process died, so a person approves it again or rejects it, rather than the customer being mailed twice. Jobs of
processes on other hosts are left alone: this host cannot tell whether they still run (a distributed runner brings
its own heartbeat). A draft's claim, though, lasts one email: one still "sending" ``STALE_AFTER`` after it was
claimed, whichever host claimed it, was left by a process that stopped (a host that never started again), and
goes back to review the same way, at this start and whenever a send or the due-check begins. Processes that recover
at once (two replicas starting, a server and a command) each fail a job only if its row is still as they read it, so
that each job is failed, and announced, by one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Collection
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, exists, func, select, update
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.db.models import UNFINISHED_JOB, Campaign, Draft, Job
from service.db.session import session_scope

log = logging.getLogger("tailor.jobs")

INTERRUPTED = "interrupted: the process running this job stopped before it finished; submit it again"
# What comes next for a job that stopped, where it is not to submit it again: nobody submitted the jobs the server
# and an import start of themselves, and an import keeps nothing of its file (it is written in one transaction).
AFTER_INTERRUPTION = {
    "import": "nothing of its file was written (a file is imported whole or not at all): import it again",
    "audience": "the next import of orders, or `tailor audience refresh`, recomputes the audience",
    "retrain": "the next scheduled retrain (TAILOR_RETRAIN_EVERY_HOURS) trains the models",
    "send_due": "the next due-check sends the drafts that are due (one it was mailing is back in review, flagged)",
}
PERHAPS_SENT = "Sending was "  # how the reasons of a draft whose email may have gone begin (and SEND_CUT_OFF's)
SEND_INTERRUPTED = (
    "Sending was interrupted: the process sending this email stopped before it recorded whether the mail server "
    "took it, so the customer may have it already. Approve it again to send it, or reject it"
)
# A job of another host whose row has not moved for this long, or a draft claimed this long ago and still being
# sent (a claim spans one email, whose mail server answers within its timeout), was left by a process that stopped.
STALE_AFTER = timedelta(hours=1)


def interrupted(kind: str) -> str:
    """The error of a ``kind`` job that stopped with its process (or with the server): what happens next."""
    return INTERRUPTED.replace("submit it again", AFTER_INTERRUPTION.get(kind, "submit it again"))


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


def abandoned_elsewhere(job: Job) -> bool:
    """Whether ``job`` belongs to a process on another host that stopped: its row has not moved for ``STALE_AFTER``
    (``QUEUED_STALE_AFTER`` for one still queued). A host that died, or a container replaced by a redeploy (a new
    hostname), never comes back to fail its own jobs, and they held their campaigns "generating" for good."""
    name = (job.worker or "").partition(":")[0]
    stale_after = QUEUED_STALE_AFTER if job.status == "queued" else STALE_AFTER
    return bool(name) and name != socket.gethostname() and job.updated_at <= utcnow() - stale_after


def abandoned(job: Job) -> bool:
    """Whether no process will ever finish ``job``: its process on this host is gone (``is_orphaned``), or its host
    stopped (``abandoned_elsewhere``)."""
    return is_orphaned(job.worker) or abandoned_elsewhere(job)


def fail_interrupted_jobs(
    engine: Engine, live: Collection[str] | None = None, ended: Collection[str] = ()
) -> list[str]:
    """Fail the unfinished jobs whose process died, and the campaigns left generating by no live job; flag for review
    the drafts left sending by a process that died; the jobs' ids.

    At start (``live`` None) every campaign left generating with no generate job unfinished is failed; with one
    unfinished (a command's, run meanwhile), only the campaigns of the generate jobs failed here. While the
    server runs (``live``: the ids of the jobs this process still has, queued, running or with an ending to write)
    a job of this process that it no longer has is failed too (its ending was never written), and only the
    campaigns of the generate jobs failed here or ``ended`` (whose endings were written late) are failed: another
    campaign may be marked generating a moment before its job is queued."""
    with session_scope(engine) as session:
        unfinished = session.scalars(select(Job).where(Job.status.in_(UNFINISHED_JOB))).all()
        orphans = [
            job
            for job in unfinished
            if abandoned(job) or (live is not None and job.worker == worker_name() and job.id not in live)
        ]
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
        flag_interrupted_sends(session)
    if ids:
        log.warning("interrupted jobs failed", extra={"jobs": ids})
    return ids


def _fail_as_interrupted(session: Session, job: Job) -> bool:
    """Fail ``job`` as interrupted if its row is still as it was read; whether it was. Of two processes recovering
    at once (two replicas starting, a server and a command), only one fails it, and so announces it, where both
    did; and a job that ended or moved meanwhile keeps that."""
    ending = {"status": "failed", "error": interrupted(job.kind)}
    if job.kind == "generate":  # its last report before a batch stored may not have been written
        ending["done"] = max(job.done, min(drafts_stored(session, job), job.total))
    as_read = update(Job).where(Job.id == job.id, Job.status == job.status, Job.updated_at == job.updated_at)
    return bool(session.execute(as_read.values(**ending).execution_options(synchronize_session=False)).rowcount)


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
    draft.status, draft.flagged, draft.claimed_by, draft.retry_after = "flagged", True, None, None
    draft.flag_reasons = [*draft.flag_reasons, reason]


def flag_interrupted_sends(session: Session, campaign_id: int | None = None) -> list[int]:
    """Put back to review, flagged as perhaps sent, the drafts (of ``campaign_id``, or of every campaign) left
    "sending" by a process that stopped: one of this host that no longer runs, or any claimed ``STALE_AFTER`` ago
    or longer (``updated_at`` moves with the claim, and nothing else changes a draft while it is sent); their ids."""
    sending = select(Draft).where(Draft.status == "sending")
    if campaign_id is not None:
        sending = sending.where(Draft.campaign_id == campaign_id)
    abandoned = utcnow() - STALE_AFTER
    interrupted = [
        draft for draft in session.scalars(sending) if is_orphaned(draft.claimed_by) or draft.updated_at <= abandoned
    ]
    for draft in interrupted:
        back_to_review(draft, SEND_INTERRUPTED)
    drafts = [draft.id for draft in interrupted]
    if drafts:
        log.warning("interrupted sends flagged for review", extra={"drafts": drafts})
    return drafts
