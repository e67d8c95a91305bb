"""Job: a campaign's drafts, from audience to scored variants, as pure stages over the batch of customers.

choose_audience -> recommend_products -> DraftRequests -> generation.stream_drafts -> score_variants ->
insert_drafts. Each stage takes and returns plain data, so a distributed runner can map them over shards; the
drafts are written, scored and saved a batch at a time, so memory does not grow with the campaign.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import DateTime, Engine, delete, insert, literal, select, update
from sqlalchemy.orm import Session

from recommenders.cold_start import DISCOUNT, Likeness, NewArrivals
from recommenders.fallback import PopularFallback, recent_popularity
from recommenders.reorder import reorderable_products
from recommenders.rules import Rules, for_sale, merchandise, recommend_with_rules
from service.addresses import address_key
from service.clock import utcnow
from service.db.batches import IN_BATCH, batches, rows_where_in
from service.db.models import Campaign, Customer, Draft, Job, ReplacedDraft, Review, Send, Variant, fraction_done
from service.db.session import session_scope
from service.db.shown_products import DRAFT_PRODUCTS, shown_rows
from service.errors import GeneratedAgain, NotReady
from service.forecasts import mean_price, refresh_forecast
from service.jobs.heartbeat import Heartbeat
from service.jobs.recovery import PERHAPS_SENT
from service.jobs.runner import undone_if_never_run
from service.pipeline import frames
from service.pipeline.draft_requests import DraftRequests
from service.pipeline.flags import flag_kinds, review_floors, with_check_reasons
from service.pipeline.model_store import TRAINING, ModelStore
from service.pipeline.picks import Picks
from service.segments import segment_named
from service.send_times import planned_send_moment
from service.settings import CampaignSettings
from service.wording import counted, span_of

if TYPE_CHECKING:
    from scoring.selection import SelectionRules

# Customers ranked at once by ``recommend_products``: on the 20,000-customer demo store, ranking a 9,090-customer
# audience in one piece raised the process's resident memory by 75 MB (candidates and purchases of everyone).
RECOMMEND_CHUNK = 2_000
# The share of a generate job's `progress` its ranking covers, chunk by chunk; writing the drafts covers the rest. Its
# figures count drafts, none written while it ranks: without it, its progress stayed 0 while it ranked (some 12 s
# for a 6,000-customer campaign with the fake model, which looked hung), where writing the drafts takes longer.
RANKING_SHARE = 0.1
# At most how often a generate job passes on a draft written within a batch not yet stored (the model's copy renders
# and is checked draft by draft): each reaches the command's bar and GET /jobs/{id}'s progress, without a call per
# draft; a batch stored is always told.
DRAFT_REPORT_SECONDS = 0.25


def choose_audience(
    profiles: pd.DataFrame, campaign_type: str, audience_query: str | None, limit: int | None, as_of: date,
    eligible: Collection[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Of the mailable customers' `profiles` (``frames.mailable_profiles``), those who fit the campaign (and are
    among `eligible` customer ids, when given), in the campaign's order, with their offer (their reasons are added
    by ``audience.campaigns.with_reasons``, for the customers shown or mailed)."""
    from audience.campaigns import select_audience
    from audience.query import evaluate

    if profiles.empty:
        return profiles.reset_index().assign(offer=None)
    chosen = select_audience(profiles, campaign_type, as_of)
    if audience_query:
        # Over every mailable profile, so that a cluster label is checked against all the shop's labels.
        matches = evaluate(audience_query, profiles)
        chosen = chosen[matches.reindex(chosen.index).to_numpy()]
    if eligible is not None:
        chosen = chosen[chosen.index.isin(list(eligible))]
    chosen = chosen.reset_index()
    if limit:
        chosen = chosen.head(limit)
    return chosen


