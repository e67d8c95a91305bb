"""Which of a campaign's sends could report an open or a click: the sends an experiment counts in an arm's open or click
rate and allocates by, and what the send and the results say when none could report the outcome allocated by.

An open or a click reaches Tailor in two ways: from its own tracking, when the email carried the open image or the
tracked links (``sends.tracking``, as TAILOR_TRACK_OPENS and TAILOR_TRACK_CLICKS were when it went), or from an email
service that posts events to POST /events. A send that could report neither is no send nobody clicked: counted in its
arm's click rate it dilutes it, the more so for the arm that got more such sends (click tracking switched off half way,
the arm ahead gets most of the rest and falls behind), and a campaign none of whose sends could report a click split
every batch 50/50 for ever, saying nothing. So an arm's open and click rates, and the allocation by them, count only
the sends that could report them; ``unseen_warning`` says when none could, and what to do. A conversion is always
seen: a purchase in the orders counts as one.

An email service is taken to report clicks once it has posted one for any of Tailor's campaigns, not this campaign
alone: the email service is the shop's, and a campaign's first batch, which nobody can have clicked yet, would warn
every time. It reports opens once it has posted an open or a click (an email service that tracks its links tracks
opens too; a click with no open is an email whose images were blocked, which the counts read as opened), a machine's
as well as a reader's (``machine_open``, ``machine_click``: it sees them, and tells some apart). Tailor's own
tracked events (their ids, ``service.tracking``, a machine's among them) and the outcomes of imported history (no
campaign) do not count: they say nothing of an email service.

A send that could report the outcome may yet have only a machine's (``machine_open``, ``machine_click``: no reader's,
service.machine_opens): when every open or click of the arms is a machine's, their rates are all 0 and the split even,
which read as a result; ``machines_only_warning`` says that no reader's is recorded.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from sqlalchemy import exists, not_, or_, select
from sqlalchemy.orm import Session

from service.db.models import Event, Send
from service.machine_clicks import MACHINE_CLICK, MACHINE_EVENT_PREFIX
from service.machine_opens import MACHINE_OPEN
from service.signed_links import CLICK_EVENT_PREFIX, OPEN_EVENT_ID

Outcome = Literal["open", "click", "conversion"]
TRACKED = {"open": "opens", "click": "clicks"}  # what sends.tracking names each seen outcome
# Per outcome, the 0/1 column of an experiment's outcome table that says a machine made one, and the kind it reads.
MACHINES_COLUMNS = {"open": ("machine_opened", MACHINE_OPEN), "click": ("machine_clicked", MACHINE_CLICK)}
# The kinds of event by which an email service shows that it reports each outcome.
# A machine's open or click (``machine_open``, ``machine_click``) shows it sees them, and tells some apart.
REPORTED_BY = {"open": ("open", "machine_open", "click", "machine_click"), "click": ("click", "machine_click")}


def reported_by_email_service(session: Session, outcome: Outcome) -> bool:
    """Whether an email service has posted an event that shows it reports ``outcome`` for any of Tailor's campaigns
    (always True of a conversion, which purchases tell of)."""
    if outcome not in REPORTED_BY:
        return True
    tailors_own = or_(
        Event.external_id == OPEN_EVENT_ID,
        Event.external_id.startswith(CLICK_EVENT_PREFIX),
        Event.external_id.startswith(MACHINE_EVENT_PREFIX),
    )
    posted = exists().where(
        Event.send_id == Send.id,
        Event.kind.in_(REPORTED_BY[outcome]),
        or_(Event.external_id.is_(None), not_(tailors_own)),
    )
    # From the campaigns' sends (an index) to their events, not through every event: joined the other way, SQLite
    # read all of a large imported history's (0.5 s in 2.1 million; this way 0.05-0.14 s over 50,000 sends).
    return session.scalar(select(Send.id).where(Send.campaign_id.is_not(None), posted).limit(1)) is not None


def reporting_sends(session: Session, sent: pd.Series, tracking: pd.Series) -> dict[Outcome, pd.Series]:
    """Per outcome, whether each send (whether it was ``sent``, and its ``sends.tracking``: null for one sent before
    Tailor recorded it) could report it: it was sent, and its email tracked the outcome or the email service reports
    it. The email service is asked only when some send did not track the outcome."""
    sent = sent.astype(bool)
    kinds = tracking.fillna("").astype(str).str.split(",")
    reporting: dict[Outcome, pd.Series] = {"conversion": sent}
    for outcome, word in TRACKED.items():
        tracked = sent & kinds.map(lambda carried, word=word: word in carried).astype(bool)
        untracked = bool((sent & ~tracked).any())
        reporting[outcome] = sent if untracked and reported_by_email_service(session, outcome) else tracked
    return reporting


def unseen_in_batch(session: Session, outcome: Outcome, sends: int, tracking_carried: str) -> str | None:
    """The warning for a batch of ``sends`` in an experiment's arms, sent carrying ``tracking_carried``
    (TrackingSettings.carried), when none of it can report ``outcome``; None when it can, or nothing was sent."""
    if not sends or tracked_now(outcome, tracking_carried) or reported_by_email_service(session, outcome):
        return None
    return unseen_warning(outcome, sends, tracking_carried, just_sent=True)


def tracked_now(outcome: Outcome, tracking_carried: str) -> bool:
    """Whether email sent now (TrackingSettings.carried) tells Tailor of ``outcome`` by its own tracking."""
    return outcome not in TRACKED or TRACKED[outcome] in tracking_carried.split(",")


def unseen_warning(outcome: Outcome, sends: int, tracking_carried: str, just_sent: bool) -> str:
    """What to say when ``sends`` sends in an experiment's arms (the batch just sent, or all the campaign's) could not
    report the outcome it allocates by, nor will email sent now (``tracking_carried``: TrackingSettings.carried),
    and what would let the experiment learn."""
    setting = f"TAILOR_TRACK_{TRACKED[outcome].upper()}"
    an = _article(outcome)
    if just_sent:
        which, learns = f"the {sends:,} emails just sent cannot", "they count in no arm's rate and teach it nothing"
    else:
        which = f"none of the campaign's {sends:,} sends in its arms can"
        learns = f"every batch is split by the arms' prior alone (even shares), and no arm has {an} {outcome} rate"
    other = "open" if outcome == "click" and tracked_now("open", tracking_carried) else "conversion"
    return (
        f"The experiment allocates its sends by {outcome}s, but {which} report {an} {outcome}: {setting} is off and "
        f"no email service has posted {an} {outcome} event to POST /events; {learns}. Turn on {setting}, have the "
        f"email service post {outcome} events to POST /events (from its first, the sends already made count too), "
        f"or allocate by what is seen: TAILOR_EXPERIMENT_ALLOCATION_OUTCOME={other}."
    )


def machines_only_warning(outcome: Outcome, machines: int, sends: int) -> str:
    """What to say when, of the ``sends`` in an experiment's arms that could report the ``outcome`` it allocates by,
    ``machines`` were opened or clicked by a machine and none by a reader: it is no result that the arms are even."""
    made, what = {"open": ("opened", "a mail gateway or a privacy proxy loading the image"),
                  "click": ("clicked", "a link scanner following the links")}[outcome]  # fmt: skip
    kind = MACHINES_COLUMNS[outcome][1]
    other = "click (or conversion)" if outcome == "open" else "conversion"
    return (
        f"No reader's {outcome} is recorded: of the {sends:,} sends in the arms that could report {_article(outcome)} "
        f"{outcome}, {machines:,} were {made} by machines only ({kind}: {what}, as Tailor tells them or an email "
        f"service reported them), which no rate counts. Nothing tells the arms apart: P(best) and the split of the "
        f"sends (even, or nearly) come from the arms' prior alone, not from a result. Readers' {outcome}s count as "
        f"they come; where they cannot be seen (a privacy proxy opens every email, a scanner clicks every link), "
        f"allocate by what readers do: TAILOR_EXPERIMENT_ALLOCATION_OUTCOME={other}."
    )


def _article(outcome: Outcome) -> str:
    return "an" if outcome == "open" else "a"
