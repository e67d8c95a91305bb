"""What an approved email must still be when it is sent, checked just before: its product facts as in the
catalog (an email whose product changed price or went out of stock since it was written is held back for a
person, not sent with stale facts), and its copy passing the guardrail checks, unless the approval overrode
them on purpose (approvals recorded before overrides existed had no such choice); and, for the due-check, not
long past the time it was to go (``hold_back_late``).

A draft held back for a changed price is brought up to date by refreshing it (service.refreshed_facts:
its email rendered again over the catalog's facts, its copy kept and checked again); generating the campaign again
keeps every reviewed draft (and is refused once the campaign has sent mail), and an edit changes the copy, not the
facts shown. A draft whose product is no longer for sale cannot be mended so: the advice is what a person can do
whatever the campaign's state: reject it, or approve it again once the product is back; an approval before then is
refused (service.drafts.approve), as the send would only hold it back again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session, selectinload

from generation.guardrails import check_label
from service.db.batches import batches
from service.db.clock import now_in_database
from service.db.models import Campaign, Customer, Draft, Product, Review, Variant, due_moment, left_to_the_due_check
from service.drafts import failed_of
from service.forecasts import mark_stale
from service.send_times import on_customer_clock, shop_zone
from service.unseen_copy import HOLDERS, unseen_in, unseen_in_addresses, unseen_where

CHECKS_TO_DO = "edit it, or approve it again overriding the checks with a comment saying why"
LATE_TO_DO = "approve it again to send it all the same, or reject it"
# How a lateness hold-back's flag reason begins and ends (hold_back_late writes it): service.late_drafts tells by it
# the drafts held back for lateness alone, which a person may approve again all at once.
LATE_BEGINS = "Held back at sending: it was due at "
LATE_ENDS = f"; {LATE_TO_DO}."
# Of the drafts a send held back, those its result lists one by one (the counts are exact): after an outage, a
# campaign's every draft was listed, about 150 bytes each, in the job's row and its webhook.
HELD_BACK_LISTED = 100


def held_back_for_lateness(reason: str) -> bool:
    """Whether a flag reason is a lateness hold-back's (``hold_back_late``)."""
    return reason.startswith(LATE_BEGINS) and reason.endswith(LATE_ENDS)


@dataclass
class HeldBack:
    """The drafts a send held back, as its result tells them: how many (``held_back_count``), how many for each
    reason (``held_back_by_reason``: ``late``, ``stale_facts``, ``failed_checks``, ``unseen_characters``; a draft held
    back for its facts and its checks counts under both), and the first ``HELD_BACK_LISTED`` the send held back
    (those late first, by id) with what changed or fails (``held_back``: ``{"draft_id", "customer_id", "changes"}``);
    every one of them is flagged in review with the same, and a campaign's drafts list ``?status=flagged`` shows them
    all."""

    listed: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, draft: Draft, changes: list[str], reasons: list[str]) -> None:
        customer: Customer = draft.customer
        self.add_row(draft.id, customer.external_id, changes, reasons)

    def add_row(self, draft_id: int, customer_id: str, changes: list[str], reasons: list[str]) -> None:
        """``add`` of a draft told by its id and its customer's (external) id."""
        self.count += 1
        for reason in reasons:
            self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if len(self.listed) < HELD_BACK_LISTED:
            self.listed.append({"draft_id": draft_id, "customer_id": customer_id, "changes": changes})

    def told(self) -> dict[str, Any]:
        """The result's keys for them."""
        return {"held_back": self.listed, "held_back_count": self.count, "held_back_by_reason": dict(self.by_reason)}


def changed_facts(shown: list[dict[str, Any]], catalog: dict[str, Product]) -> list[str]:
    """A sentence for each product of an email (`shown`: the draft's recommendations, as rendered) that is gone
    from the catalog, marked not recommendable since, out of stock, or at another price or currency than the email
    states."""
    return [change for change, _ in _changes(shown, catalog)]