def recommend_products(
    recommender, customer_ids: list[str], products: pd.DataFrame, k: int, rules: Rules, reasons: int = 3,
    bought: Callable[[list[str]], Mapping[str, set[str]]] | None = None, chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None, new_arrivals: bool = True,
    new_arrivals_discount: float = DISCOUNT, popularity: Callable[[], pd.Series] | None = None,
) -> Picks:  # fmt: skip
    """Top-k products per customer after the business `rules`, in rank order, with up to `reasons` 'because you
    bought' product names; names, prices and links come from the catalog (`products`) only. `bought`: for a list
    of customer ids, what each bought as the database holds it now (``frames.purchases_of``: orders imported since
    the model was trained included, purchases returned whole left out), which the rules and the reasons read
    instead of what the model saw: a product returned whole after the training is neither "your usual" nor a
    reason. The one path from a model to shown products, for campaigns and for the API alike; products imported
    since the training are ranked too (``recommenders.cold_start``, at `new_arrivals_discount`) unless `new_arrivals`
    is false (the shop's ``TAILOR_CAMPAIGN_NEW_ARRIVALS`` and ``TAILOR_CAMPAIGN_NEW_ARRIVALS_DISCOUNT``). With
    `popularity` (``recommenders.fallback.recent_popularity`` of the shop's orders, asked only when a list comes out
    short), a list the model cannot fill is filled with the products it cannot rank, most popular first, each pick
    marked as a fallback (``recommenders.fallback``); a reminder, which shows what its customer bought, is not. A pick
    that names no purchase says why it is there all the same (``picks.REASONS``): bought before, popular in the shop
    (where the model ranks it by popularity: ``Recommender.ranks_by_popularity``), or by the customer's activity.

    Customers are ranked and explained `chunk_size` (else RECOMMEND_CHUNK) at a time, each chunk's purchases read
    for it alone: the candidates the rules sift through (a few dozen per customer) and what each bought are held
    for one chunk, not for the audience. `progress` hears (customers ranked, customers) after each chunk (a
    cancelled job's raises there)."""
    if not customer_ids:
        return Picks(pd.DataFrame(columns=["customer_id", "rank", "product_id", "score"]), [], {})
    customers = list(dict.fromkeys(customer_ids))  # one named twice is ranked once: in two chunks, picks come apart
    if new_arrivals:
        recommender = with_kept_new_arrivals(recommender, products, new_arrivals_discount)
    new_products = frozenset(recommender.new_products) if isinstance(recommender, NewArrivals) else frozenset()
    if popularity is not None and not rules.bought_only:
        recommender = PopularFallback(recommender, popularity)
    parts, explained, new_to_customer, fallbacks, reorders, by_activity, done = [], [], [], [], [], [], 0
    for chunk in batches(customers, chunk_size or RECOMMEND_CHUNK):
        purchases = bought(chunk) if bought else None
        held = purchases if purchases is not None else dict(zip(chunk, recommender.purchases_of(chunk), strict=True))
        part = recommend_with_rules(recommender, chunk, products, k, rules, purchases)
        parts.append(part)
        pairs = list(zip(part["customer_id"].tolist(), part["product_id"].tolist(), strict=True))
        explained += recommender.explain_many(
            [customer for customer, _ in pairs], [product for _, product in pairs], n=reasons, bought=purchases
        )
        fallen_back = [isinstance(recommender, PopularFallback) and recommender.is_fallback(*pair) for pair in pairs]
        fallbacks += fallen_back
        # one the customer bought since the training (a reminder's, or shown again) is no new arrival to them, nor
        # one the fallback placed by its popularity rather than by its likeness to the products the model knows
        new_to_customer += [
            product in new_products and product not in (purchases or {}).get(customer, ()) and not fallback
            for (customer, product), fallback in zip(pairs, fallen_back, strict=True)
        ]
        reorders += [product in held.get(customer, ()) for customer, product in pairs]
        popular = dict(zip(chunk, recommender.ranks_by_popularity(chunk), strict=True))
        by_activity += [not popular[customer] for customer, _ in pairs]
        done += len(chunk)
        if progress:
            progress(done, len(customers))
    ranked = pd.concat(parts, ignore_index=True)
    if ranked.empty and (unrankable := nothing_to_rank(recommender, products, rules, new_arrivals)):
        raise unrankable
    # The catalog rows of the products picked or cited alone, the lookups Picks makes: the whole catalog as dicts
    # took a request for one customer's picks 0.36 s on a catalog of 4,000 products, the rows it reads 0.02 s.
    named = {*ranked["product_id"].tolist(), *(product for cited in explained for product in cited)}
    catalog = products[products["product_id"].isin(named)].drop_duplicates("product_id")
    catalog = catalog.set_index("product_id").to_dict("index")
    return Picks(ranked, explained, catalog, new_to_customer, fallbacks, reorders, by_activity)


def nothing_to_rank(recommender, products: pd.DataFrame, rules: Rules, new_arrivals: bool) -> NotReady | None:
    """Why no list can hold a product, where the recommender knows none of those the `rules` may show (a catalog
    replaced whole since the training, or a model trained on another), cold start ranks none of them, and the
    fallback (``PopularFallback``, where the recommender has one) finds none of them bought; None where it knows or
    ranks one. A campaign of such lists was e-mails without a product, each flagged as if the rules had left its
    customer's out, and the API answered an empty list."""
    catalog = products.assign(product_id=products["product_id"].astype(str)).drop_duplicates("product_id")
    catalog = catalog.set_index("product_id")
    shown = for_sale(catalog) if rules.in_stock_only else merchandise(catalog)
    fallback = recommender if isinstance(recommender, PopularFallback) else None
    served = recommender.model if fallback is not None else recommender
    model = served.model if isinstance(served, NewArrivals) else served
    if not len(shown) or (model.vocabulary.products.get_indexer(shown) >= 0).any():
        return None
    if isinstance(served, NewArrivals) and served.likeness.twins["product_id"].isin(shown).any():
        return None
    if fallback is not None and fallback.unknown_popular().index.isin(shown).any():
        return None
    products_named = f"{len(shown):,} product{'s' if len(shown) != 1 else ''} it may show"
    if new_arrivals:
        why = "and none of them reads like one it knows (in name, category or description), by which it would rank them"
        remedy = "or word them as the products they replace"
    else:
        why = "and TAILOR_CAMPAIGN_NEW_ARRIVALS=false leaves out the products imported since its training"
        remedy = "or set TAILOR_CAMPAIGN_NEW_ARRIVALS=true to rank them by their likeness to the products it knows"
    if fallback is not None:
        why += ", nor was any of them bought in the shop's orders, by which a fallback list would rank them"
    return NotReady.naming(
        TRAINING,
        lambda train: (
            f"The recommender knows none of the {products_named} (all imported after its training), {why}: no list "
            f"can hold a product. Train it again ({train}) once they have sold, {remedy}."
        ),
    )


