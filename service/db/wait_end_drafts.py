"""Drafts the contact policy deferred to its wait's end before migration 0049 kept whether it did
(``Draft.at_wait_end``), told by their own note (migration 0050): a move of their customer to another zone leaves
them at that moment (service.zone_moves) instead of moving them as a time of their customer's day (east, to before
the wait ended: the due-check deferred them again, to the next day at that hour; west, hours late).

A draft deferred from no send time of its own (a campaign sent now) was given the wait's end itself, to the
microsecond, and its note says that wait (service.pipeline.contact_policy): "the customer was mailed 2026-12-04 09:13
UTC, and 3 days must pass", or "held out of another campaign's experiment on 2026-12-04, and is not mailed until its
30-day conversion window ends". One deferred keeping a time of day was given the first moment at that time of day
once the wait had ended, which is the wait's end itself only where the wait ended on that time of day to the
microsecond: a best hour (09:00:00) after an email sent at 09:00:00 exactly, as a shop's imported history may give,
is taken for a wait's end. A draft whose note no longer says its send time (moved to another zone since, or a
deferral put back by a schedule) is left as it is: its wait's end is not known to the microsecond.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from service.db.batches import pages_by_id

# How the notes of 0049 and before begin, and the waits they say (contact_policy.DEFERRED, _mailed_wait,
# _held_out_wait), kept here as they were: importing the contact policy loaded scipy and pandas (1.4 s of CPU) in every
# process that read the migrations, `tailor db upgrade` included, for this one string.
DEFERRED = "Deferred by the contact policy"
MAILED = re.compile(r"the customer was mailed (\d{4}-\d\d-\d\d \d\d:\d\d) UTC, and (\S+) days must pass")
HELD_OUT = re.compile(r"held out of another campaign's experiment on (\d{4}-\d\d-\d\d), .* its (\S+)-day conversion")
# How far a wait's end read back from a note's days (written to 6 digits: 0.333333 for a third) may be off.
ROUNDING = timedelta(seconds=1)


def mark_wait_end_drafts(connection: sa.Connection, batch: int = 5_000) -> int:
    """Sets ``at_wait_end`` on each approved draft of a campaign sent now (no scheduled moment) whose send time is the
    end of the wait its contact policy's note says (see the module's docstring), a batch of drafts at a time; how many.
    Written for migrations: it reads the tables as they are at 0049."""
    drafts = sa.table(
        "drafts",
        sa.column("id", sa.Integer()),
        sa.column("campaign_id", sa.Integer()),
        sa.column("customer_id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("send_after", sa.DateTime()),
        sa.column("flag_reasons", sa.JSON()),
        sa.column("at_wait_end", sa.Boolean()),
    )
    campaigns = sa.table("campaigns", sa.column("id", sa.Integer()), sa.column("scheduled_at", sa.DateTime()))
    read = (
        sa.select(drafts.c.id, drafts.c.campaign_id, drafts.c.customer_id, drafts.c.send_after, drafts.c.flag_reasons)
        .join(campaigns, campaigns.c.id == drafts.c.campaign_id)
        .where(drafts.c.status == "approved", drafts.c.send_after.is_not(None), drafts.c.at_wait_end.is_(False))
        .where(campaigns.c.scheduled_at.is_(None))
        .order_by(drafts.c.id)
        .limit(batch)
    )
    write = sa.update(drafts).where(drafts.c.id == sa.bindparam("row_id")).values(at_wait_end=True)
    marked = 0
    for rows in pages_by_id(connection, read, drafts.c.id):
        held_out = {}
        at_wait_end = []
        for row in rows:
            note = _current_note(row.flag_reasons or [], row.send_after)
            if note is not None and _mailed_wait_ends_at(note, row.send_after):
                at_wait_end.append(row.id)
            elif note is not None and (window := _held_out_window(note)) is not None:
                held_out[row.id] = (row, window)
        at_wait_end += _held_out_until(connection, held_out)
        if at_wait_end:
            connection.execute(write, [{"row_id": draft_id} for draft_id in at_wait_end])
        marked += len(at_wait_end)
    return marked


def _current_note(reasons: list[str], send_after: datetime) -> str | None:
    """The contact policy's note on the draft's send time (contact_policy.current_deferral); None when it has none."""
    moment = f"{DEFERRED} to {send_after:%Y-%m-%d %H:%M} UTC:"
    return next((reason for reason in reversed(reasons) if reason.startswith(moment)), None)


def _mailed_wait_ends_at(note: str, send_after: datetime) -> bool:
    """Whether the note counts an email whose wait ends at the send time: the email, the send time less the note's
    days, was sent in the note's minute."""
    mailed = MAILED.search(note)
    days = _days(mailed[2]) if mailed else None
    if days is None:
        return False
    sent_minute = datetime.strptime(mailed[1], "%Y-%m-%d %H:%M")
    return sent_minute - ROUNDING <= send_after - days < sent_minute + timedelta(minutes=1)


def _held_out_window(note: str) -> timedelta | None:
    """The conversion window of the holdout the note counts (its holdout's time is only a date there); None for a
    note of another wait."""
    held = HELD_OUT.search(note)
    return _days(held[2]) if held else None


def _days(written: str) -> timedelta | None:
    try:
        return timedelta(days=float(written))
    except (ValueError, OverflowError):
        return None


def _held_out_until(connection: sa.Connection, held_out: dict[int, tuple[sa.Row, timedelta]]) -> list[int]:
    """Of these drafts (by id: the row, and its note's conversion window), those whose send time is the end of the
    window of a holdout of their customer by another campaign."""
    if not held_out:
        return []
    assignments = sa.table(
        "experiment_assignments",
        sa.column("customer_id", sa.Integer()),
        sa.column("campaign_id", sa.Integer()),
        sa.column("arm", sa.String()),
        sa.column("assigned_at", sa.DateTime()),
    )
    customer_ids = sorted({row.customer_id for row, _ in held_out.values()})
    holdouts: dict[int, list[tuple[int, datetime]]] = {}
    for customer_id, campaign_id, assigned_at in connection.execute(
        sa.select(assignments.c.customer_id, assignments.c.campaign_id, assignments.c.assigned_at).where(
            assignments.c.customer_id.in_(customer_ids), assignments.c.arm == "holdout"
        )
    ):
        holdouts.setdefault(customer_id, []).append((campaign_id, assigned_at))
    return [
        draft_id
        for draft_id, (row, window) in held_out.items()
        if any(
            campaign_id != row.campaign_id and abs(row.send_after - window - assigned_at) <= ROUNDING
            for campaign_id, assigned_at in holdouts.get(row.customer_id, ())
        )
    ]
