"""A products file: its checks (currency, a web address or none), its writes, which keep what a file without a column
says nothing of, and its warnings (products without a url, named as charges, or priced 0)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from generation.render import WEB_ADDRESS
from recommenders.catalog import charges_warning, named_as_charges
from service.clock import utcnow
from service.db.batches import rows_where_in
from service.db.link_keys import link_key_digest
from service.db.models import Product
from service.errors import Problem
from service.importing.checks import rows_where
from service.importing.customer_rows import optional_time
from service.importing.writes import ImportSummary, Report, upsert
from service.wording import counted
from tabular import (
    examples,
)


def skus_without_url(rows: pd.DataFrame) -> list[str]:
    return list(rows.sku[rows.url == ""])


def looking_like_fees(rows: pd.DataFrame) -> list[str]:
    """The skus of the products whose whole name is a charge's (``named_as_charges``), in a file that does not say
    whether they are merchandise (no `recommendable` column: a file that has it has decided)."""
    unsaid = rows.recommendable.isna().to_numpy() if "recommendable" in rows else np.ones(len(rows), dtype=bool)
    return list(rows.sku[unsaid & named_as_charges(rows.name)])


def fee_warnings(session: Session, skus: list[str]) -> tuple[str, ...]:
    """Postage bought with every order was offered as a product to re-order: a warning names the products that
    look like charges and are still recommendable (none marked false before)."""
    if not skus:
        return ()
    marked = dict(rows_where_in(session, (Product.sku, Product.recommendable), Product.sku, skus))
    offered = [sku for sku in skus if marked.get(sku, True)]
    return (charges_warning(offered),) if offered else ()


def skus_priced_zero(rows: pd.DataFrame) -> list[str]:
    """The skus of the products in stock at a price of 0 that the file does not mark as no merchandise."""
    marked = rows.recommendable if "recommendable" in rows else pd.Series(None, index=rows.index, dtype=object)
    offered = rows.in_stock.astype(bool) & (marked.isna() | marked.fillna(True).astype(bool))
    return list(rows.sku[offered & (rows.price.astype(float) == 0)])


def zero_price_warnings(session: Session, skus: list[str]) -> tuple[str, ...]:
    """A price of 0 is allowed (a free sample may be listed), but the emails that offer such a product show it at
    0.00: a catalog priced from Online Retail's last invoice lines (stock adjustments at 0) offered hundreds of
    products as if free. Those marked as no merchandise before are never offered, so not named."""
    if not skus:
        return ()
    marked = dict(rows_where_in(session, (Product.sku, Product.recommendable), Product.sku, skus))
    offered = [sku for sku in skus if marked.get(sku, True)]
    if not offered:
        return ()
    return (
        f"{counted(len(offered), 'product has', 'products have')} a price of 0 ({examples(offered)}): emails show "
        f"{'it' if len(offered) == 1 else 'them'} at that price, as if free; give the price they sell at, or mark "
        "them in_stock false or recommendable false so that no email offers them.",
    )


def url_warnings(skus: list[str]) -> tuple[str, ...]:
    """A product without a url is kept (the column may be empty), but its emails have nothing of it to click: the
    shop should know, and that the brand kit's ``shop_url`` stands in for it."""
    if not skus:
        return ()
    return (
        f"{counted(len(skus), 'product has', 'products have')} no url ({examples(skus)}): their emails link to the "
        "brand kit's shop_url instead, or to nothing when the kit has none, and nobody can click through to them.",
    )


def check_products(_session: Session, rows: pd.DataFrame) -> list[Problem]:
    """A 3-letter currency, and a web address or none: the url is the link every email shows, and a
    `javascript:` or `data:` one went out in sent email, unseen by the reviewers."""
    bad_currency = ~rows.currency.str.fullmatch(r"[A-Za-z]{3}")
    bad_url = (rows.url != "") & ~rows.url.str.fullmatch(WEB_ADDRESS.pattern, case=False)
    return [Problem(r, "currency", "must be a 3-letter code such as EUR") for r in rows_where(bad_currency)] + [
        Problem(r, "url", "must be a web address starting with https:// (or http://), or empty")
        for r in rows_where(bad_url)
    ]


def import_products(session: Session, rows: pd.DataFrame, progress: Report) -> ImportSummary:
    """A file without the `recommendable`, `margin` or `arrived_at` column (a price update) leaves what the catalog
    says of each product it names: postage marked as no merchandise was offered again after the next price list,
    and the margins the margin boost weighs were wiped by it. An empty cell in a file with the column clears it."""
    now = utcnow()
    columns = (
        Product.sku, Product.id, Product.recommendable, Product.margin, Product.arrived_at, Product.url,
        Product.link_key_digest,
    )  # fmt: skip
    stored = {sku: kept for sku, *kept in rows_where_in(session, columns, Product.sku, rows.sku)}
    # Each address's link key, digested (service.db.link_keys), as the importer writes without the models: kept for
    # a product whose address stays, found once for an address of many products (a shop's home page).
    digests = dict(kept[-2:] for kept in stored.values())
    digests |= {url: link_key_digest(url) for url in set(rows.url) - digests.keys()}
    records = []
    for r in rows.itertuples(index=False):
        recommendable, margin, arrived_at = stored.get(r.sku, (None, True, None, None, None, None))[1:4]  # after the id
        records.append(
            {
                "sku": r.sku,
                "name": r.name,
                "category": r.category,
                "price": float(r.price),
                "currency": r.currency.upper(),
                "description": r.description,
                "url": r.url,
                "link_key_digest": digests[r.url],
                "in_stock": bool(r.in_stock),
                # None: the file has no such column (an empty cell is NaN or NaT)
                "recommendable": recommendable if r.recommendable is None else bool(r.recommendable),
                "margin": margin if r.margin is None else _optional_number(r.margin),
                "arrived_at": arrived_at if r.arrived_at is None else optional_time(r.arrived_at),
                "updated_at": now,  # bulk updates set it explicitly: the served catalog cache watches it
            }
        )
    existing = {sku: kept[0] for sku, kept in stored.items()}  # read once, with what the file may leave as it is
    return upsert(session, Product, "sku", records, "products", progress, existing)


def _optional_number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)