# The model and the catalog frame last served (held weakly), and how the catalog's new products read like the known
# ones (None: it holds none, or no word to compare them by): the API's catalog cache gives one frame until the catalog
# changes, and each request for one customer's picks compared the whole catalog's texts again (0.1 s on Online Retail's
# 4,000 products), or, with nothing new, its ids again under the lock. One request compares them while the others wait
# for it: requests side by side after a catalog change each compared them (19 s and 95 MiB each for 5,000 new products
# among 50,000).
_LAST_LIKENESS: tuple[weakref.ref, weakref.ref, Likeness | None] | None = None
_LIKENESS_LOCK = threading.Lock()
_NOT_KEPT = object()  # no likeness kept for the model and catalog frame asked about


def with_kept_new_arrivals(recommender, products: pd.DataFrame, discount: float = DISCOUNT):
    """``recommenders.cold_start.with_new_arrivals``, the catalog's likeness kept for the next request with the same
    model and catalog frame (see ``_LAST_LIKENESS``): the model, ranking the products imported since its training
    too; the model itself when the catalog holds none, or no word to compare them by."""
    global _LAST_LIKENESS
    likeness = _kept_likeness(recommender, products)  # a request served from it waits for no other
    if likeness is _NOT_KEPT:
        with _LIKENESS_LOCK:
            likeness = _kept_likeness(recommender, products)  # compared meanwhile
            if likeness is _NOT_KEPT:
                likeness = Likeness.of(recommender, products)
                _LAST_LIKENESS = (weakref.ref(recommender), weakref.ref(products), likeness)
    return recommender if likeness is None else NewArrivals(recommender, likeness, discount)


def _kept_likeness(recommender, products: pd.DataFrame) -> Likeness | None | object:
    last = _LAST_LIKENESS
    return last[2] if last is not None and last[0]() is recommender and last[1]() is products else _NOT_KEPT


def reminder_products(session: Session, products: pd.DataFrame, min_share: float) -> frozenset[str]:
    """The products a re-order reminder may show: re-orderable (``recommenders.reorder``), in stock and merchandise
    (postage is re-bought with every order, and no reminder)."""
    catalog = products.drop_duplicates("product_id").set_index("product_id")
    reorderable = reorderable_products(frames.product_buyer_counts(session), catalog["category"], min_share)
    return reorderable & frozenset(for_sale(catalog))


def reminder_audience(
    session: Session, campaign_type: str, min_share: float, products: pd.DataFrame | None = None
) -> tuple[frozenset[str], set[str] | None]:
    """For a re-order reminder, the products it may show and the customers who bought one (the others have nothing
    to be reminded of: their drafts were flagged for a person to reject); for other campaigns, none and None.
    `products` is the catalog (``frames.products_frame``), read here when not given."""
    if campaign_type != "replenishment":
        return frozenset(), None
    catalog = frames.products_frame(session) if products is None else products
    shown = reminder_products(session, catalog, min_share)
    return shown, frames.buyers_of(session, shown)


# What ``score_variants`` reads of a customer's row (first_name and segment: every audience has them).
_RECIPIENT_FIELDS = ("first_name", "segment", "mean_price", "rec_score", "churn_risk")


