"""What an approved email must still be when it is sent, checked just before: its product facts as in the
catalog (an email whose product changed price or went out of stock since it was written is held back for a
person, not sent with stale facts), and its copy passing the guardrail checks, unless the approval overrode
them on purpose (approvals recorded before overrides existed had no such choice).

A draft held back for its facts cannot be written again: generating the campaign again keeps every reviewed
draft (and is refused once the campaign has sent mail), and an edit changes the copy, not the prices shown. So
the advice is what a person can do whatever the campaign's state: reject it, or approve it again once the
catalog agrees with the email; an approval before then is refused (service.drafts.approve), as the send would
only hold it back again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.db.batches import batches
from service.db.models import Customer, Draft, Product
from service.drafts import failed_checks
from service.forecasts import mark_stale

CHECKS_TO_DO = "edit it, or approve it again overriding the checks with a comment saying why"


def changed_facts(shown: list[dict[str, Any]], catalog: dict[str, Product]) -> list[str]:
    """A sentence for each product of an email (`shown`: the draft's recommendations, as rendered) that is gone
    from the catalog, out of stock, or at another price or currency than the email states."""
    return [change for change, _ in _changes(shown, catalog)]


def _changes(shown: list[dict[str, Any]], catalog: dict[str, Product]) -> list[tuple[str, str]]:
    """Each change of `changed_facts`, with what a person can do about the draft."""
    changes = []
    for product in shown:
        sku, name = product["product_id"], product.get("name") or product["product_id"]
        current = catalog.get(sku)
        if current is None:
            changes.append((f"{name} ({sku}) is no longer in the catalog", "reject it"))
        elif not current.in_stock:
            changes.append(
                (f"{name} ({sku}) is out of stock", "approve it again once it is back in stock, or reject it")
            )
        elif (round(current.price, 2), current.currency) != (round(product["price"], 2), product["currency"]):
            changes.append((
                f"{name} ({sku}) now costs {current.price:.2f} {current.currency}; "
                f"the email shows {product['price']:.2f} {product['currency']}",
                "approve it again once the price is back to the email's, or reject it",
            ))  # fmt: skip
    return changes


def stale_facts(session: Session, draft: Draft) -> list[str]:
    """For each product of the draft's email that the catalog no longer agrees with, what changed and what a
    person can do ("... is out of stock; approve it again once it is back in stock, or reject it")."""
    skus = [product["product_id"] for product in draft.recommendations or []]
    catalog = {product.sku: product for product in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    return [f"{change}; {advice}" for change, advice in _changes(draft.recommendations or [], catalog)]


def flag_out_of_date(session: Session, drafts: list[tuple[int, list[dict[str, Any]]]], when: str) -> list[int]:
    """Of ``drafts`` (id, the products its email shows), those whose email the catalog no longer agrees with, put
    back to review flagged with what changed (``when`` says at what: "Not approved with the others"); their ids."""
    skus = {product["product_id"] for _, shown in drafts for product in shown or []}
    catalog = {
        product.sku: product
        for batch in batches(sorted(skus))
        for product in session.scalars(select(Product).where(Product.sku.in_(batch)))
    }
    stale = {draft_id: changes for draft_id, shown in drafts if (changes := _changes(shown or [], catalog))}
    for draft in session.scalars(select(Draft).where(Draft.id.in_(list(stale)))) if stale else []:
        reasons = [f"{when}: {change}; {advice}." for change, advice in stale[draft.id]]
        draft.status, draft.flagged = "flagged", True
        draft.flag_reasons = [*draft.flag_reasons, *(r for r in reasons if r not in draft.flag_reasons)]
    return sorted(stale)


def unapproved_failures(draft: Draft) -> list[str]:
    """The guardrail checks the draft's chosen variant fails that its latest approval did not override."""
    chosen = next((v for v in draft.variants if v.id == draft.selected_variant_id), None)
    if chosen is None:
        return []
    failed = failed_checks(chosen)
    approvals = sorted((review for review in draft.reviews if review.action == "approve"), key=lambda r: r.id)
    overridden = set((approvals[-1].overridden_checks or []) if approvals else [])
    missed = [name for name in failed if name not in overridden]
    return [f"variant {chosen.label} fails {', '.join(missed)}, and its approval did not override it"] if missed else []


def hold_back_stale(session: Session, draft_ids: list[int]) -> tuple[list[int], list[dict[str, Any]]]:
    """Of the drafts about to be sent, those whose facts still hold and whose copy passes its checks (or had
    them overridden), and for the others (put back to review, flagged with the reasons) what changed or fails:
    ``{"draft_id", "customer_id", "changes"}``."""
    options = (selectinload(Draft.customer), selectinload(Draft.variants), selectinload(Draft.reviews))
    drafts = [
        draft
        for batch in batches(sorted(draft_ids))
        for draft in session.scalars(select(Draft).where(Draft.id.in_(batch)).options(*options).order_by(Draft.id))
    ]
    skus = {product["product_id"] for draft in drafts for product in draft.recommendations or []}
    catalog = {
        product.sku: product
        for batch in batches(sorted(skus))
        for product in session.scalars(select(Product).where(Product.sku.in_(batch)))
    }
    fresh, held_back = [], []
    for draft in drafts:
        stale = _changes(draft.recommendations or [], catalog)
        failures = unapproved_failures(draft)
        if not stale and not failures:
            fresh.append(draft.id)
            continue
        reasons = [f"Held back at sending: {change}; {advice}." for change, advice in stale]
        reasons += [f"Held back at sending: {failure}; {CHECKS_TO_DO}." for failure in failures]
        changes = [change for change, _ in stale] + failures
        draft.status, draft.flagged = "flagged", True
        draft.flag_reasons = [*draft.flag_reasons, *(r for r in reasons if r not in draft.flag_reasons)]
        mark_stale(draft.campaign)
        customer: Customer = draft.customer
        held_back.append({"draft_id": draft.id, "customer_id": customer.external_id, "changes": changes})
    session.flush()
    return fresh, held_back