def _changes(shown: list[dict[str, Any]], catalog: dict[str, Product]) -> list[tuple[str, str]]:
    """Each change of `changed_facts`, with what a person can do about the draft."""
    changes = []
    for product in shown:
        sku, name = product["product_id"], product.get("name") or product["product_id"]
        current = catalog.get(sku)
        if current is None:
            changes.append((f"{name} ({sku}) is no longer in the catalog", "reject it"))
        elif not current.recommendable:
            changes.append((f"{name} ({sku}) is marked as no merchandise (not recommendable)", "reject it"))
        elif not current.in_stock:
            changes.append(
                (f"{name} ({sku}) is out of stock", "approve it again once it is back in stock, or reject it")
            )
        elif price_changed(product, current):
            changes.append((
                f"{name} ({sku}) now costs {current.price:.2f} {current.currency}; "
                f"the email shows {product['price']:.2f} {product['currency']}",
                "update it with the catalog's facts (its copy kept), or reject it",
            ))  # fmt: skip
    return changes


def price_changed(shown: dict[str, Any], current: Product) -> bool:
    """Whether the catalog's product costs, to the cent, another price or currency than an email shows it at
    (``shown``: one of the draft's recommendations, as rendered)."""
    return (round(current.price, 2), current.currency) != (round(shown["price"], 2), shown["currency"])


def shown_catalog(session: Session, shown: Iterable[list[dict[str, Any]] | None]) -> dict[str, Product]:
    """The catalog's products that these emails show (each email's products, as rendered), by sku."""
    skus = sorted({product["product_id"] for products in shown for product in products or []})
    return {
        product.sku: product
        for batch in batches(skus)
        for product in session.scalars(select(Product).where(Product.sku.in_(batch)))
    }


def stale_facts(session: Session, draft: Draft) -> list[str]:
    """For each product of the draft's email that the catalog no longer agrees with, what changed and what a
    person can do ("... is out of stock; approve it again once it is back in stock, or reject it")."""
    catalog = shown_catalog(session, [draft.recommendations])
    return [f"{change}; {advice}" for change, advice in _changes(draft.recommendations or [], catalog)]


def changes_since(session: Session, draft: Draft) -> list[str]:
    """What changed in the catalog, for each product of the draft's email it no longer agrees with, without advice:
    for an email sent, what its reader finds at the shop now ("... now costs 8.25 EUR; the email shows 7.50 EUR")."""
    return changed_facts(draft.recommendations or [], shown_catalog(session, [draft.recommendations]))


def flag_out_of_date(session: Session, drafts: list[tuple[int, list[dict[str, Any]]]], when: str) -> list[int]:
    """Of ``drafts`` (id, the products its email shows), those whose email the catalog no longer agrees with, put
    back to review flagged with what changed (``when`` says at what: "Not approved with the others"); their ids."""
    catalog = shown_catalog(session, (shown for _, shown in drafts))
    stale = {draft_id: changes for draft_id, shown in drafts if (changes := _changes(shown or [], catalog))}
    for draft in session.scalars(select(Draft).where(Draft.id.in_(list(stale)))) if stale else []:
        _put_back(draft, [f"{when}: {change}; {advice}." for change, advice in stale[draft.id]])
    return sorted(stale)


def flag_unseen(session: Session, drafts: list[Row], when: str) -> dict[int, set[str]]:
    """Of ``drafts`` (rows of the id, the chosen variant's label, ``CHOSEN_COPY`` and ``ADDRESSES``), those whose
    email, address or links hold a character its reader does not see (service.unseen_copy, which no approval
    overrides), put back to review flagged with where it is and what a person can do, as the send holds them back
    (``when`` says at what: "Not approved with the others"); by their ids, what holds one in each (``HOLDERS``:
    copy, address, link)."""
    unseen = {row.id: found for row in drafts if (found := unseen_of(row))}
    for draft in session.scalars(select(Draft).where(Draft.id.in_(list(unseen)))) if unseen else []:
        _put_back(draft, [f"{when}: {where}; {advice}." for where, advice in unseen[draft.id]])
    return {draft_id: {HOLDERS[advice] for _, advice in found} for draft_id, found in unseen.items()}


