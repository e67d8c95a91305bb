"""Clicks on Tailor's tracked links that a machine made, not a reader: a company's link scanner (a mail gateway's
safe-links check) follows the links of an email as it arrives, often every one of them, before anyone reads it.
Counted as clicks, they made a campaign's click rate, an experiment's winner, the engagement model and the products
readers chose (which the recommender learns from) those of the scanners.

Two signs tell one, each a thing no person does (the rules email services publish; there is no data here to calibrate
subtler ones), within ``TAILOR_TRACK_MACHINE_SECONDS`` (1 s; 0 tells none apart):
- **at delivery**: a click that soon after the email was handed to the mail server; nobody has read it yet;
- **a sweep**: two different links of one email clicked that soon after each other; a person's click opens a page,
  and their next one needs them back in the email.

Such a click is recorded as a ``machine_click`` event: kept, and counted apart in the campaign's report, but it is no
reader's (not a click, not an open, no outcome of an experiment, nothing the models learn). A click recorded before
the click that reveals the sweep came is made one then. What stays unseen: a scanner that clicks one link, or takes
its time between links, counts as a reader. Two servers on one database may each record a click of the same sweep
at the same moment: a batch holds its emails' sweeps from its reads to its commit (``_sweeps_held``), so the later
reads the earlier's. Clicks that an email service reports (POST /events) are its own to filter; it may report the
ones it tells apart as ``machine_click``. Opens a machine made: service.machine_opens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session

from service.db.models import Event, Send
from service.db.session import take_the_write_lock
from service.signed_links import CLICK_EVENT_PREFIX

if TYPE_CHECKING:
    from service.tracking import Engagement

MACHINE_CLICK = "machine_click"
# A machine's click has an event id of its own: a reader's later click on the same link is still recorded, once.
MACHINE_EVENT_PREFIX = "tailor-machine-"
# The first key of the PostgreSQL advisory locks that hold a send's sweep (the second is the send's id): any number,
# the same in every Tailor process; two-key locks share no key with the one-key migration lock.
SWEEP_LOCK = 734_120_262
_LOCK_SWEEPS = text("SELECT pg_advisory_xact_lock(:sweeps, id) FROM unnest(CAST(:send_ids AS integer[])) AS id")


def told_apart(session: Session, engagements: Sequence[Engagement], within: timedelta) -> list[Engagement]:
    """``engagements`` with each click a machine made (``within`` its email's sending, or of another click of another
    link of it, of this batch or recorded already) made a ``machine_click``; the recorded clicks a sweep of this batch
    reveals are made ones too."""
    clicks = {index: e for index, e in enumerate(engagements) if e.kind == "click"}
    if not clicks or not within:
        return list(engagements)
    send_ids = {e.send_id for e in clicks.values()}
    _sweeps_held(session, send_ids)
    sent_at = dict(session.execute(select(Send.id, Send.sent_at).where(Send.id.in_(send_ids))).all())
    moments = [e.occurred_at for e in clicks.values()]
    # The machine clicks recorded are read too, by their link's event id: a sweep's third click came after its first
    # two were made machine clicks, and found no click beside it to reveal it.
    recorded = {
        event_id: (kind, send_id, link.removeprefix(MACHINE_EVENT_PREFIX), moment)
        for event_id, kind, send_id, link, moment in session.execute(
            select(Event.id, Event.kind, Event.send_id, Event.external_id, Event.occurred_at).where(
                Event.send_id.in_(send_ids),
                or_(
                    (Event.kind == "click") & Event.external_id.startswith(CLICK_EVENT_PREFIX),
                    (Event.kind == MACHINE_CLICK)
                    & Event.external_id.startswith(MACHINE_EVENT_PREFIX + CLICK_EVENT_PREFIX),
                ),
                Event.occurred_at.between(min(moments) - within, max(moments) + within),
            )
        )
    }
    swept = _swept(
        [(("new", index), e.send_id, e.event_id, e.occurred_at) for index, e in clicks.items()]
        + [(("recorded", event_id), *click[1:]) for event_id, click in recorded.items()],
        within,
    )
    revealed = {event_id for source, event_id in swept if source == "recorded" and recorded[event_id][0] == "click"}
    _made_machine_clicks(session, {event_id: recorded[event_id][1:3] for event_id in revealed})
    told = list(engagements)
    for index, click in clicks.items():
        if at_delivery(click.occurred_at, sent_at.get(click.send_id), within) or ("new", index) in swept:
            told[index] = click._replace(kind=MACHINE_CLICK, event_id=MACHINE_EVENT_PREFIX + click.event_id, url=None)
    return told


def at_delivery(moment: datetime, sent_at: datetime | None, within: timedelta) -> bool:
    """Whether an engagement at ``moment`` came ``within`` the sending of its email (``sent_at``, None for a send not
    found): either side of it, as a moment the clocks put long before it (the sending host's clock ahead of the
    tracking server's) says nothing of a machine."""
    return sent_at is not None and abs(moment - sent_at) < within


def _sweeps_held(session: Session, send_ids: set[int]) -> None:
    """Hold the sweeps of the sends ``send_ids`` to the end of the session's transaction, before it reads their
    clicks: another server's batch with a click of one of them waits for this one's commit, then reads its clicks.
    Two servers each recording one click of a sweep at once each read only the clicks committed before, and both
    were readers' on PostgreSQL. SQLite: its one write lock (``take_the_write_lock``). PostgreSQL: a transaction's
    advisory lock for each send, taken in the order of their ids, so that two batches naming several of the same
    sends do not each hold one the other waits for; advisory, not the sends' rows, which other writers lock in
    orders of their own (and a sweep need not wait for them)."""
    if take_the_write_lock(session) or session.get_bind().dialect.name != "postgresql":
        return
    # One statement: unnest gives the ids in the array's order, each locked as its row is made.
    session.execute(_LOCK_SWEEPS, {"sweeps": SWEEP_LOCK, "send_ids": sorted(send_ids)})


def _made_machine_clicks(session: Session, revealed: dict[int, tuple[int, str]]) -> None:
    """Make the recorded clicks ``revealed`` (event id: its send id and link's event id) machine clicks; one whose
    link has a machine click already (the scanner's sweep as the email arrived, before this later one) is that
    click's duplicate, and goes: a link has one machine click, as it has one click."""
    if not revealed:
        return
    machine_ids = {MACHINE_EVENT_PREFIX + link for _, link in revealed.values()}
    recorded = set(
        session.execute(
            select(Event.send_id, Event.external_id).where(
                Event.send_id.in_({send_id for send_id, _ in revealed.values()}), Event.external_id.in_(machine_ids)
            )
        ).all()
    )
    for event_id, (send_id, link) in revealed.items():
        if (send_id, MACHINE_EVENT_PREFIX + link) in recorded:
            session.execute(delete(Event).where(Event.id == event_id))
        else:
            made_one = {"kind": MACHINE_CLICK, "external_id": MACHINE_EVENT_PREFIX + link, "product_id": None}
            session.execute(update(Event).where(Event.id == event_id).values(**made_one))


Click = tuple[tuple[str, int], int, str | None, datetime]  # (key, send id, link's event id, moment)


def _swept(clicks: list[Click], within: timedelta) -> set[tuple[str, int]]:
    """The keys of the clicks that have a click of another link of the same email ``within`` of them."""
    swept = set()
    by_send: dict[int, list[tuple[datetime, str | None, tuple[str, int]]]] = {}
    for key, send_id, link, moment in clicks:
        by_send.setdefault(send_id, []).append((moment, link, key))
    for found in by_send.values():
        found.sort(key=lambda click: click[0])
        for position, (moment, link, key) in enumerate(found):
            for other_moment, other_link, other_key in found[position + 1 :]:
                if other_moment - moment > within:
                    break
                if other_link != link:
                    swept |= {key, other_key}
    return swept