def score_variants(
    engagement, drafts: list, audience: pd.DataFrame, campaign_type: str, rules: SelectionRules, send_moment: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every variant with P(open/click/conversion) and its top reasons, sent at ``send_moment``
    (``service.send_times.planned_send_moment``); and per draft, the chosen variant and whether a person must look
    at it (a failed check, or a prediction under the floor)."""
    from scoring.pipeline import score_drafts

    by_customer = _facts_by_customer(audience, _RECIPIENT_FIELDS)  # a missing score reads as its default
    rows = []
    for draft in drafts:
        customer = by_customer[draft.customer_id]
        recipient = {
            "customer_id": draft.customer_id, "first_name": customer["first_name"] or "", "locale": draft.locale,
            "segment": segment_named(customer["segment"]),
            "mean_price": float(customer.get("mean_price", 0.0) or 0.0),
            "rec_score": customer.get("rec_score"), "churn_risk": customer.get("churn_risk"),
        }  # fmt: skip
        for variant in draft.variants:
            passed = all(c.passed for c in variant.checks)
            rows.append(_variant_row(recipient, campaign_type, variant.variant_id, variant, passed, send_moment))
    variants = pd.DataFrame(rows)
    if variants.empty:
        return variants, pd.DataFrame(columns=["chosen_variant", "flagged", "flag_reasons"])
    scored = score_drafts(variants, engagement, rules, draft_column="customer_id")
    return scored.variants.set_index(["customer_id", "variant_id"]), scored.drafts


def email_features(churn_risk: float | None, recommendations: list[dict[str, Any]]) -> dict[str, float | None]:
    """What scoring knows of an email besides its copy, for planned and sent emails alike: the products' mean
    price, their mean recommender score and the customer's churn risk at the time (None where unknown, as the
    sends table stores it; scoring reads None as missing)."""
    scores = [float(r["score"]) for r in recommendations if r.get("score") is not None]
    risk = pd.to_numeric(churn_risk, errors="coerce") if churn_risk is not None else None
    return {
        "mean_price": mean_price(recommendations),
        "rec_score": sum(scores) / len(scores) if scores else None,
        "churn_risk": None if risk is None or pd.isna(risk) else float(risk),
    }


def _variant_row(
    recipient: dict[str, Any], campaign_type: str, label: str, copy: Any, checks_passed: bool, send_moment: datetime
) -> dict:
    """One variant in the sends shape the engagement model scores, sent in the hour of ``send_moment``."""
    return {
        **recipient, "variant_id": label, "subject": copy.subject, "preheader": copy.preheader, "intro": copy.intro,
        "campaign_type": campaign_type, "sent_at": pd.Timestamp(send_moment).floor("h"),
        "n_products": len(copy.product_lines), "checks_passed": checks_passed,
    }  # fmt: skip


def rescore_drafts(drafts: list[Draft], engagement) -> None:
    """Score saved drafts' variants again, for the moment each is planned to go (``_variant_rows``), and update their
    predictions and reasons: all of them in one pass of the model, each draft's as it would be scored alone (its
    variants' subjects compared with each other only), so that a refresh of many drafts scores them as an edit of
    each would. The chosen variants stay: the person editing one decides now, seeing the new figures."""
    from scoring.pipeline import score_drafts

    rows = [row | {"draft_id": draft.id} for draft in drafts for row in _variant_rows(draft, {})]
    if not rows:
        return
    by_variant = score_drafts(pd.DataFrame(rows), engagement).variants.set_index(["draft_id", "variant_id"])
    for draft in drafts:
        for variant in draft.variants:
            score = by_variant.loc[(draft.id, variant.label)]
            variant.p_open, variant.p_click = float(score.p_open), float(score.p_click)
            variant.p_conversion, variant.reasons = float(score.p_conversion), list(score.reasons)


def score_in_place_of(draft: Draft, label: str, copy: Any, checks_passed: bool, engagement) -> dict[str, Any]:
    """The predictions and reasons ``copy`` (subject, preheader, intro, product_lines) would have as the draft's
    variant ``label``, scored beside its other variants as an edit's are; the draft is left as it is."""
    from scoring.pipeline import score_drafts

    rows = _variant_rows(draft, {label: (copy, checks_passed)})
    scored = score_drafts(pd.DataFrame(rows), engagement, draft_column="customer_id")
    score = scored.variants.set_index("variant_id").loc[label]
    return {
        "p_open": float(score.p_open), "p_click": float(score.p_click), "p_conversion": float(score.p_conversion),
        "reasons": list(score.reasons),
    }  # fmt: skip


def _variant_rows(draft: Draft, instead: dict[str, tuple[Any, bool]]) -> list[dict[str, Any]]:
    """The draft's variants in the shape the engagement model scores, sent at the moment the draft is planned to go
    (``service.send_times.planned_send_moment``: the generation scored it for the same moment, and the clock of a
    later scoring moves nothing); ``instead`` gives copy (and whether it passed its checks) to score in place of a
    variant's."""
    from generation.locales import language_of
    from generation.render import html_locale

    customer = draft.customer
    recipient = {
        "customer_id": customer.external_id, "first_name": customer.first_name or "",
        "locale": html_locale(draft.variants[0].html) if draft.variants else language_of(customer.locale),
        "segment": customer.segment or "",
        **email_features((customer.profile or {}).get("churn_risk"), draft.recommendations or []),
    }  # fmt: skip
    copies = {v.label: instead.get(v.label, (v, all(c["passed"] for c in v.checks))) for v in draft.variants}
    moment = planned_send_moment(draft.send_after, draft.campaign.scheduled_at, draft.created_at)
    return [
        _variant_row(recipient, draft.campaign.campaign_type, label, copy, passed, moment)
        for label, (copy, passed) in copies.items()
    ]


def clear_untouched_drafts(session: Session, campaign_id: int) -> set[str]:
    """Delete the campaign's drafts nobody reviewed or edited (but those whose email may have gone, flagged when
    their sending was interrupted), keeping which campaign and customer each was for
    (ReplacedDraft: a client holding its id is told which draft replaced it); the customers (external ids) whose
    drafts stay."""
    open_to_review = (Draft.campaign_id == campaign_id, Draft.status.in_(("pending", "flagged")))
    if session.get_bind().dialect.name != "sqlite":
        # Locked first, in a statement of its own: PostgreSQL's delete would wait for a draft an edit is writing,
        # then look again at the draft alone, not at the review the edit added, and delete an edit answered 200.
        # The statements below start after every such edit is committed, and see its review.
        session.execute(select(Draft.id).where(*open_to_review).with_for_update()).all()
    edited = select(Review.id).where(Review.draft_id == Draft.id).exists()
    flagged = select(Draft.id, Draft.flag_reasons).where(Draft.campaign_id == campaign_id, Draft.status == "flagged")
    perhaps_sent = [  # the customer may have its email: a person decides, and no new draft is written for them
        draft_id for draft_id, reasons in session.execute(flagged)
        if any(str(reason).startswith(PERHAPS_SENT) for reason in reasons or [])
    ]  # fmt: skip
    untouched = (*open_to_review, ~edited, ~Draft.id.in_(perhaps_sent))
    columns = ["draft_id", "campaign_id", "customer_id", "replaced_at"]
    replaced = select(Draft.id, Draft.campaign_id, Draft.customer_id, literal(utcnow(), DateTime)).where(*untouched)
    session.execute(insert(ReplacedDraft).from_select(columns, replaced))
    session.execute(delete(Draft).where(*untouched))
    staying = select(Customer.external_id).join(Draft, Draft.customer_id == Customer.id)
    return set(session.scalars(staying.where(Draft.campaign_id == campaign_id)))


