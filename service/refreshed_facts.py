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
changed since the revision its reader saw is refused (DraftChanged)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.campaigns import get_campaign
from service.db.batches import batches
from service.db.models import Draft, Product, Review
from service.drafts import (
    APPROVE_BATCH,
    REVIEWABLE,
    get_draft,
    record_review,
    require_reviewable,
    require_unchanged_since,
    score_again,
)  # fmt: skip
from service.errors import Conflict
from service.forecasts import mark_stale
from service.pipeline.freshness import flag_out_of_date, shown_catalog
from service.pipeline.model_store import ModelStore
from service.pipeline.rendering import rerender_variant

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
        if (round(current.price, 2), current.currency) != (round(product["price"], 2), product["currency"]):
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
        score_again(draft, models)
    mark_stale(draft.campaign)
    session.flush()
    return draft, changes


def refresh_campaign(session: Session, campaign_id: int, reviewer: str, models: ModelStore | None = None) -> dict:
    """Refresh (``refresh_facts``) each of the campaign's pending and flagged drafts whose email the catalog changed
    a fact of; how many were refreshed (``refreshed``), how many of those still wait for a person, flagged
    (``flagged``: copy stating an old price, a product no longer for sale), and how many were changed by someone
    else meanwhile and left (``changed_meanwhile``). Refused (Conflict) while the campaign is being generated."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status == "generating":
        raise Conflict(f"Campaign {campaign_id} is being generated: refresh its drafts once it is ready.")
    waiting = session.scalars(
        select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status.in_(REVIEWABLE)).order_by(Draft.id)
    ).all()
    out_of_date = []
    for batch in batches(waiting, size=APPROVE_BATCH):
        rows = session.execute(select(Draft.id, Draft.recommendations).where(Draft.id.in_(batch))).all()
        catalog = shown_catalog(session, (shown for _, shown in rows))
        out_of_date += [draft_id for draft_id, shown in rows if refreshed(shown or [], catalog)[1]]
    done = {"refreshed": 0, "flagged": 0, "changed_meanwhile": 0}
    for draft_id in out_of_date:
        try:
            draft, changes = refresh_facts(session, draft_id, reviewer, models=models)
        except Conflict:  # reviewed or edited by someone else since it was read: nothing of it was written
            done["changed_meanwhile"] += 1
            continue
        done["refreshed"] += bool(changes)
        done["flagged"] += bool(changes) and draft.flagged
    return done
