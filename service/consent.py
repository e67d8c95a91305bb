"""Each customer's consent history (``ConsentChange``), so that the shop can show a regulator or the person when
they agreed to marketing email and when they withdrew (GDPR Art. 7(1)): the customer's own columns keep only the
latest value.

What is a change:
- ``given`` / ``withdrawn``: ``marketing_consent`` as the shop's customers file gives it, changed (a new customer's
  consent is a change from none; a new customer without consent changed nothing, and has no history). Only an
  import writes it.
- ``unsubscribed``: the person asked to stop (an unsubscribe link, an email service's `unsubscribe` or `complaint`
  event, a customers file's `unsubscribed`), or their address did under another customer id at it, or from an
  email to an erased customer (service.addresses): the send or file row, another's, is not named. It leaves
  ``marketing_consent`` as the file gave it, as before: suppression reads both, and a file giving the same consent
  again changes nothing. An unsubscribe is never undone, so nothing subscribes anyone again.

A value said again (the nightly file) adds nothing. The history goes with the customer at erasure (the database
cascades), and is kept as long as the customer is, not pruned with the sends after `TAILOR_HISTORY_KEEP_DAYS`: it is
what shows that mail sent was consented to, and that none was sent after a withdrawal, as long as the shop mails
them or keeps their record."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from service.clock import utcnow
from service.db.batches import batches
from service.db.models import ConsentChange, Customer

IMPORTED = "import"
# The customer's address unsubscribed under another customer id at it (a link, an event, a customers file's row, or
# the customer new at an address stopped before), or from an email to an erased customer at it.
ADDRESS = "address unsubscribed"
STORED_BEFORE = "stored before 0045"  # what the customer's columns said when the history began (migration 0045)


@dataclass(frozen=True)
class ImportSource:
    """The import a customers file's changes came from: the file's name, and its job when it ran as one."""

    file: str | None = None
    job_id: str | None = None


def unsubscribe(
    customer: Customer, source: str, took_effect_at: datetime | None = None, send_id: int | None = None
) -> None:
    """Unsubscribe ``customer`` (a persistent one) and record it, unless they are unsubscribed already: also by
    another transaction since their row was read (the page's button pressed twice, an email service's retry), which
    the UPDATE waits for and then finds nothing to change, so that one unsubscribe is one change."""
    if customer.unsubscribed:
        return
    session, now = object_session(customer), utcnow()
    took_effect_at = effective(took_effect_at, now)
    still_subscribed = (Customer.id == customer.id, ~Customer.unsubscribed)
    taken = session.execute(
        update(Customer).where(*still_subscribed).values(unsubscribed=True, unsubscribed_at=took_effect_at),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not taken:
        session.refresh(customer, ["unsubscribed", "unsubscribed_at", "updated_at"])
        return
    for name, value in (("unsubscribed", True), ("unsubscribed_at", took_effect_at)):
        set_committed_value(customer, name, value)
    session.expire(customer, ["updated_at"])  # as the UPDATE set it
    change = ConsentChange(
        customer_id=customer.id, change="unsubscribed", took_effect_at=took_effect_at, recorded_at=now,
        source=source, send_id=send_id,
    )  # fmt: skip
    session.add(change)


def unsubscribe_all(
    session: Session, customer_ids: Collection[int], source: str, took_effect_at: datetime | None = None
) -> set[int]:
    """Unsubscribe the customers of these row ids and record it, as ``unsubscribe`` does one, for those not
    unsubscribed already (also by another transaction since their rows were read, which the UPDATE waits for and
    then leaves out); the row ids of those this unsubscribed. An UPDATE and an INSERT per ``IN_BATCH`` customers,
    not per customer: an import that stopped 100,000 customers at addresses unsubscribed before took 75 s one
    customer at a time on SQLite, holding the write lock all along, and an unsubscribe at an address 10,000 ids
    share (a shop's placeholder address) 30 s."""
    now, taken = utcnow(), set()
    took_effect_at = effective(took_effect_at, now)
    for batch in batches(sorted(set(customer_ids))):  # in the order of their ids, as other writers lock rows
        still_subscribed = (Customer.id.in_(batch), ~Customer.unsubscribed)
        stopped = session.scalars(
            update(Customer).where(*still_subscribed).values(unsubscribed=True, unsubscribed_at=took_effect_at)
            .returning(Customer.id), execution_options={"synchronize_session": False},
        ).all()  # fmt: skip
        if not stopped:
            continue
        taken.update(stopped)
        history = [
            {"customer_id": customer_id, "change": "unsubscribed", "took_effect_at": took_effect_at,
             "recorded_at": now, "source": source}
            for customer_id in stopped
        ]  # fmt: skip
        session.execute(insert(ConsentChange), history)
    for customer_id in customer_ids:  # those the session holds, as the UPDATE left them (none is loaded)
        if (customer := session.identity_map.get(identity_key(Customer, customer_id))) is None:
            continue
        if customer_id in taken:
            for name, value in (("unsubscribed", True), ("unsubscribed_at", took_effect_at)):
                set_committed_value(customer, name, value)
            session.expire(customer, ["updated_at"])
        else:  # unsubscribed before, perhaps by another transaction since it was read: read again when asked
            session.expire(customer, ["unsubscribed", "unsubscribed_at", "updated_at"])
    return taken


def effective(took_effect_at: datetime | None, now: datetime) -> datetime:
    """When an unsubscribe written ``now`` took effect: ``took_effect_at`` (a link's click kept while the database was
    busy, an email service's event reported late), else now; never after now, which an email service's clock a few
    minutes ahead of ours (``service.events.CLOCK_SKEW``) would give: it took effect when Tailor took it at the
    latest. The customer's ``unsubscribed_at`` and the history's change both hold it, and ``updated_at`` the write's
    moment."""
    return now if took_effect_at is None else min(took_effect_at, now)


def imported_changes(
    stored: tuple[bool, bool, datetime | None] | None, consent: bool, unsubscribed: bool,
    collected_at: datetime | None, now: datetime,
) -> list[tuple[str, datetime]]:  # fmt: skip
    """The changes (change, when it took effect) a customers file's row makes to a customer ``stored`` as
    (consent, unsubscribed, consent_changed_at), None for a new one. A consent stored undated (before 0042) that
    the file dates (``collected_at``, its `consent_at`) is recorded given then, as 0045 records a dated one."""
    was_consenting, was_unsubscribed, dated = stored if stored is not None else (False, False, None)
    changes = []
    if consent != was_consenting:
        changes.append(("given" if consent else "withdrawn", collected_at or now))
    elif stored is not None and consent and dated is None and collected_at is not None:
        changes.append(("given", collected_at))
    if unsubscribed and not was_unsubscribed:
        changes.append(("unsubscribed", now))
    return changes


def record_imported(
    session: Session, changes: dict[int, list[tuple[str, datetime]]], source: ImportSource, now: datetime
) -> None:
    """Add the changes a customers file made (by customer row id: each change and when it took effect, as
    ``imported_changes`` gives them) to the history, in bulk: a first import of a big shop adds one for most."""
    history = [
        {
            "customer_id": customer_id,
            "change": change,
            "took_effect_at": took_effect_at,
            "recorded_at": now,
            "source": IMPORTED,
            "import_file": source.file,
            "import_job_id": source.job_id,
        }
        for customer_id, made in changes.items()
        for change, took_effect_at in made
    ]
    for batch in batches(history):
        session.execute(insert(ConsentChange), batch)


def described(change: ConsentChange | None) -> str | None:
    """A change in words, as GET /customers/{id} says the latest: "withdrawn by import of nightly.csv (job ...)"."""
    if change is None:
        return None
    if change.source == IMPORTED:
        job = f" (job {change.import_job_id})" if change.import_job_id else ""
        origin = f"import of {change.import_file or 'a customers file'}{job}"
    elif change.source == ADDRESS:
        origin = "their address: unsubscribed under another customer id at it, or from an email to an erased customer"
    elif change.source == STORED_BEFORE:
        return f"{change.change}, as stored before Tailor kept a consent history"
    else:
        origin = change.source + (f" of send {change.send_id}" if change.send_id is not None else "")
    return f"{change.change} by {origin}"


def latest_changes(session: Session, customer_ids: Collection[int]) -> dict[int, ConsentChange]:
    """Each customer's latest recorded change, by their row id; none for one without a history."""
    latest: dict[int, ConsentChange] = {}
    for batch in batches(list(customer_ids)):
        last = select(func.max(ConsentChange.id)).where(ConsentChange.customer_id.in_(batch))
        last = last.group_by(ConsentChange.customer_id)
        latest |= {c.customer_id: c for c in session.scalars(select(ConsentChange).where(ConsentChange.id.in_(last)))}
    return latest


def consent_history(session: Session, customer_id: int) -> list[ConsentChange]:
    """The customer's changes in the order they took effect (as recorded, for one moment)."""
    statement = select(ConsentChange).where(ConsentChange.customer_id == customer_id)
    return list(session.scalars(statement.order_by(ConsentChange.took_effect_at, ConsentChange.id)))
