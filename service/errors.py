"""Named errors of the service; messages are written for the person who reads them (API client or CLI user)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self


@dataclass(frozen=True)
class Remedy:
    """What the reader of an error can do about it, in the words of where they read it: an API client is told the
    request to send, a person at the command line the command to run (a marketer who never calls the API could not
    act on "POST /jobs/{id}/cancel")."""

    api: str
    command_line: str


class TailorError(Exception):
    """Base of every error the service reports to its users."""

    status_code = 400
    retry_after_seconds: int | None = None  # a passing condition: the answer says when to try again
    # What a job did before it failed, told beside the message in its result (error_body): the drafts a send put
    # back to review, committed, before the mail server turned out to be down.
    done_before: dict[str, Any] | None = None
    # The message as the command line tells it, where it names a remedy (``naming``); None: the same words.
    command_line_message: str | None = None

    @classmethod
    def naming(cls, remedy: Remedy, message: Callable[[str], str]) -> Self:
        """The error whose ``message`` names ``remedy``: its text (the API's answer, a job's error) in the API's
        words, its ``command_line_message`` in the command line's."""
        error = cls(message(remedy.api))
        error.command_line_message = message(remedy.command_line)
        return error

    def on_command_line(self) -> str:
        """The message as `tailor` tells it."""
        return self.command_line_message or str(self)


class NotFound(TailorError):
    status_code = 404


class CampaignNotFound(NotFound):
    """A campaign id that names no campaign (none such, or one deleted): the command line adds where to see the
    campaigns' ids."""


class DraftReplaced(NotFound):
    """A draft deleted when its campaign was generated again (nobody had reviewed it): its answer names the draft
    written for the same customer in its place (``replaced_by``), or says the customer is no longer in the
    campaign's audience."""

    def __init__(self, draft_id: int, campaign_id: int, replaced_by: int | None) -> None:
        self.replaced_by = replaced_by
        then = f"Draft {draft_id} was replaced when campaign {campaign_id} was generated again"
        if replaced_by is None:
            super().__init__(f"{then}, and its customer is no longer in the campaign's audience: no draft replaced it.")
        else:
            super().__init__(f"{then}: the customer's draft now is {replaced_by}, written afresh.")


class Conflict(TailorError):
    status_code = 409


class ChecksFailed(Conflict):
    """An approval of a variant that failed checks, without overriding them."""


class DraftChanged(Conflict):
    """A save or a review based on an older revision of a draft than the one stored: someone changed the draft
    since the person (or API client) read it, and acting on what they saw would undo or pass over that change."""


class ReviewerChanged(Conflict):
    """A review page's form sent from a page shown to another reviewer than the one its browser's session signs in
    now (someone logged in as themselves in another tab): done, it would be recorded as theirs while the tab that
    sent it still named its own reviewer. Nothing is done; the review page offers the form again."""

    def __init__(self, shown_to: str, signed_in: str) -> None:
        self.shown_to, self.signed_in = shown_to, signed_in
        page = f"a page that showed {shown_to} reviewing" if shown_to else "a page that named no reviewer"
        super().__init__(
            f"This form was sent from {page}, but {signed_in} is signed in in this browser now (logged in since, in "
            f"another tab perhaps), so nothing was done: it would have been recorded as {signed_in}'s. Reload the "
            f"page to review as {signed_in}, or sign out and log in as yourself."
        )


class GeneratedAgain(Conflict):
    """A generation stopped because its campaign was generated again while it ran (it was taken for interrupted):
    the later generation took the campaign over, and its drafts and status are the campaign's. Nothing is left to
    generate again, unlike a generation that failed (CampaignFailed)."""

    def __init__(self, campaign_id: int) -> None:
        self.campaign_id = campaign_id
        super().__init__(
            f"Campaign {campaign_id} was generated again while this generation ran (it was taken for interrupted): "
            "the later generation took the campaign over, and its drafts are the campaign's; this one stopped."
        )


class CampaignFailed(TailorError):
    """A campaign was created but its generation stopped; it is kept, failed, to be generated again."""

    status_code = 500


