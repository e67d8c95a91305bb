"""Customers, products and recommendations as the API shows them."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session, selectinload

from recommenders.rules import Rules
from service.addresses import address_key, is_email_address
from service.campaigns import cancel_first
from service.consent import described
from service.db.models import (
    Campaign,
    ConsentChange,
    Customer,
    ErasedCustomer,
    ErasedSend,
    Event,
    Interaction,
    Product,
    Send,
)
from service.db.session import empty_write_ahead_log, take_the_write_lock
from service.erasures import email_digest, erased_send_row, forget_in_records, id_digest, keep_erasure
from service.errors import Conflict, InvalidInput, NotFound, Problem
from service.forecasts import mark_stale_for_customers
from service.pipeline.model_store import forget_erased, mark_erasure
from service.schemas import CustomerOut, ProductOut, Recommendation
from service.segments import NO_ORDERS, forget_in_job_results, forget_in_snapshots, segment_named
from service.settings import CampaignSettings

if TYPE_CHECKING:
    from service.pipeline.popularity_cache import PopularityCache


def get_customer(session: Session, external_id: str) -> Customer:
    """The customer ``external_id``, as the import keeps ids (composed, NFC, without spaces around it: a Mac types
    "Zoë" decomposed, and the customer was said not to exist); NotFound for one Tailor does not hold, saying so
    when they were erased."""
    external_id = unicodedata.normalize("NFC", external_id).strip()
    customer = session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        raise not_held(session, external_id)
    return customer


def not_held(session: Session, external_id: str) -> NotFound:
    """The error for a customer id Tailor holds no record of: one erased is said to be, and what is kept of it, so
    that support can tell a person who asked to be forgotten that they were, and a mistyped id from them."""
    erasure = session.get(ErasedCustomer, id_digest(external_id))
    if erasure is None:
        return NotFound(f"Customer '{external_id}' does not exist.")
    return NotFound(
        f"Customer '{external_id}' was erased on {erasure.erased_at:%Y-%m-%d} under the right to erasure: Tailor "
        "holds nothing readable of them, only digests of their customer id and address, which keep an import from "
        "bringing them back."
    )


def erase_customer(session: Session, external_id: str) -> bool:
    """Erase a customer (the right to erasure): their record and, by the database's cascade, their orders, drafts, sends
    with their events, and experiment assignments. The ids (Tailor's, and the shop's of an imported one) and Message-IDs
    of their sends are kept (ErasedSend, nothing of the person), so that the email service's late events for them are
    skipped rather than refuse a whole batch; and digests of their customer id and address (ErasedCustomer,
    service.erasures), so that importing the shop's files again does not bring them back and mail them, until the shop
    lifts the erasure for someone who signed up again. The answers kept for idempotent retries and the job rows that
    named them forget them (service.erasures.forget_in_records). The forecasts of campaigns that held a draft of theirs
    are recomputed. The stored audience snapshots whose figures counted their orders are deleted
    (service.segments.forget_in_snapshots), and the results of their jobs keep no customers per segment
    (forget_in_job_results): until the next audience refresh, GET /segments serves the latest one left, from before
    their first order, if any. Refused (Conflict) while a campaign is being generated, which may be
    writing their draft. The trained models hold their interactions until the next training. Whether they had
    bought or returned anything."""
    # On SQLite, what is read below (their sends, whose Message-IDs are kept) is decided on under the database's
    # write lock: read before, a send committed meanwhile was deleted with them, its Message-ID not kept.
    take_the_write_lock(session)
    customer = get_customer(session, external_id)
    generating = session.scalar(select(Campaign.id).where(Campaign.status == "generating").limit(1))
    if generating is not None:
        raise Conflict.naming(
            cancel_first(session, generating, "generate"),
            lambda first: (
                f"Campaign {generating} is being generated and may be writing this customer's draft: erase "
                f"them once it is ready, or {first}"
            ),
        )
    # The customer's row first: a send writing their email holds it until its draft and campaign are written, and
    # the erasure, holding the campaign's forecast, then waited for it while it waited for the campaign (deadlock).
    # Every writer of their drafts and sends locks it first too (service.pipeline.sending, send_outcomes).
    session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    mark_stale_for_customers(session, [customer.id], unsent_only=False)
    sends = select(Send.id, Send.external_id, Send.message_id, Send.to_email).where(Send.customer_id == customer.id)
    their_sends = session.execute(sends)
    erased_sends = [
        erased_send_row(send_id, shop_send_id, message_id, to or customer.email)
        for send_id, shop_send_id, message_id, to in their_sends
    ]  # the address each went to (a customer's may have changed since), else theirs
    if erased_sends:
        session.execute(insert(ErasedSend), erased_sends)
    keep_erasure(session, customer)
    forget_in_records(session, customer.external_id, customer.email)
    session.flush()
    first_ordered = session.scalar(
        select(func.min(Interaction.timestamp)).where(
            Interaction.customer_id == customer.id, Interaction.kind.in_(("purchase", "return"))
        )
    )
    if first_ordered is not None:
        forget_in_snapshots(session, first_ordered)
        forget_in_job_results(session, first_ordered)
    session.expunge(customer)
    session.execute(delete(Customer).where(Customer.id == customer.id))
    return first_ordered is not None


def erase_for_good(session: Session, engine: Engine, models_dir: Path, external_id: str) -> bool:
    """Erase a customer (``erase_customer``) and commit, with what lies outside the database's rows, as DELETE
    /customers/{id} and `tailor customers erase` do: the models' erasure mark is written before the commit (a mark
    that cannot be written fails the erasure, nothing erased), the model versions trained before are deleted once
    it is committed, and on SQLite the write-ahead log that held the customer's rows as they were is emptied. Whether
    they had bought or returned anything: the segments' figures that counted it are gone until the audience is
    recomputed."""
    bought = erase_customer(session, external_id)
    mark_erasure(models_dir)
    session.commit()
    try:
        forget_erased(models_dir)
    finally:  # the customer's rows as they were leave the log even when Ctrl-C or an error stopped the step above
        empty_write_ahead_log(engine)
    return bought


def customer_sends(session: Session, external_id: str, limit: int = 50, offset: int = 0) -> list[Send]:
    """The emails the customer was sent, newest first, with their events."""
    customer = get_customer(session, external_id)
    return list(
        session.scalars(
            select(Send)
            .where(Send.customer_id == customer.id)
            .options(selectinload(Send.events).selectinload(Event.product), selectinload(Send.earlier_messages))
            .order_by(Send.sent_at.desc(), Send.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def customer_out(customer: Customer, latest_change: ConsentChange | None = None) -> CustomerOut:
    """The customer as the API shows them, with their latest consent change (``service.consent.latest_changes``)."""
    return CustomerOut(
        customer_id=customer.external_id,
        email=customer.email,
        first_name=customer.first_name,
        locale=customer.locale,
        timezone=customer.timezone,
        marketing_consent=customer.marketing_consent,
        consent_changed_at=customer.consent_changed_at,
        consent_source=described(latest_change),
        unsubscribed=customer.unsubscribed,
        unsubscribed_at=customer.unsubscribed_at,
        email_bounced=customer.email_bounced,
        segment=segment_named(customer.segment),  # as GET /segments counts them and ?segment=no_orders lists them
        profile=shown_profile(customer.profile or {}),
        attributes=customer.attributes or {},
    )


def shown_profile(profile: dict) -> dict:
    """The stored profile with its figures rounded as the audience file shows them (cents, six-decimal
    probabilities); what is stored, and what audience queries compare, keeps full precision."""
    from audience.profiles import SHOWN_DECIMALS

    return {
        key: round(value, SHOWN_DECIMALS[key]) if key in SHOWN_DECIMALS and isinstance(value, float) else value
        for key, value in profile.items()
    }


def list_customers(
    session: Session, segment: str | None, limit: int, offset: int, email: str | None = None,
    unsubscribed: bool | None = None,
) -> list[Customer]:  # fmt: skip
    """Customers in id order, of one ``segment`` when given (an RFM segment, or ``no_orders``, spelt in any case
    as the audience query takes them: "At Risk", "Can't lose"); a name that is neither is refused with the names
    there are, rather than answered with nobody. With ``email``, those at that address, compared as addresses are
    (a household's ids, or one person's under two ids): whom a person who writes in from it is to Tailor. With
    ``unsubscribed``, only those who are (true) or are not (false): the unsubscribes Tailor's links and events
    took, for the shop's own systems to honour, were found only by reading every customer."""
    from audience.query import spelling_key
    from audience.rfm import segment_names

    statement = select(Customer).order_by(Customer.id).limit(limit).offset(offset)
    if email is not None:
        if not is_email_address(email):  # a typo would be answered "nobody", as if Tailor held nothing of them
            problem = Problem(None, "email", _not_an_address(email), "parameter")
            raise InvalidInput("customers", [problem], outcome="refused")
        statement = statement.where(Customer.email_key == address_key(email))
    if unsubscribed is not None:
        statement = statement.where(Customer.unsubscribed.is_(unsubscribed))
    asked, segment = segment, spelling_key(segment) if segment else segment
    if segment == NO_ORDERS:
        statement = statement.where(Customer.segment.is_(None))
    elif segment:
        names = [*segment_names(), NO_ORDERS]
        if segment not in names:
            problem = Problem(
                None, "segment", f"'{asked}' is not a segment; use one of {', '.join(names)}", "parameter"
            )
            raise InvalidInput("customers", [problem], outcome="refused")
        statement = statement.where(Customer.segment == segment)
    return list(session.scalars(statement))


