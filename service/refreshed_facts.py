"""Writing a draft's email again over the catalog's facts of now: its products' prices, names, links, categories and
descriptions, where the catalog changed them after the draft was written.

An email whose product changed price is held back at approval and at sending (service.pipeline.freshness), and an
edit changes the copy, not the facts: such a draft could only be rejected. Refreshing it keeps every variant's copy
(a person's or the model's) and renders it again over the catalog's facts through the one render path
(service.pipeline.rendering), running every check again: copy that states the old price fails grounding and flags
the draft, for a person to mend. The reasons it was flagged for a price since refreshed go; those for anything else
stay. A product no longer for sale (gone from the catalog, no merchandise, out of stock) is not dropped, since the copy
may speak of it: it stays as shown and the draft is flagged for a person saying so, as an approval would flag it
(reject it, or approve it once the product is back in stock). Each refresh is a review (``refresh``) in the
draft's history, naming what changed, and moves its revision on; only a pending or flagged draft is refreshed, one
changed since the revision its reader saw is refused (DraftChanged). A campaign's out-of-date drafts are refreshed
by a job (``refresh_facts``: ``refresh_campaign``), a batch of drafts in a transaction, scored together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, exists, func, select, union_all
from sqlalchemy.orm import Session

from service.campaigns import cancel_job, get_campaign, hold_campaign, unfinished_job
from service.db.batches import batches
from service.db.models import Draft, DraftProduct, Job, Product, Review
from service.db.session import session_scope
from service.drafts import (
    APPROVE_BATCH,
    REVIEWABLE,
    get_draft,
    record_review,
    require_reviewable,
    require_unchanged_since,
    score_again,
)  # fmt: skip
from service.errors import Conflict, JobCancelled
from service.forecasts import mark_stale
from service.jobs import JobRunner
from service.pipeline.freshness import flag_out_of_date, price_changed, shown_catalog
from service.pipeline.model_store import ModelStore
from service.pipeline.rendering import rerender_variant
from service.wording import counted

ACTION = "refresh"  # the review a refresh records
# The facts of a product an email shows that the catalog may have changed since, and the words that name each.
FACTS = {"name": "name", "category": "category", "url": "link", "description": "description"}


def _for_sale(product: Product | None) -> bool:
    return product is not None and product.recommendable and product.in_stock


def refreshed(shown: list[dict[str, Any]], catalog: dict[str, Product]) -> tuple[list[dict[str, Any]], list[str]]:
    """The email's products (``shown``, as the draft stores them) with the catalog's facts of now for each one still
    for sale, and a sentence for each product whose facts changed ("Sencha (S1): price 7.50 EUR → 8.25 EUR"); a
    product no longer for sale is left as shown."""
    products, changes = [], []
    for product in shown:
        current = catalog.get(product["product_id"])
        if not _for_sale(current):
            products.append(product)
            continue
        said = []
        if price_changed(product, current):
            said.append(f"price {product['price']:.2f} {product['currency']} → {current.price:.2f} {current.currency}")
        said += [  # of the facts the draft holds: one written before a fact was kept is not out of date for it
            f"{words} changed"
            for fact, words in FACTS.items()
            if fact in product and getattr(current, fact) != product[fact]
        ]
        fresh = {fact: getattr(current, fact) for fact in FACTS} | {
            "price": current.price,
            "currency": current.currency,
        }
        products.append(product | fresh)
        if said:
            changes.append(f"{product.get('name') or current.sku} ({current.sku}): {', '.join(said)}")
    return products, changes


def _price_reasons(reasons: list[str], shown: list[dict[str, Any]], products: list[dict[str, Any]]) -> list[str]:
    """Of a draft's flag reasons, those about a price its email now shows as the catalog has it
    (service.pipeline.freshness: "... (S1) now costs 8.25 EUR; the email shows 7.50 EUR ...")."""
    mended = {
        old["product_id"] for old, new in zip(shown, products, strict=True)
        if (old["price"], old["currency"]) != (new["price"], new["currency"])
    }  # fmt: skip
    return [reason for reason in reasons if any(f"({sku}) now costs " in reason for sku in mended)]


def refresh_facts(
    session: Session, draft_id: int, reviewer: str, expected_revision: int | None = None,
    models: ModelStore | None = None,
) -> tuple[Draft, list[str]]:  # fmt: skip
    """Render the draft's email again over the catalog's facts of now, its copy kept, and run every check again
    (with ``models``, score it again); the draft and what changed (none: the draft is as it was, no review
    recorded). Refused: a draft not pending or flagged (Conflict), one changed since ``expected_revision``
    (DraftChanged)."""
    draft = get_draft(session, draft_id)
    require_unchanged_since(session, draft, expected_revision)
    require_reviewable(draft)
    shown = draft.recommendations or []
    products, changes = refreshed(shown, shown_catalog(session, [shown]))
    if not changes:
        return draft, []
    record_review(session, draft, Review(action=ACTION, reviewer=reviewer, comment="; ".join(changes)))
    mended = _price_reasons(draft.flag_reasons or [], shown, products)
    draft.flag_reasons = [reason for reason in draft.flag_reasons or [] if reason not in mended]
    draft.recommendations = products
    for variant in draft.variants:
        rerender_variant(session, draft, variant, edited=variant.edited)
    # a product no longer for sale stays, and the draft goes to a person saying so, as an approval would flag it
    flag_out_of_date(session, [(draft.id, products)], "Updated with the catalog's facts, but")
    if models is not None:
        score_again([draft], models)
    mark_stale(draft.campaign)
    session.flush()
    return draft, changes


KIND = "refresh_facts"  # the job that refreshes a campaign's out-of-date drafts
# Drafts the job refreshes in a transaction and scores in one pass: on SQLite, the write lock is held for one batch.
REFRESH_BATCH = 25


def require_refreshable(session: Session, campaign_id: int) -> None:
    """Refuse (Conflict) to refresh the campaign's drafts while it is being generated (its drafts are being written
    again), and while a refresh of them is queued or running (naming that job)."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status == "generating":
        raise Conflict(f"Campaign {campaign_id} is being generated: refresh its drafts once it is ready.")
    if job_id := unfinished_job(session, campaign_id, KIND):
        raise Conflict.naming(
            cancel_job(job_id),
            lambda cancel: (
                f"Campaign {campaign_id}'s drafts are being refreshed already: wait for that job, or "
                f"cancel it ({cancel}) first."
            ),
        )


