"""The history kept no longer than `TAILOR_HISTORY_KEEP_DAYS` (GDPR's storage limitation): sends older than that,
with their events (the database cascades), and the campaigns whose every draft and send is older, with their drafts,
variants, reviews and experiment assignments. The server deletes them as it runs, a batch a transaction, so that a
first pruning of years of sends holds no lock for long and no other write waits behind it.

What stays:
- Whom not to mail: unsubscribed and bounced are kept on the customer, not read back from the events that said so;
  and each send deleted leaves its id (and the shop's, of an imported one), Message-ID and the digest of its
  address (``ErasedSend``, as an erasure does), so that the unsubscribe link of an old email still stops the mail
  to its address, and an email service's late event for it is skipped rather than refuse its batch.
- Each customer's consent history (service.consent): what shows that the mail they were sent was consented to and
  that none went after they withdrew, for as long as the shop holds them; it goes with them at erasure.
- What is in use: the sends and drafts of a campaign being generated or sent (a job unfinished for it, drafts
  being sent or waiting for their send time), and of an experiment whose conversion window is still open, whose
  results compare all its arms.
- Orders: the shop's own records, which Tailor reads from its files; the audience profiles (frequency, value,
  churn, CLV) and the recommenders learn from the whole purchase history, and an import of the shop's file would
  bring deleted ones back. A customer's orders go with the customer (``DELETE /customers/{id}``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, exists, func, insert, or_, select, union
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.db.models import (
    UNFINISHED_JOB,
    Assignment,
    Campaign,
    Customer,
    DeletedCampaign,
    Draft,
    ErasedSend,
    Event,
    Job,
    Send,
    left_to_the_due_check,
)
from service.db.session import session_scope
from service.erasures import erased_send_row
from service.settings import ExperimentSettings, HistorySettings

log = logging.getLogger("tailor.retention")

# How often the server prunes: often enough that one restarted every day still does, and finding nothing to delete
# is two indexed queries.
PRUNE_EVERY_SECONDS = 600
SENDS_PER_BATCH = 1_000
CAMPAIGNS_PER_BATCH = 10  # each with all its drafts, which may be hundreds of thousands


def prune_history(engine: Engine) -> dict[str, int]:
    """Delete the history older than `TAILOR_HISTORY_KEEP_DAYS`, a batch a transaction, and log how much went;
    nothing when it is unset. The counts deleted."""
    since = HistorySettings().kept_since()
    if since is None:
        return {}
    counts = {"sends": 0, "events": 0, "campaigns": 0, "drafts": 0}
    for prune_batch in (_prune_sends, _prune_campaigns):
        while True:
            with session_scope(engine) as session:
                deleted = prune_batch(session, since)
            if not deleted:
                break
            for name, count in deleted.items():
                counts[name] += count
    if any(counts.values()):
        log.info("history older than the kept days deleted", extra={"kept_since": since.isoformat(), **counts})
    return counts


def _in_use(now: datetime):
    """The ids of the campaigns whose history is still needed: being generated or sent, with drafts the due-check is
    to mail (at their send time, or to try an address again), or an experiment within its conversion window."""
    window_opened = now - timedelta(days=ExperimentSettings().conversion_window_days)
    return union(
        select(Campaign.id).where(Campaign.status == "generating"),
        select(Job.campaign_id).where(Job.campaign_id.is_not(None), Job.status.in_(UNFINISHED_JOB)),
        select(Draft.campaign_id).where(or_(Draft.status == "sending", left_to_the_due_check())),
        select(Assignment.campaign_id).where(Assignment.assigned_at > window_opened),
    )


def _prune_sends(session: Session, since: datetime) -> dict[str, int]:
    """Delete one batch of sends made before ``since`` (with their events) of campaigns not in use, leaving each
    one's ids (Tailor's, and the shop's of an imported one), Message-ID and address digest; the counts deleted."""
    old = session.execute(
        select(Send.id, Send.external_id, Send.message_id, Send.to_email, Customer.email)
        .join(Customer, Customer.id == Send.customer_id)
        .where(Send.sent_at < since, or_(Send.campaign_id.is_(None), Send.campaign_id.not_in(_in_use(utcnow()))))
        .order_by(Send.sent_at)
        .limit(SENDS_PER_BATCH)
    ).all()
    if not old:
        return {}
    send_ids = [send_id for send_id, *_ in old]
    events = session.scalar(select(func.count()).select_from(Event).where(Event.send_id.in_(send_ids)))
    kept = [
        erased_send_row(send_id, shop_send_id, message_id, to or email)
        for send_id, shop_send_id, message_id, to, email in old
    ]  # the address each went to, else the customer's (imported history does not say)
    session.execute(insert(ErasedSend), kept)
    session.execute(delete(Send).where(Send.id.in_(send_ids)).execution_options(synchronize_session=False))
    return {"sends": len(send_ids), "events": events}


def _prune_campaigns(session: Session, since: datetime) -> dict[str, int]:
    """Delete one batch of campaigns not in use whose drafts were all written and last changed before ``since``, and
    that have no send left (their old ones went first), keeping each one's id and name (``DeletedCampaign``), as
    deleting one through the API does; the counts deleted. A campaign that wrote no draft holds nobody's history."""
    old = session.execute(
        select(Campaign.id, Campaign.name)
        .where(
            Campaign.created_at < since,
            Campaign.id.not_in(_in_use(utcnow())),
            or_(Campaign.scheduled_at.is_(None), Campaign.scheduled_at < since),
            exists().where(Draft.campaign_id == Campaign.id),
            ~exists().where(Draft.campaign_id == Campaign.id, Draft.updated_at >= since),
            ~exists().where(Send.campaign_id == Campaign.id),
        )
        .limit(CAMPAIGNS_PER_BATCH)
    ).all()
    if not old:
        return {}
    campaign_ids = [campaign_id for campaign_id, _ in old]
    drafts = session.scalar(select(func.count()).select_from(Draft).where(Draft.campaign_id.in_(campaign_ids)))
    session.execute(insert(DeletedCampaign), [{"id": campaign_id, "name": name} for campaign_id, name in old])
    session.execute(delete(Campaign).where(Campaign.id.in_(campaign_ids)).execution_options(synchronize_session=False))
    return {"campaigns": len(campaign_ids), "drafts": drafts}
