"""Opens of Tailor's tracking image that a machine made, not a reader: a mail gateway (a company's security scanner, a
provider's proxy) fetches an email's images as the email passes, before anyone reads it. Counted as opens, they made
a campaign's open rate, an experiment's winner on opens, the customers' best send hours (the hour of the sending
itself) and the engagement model's "opened" those of the machines.

Of the two signs that tell a link scanner's click (service.machine_clicks), one holds for an open: **at delivery**, an
open within ``TAILOR_TRACK_MACHINE_SECONDS`` (1 s, either side, for the clocks; 0 tells none apart) of the email being
handed to the mail server. ``Send.sent_at`` is written just before the handover, so the window closes at most that long
after it: the email has still to cross the mail servers to a mailbox, and to be opened there; no reader can have
loaded its image yet. The other sign, a sweep, has no counterpart: an email has one image.

Such an open is recorded as a ``machine_open`` event: kept, and counted apart in the campaign's report
(``machine_opened``), but it is no reader's: not an open in any rate, no outcome of an experiment, nothing send times
or the engagement model learn. It has an event id of its own, so its reader's later open is still recorded, once.
What stays unseen: Apple Mail's privacy protection loads every image of every email through Apple's proxy once the
email reaches the device, seconds to hours after the sending, and its reader's own open then loads nothing more; a
gateway that takes longer than the window does the same. Nothing in the image's request tells those from a reader's
open here, and they count as opens: read opens as an upper bound. An email service that sees more reports it (SendGrid
marks such an open `sg_machine_open`): it posts that open as ``machine_open`` (POST /events), or a sends file marks it
(``machine_opened``: service.importing.columns)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Send
from service.machine_clicks import MACHINE_EVENT_PREFIX, at_delivery

if TYPE_CHECKING:
    from service.tracking import Engagement

MACHINE_OPEN = "machine_open"


def told_apart(session: Session, engagements: Sequence[Engagement], within: timedelta) -> list[Engagement]:
    """``engagements`` with each open a machine made (``within`` its email's sending) made a ``machine_open``."""
    opens = {index: e for index, e in enumerate(engagements) if e.kind == "open"}
    if not opens or not within:
        return list(engagements)
    send_ids = {e.send_id for e in opens.values()}
    sent_at = dict(session.execute(select(Send.id, Send.sent_at).where(Send.id.in_(send_ids))).all())
    told = list(engagements)
    for index, opened in opens.items():
        if at_delivery(opened.occurred_at, sent_at.get(opened.send_id), within):
            told[index] = opened._replace(kind=MACHINE_OPEN, event_id=MACHINE_EVENT_PREFIX + opened.event_id)
    return told