def start_refresh(
    session: Session, jobs: JobRunner, engine: Engine, campaign_id: int, reviewer: str, models: ModelStore | None
) -> str:
    """Queue the job refreshing the campaign's out-of-date drafts (``refresh_campaign``), unless refused
    (``require_refreshable``, checked again as the job's row is written, one such submission at a time: two requests
    at the same moment, or one as the campaign started generating, both passed the first check, and two jobs wrote the
    same drafts); its id."""
    require_refreshable(session, campaign_id)  # at once, without waiting for another's submission

    def check(submitting: Session) -> None:
        require_refreshable(submitting, campaign_id)

    return jobs.submit_checked(
        KIND, refresh_campaign, check, engine=engine, campaign_id=campaign_id, reviewer=reviewer, models=models
    )


def refresh_job(session: Session, campaign_id: int, job_id: str | None = None) -> Job | None:
    """The campaign's refresh job ``job_id`` (the one a page started), else its refresh job queued or running, if
    any: what the campaign's review page shows of it."""
    job = session.get(Job, job_id) if job_id else None
    if job is not None and job.kind == KIND and job.campaign_id == campaign_id:
        return job
    unfinished = unfinished_job(session, campaign_id, KIND)
    return session.get(Job, unfinished) if unfinished else None


def may_be_out_of_date(session: Session, campaign_id: int) -> bool:
    """Whether any of the campaign's pending and flagged drafts shows a fact the catalog has changed since: whether
    ``out_of_date_drafts`` would find one, the campaign's page offering the update only then. Only the drafts that
    show a product written (changed or added: an import writes only those) after the oldest of them was are read,
    found by the database through the products each shows (``DraftProduct``, by an index on the sku), and the first
    found out of date ends the reading. (Any product written after the drafts had the page offer the update, one that
    no draft shows too: a copywriter told that the drafts' products had changed ran a job that found nothing to
    update. Reading every draft's products here took 1.2 s for 10,000 drafts, too slow for each load of the page;
    the database found those showing a product written by reading every waiting draft's JSON, in 68-105 ms on SQLite
    and 1.6-2.8 s on PostgreSQL, on each load once any product was written after the drafts; 2-27 ms and 4-20 ms
    now: `python -m evals.scale.update_offer [--postgres]`.)"""
    waiting = (Draft.campaign_id == campaign_id, Draft.status.in_(REVIEWABLE))
    # each status's oldest, read as the first entry of the index on (campaign_id, status, created_at): asked of both
    # statuses at once, PostgreSQL read every draft of the campaign (14 ms for 10,000)
    oldest_of = union_all(*(
        select(func.min(Draft.created_at).label("created_at")).where(Draft.campaign_id == campaign_id,
                                                                     Draft.status == status)
        for status in REVIEWABLE
    )).subquery()  # fmt: skip
    oldest = session.scalar(select(func.min(oldest_of.c.created_at)))
    if oldest is None:
        return False
    written_since = select(Product.sku).where(Product.updated_at >= oldest)  # by the index on updated_at
    if not session.scalar(select(exists(written_since))):  # the first loads of the page: no product written since
        return False
    # read from the products written, by the index on the sku, each row's draft looked up by its id: a join let
    # SQLite read every draft of the campaign first (0.14 s for 10,000 here), taking its index on campaign_id for the
    # narrower one
    waiting_draft = exists().where(Draft.id == DraftProduct.draft_id, *waiting)
    showing_written = (
        select(DraftProduct.draft_id).distinct()
        .where(DraftProduct.product_sku.in_(written_since), waiting_draft)
        .order_by(DraftProduct.draft_id)
    )  # fmt: skip
    for batch in batches(session.scalars(showing_written).all(), size=APPROVE_BATCH):
        shown = session.scalars(select(Draft.recommendations).where(Draft.id.in_(batch))).all()
        catalog = shown_catalog(session, shown)
        if any(refreshed(products or [], catalog)[1] for products in shown):
            return True
    return False