class Unauthorized(TailorError):
    status_code = 401


class NotReady(TailorError):
    """A step needs something that has not been done yet (e.g. generating before training)."""

    status_code = 409


class JobCancelled(TailorError):
    """A job stopped because someone asked (POST /jobs/{id}/cancel); raised inside it by its progress report."""


class MailServerUnavailable(TailorError):
    """The SMTP server that sends approved drafts cannot be reached, or refuses the connection's setup."""

    status_code = 503


class DatabaseUnavailable(TailorError):
    """The configured database cannot be used: its URL is not one, its driver is not installed, or it cannot be
    reached."""

    status_code = 503


def no_connection_free() -> DatabaseUnavailable:
    """The answer when the pool had no connection to lend in time (SQLAlchemy's TimeoutError): every one is held by
    requests or jobs waiting on the database. It was a 500 InternalError, /health's too."""
    return DatabaseUnavailable(
        "No connection to the database came free in time: every one is held by requests or jobs waiting on the "
        "database (its server stopped or overloaded, or a lock another session holds). Nothing was done; try again "
        "once /health says ok."
    )


class CopyModelUnavailable(TailorError):
    """The model that writes copy could not be used for a request made while someone waits (a suggestion):
    unreachable, no key, an unknown model, a server error."""

    status_code = 503


class CopyModelBusy(TailorError):
    """The server is writing as many suggestions as it writes at once (each holds one of the API's worker threads
    while the model writes); nothing was asked of the model."""

    status_code = 503
    retry_after_seconds = 10


class CopyModelTimedOut(TailorError):
    """The model that writes copy did not answer a waiting request before its deadline (TAILOR_LLM_TIMEOUT,
    TAILOR_LLM_STALL_TIMEOUT, TAILOR_LLM_SUGGESTION_DEADLINE, which TAILOR_LLM_GROUP_DEADLINE caps)."""

    status_code = 504


class StorageUnavailable(TailorError):
    """The server's disk would not take what it had to write (full, over quota, read-only)."""

    status_code = 507


NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def storage_unavailable(error: OSError) -> StorageUnavailable | None:
    """A full, over-quota or read-only disk as the error the user is told, or None for another OSError."""
    if error.errno not in NO_ROOM:
        return None
    where = f" ({error.filename})" if error.filename else ""
    remedy = (
        "Make the place where Tailor keeps its files (TAILOR_HOME) writable"
        if error.errno == errno.EROFS
        else "Free space where Tailor keeps its files (TAILOR_HOME)"
    )
    return StorageUnavailable(
        f"Tailor could not write to its disk{where}: {error.strerror}; what was asked was not done. {remedy} and "
        "try again."
    )


class InvalidEnvironment(TailorError):
    """A TAILOR_* variable whose value cannot be used, read when the work needed it; the message names it."""

    status_code = 500


class InternalError(TailorError):
    """A fault of Tailor's own, not of the request: the answer says so in the API's error body, and the log has
    the request's method, path and the traceback."""

    status_code = 500


class AddressInUse(TailorError):
    """The server cannot listen where it is asked to: the port is taken, or the host is not this machine's."""


class WrittenMeanwhile(Conflict):
    """A write refused because another request or job wrote the same keys at the same moment (two imports of one
    file, say, on PostgreSQL, where they run side by side); the whole transaction was rolled back."""

    retry_after_seconds = 5

    def __init__(self) -> None:
        super().__init__(
            "Another request or job wrote some of the same records at the same moment (two imports of the same "
            "file, say); nothing of this one was written. Send it again: it then updates what the other wrote."
        )


class DatabaseBusy(TailorError):
    """A write waited too long for the database's lock (on SQLite, one writer at a time: a big import or a
    campaign being saved holds it), or, with ``conflict``, PostgreSQL rolled it back for a conflict with another
    transaction at the same moment (a deadlock, a serialization failure); the request's transaction was rolled
    back, and the same request sent again is all it takes."""

    status_code = 503
    retry_after_seconds = 30

    def __init__(self, conflict: bool = False) -> None:
        why = (
            "Another request, job or command wrote some of the same records at the same moment, and the database "
            "rolled this one back rather than have the two wait on each other"
            if conflict
            else "The database is busy with another write (a big import or a campaign being saved, most likely) "
            "and did not free up in time"
        )
        super().__init__(f"{why}; nothing of this request was written. Try again in {self.retry_after_seconds} s.")