def _not_an_address(email: str) -> str:
    """Why ``email`` of a query is no address: a URL's query reads a '+' as a space, so a plus address written as it
    stands (``ann+news@example.com``) arrives as ``ann news@example.com``, which is none, though the client's was."""
    with_plus = email.strip().replace(" ", "+")
    if " " in email.strip() and is_email_address(with_plus):
        return (
            f"{email.strip()!r} is not an email address: it has a space where its '+' was, as a URL's query reads "
            f"a '+': write it as %2B ({with_plus.replace('+', '%2B')})"
        )
    return "is not an email address"


def erased_address_note(session: Session, email: str) -> str | None:
    """What a lookup by ``email`` that found nobody says when the address is an erased customer's, as a lookup by
    their id does (``not_held``): support, who has only the address of a person asking whether they were
    forgotten, could not tell them from a mistyped address. None for an address never erased."""
    erased_at = session.scalar(
        select(func.max(ErasedCustomer.erased_at)).where(ErasedCustomer.email_digest == email_digest(email))
    )
    if erased_at is None:
        return None
    return (
        f"The address was erased on {erased_at:%Y-%m-%d} under the right to erasure: Tailor holds nothing readable "
        "of it, only a digest, which keeps an import from bringing it back."
    )


def get_product(session: Session, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"Product '{sku}' does not exist.")
    return product


