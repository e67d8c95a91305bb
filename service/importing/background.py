"""An import as a job, for files too big to hold an HTTP request: the upload is copied to a staging file before
the request answers, and the job reads, checks and writes it in one transaction, as the request would.

The staging file is removed when the job ends, whether it succeeded or failed, and when it is cancelled before it
starts. Staging files live in a folder per process (``staging/<host>/<pid>-<boot>/``, as the process names itself
as a job's worker), so that when the API starts it removes those of processes on this host that died, an earlier
process with the same pid included, unless that process's jobs beat (a process of another container with this
hostname and pid): their jobs are failed as interrupted (`service.jobs.recovery`), and nothing would remove them.
A folder written to within the time a job's beats allow is kept whoever it names: an upload is copied before its job
exists, and a process of another container with this hostname and pid was taken for this one's dead predecessor (it
has no beating job yet), its copy removed as it was made. The server's sweep removes it once it is older.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine

from service.db.session import session_scope
from service.importing.load import import_file
from service.importing.writes import ImportSummary
from service.jobs import JobRunner, Progress
from service.jobs.recovery import beats_missed_seconds, stopped_processes, worker_name
from service.jobs.runner import undone_if_never_run
from service.pipeline.training import submit_audience_refresh
from service.schemas import ImportResult, job_status_url
from service.wording import counted

IMPORT_JOB = "import"
log = logging.getLogger("tailor.jobs")


# Why orders that changed nothing queue no audience refresh: it would recompute the segments, churn risks and CLVs
# those orders gave already (the audience's day is the one after the latest purchase, which they left as it was).
NOTHING_CHANGED = "nothing changed: every line of the file is as stored"


def audience_refreshed(summary: ImportSummary) -> bool:
    """Whether a committed import calls for the audience to be recomputed: orders that changed what is stored."""
    return summary.kind == "orders" and not summary.changed_nothing


def imported(summary: ImportSummary, runner: JobRunner, engine: Engine) -> ImportResult:
    """What a committed import answers; after orders, the audience refresh it queued and where to follow it, or
    why none was (orders that changed nothing)."""
    job_id = submit_audience_refresh(runner, engine) if audience_refreshed(summary) else None
    return ImportResult(
        **{name: value for name, value in summary.__dict__.items() if name != "left_out_rows"},
        audience_job_id=job_id,
        audience_status_url=job_id and job_status_url(job_id),
        audience_not_recomputed=NOTHING_CHANGED if summary.kind == "orders" and job_id is None else None,
    )


def submit_import(
    runner: JobRunner, engine: Engine, staging_dir: Path, kind: str, upload: BinaryIO, name: str,
    day_first: bool | None = None,
) -> str:  # fmt: skip
    """Copy ``upload`` (named ``name`` by the client) to a staging file and queue its import, its numeric dates read
    in the order ``day_first`` gives (None: as ``import_file`` reads them); the job's id."""
    staged = _stage(upload, Path(name).suffix or ".csv", staging_dir)
    try:
        return runner.submit(
            IMPORT_JOB, import_staged, engine=engine, runner=runner, import_kind=kind, staged=staged, name=name,
            day_first=day_first,
        )  # fmt: skip
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def _unstage(_session, staged: Path, **_: Any) -> None:
    """An import cancelled before it started: its staged upload (a copy of the shop's data) is removed."""
    staged.unlink(missing_ok=True)


@undone_if_never_run(_unstage)
def import_staged(
    progress: Progress, engine: Engine, runner: JobRunner, import_kind: str, staged: Path, name: str,
    day_first: bool | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Job: import the staged file and remove it; progress is rows written of rows. A bad file fails the job
    with the problems the synchronous upload answers (see `service.errors.error_body`) and writes nothing."""
    try:
        progress(0, 0, "reading the file")
        with progress.during_write_transaction(), session_scope(engine) as session:
            summary = import_file(session, import_kind, staged, name, progress, progress.job_id, day_first)
    finally:
        staged.unlink(missing_ok=True)
    rows = counted(summary.rows, "row", "rows")
    erased = counted(summary.left_out, "row of an erased customer", "rows of erased customers")
    left_out = f", {erased} left out" if summary.left_out else ""
    unchanged = f", {summary.unchanged:,} unchanged" if summary.unchanged else ""
    waiting = counted(summary.drafts_moved, "waiting draft", "waiting drafts")
    moved = f", {waiting} moved to new time zones" if summary.drafts_moved else ""
    kept = summary.kind == "orders" and not audience_refreshed(summary)
    audience = f"; the audience was not recomputed: {NOTHING_CHANGED}" if kept else ""
    progress(summary.rows, summary.rows, f"imported {rows} of {summary.kind}: {summary.inserted:,} new, "
             f"{summary.updated:,} updated{unchanged}{left_out}{moved}{audience}")  # fmt: skip
    return imported(summary, runner, engine).model_dump()


def remove_stranded_uploads(staging_dir: Path, engine: Engine) -> list[Path]:
    """Remove the staging folders of processes on this host that no longer run (``stopped_processes``: a live one
    of another container with this hostname and pid beats for its imports), but for those written to lately (an
    upload being copied before its job exists: ``written_lately``); the folders removed."""
    here = staging_dir / socket.gethostname()
    owners = {
        folder: f"{here.name}:{folder.name.replace('-', ':')}"
        for folder in (here.iterdir() if here.is_dir() else ())
        if re.fullmatch(r"\d+(-\w+)?", folder.name) and not written_lately(folder)
    }
    with session_scope(engine) as session:
        stopped = stopped_processes(session, set(owners.values())) if owners else set()
    stranded = [folder for folder, owner in owners.items() if owner in stopped]
    for folder in stranded:
        shutil.rmtree(folder, ignore_errors=True)
    if stranded:
        log.warning("staged uploads of stopped processes removed", extra={"folders": [str(f) for f in stranded]})
    return stranded


def written_lately(folder: Path) -> bool:
    """Whether the folder, or a file in it, was written to within the time a job's beats allow
    (``beats_missed_seconds``): by this host's clock, which wrote it (containers on one host share its clock)."""
    since = time.time() - beats_missed_seconds()
    try:
        return any(path.stat().st_mtime >= since for path in (folder, *folder.iterdir()))
    except FileNotFoundError:  # removed meanwhile, by its job's end
        return True


def process_folder() -> str:
    """The name of this process's staging folder: ``<pid>-<boot>``, from its name as a job's worker."""
    return worker_name().split(":", 1)[1].replace(":", "-")


def _stage(upload: BinaryIO, suffix: str, staging_dir: Path) -> Path:
    # The client's name chooses the reader (by suffix) and names the file in errors, never the path.
    suffix = suffix.lower() if re.fullmatch(r"\.\w{1,16}", suffix) else ".upload"
    folder = staging_dir / socket.gethostname() / process_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = folder / f"{uuid.uuid4().hex}{suffix}"
    # A copy of the shop's customers: readable by this user only, whatever the umask.
    try:
        with os.fdopen(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            shutil.copyfileobj(upload, handle)
    except BaseException:  # a full disk: no part of the shop's data stays behind
        staged.unlink(missing_ok=True)
        raise
    return staged