def unseen_of(row: Row) -> list[tuple[str, str]]:
    """Where a draft (a row of its chosen variant's label, ``CHOSEN_COPY`` and ``ADDRESSES``) holds a character its
    reader does not see, each with what a person can do: its customer's address or its products' links, then the
    chosen variant's copy."""
    copy = unseen_in(row, row.recommendations) if row.label is not None else []
    return unseen_in_addresses(row.email, row.recommendations) + [
        (unseen_where(row.label, where), advice) for where, advice in copy
    ]


def unseen_reason(when: str, label: str, where: str, advice: str) -> str:
    """A reason for a person that variant ``label``'s email holds a character its reader does not see ``where``."""
    return f"{when}: {unseen_where(label, where)}; {advice}."


def _put_back(draft: Draft, reasons: list[str]) -> None:
    """Put a draft back to review, flagged with those of ``reasons`` it does not carry yet."""
    draft.status, draft.flagged = "flagged", True
    draft.flag_reasons = _with_reasons(draft.flag_reasons, reasons)


def _with_reasons(carried: list[str], reasons: list[str]) -> list[str]:
    """A draft's flag reasons with those of ``reasons`` it does not carry yet added, in order."""
    return [*carried, *(reason for reason in reasons if reason not in carried)]


def hold_back_late(
    session: Session, campaign_id: int, now: datetime, late_limit: timedelta, held_back: HeldBack
) -> None:
    """Put back to review, flagged, the campaign's drafts the due-check would mail more than ``late_limit`` after
    their send time or their time to try the address again (the server was stopped, or its due-check off,
    meanwhile: a "Friday 9:00" email was sent on Monday), with when it was due on its customer's clock
    (``on_customer_clock``: a New Yorker's 9:00 is not told as 15:00 CET) and what a person can do; told to
    ``held_back``. Their times are cleared: approved again (one by one, or all of a campaign's at once:
    service.late_drafts), a draft goes at the scheduled campaign's next due-check, or with the next send a person
    asks for."""
    if not late_limit:
        return
    statement = (
        select(Draft.id, Draft.flag_reasons, due_moment().label("due_at"), Customer.external_id, Customer.timezone)
        .join(Customer, Customer.id == Draft.customer_id)
        .where(Draft.campaign_id == campaign_id, left_to_the_due_check(), due_moment() < now - late_limit)
        .order_by(Draft.id)
        .limit(HOLD_BACK_BATCH)
    )
    zone = shop_zone()
    # The hold-back writes no review: its moment, by the database's clock as a review page's reading is
    # (service.drafts.page_read), tells a draft held back after a person read the page from one they saw held back.
    held_at = now_in_database(session)
    while rows := session.execute(statement).all():
        changed = []
        for row in rows:
            late = (
                f"it was due at {on_customer_clock(row.due_at, '%Y-%m-%d %H:%M', row.timezone, zone)}, "
                f"{_how_long(now - row.due_at)} ago"
            )
            reason = f"Held back at sending: {late} (the service did not send meanwhile){LATE_ENDS}"
            changed.append({
                "id": row.id, "status": "flagged", "flagged": True,
                "flag_reasons": _with_reasons(row.flag_reasons, [reason]), "send_after": None,
                "at_wait_end": False, "retry_after": None, "updated_at": held_at,
            })  # fmt: skip
            held_back.add_row(row.id, row.external_id, [late], ["late"])
        # By primary key, an executemany of plain rows: loading each draft to change it took 5 s of a due-check of
        # 20,000 late drafts, holding SQLite's write lock. It runs first in the send's session, before any draft of
        # the campaign is loaded there, so none is left showing what it was.
        session.execute(update(Draft), changed)
        mark_stale(session.get(Campaign, campaign_id))
        session.flush()