class ImportRunning(TailorError):
    """A customers import that waited its time (``TAILOR_IMPORT_WAIT_SECONDS``) for another customers import on the
    database (PostgreSQL takes them one at a time) to finish; nothing of it was written."""

    status_code = 503
    retry_after_seconds = 60

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(
            f"Another customers import is running on this database; this one waited {waited_seconds:g} s for it to "
            "finish (TAILOR_IMPORT_WAIT_SECONDS) and wrote nothing. Import the file again once the other has finished."
        )


class NumberOutOfRange(TailorError):
    """A number (or a date) in a request is past what the database holds: each field's bounds refuse such values
    by name, this is the answer for one that got past them."""

    status_code = 422

    def __init__(self) -> None:
        super().__init__(
            "A number or a date in the request is beyond what the database can hold (ids and counts up to "
            "2147483647, other integers up to 9223372036854775807, dates up to the year 9999); nothing of this "
            "request was written."
        )


class TextHoldsNul(TailorError):
    """A text of the request (an id in its path, a query value) holds a NUL character, which PostgreSQL cannot
    store; request bodies refuse one by name (service.schemas.RequestBody), this is the answer for the rest."""

    status_code = 422
    said = "holds a NUL character (\\x00), which no text may"

    def __init__(self, field: str | None = None) -> None:
        self.field = field  # the one that holds it (``path.customer_id``) where it is known, named as others are
        where = f"{field}:" if field else "A text in the request"
        super().__init__(f"{where} {self.said}; nothing was done.")