def product_out(product: Product) -> ProductOut:
    return ProductOut.model_validate(product, from_attributes=True)


def list_products(
    session: Session, category: str | None, in_stock: bool | None, limit: int, offset: int
) -> list[Product]:
    """Products a page at a time, of ``category`` in any case (``pantry`` lists "Pantry", as the recommendations'
    `reorderable_categories` take it), or ``in_stock``."""
    statement = select(Product).order_by(Product.id).limit(limit).offset(offset)
    if category:
        # lowered on both sides in SQL: both databases lower every alphabet alike (service.db.session)
        statement = statement.where(func.lower(Product.category) == func.lower(category))
    if in_stock is not None:
        statement = statement.where(Product.in_stock.is_(in_stock))
    return list(session.scalars(statement))


def known_categories(products: pd.DataFrame, asked: list[str]) -> frozenset[str]:
    """The catalog's categories ``asked`` names, spelled as the catalog spells them (``pantry`` is "Pantry"), every
    spelling of one (a catalog holding "Tea" and "tea" has one category, as ``?category=`` lists it: keeping one
    spelling left the other's products out); raises InvalidInput naming one the catalog has not, with those it has: a
    misspelt category was taken and did nothing."""
    if not asked:
        return frozenset()
    categories = products["category"].dropna().unique() if "category" in products.columns else []
    spellings: dict[str, set[str]] = {}
    for category in categories:
        if category:
            spellings.setdefault(category.lower(), set()).add(category)
    unknown = [category for category in asked if category.lower() not in spellings]
    if unknown:
        listed = sorted(spelling for spelled in spellings.values() for spelling in spelled)
        known = f"its categories are {', '.join(listed)}" if listed else "it has no categories"
        problem = Problem(None, "reorderable_categories", f"'{unknown[0]}' is no category of the catalog; {known}",
                          "parameter")  # fmt: skip
        raise InvalidInput("recommendations", [problem], outcome="refused")
    return frozenset(spelling for category in asked for spelling in spellings[category.lower()])


def recommend_for(
    session: Session, recommender, products: pd.DataFrame, customer: Customer, k: int, rules: Rules,
    popularity: PopularityCache,
) -> list[Recommendation]:  # fmt: skip
    """Top-k products for one customer from the current model after the business `rules`, with 'because you
    bought' reasons; names, prices and links come from the catalog (`products`, the products frame). What they
    bought since the model was trained counts as bought; products imported since, as campaigns rank them (unless
    ``TAILOR_CAMPAIGN_NEW_ARRIVALS`` is false; at ``TAILOR_CAMPAIGN_NEW_ARRIVALS_DISCOUNT``); a list the model cannot
    fill, with the products it cannot rank by their recent popularity in the shop's orders (kept in ``popularity``
    while the orders and the catalog stay the same), marked `fallback`."""
    from service.pipeline.frames import purchases_of
    from service.pipeline.generate import recommend_products

    settings = CampaignSettings()
    picks = recommend_products(
        recommender, [customer.external_id], products, k, rules, bought=lambda ids: purchases_of(session, ids),
        new_arrivals=settings.new_arrivals, new_arrivals_discount=settings.new_arrivals_discount,
        popularity=lambda: popularity.get(session),
    )  # fmt: skip
    return [Recommendation(sku=pick["product_id"], **pick) for pick in picks.get(customer.external_id, [])]