# What ``insert_drafts`` reads of a customer's row (``_draft_record``).
_DRAFT_FIELDS = ("offer", "address_note", "reason", "position")


def insert_drafts(
    session: Session, campaign_id: int, audience: pd.DataFrame, drafts: list, picks: Mapping,
    variants: pd.DataFrame, selection: pd.DataFrame, kept: set[str], written_at: datetime,
) -> int:  # fmt: skip
    """Insert ``drafts`` but those of customers in ``kept``, written at ``written_at`` (the moment their scores were
    planned from: ``service.send_times.planned_send_moment``); how many were inserted. ``audience`` holds the
    drafts' customers, with their place in the whole audience as ``position`` (else their order here).

    Written in bulk, a batch of drafts at a time: the drafts in multi-row inserts that return their ids, then
    their variants likewise, then each draft's chosen variant."""
    if "position" not in audience.columns:
        audience = audience.assign(position=range(len(audience)))
    # Rows as dicts by their labels, read column by column: ``to_dict("index")`` first proved the (customer, variant)
    # labels unique and copied the frame, which cost as much as the rows.
    people = _facts_by_customer(audience, _DRAFT_FIELDS)  # an offer or reason: where it has one
    chosen = _rows_by(selection.index, selection, ["chosen_variant", "flagged", "flag_reasons"])
    scores = _rows_by(variants.index, variants, ["p_open", "p_click", "p_conversion", "reasons"])
    new = [draft for draft in drafts if draft.customer_id not in kept]
    wanted = [draft.customer_id for draft in new]
    customer_pks = dict(rows_where_in(session, (Customer.external_id, Customer.id), Customer.external_id, wanted))
    for batch in batches(new, _rows_per_statement(Draft)):
        checks = {d.customer_id: {v.variant_id: [c.model_dump() for c in v.checks] for v in d.variants} for d in batch}
        draft_rows = [
            _draft_record(campaign_id, customer_pks[d.customer_id], d, people[d.customer_id], chosen[d.customer_id],
                          picks.get(d.customer_id, []), checks[d.customer_id]) | {"created_at": written_at}
            for d in batch
        ]  # fmt: skip
        by_customer_pk = dict(_insert(session, Draft, draft_rows, Draft.customer_id, Draft.id))
        draft_ids = {d.customer_id: by_customer_pk[customer_pks[d.customer_id]] for d in batch}
        shown = [row for d in draft_rows for row in shown_rows(by_customer_pk[d["customer_id"]], d["recommendations"])]
        if shown:  # the products each shows, as the ORM's writes keep them (service.db.shown_products)
            session.execute(insert(DRAFT_PRODUCTS), shown)
        variant_rows = [
            _variant_record(draft_ids[d.customer_id], v, checks[d.customer_id][v.variant_id],
                            scores[(d.customer_id, v.variant_id)])
            for d in batch
            for v in d.variants
        ]  # fmt: skip
        variant_ids = {
            (draft_id, label): variant_id
            for variant_id, draft_id, label in _insert(
                session, Variant, variant_rows, Variant.id, Variant.draft_id, Variant.label
            )
        }
        selected = [
            {"id": draft_id, "selected_variant_id": variant_ids[(draft_id, chosen[customer]["chosen_variant"])]}
            for customer, draft_id in draft_ids.items()
        ]
        session.execute(update(Draft), selected)
    return len(new)


def _facts_by_customer(audience: pd.DataFrame, fields: Collection[str]) -> dict[str, dict[str, Any]]:
    """Each customer's ``fields`` (those ``audience`` has) as a dict, by customer id (``_rows_by``)."""
    present = [name for name in fields if name in audience.columns]
    return _rows_by(audience["customer_id"].tolist(), audience, present)


def _rows_by(keys: Iterable, frame: pd.DataFrame, fields: list[str]) -> dict[Any, dict[str, Any]]:
    """Each row's ``fields`` as a dict, by its key (``keys``: one a row, in the frame's order, such as its labels: a
    tuple for a frame of several index levels): read a column at a time, where a batch's rows looked up one by one
    (``.loc``) or as a frame (``to_dict``) cost more than the rows."""
    columns = [frame[name].tolist() for name in fields]
    return {key: dict(zip(fields, values, strict=True)) for key, *values in zip(keys, *columns, strict=True)}