def out_of_date_drafts(session: Session, campaign_id: int) -> list[int]:
    """The ids of the campaign's pending and flagged drafts whose email the catalog changed a fact of."""
    waiting = session.scalars(
        select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status.in_(REVIEWABLE)).order_by(Draft.id)
    ).all()
    out_of_date = []
    for batch in batches(waiting, size=APPROVE_BATCH):
        rows = session.execute(select(Draft.id, Draft.recommendations).where(Draft.id.in_(batch))).all()
        catalog = shown_catalog(session, (shown for _, shown in rows))
        out_of_date += [draft_id for draft_id, shown in rows if refreshed(shown or [], catalog)[1]]
    return out_of_date


def refresh_campaign(
    progress, engine: Engine, campaign_id: int, reviewer: str, models: ModelStore | None = None
) -> dict[str, int]:
    """Job: refresh (``refresh_facts``) each of the campaign's pending and flagged drafts whose email the catalog
    changed a fact of, ``REFRESH_BATCH`` drafts in a transaction, scored again together (``score_again``: the
    scoring models' pass for one draft at a time took 85 % of the job): a job stopped (cancelled, or its server
    stopping) keeps the batches it refreshed, and run again it finds only the others. Its result: how many were
    refreshed (``refreshed``), how many of those still wait for a person, flagged (``flagged``: copy stating an old
    price, a product no longer for sale, a prediction under a review floor), and how many were changed by someone else
    meanwhile and left (``changed_meanwhile``); a job cancelled keeps those of the batches it did. Refused (Conflict)
    while the campaign is being generated; failed (CampaignNotFound) once it was deleted, before or during the job."""
    with session_scope(engine) as session:
        if get_campaign(session, campaign_id).status == "generating":  # since the request: its drafts are rewritten
            raise Conflict(f"Campaign {campaign_id} is being generated: refresh its drafts once it is ready.")
        out_of_date = out_of_date_drafts(session, campaign_id)
    done = {"refreshed": 0, "flagged": 0, "changed_meanwhile": 0}
    total, count = len(out_of_date), 0
    progress(0, total, f"refreshing drafts: 0 of {total:,}")
    for batch in batches(out_of_date, size=REFRESH_BATCH):
        with session_scope(engine) as session:
            hold_campaign(session, campaign_id)  # or CampaignNotFound: deleted since the job began
            refreshed, changed_meanwhile = _refresh_batch(session, batch, reviewer)
            if models is not None:
                score_again(refreshed, models)
            session.flush()
            flagged = sum(draft.flagged for draft in refreshed)
        count += len(batch)
        done["refreshed"] += len(refreshed)
        done["flagged"] += flagged
        done["changed_meanwhile"] += changed_meanwhile
        try:
            progress(count, total, f"refreshing drafts: {count:,} of {total:,}")
        except JobCancelled as cancelled:
            cancelled.done_before = done  # the job's result: what it did before it stopped
            raise
    progress(total, total, f"done: {_refreshed_words(done)}")  # what it did, not the step it was at
    return done


def _refreshed_words(done: dict[str, int]) -> str:
    """A finished refresh's message: how many drafts it refreshed, flagged and left; or that none needed it."""
    if not done["refreshed"] and not done["changed_meanwhile"]:
        return "nothing to refresh: no waiting draft shows a fact the catalog changed"
    left = done["changed_meanwhile"]
    meanwhile = f", {counted(left, 'draft', 'drafts')} changed by someone else meanwhile and left" if left else ""
    return (
        f"refreshed {counted(done['refreshed'], 'draft', 'drafts')} ({done['flagged']:,} flagged for review){meanwhile}"
    )


def _refresh_batch(session: Session, draft_ids: list[int], reviewer: str) -> tuple[list[Draft], int]:
    """Refresh the drafts (unscored: their batch is scored at once); those it changed, and how many were changed by
    someone else since they were read and left. Such a draft is refused before anything of it is written (its status
    read, then its revision's conditional UPDATE), so the others of its transaction stay."""
    refreshed, changed_meanwhile = [], 0
    for draft_id in draft_ids:
        try:
            draft, changes = refresh_facts(session, draft_id, reviewer)
        except Conflict:  # reviewed or edited by someone else since it was read: nothing of it was written
            changed_meanwhile += 1
            continue
        if changes:
            refreshed.append(draft)
    return refreshed, changed_meanwhile
