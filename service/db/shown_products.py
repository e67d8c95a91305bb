"""The products each draft's email shows, by sku, kept as rows (``draft_products``) beside its ``recommendations``:
a campaign's page asks on each load whether a waiting draft shows a product the catalog wrote since
(service.refreshed_facts.may_be_out_of_date), and the database finds those drafts through an index on the sku instead
of reading every waiting draft's JSON (for 10,000 drafts 68-105 ms on SQLite, 1.6-2.8 s on PostgreSQL, on each load
once any product was written after the drafts: `python -m evals.scale.update_offer`).

Kept in step with every write of a draft's products: the ORM's (a draft added, or its products changed: a refresh)
by the Draft mapper's events (service.db.models), generation's multi-row inserts (service.pipeline.generate) through
``shown_rows``; a draft deleted (replaced by a generation again, erased with its customer, pruned with its campaign)
takes its rows with it (ON DELETE CASCADE). Migration 0056 fills them for the drafts stored before it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from service.db.batches import pages_by_id

# The table as this module writes it, read by migration 0056 as it is there (the models are not imported).
DRAFT_PRODUCTS = sa.table("draft_products", sa.column("draft_id", sa.Integer()), sa.column("product_sku", sa.String()))


def shown_skus(recommendations: Any) -> list[str]:
    """The skus of the products a draft stores as shown (its ``recommendations``), each once, in order: none for a
    draft without any (stored as JSON null, or anything but a list of products)."""
    if not isinstance(recommendations, list):
        return []
    skus = (product.get("product_id") for product in recommendations if isinstance(product, dict))
    return list(dict.fromkeys(str(sku) for sku in skus if sku is not None))


def shown_rows(draft_id: int, recommendations: Any) -> list[dict[str, Any]]:
    """The ``draft_products`` rows of the draft's products."""
    return [{"draft_id": draft_id, "product_sku": sku} for sku in shown_skus(recommendations)]


def keep_shown(connection: sa.Connection, draft_id: int, recommendations: Any, new: bool = False) -> None:
    """The draft's rows written as its products (``recommendations``) are now: those it had first deleted, unless it
    is ``new`` (inserted in this transaction)."""
    if not new:
        connection.execute(sa.delete(DRAFT_PRODUCTS).where(DRAFT_PRODUCTS.c.draft_id == draft_id))
    if rows := shown_rows(draft_id, recommendations):
        connection.execute(sa.insert(DRAFT_PRODUCTS), rows)


def fill_shown_products(connection: sa.Connection, page: int = 2_000) -> int:
    """The rows of every stored draft's products, a page of drafts at a time; how many drafts show any. Written for
    migration 0056: it reads the drafts as they are there."""
    drafts = sa.table("drafts", sa.column("id", sa.Integer()), sa.column("recommendations", sa.JSON()))
    read = sa.select(drafts.c.id, drafts.c.recommendations).order_by(drafts.c.id).limit(page)
    showing = 0
    for rows in pages_by_id(connection, read, drafts.c.id):
        written = [row for draft in rows for row in shown_rows(draft.id, draft.recommendations)]
        if written:
            connection.execute(sa.insert(DRAFT_PRODUCTS), written)
        showing += len({row["draft_id"] for row in written})
    return showing