def shared_address_notes(audience: pd.DataFrame) -> list[str]:
    """Per customer of ``audience`` (in its order), a flag reason when an earlier customer of it has the same
    address, else "": the send mails an address once a campaign (service.pipeline.sending), so a reviewer should
    know which of the two drafts is to go."""
    first: dict[str, str] = {}
    notes = []
    for customer_id, email in zip(audience["customer_id"], audience["email"], strict=True):
        earlier = first.setdefault(address_key(email), customer_id)
        notes.append(
            ""
            if earlier == customer_id
            else f"Customer {earlier} has the same address ({email}) in this campaign: an address is mailed once, "
            "so this draft is sent only if theirs is not"
        )
    return notes


def _is_flagged(selected_flagged: bool, draft: Any, address_note: str = "") -> bool:
    """A new draft is flagged when selection flagged it, when its address is an earlier customer's
    (``shared_address_notes``) or when it carries a note (written in another language
    than the customer's, no product to show)."""
    return bool(selected_flagged) or bool(address_note) or bool(draft.notes)


def _draft_record(
    campaign_id: int, customer_pk: int, draft: Any, person: dict[str, Any], chosen: dict[str, Any],
    recommendations: list[dict[str, Any]], checks: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:  # fmt: skip
    """A new draft's row, flagged as `_is_flagged` says."""
    offer = person.get("offer")
    address_note = str(person.get("address_note") or "")
    flagged = _is_flagged(chosen["flagged"], draft, address_note)
    return {
        "campaign_id": campaign_id, "customer_id": customer_pk, "status": "flagged" if flagged else "pending",
        "flagged": flagged,
        "flag_reasons": [
            *([address_note] if address_note else []), *draft.notes,
            *with_check_reasons(chosen["flag_reasons"], checks.items()),
        ],
        "audience_reason": str(person.get("reason", "") or ""), "recommendations": recommendations,
        "offer": offer if isinstance(offer, dict) else None, "position": int(person["position"]),
    }  # fmt: skip


def _variant_record(draft_id: int, variant: Any, checks: list[dict[str, Any]], score: dict[str, Any]) -> dict[str, Any]:
    """A new variant's row, with its checks as stored and its scores."""
    return {
        "draft_id": draft_id, "label": variant.variant_id, "subject": variant.subject, "preheader": variant.preheader,
        "intro": variant.intro, "product_lines": list(variant.product_lines), "html": variant.html,
        "text": variant.text, "checks": checks, "used_fallback": variant.used_fallback,
        "p_open": float(score["p_open"]), "p_click": float(score["p_click"]),
        "p_conversion": float(score["p_conversion"]), "reasons": list(score["reasons"]),
    }  # fmt: skip


def _rows_per_statement(model: type) -> int:
    """Rows of ``model`` whose bound values, all its columns at most, stay within ``IN_BATCH`` in one statement
    (PostgreSQL takes 65,535)."""
    return IN_BATCH // len(model.__table__.columns)


def _insert(session: Session, model: type, rows: list[dict[str, Any]], *returning) -> list[tuple]:
    """Insert ``rows`` of ``model`` in batches of multi-row statements; the ``returning`` columns of each row, in
    no promised order."""
    statement = insert(model).returning(*returning)
    return [
        tuple(row) for batch in batches(rows, _rows_per_statement(model)) for row in session.execute(statement, batch)
    ]


def _purchases(engine: Engine, customer_ids: list[str]) -> dict[str, set[str]]:
    """What these customers bought as the database holds it now: what they bought since the model was trained is
    no news to them."""
    with session_scope(engine) as session:
        return frames.purchases_of(session, customer_ids)


def _popularity(engine: Engine) -> pd.Series:
    """The shop's products by recent popularity in its orders (``recommenders.fallback.recent_popularity``)."""
    with session_scope(engine) as session:
        return recent_popularity(frames.latest_purchases(session))


def require_models(models: ModelStore) -> None:
    """Raise NotReady naming the model that generating a campaign needs and that is not trained yet; asked
    before a campaign is created or queued, so that a shop without models is told at once."""
    for kind in ("recommender", "engagement"):
        models.get(kind)


def _has_sent(session: Session, campaign_id: int) -> bool:
    """Whether the campaign sent email: a send that began as its generation started (a draft of it being mailed
    then) made it a campaign that sent, whatever the generation ends in."""
    return session.scalar(select(Send.id).where(Send.campaign_id == campaign_id).limit(1)) is not None


def _not_generated(session: Session, campaign_id: int, **_: Any) -> None:
    """A generate job cancelled before it started: its campaign, marked "generating" when it was queued, is
    "failed" as when a running one is cancelled, so that it can be generated again, or deleted."""
    session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "generating").values(status="failed")
    )


def _generations(session: Session, campaign_id: int) -> set[str]:
    """The ids of the campaign's generate jobs, as of ``session``."""
    return set(session.scalars(select(Job.id).where(Job.kind == "generate", Job.campaign_id == campaign_id)))


def _generated_again(session: Session, campaign_id: int, before: set[str]) -> bool:
    """Whether a generate job of the campaign came after ``before`` (its jobs when this generation began): this one
    was taken for interrupted while it still ran (its process stalled, or the database was away, past its beats),
    and the campaign generated again, whose state is that generation's to write, not this one's."""
    return not _generations(session, campaign_id) <= before