def _how_long(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


def not_overridden(label: str, failed: list[str], overridden: list[str] | None) -> list[str]:
    """The guardrail checks a draft's chosen variant (``label``) fails (``failed``) that its latest approval did not
    override (``overridden``), in a sentence; none when it overrode them all."""
    missed = [name for name in failed if name not in (overridden or [])]
    named = ", ".join(check_label(name) for name in missed)  # as a copywriter reads them
    return [f"variant {label} fails {named}, and its approval did not override it"] if missed else []


# Drafts checked at a time: only the columns the checks read, never the rendered email (a campaign of 45,000
# drafts loaded with their variants' HTML and reviews took 1.8 GB before its first email went).
HOLD_BACK_BATCH = 1_000
# The chosen variant's copy and its text body, read for characters no one sees (service.unseen_copy): the text holds
# what the HTML shows but for the subject and preheader, in a fraction of its size.
CHOSEN_COPY = (Variant.subject, Variant.preheader, Variant.intro, Variant.product_lines, Variant.text)
# Where a draft goes and links to, read for the same characters: its customer's address, its products as rendered.
ADDRESSES = (Customer.email, Draft.recommendations)


def hold_back_stale(session: Session, draft_ids: list[int], held_back: HeldBack) -> list[int]:
    """Of the drafts about to be sent, those whose facts still hold, whose copy passes its checks (or had them
    overridden) and holds no character its reader does not see, in its copy, its customer's address or its products'
    links (service.unseen_copy, which no approval overrides);
    the others are put back to review, flagged with the reasons, and told to ``held_back`` with what changed or
    fails."""
    fresh: list[int] = []
    for batch in batches(sorted(draft_ids), size=HOLD_BACK_BATCH):
        rows = session.execute(
            select(Draft.id, Variant.label, Variant.checks, *CHOSEN_COPY, *ADDRESSES)
            .join(Customer, Customer.id == Draft.customer_id)
            .outerjoin(Variant, Variant.id == Draft.selected_variant_id)
            .where(Draft.id.in_(batch))
            .order_by(Draft.id)
        ).all()
        catalog = shown_catalog(session, (row.recommendations for row in rows))
        failing = {row.id: failed for row in rows if row.checks and (failed := failed_of(row.checks))}
        overridden: dict[int, list[str] | None] = {}
        if failing:  # the latest approval of each: the last one read
            approvals = session.execute(
                select(Review.draft_id, Review.overridden_checks)
                .where(Review.draft_id.in_(list(failing)), Review.action == "approve")
                .order_by(Review.draft_id, Review.id)
            )
            overridden = {draft_id: checks for draft_id, checks in approvals}
        verdicts = {}
        for row in rows:
            stale = _changes(row.recommendations or [], catalog)
            failures = not_overridden(row.label, failing[row.id], overridden.get(row.id)) if row.id in failing else []
            unseen = unseen_of(row)
            if stale or failures or unseen:
                verdicts[row.id] = (stale, failures, unseen)
            else:
                fresh.append(row.id)
        for draft in session.scalars(
            select(Draft).where(Draft.id.in_(list(verdicts))).options(selectinload(Draft.customer)).order_by(Draft.id)
        ) if verdicts else []:  # fmt: skip
            stale, failures, unseen = verdicts[draft.id]
            reasons = [f"Held back at sending: {change}; {advice}." for change, advice in stale]
            reasons += [f"Held back at sending: {failure}; {CHECKS_TO_DO}." for failure in failures]
            reasons += [f"Held back at sending: {where}; {advice}." for where, advice in unseen]
            _put_back(draft, reasons)
            mark_stale(draft.campaign)
            why = (
                ["stale_facts"] * bool(stale)
                + ["failed_checks"] * bool(failures)
                + ["unseen_characters"] * bool(unseen)
            )
            held_back.add(draft, [change for change, _ in stale] + failures + [where for where, _ in unseen], why)
        session.flush()
    return fresh
