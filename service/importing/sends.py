"""A past sends file: its checks (known customers, sends that went out) and its writes, the sends and the outcomes the
file states as their events, replacing those an earlier file made and keeping those that came another way."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from generation.locales import language_of
from service.db.batches import batches, rows_where_in
from service.db.models import Customer, Event, Send
from service.errors import Problem
from service.importing.checks import not_yet, rows_where, unknown_references
from service.importing.writes import (
    WRITE_BATCH,
    ImportSummary,
    Report,
    known_ids,
    known_keys,
    plain_records,
    same_as_stored,
    summary_of,
    write_frame,
)


def check_sends(session: Session, rows: pd.DataFrame) -> list[Problem]:
    """Resolve the customers to their primary key and locale (kept on the frame for the writer); a send dated
    after tomorrow is refused."""
    columns = (Customer.external_id, Customer.id, Customer.locale)
    customers = {
        external: (cid, locale)
        for external, cid, locale in rows_where_in(session, columns, Customer.external_id, rows.customer_id)
    }
    rows["customer_pk"] = rows.customer_id.map(lambda external: customers.get(external, (None, None))[0])
    rows["customer_locale"] = rows.customer_id.map(lambda external: customers.get(external, (None, None))[1])
    return unknown_references(rows, "customer_pk", "customer_id", "customer", "customers") + [
        Problem(r, "sent_at", "has not come yet: only sends that went out are imported")
        for r in rows_where(not_yet(rows.sent_at))
    ]


# The outcomes a sends file states, each an event at the send's time: (event kind, the file's column; None: always).
# A machine's open (an email service's proxy or gateway flag) is a machine_open, as Tailor's own tracking records one.
FILE_OUTCOMES = (
    ("delivered", None), ("open", "opened"), ("machine_open", "machine_opened"), ("click", "clicked"),
    ("conversion", "converted"),
)  # fmt: skip


def import_sends(session: Session, rows: pd.DataFrame, progress: Report) -> ImportSummary:
    """Sends and their outcomes as events (delivered, open, machine_open, click, conversion), written in bulk. A known
    send that the file states otherwise is written again, and the events an earlier file made for it (each at the
    send's time) are replaced by this file's; events that came another way (POST /events, an unsubscribe) stay: a
    nightly re-sync of the sends file deleted every click the email service had posted since. A known send the file
    states as stored is unchanged, and nothing of it is written."""
    records = pd.DataFrame(
        {
            "external_id": rows.send_id,
            "customer_id": rows.customer_pk.astype("int64"),
            "subject": rows.subject,
            "preheader": rows.preheader,
            "intro": rows.intro,
            "campaign_type": rows.campaign_type,
            "locale": rows.customer_locale.map(language_of),  # the language the email was in, as a send's locale is
            "segment": rows.segment,
            "n_products": rows.n_products.astype("int64"),
            "mean_price": rows.mean_price.astype(float),
            "churn_risk": rows.churn_risk.astype(float),
            "rec_score": rows.rec_score.astype(float),
            "sent_at": rows.sent_at,
        }
    )
    values = [name for name in records.columns if name != "external_id"]
    columns = (Send.external_id, Send.id, *(getattr(Send, name) for name in values))
    stored_sends = list(rows_where_in(session, columns, Send.external_id, records.external_id))
    ids = known_ids({external: i for external, i, *_ in stored_sends}, records.external_id, len(records))
    stored = pd.DataFrame([send[1:] for send in stored_sends], columns=["id", *values])
    outcomes = pd.DataFrame(
        {kind: True if happened is None else rows[happened].astype(bool) for kind, happened in FILE_OUTCOMES}
    ).reset_index(drop=True)
    made = _file_made_outcomes(session, [int(i) for i in ids.dropna()])
    same = same_as_stored(records, ids, stored)
    for position in np.flatnonzero(same):  # the row as stored: unchanged only if its outcomes are too
        send_id = int(ids.iloc[position])
        same[position] = {kind for kind, _ in FILE_OUTCOMES if outcomes.at[position, kind]} == made.get(send_id, set())
    rewritten = [int(i) for i in ids[ids.notna().to_numpy() & ~same]]
    for batch in batches(rewritten):
        session.execute(delete(Event).where(Event.id.in_(_file_made_events(batch))))
    write_frame(session, Send, records[~same], ids[~same], progress, "sends", already=int(same.sum()))
    send_ids = rows.send_id.map(known_keys(session, Send.external_id, Send.id, records.external_id))
    written = ~same
    for kind, _ in FILE_OUTCOMES:
        mask = written & outcomes[kind].to_numpy(dtype=bool)
        events = pd.DataFrame(
            {"send_id": send_ids[mask].astype("int64"), "kind": kind, "occurred_at": rows.sent_at[mask]}
        )
        for start in range(0, len(events), WRITE_BATCH):
            session.execute(Event.__table__.insert(), plain_records(events.iloc[start : start + WRITE_BATCH]))
    session.flush()
    return summary_of("sends", ids, same)


def _file_made_events(send_ids: list[int], *columns):
    """``columns`` (the id by default) of the events a sends file made for these sends: a file's outcome, without an
    id of its own, at the send's time (an event posted to /events has its own time, or the moment it came)."""
    return (
        select(*(columns or (Event.id,)))
        .join(Send, Send.id == Event.send_id)
        .where(
            Event.send_id.in_(send_ids), Event.external_id.is_(None),
            Event.kind.in_([kind for kind, _ in FILE_OUTCOMES]), Event.occurred_at == Send.sent_at,
        )
    )  # fmt: skip


def _file_made_outcomes(session: Session, send_ids: list[int]) -> dict[int, set[str]]:
    """Per send, the kinds of the events a sends file made for it (``_file_made_events``)."""
    made: dict[int, set[str]] = {}
    for batch in batches(send_ids):
        for send_id, kind in session.execute(_file_made_events(batch, Event.send_id, Event.kind)):
            made.setdefault(send_id, set()).add(kind)
    return made