def _stop_if_generated_again(session: Session, campaign_id: int, before: set[str] | None) -> None:
    """Stop a generation (GeneratedAgain) whose campaign was generated again since it began, before it writes drafts:
    the later generation clears and writes the campaign's drafts, and one for a customer this one wrote after that
    clearing failed the later generation on the campaign's one draft per customer."""
    if _generated_again(session, campaign_id, before or set()):
        raise GeneratedAgain(campaign_id)


@undone_if_never_run(_not_generated)
def generate_campaign(progress, engine: Engine, models: ModelStore, campaign_id: int) -> dict[str, Any]:
    """Job: generate, score and save a campaign's drafts; its figures count drafts stored (0 of 0 for an audience
    of no one), its progress moves over RANKING_SHARE while it ranks products (a count the message says), then over
    the rest as it writes the drafts, draft by draft (the message says how many are written and how many stored),
    and the last message says how many were written. The campaign is
    "generating" while it runs, then "ready" ("sent" if a send that began as it started mailed one of its drafts),
    or "failed" whatever stopped it (it can be generated again); unless it was generated again meanwhile (this
    generation wrongly taken for interrupted): the later generation's state stays."""
    from audience.campaigns import with_reasons
    from audience.query import query_fields
    from generation.brands import load_brand
    from generation.pipeline import stream_drafts
    from generation.schemas import GenerationStats

    started = time.perf_counter()
    generations: set[str] | None = None  # known once it began
    try:
        settings = CampaignSettings()  # inside: a bad setting fails the campaign, not leaves it as it was
        with session_scope(engine) as session:
            campaign = session.get(Campaign, campaign_id)
            campaign.status = "generating"
            generations = _generations(session, campaign_id)
            campaign_type, brand_slug = campaign.campaign_type, campaign.brand.slug
            audience_query, limit = campaign.audience_query, campaign.max_customers
            scheduled_at = campaign.scheduled_at  # a send is refused while the campaign generates: it stays
            profiles = frames.mailable_profiles(session, query_fields(audience_query) if audience_query else ())
            products = frames.products_frame(session)
            as_of = frames.audience_as_of(session)
            replenishment = campaign_type == "replenishment"
            reminded, eligible = reminder_audience(session, campaign_type, settings.reorder_min_share, products)
        progress(0, 1, "choosing the audience", fraction=0.0)
        audience = with_reasons(
            choose_audience(profiles, campaign_type, audience_query, limit, as_of, eligible), campaign_type, as_of
        )
        # A re-order reminder shows what the customer buys again ("your usual"); other campaigns show new products.
        # Nor is a reminder capped to a share of the e-mails: it shows what the customer buys, whoever else does.
        capped = not replenishment and settings.max_product_share < 1
        rules = Rules(
            exclude_bought=not replenishment, bought_only=replenishment, reorderable_only=replenishment,
            reorderable_products=reminded,
            max_per_category=settings.max_products_per_category,
            max_per_family=settings.max_products_per_family,
            max_share_per_product=settings.max_product_share if capped else None,
            boosts=frames.boost_weights(margin=settings.boost_margin, new=settings.boost_new),
        )  # fmt: skip
        # The job's figures count drafts (of one per customer): none written while the products are ranked, whose
        # own count the message says, and its progress moves over the ranking's share.
        ranking = (0, len(audience))
        progress(0, 1, f"recommending products for {len(audience)} customers", of_job=ranking, fraction=0.0)
        picks = recommend_products(
            models.get("recommender"), audience.customer_id.tolist(), products, settings.products_per_email, rules,
            reasons=2, bought=lambda customer_ids: _purchases(engine, customer_ids),
            new_arrivals=settings.new_arrivals, new_arrivals_discount=settings.new_arrivals_discount,
            popularity=lambda: _popularity(engine),
            progress=lambda done, total: progress(
                done, total, f"recommending products: {done:,} of {total:,} customers", of_job=ranking,
                fraction=RANKING_SHARE * fraction_done(done, total),
            ),
        )  # fmt: skip
        risks = audience["churn_risk"] if "churn_risk" in audience.columns else [None] * len(audience)
        features = [
            email_features(risk, picks.get(customer_id, []))
            for customer_id, risk in zip(audience["customer_id"], risks, strict=True)
        ]
        columns = ["mean_price", "rec_score", "churn_risk"]  # named: an audience of no one has no features to say
        audience[columns] = pd.DataFrame(features, index=audience.index, columns=columns)
        audience["position"] = range(len(audience))
        audience["address_note"] = shared_address_notes(audience)
        requests = DraftRequests(audience, picks, campaign_type)
        total = len(requests)
        engagement = models.get("engagement")
        floors = review_floors(settings)
        # Each customer's row and address note, found by a dict: a batch's rows looked up by label (``.loc``) hashed
        # the whole audience's ids again for the first batch, and the notes were looked up draft by draft.
        row_of = {customer_id: row for row, customer_id in enumerate(audience["customer_id"])}
        # What scoring and saving a batch read of its customers, taken out of the audience once: a batch's rows of
        # every profile column were copied to be left unread.
        read = dict.fromkeys(["customer_id", *_RECIPIENT_FIELDS, *_DRAFT_FIELDS])
        facts = audience[[name for name in read if name in audience.columns]]
        address_notes = dict(zip(audience["customer_id"], audience["address_note"], strict=True))
        generation, saved, flagged, n_variants, written = GenerationStats(), 0, 0, 0, 0
        kept: set[str] | None = None  # customers whose reviewed or edited drafts stay, known once the old go
        # Each batch is scored and saved before the next is rendered: memory holds one batch of drafts, and the
        # drafts appear to reviewers as they are written. The untouched drafts of an earlier run go with the first
        # batch's transaction, so a run that stops before writing anything (the model never answers) keeps them.
        # A group's copy from a slow model can take minutes: meanwhile the heartbeat keeps the job's row moving.
        told_at = 0.0  # when a draft written within a batch was last told

        def drafted(done: int, _total: int) -> None:
            """The drafts written so far: the figures count those stored (a cancel says how many it kept), the
            message and the job's progress those written, the batch in hand included, at most every
            DRAFT_REPORT_SECONDS (a group of thousands of customers moves draft by draft, not once it is stored)."""
            nonlocal told_at
            if done == written:
                beat(done, total, f"writing drafts: {done:,} of {total:,}", fraction=_drafted(done, total))
            elif time.monotonic() - told_at >= DRAFT_REPORT_SECONDS:
                told_at = time.monotonic()
                writing = f"writing drafts: {done:,} of {total:,} ({written:,} stored)"
                beat(written, total, writing, fraction=_drafted(done, total))

        with Heartbeat(progress) as beat:
            for drafts in stream_drafts(
                requests, load_brand(brand_slug), generation, n_variants=settings.variants_per_draft,
                progress=drafted, batch_size=settings.drafts_per_batch, stop_if_asked=beat.stop_if_asked,
            ):  # fmt: skip
                part = facts.take([row_of[draft.customer_id] for draft in drafts]).reset_index(drop=True)
                written_at = utcnow()  # kept as the drafts' created_at: an edit scores them for the same moment
                moment = planned_send_moment(None, scheduled_at, written_at)
                variants, selection = score_variants(engagement, drafts, part, campaign_type, floors, moment)
                # Said before the batch is stored, with the figures of those stored: a job cancelled while the
                # model wrote stops here, short of storing what was written after the cancel.
                storing = f"storing drafts: {span_of(written + 1, written + len(drafts), total)}"
                beat(written, total, storing, fraction=_drafted(written, total))
                with session_scope(engine) as session:
                    _stop_if_generated_again(session, campaign_id, generations)
                    kept = clear_untouched_drafts(session, campaign_id) if kept is None else kept
                    saved += insert_drafts(
                        session, campaign_id, part, drafts, picks, variants, selection, kept, written_at
                    )
                    if beat.asked_to_stop():  # meanwhile: nothing is stored after the cancel
                        session.rollback()
                        beat.stop_if_asked()
                selected_flagged = dict(zip(selection.index, selection["flagged"], strict=True))
                flagged += sum(
                    _is_flagged(selected_flagged[d.customer_id], d, address_notes[d.customer_id])
                    for d in drafts
                    if d.customer_id not in kept
                )
                n_variants += len(variants)
                written += len(drafts)
        if kept is None:  # no draft to write: the earlier run's untouched drafts still go
            with session_scope(engine) as session:
                _stop_if_generated_again(session, campaign_id, generations)
                clear_untouched_drafts(session, campaign_id)
        seconds = time.perf_counter() - started
        stats = {
            **generation.model_dump(),
            "customers": len(audience),
            "drafts": saved,
            "flagged": flagged,
            "seconds": round(seconds, 2),
            "seconds_per_draft": round(seconds / saved, 3) if saved else None,
            "fallback_share": round(generation.fallbacks / max(n_variants, 1), 3),
        }
        with session_scope(engine) as session:
            stats["flagged_why"] = flag_kinds(session, campaign_id) if flagged else {}
            campaign, forecast = session.get(Campaign, campaign_id), None
            if not _generated_again(session, campaign_id, generations or set()):
                sent = _has_sent(session, campaign_id)
                campaign.status, campaign.stats = "sent" if sent else "ready", stats
                forecast = refresh_forecast(session, campaign)
    except BaseException:  # never left "generating" (Ctrl-C included): that would refuse every later generate
        with session_scope(engine) as session:
            if generations is None or not _generated_again(session, campaign_id, generations):
                session.get(Campaign, campaign_id).status = "sent" if _has_sent(session, campaign_id) else "failed"
        raise
    wrote = (
        f"wrote {counted(saved, 'draft', 'drafts')} ({flagged:,} flagged for review)"
        if total
        else "no customer in the audience"
    )
    progress(total, total, f"done: {wrote}", fraction=1.0)
    return {"campaign_id": campaign_id, **stats, "forecast": forecast}


def _drafted(written: int, total: int) -> float:
    """A generate job's progress with ``written`` of its ``total`` drafts written: past the ranking's share."""
    return RANKING_SHARE + (1 - RANKING_SHARE) * fraction_done(written, total)
