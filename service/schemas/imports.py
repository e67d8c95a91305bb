"""What an import of the shop's files answers, and the order of numeric dates earlier imports settled."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.schemas.common import UtcMoment


class ImportResult(BaseModel):
    kind: str
    rows: int = Field(description="rows taken in: inserted, updated and unchanged (erased customers' left out)")
    inserted: int
    updated: int = Field(description="rows of known keys that changed what is stored")
    unchanged: int = Field(0, description="rows of known keys that say what is stored already (not written again)")
    left_out: int = Field(0, description="rows of erased customers, not written; a warning names them")
    drafts_moved: int = Field(
        0,
        description="customers files: approved drafts waiting for a time of their customer's day (a best hour, a "
        "contact policy's deferral) moved to that time of day on the clock of the customer's new zone",
    )
    warnings: list[str] = []  # data written that will not work as expected, e.g. a language without templates
    date_orders: list[str] = Field(
        [], description="how the file's numeric dates were read (day-first or month-first) and why: given with it, "
        "its own dates, or as settled by an earlier file of the kind (GET /imports/date-orders)",
    )  # fmt: skip
    # After orders: the job recomputing segments and profiles (GET the status URL for its progress).
    audience_job_id: str | None = None
    audience_status_url: str | None = None
    audience_not_recomputed: str | None = Field(
        None, description="after orders that changed nothing (every line as stored): why no job recomputes the "
        "audience, which those orders gave already",
    )  # fmt: skip


class SettledDateOrderOut(BaseModel):
    """The order an import kind's numeric dates are read in when a file's own dates do not say it."""

    kind: str
    column: str = Field(description="the date column: timestamp, sent_at, consent_at or arrived_at")
    order: Literal["day-first", "month-first"]
    import_file: str = Field(description="the file that settled it")
    import_job_id: str | None = Field(None, description="its import's job, when it ran as one")
    settled_at: UtcMoment