def is_nul_in_text(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL's driver refusing a text with a NUL character."""
    return "cannot contain NUL" in str(getattr(error, "orig", error))


def is_number_out_of_range(error: BaseException) -> bool:
    """Whether ``error`` is the database refusing a number past its integers: the SQLite driver's OverflowError,
    PostgreSQL's numeric_value_out_of_range."""
    original = getattr(error, "orig", error)
    return isinstance(original, OverflowError) or getattr(original, "sqlstate", None) == "22003"


def as_told(error: BaseException) -> BaseException:
    """``error`` as the API tells it: a database lock that did not free up in time, or a transaction PostgreSQL
    rolled back for a conflict with another (``is_write_conflict``), is DatabaseBusy; a key another
    writer inserted a moment before this one's transaction could (two imports of one file at once) is
    WrittenMeanwhile; a setting read when a job needed it (TAILOR_LLM_TIMEOUT=-5) is InvalidEnvironment, naming
    the variable, not pydantic's report of a class."""
    if is_database_busy(error):
        return DatabaseBusy()
    if is_write_conflict(error):
        return DatabaseBusy(conflict=True)
    if is_unique_race(error):
        return WrittenMeanwhile()
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        from service.settings import environment_problem

        if problem := environment_problem(error):
            return InvalidEnvironment(problem)
    return error


def is_unique_race(error: BaseException) -> bool:
    """Whether ``error`` is a write refused for a key that is unique and already there (PostgreSQL's 23505,
    SQLite's UNIQUE constraint): one the writer had looked for and not found, written meanwhile by another."""
    original = getattr(error, "orig", None)
    if original is None:
        return False
    return getattr(original, "sqlstate", None) == "23505" or str(original).startswith("UNIQUE constraint failed")


def is_database_busy(error: BaseException) -> bool:
    """Whether ``error`` is a database lock that did not free up in time (SQLite's busy timeout, PostgreSQL's
    lock timeout), rather than a fault."""
    original = getattr(error, "orig", error)
    return "database is locked" in str(original) or getattr(original, "sqlstate", None) == "55P03"


# PostgreSQL's deadlock_detected and serialization_failure: a transaction rolled back for another at the same moment.
WRITE_CONFLICTS = {"40P01", "40001"}


def is_write_conflict(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL rolling a transaction back for a conflict with another at the same moment (a
    deadlock, a serialization failure): nothing of it written, and the same work done again may well pass."""
    return getattr(getattr(error, "orig", error), "sqlstate", None) in WRITE_CONFLICTS


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is and why. ``row`` is a CSV file's line (the header is line
    1) or a Parquet file's row counted from 1 (``service.importing.files.first_row``)."""

    row: int | None
    column: str | None
    message: str
    # What ``column`` names: a file's "column"; else a command's "option", a query "parameter" or a body "field"
    # (the API answers those as `field`, a file's problems by `row` and `column`).
    field_kind: str = "column"

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"{self.field_kind} '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


# The problems an input's error message shows; the API's error body and `tailor import --problems` give them all.
SHOWN_PROBLEMS = 20


class InvalidInput(TailorError):
    """An input file or payload was rejected as a whole; nothing of it was written."""

    status_code = 422

    def __init__(
        self, what: str, problems: list[Problem], limit: int = SHOWN_PROBLEMS,
        outcome: str = "rejected, nothing was written", found: int | None = None, checked_all: bool = True,
        file: str | None = None,
    ) -> None:  # fmt: skip
        """``outcome`` says what became of the input: a read-only request has nothing to write. ``found``: how many
        problems there were, when ``problems`` lists only the first of them (and, last, a line that counts them),
        and ``checked_all``: whether every line was checked. The message shows the first ``limit`` and the count,
        so that one line tells how far a file is from importing."""
        self.what = what
        self.problems = problems
        self.file = file  # an input file's base name, which the API's body gives with each problem
        found = len(problems) if found is None else found
        shown = "; ".join(str(p) for p in problems[:limit])
        stopped = "" if checked_all else "; checking stopped before the end of the file"
        more = f" ({found:,} problems found, the first {limit} shown{stopped})" if found > limit else ""
        self.headline = f"{what} {outcome}: {found:,} problems" + (
            f", the first {limit} shown below{stopped}" if found > limit else ""
        )  # what a terminal shows above the problems, one to a line
        super().__init__(f"{what} {outcome}: {shown}{more}")


def field_path(location: tuple | list) -> str:
    """A field by its path in a request, as a client writes it: `events[0].send_id` (pydantic's location without
    FastAPI's "body" in front)."""
    path = ""
    for part in location:
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path


# An input lists at most this many problems, then a line saying how many it found (service.importing.load), and
# the API's error body carries them all.
MAX_PROBLEMS = 1_000
PROBLEMS_IN_BODY = MAX_PROBLEMS + 1


def _problem_body(problem: Problem, file: str | None = None) -> dict[str, Any]:
    """A file's problem by its ``file`` (its name, when known), row and column; a request's by the field (or query
    parameter) it names, spelt as the request's own validation spells it (`query.at`, `events[0].send_id`),
    whichever check refused it."""
    if problem.field_kind == "column":
        named = {"file": file} if file is not None else {}
        return {**named, "row": problem.row, "column": problem.column, "message": problem.message}
    if problem.field_kind == "parameter":
        return {"field": f"query.{problem.column}", "message": problem.message}
    if problem.field_kind == "check":  # a guardrail that turned model copy down (a suggestion), by its name
        return {"check": problem.column, "message": problem.message}
    return {"field": problem.column, "message": problem.message}


def error_body(error: TailorError) -> dict[str, Any]:
    """What an API client is told about ``error``: the JSON of a 4xx/5xx answer, and a failed job's result."""
    body: dict[str, Any] = {"error": type(error).__name__, "message": str(error), "problems": []}
    if isinstance(error, InvalidInput):
        body["problems"] = [_problem_body(p, error.file) for p in error.problems[:PROBLEMS_IN_BODY]]
    if isinstance(error, TextHoldsNul) and error.field:
        body["problems"] = [{"field": error.field, "message": TextHoldsNul.said}]
    if isinstance(error, DraftReplaced):
        body["replaced_by"] = error.replaced_by
    return body | (error.done_before or {})
