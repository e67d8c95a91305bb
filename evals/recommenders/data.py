"""Data sets for the recommender evals, as (interactions, products) in the shared shapes.

Interactions come from `evals.datasets` (the real data in ../shared/data) or the demo store; products carry
`product_id, name, category, description, price` for the content model.
"""

from __future__ import annotations

import pandas as pd

from evals import datasets

DATASETS = ("online_retail", "movielens", "groceries", "demo")


def load(name: str, quick: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Interactions and catalog of a named data set; `quick` picks the small CI configuration."""
    if name == "online_retail":
        return online_retail(years="2010-2011" if quick else "both")
    if name == "movielens":
        return movielens()
    if name == "groceries":
        return groceries()
    if name == "demo":
        return demo(n_customers=500 if quick else 3000)
    raise ValueError(f"unknown data set '{name}' (choose from {', '.join(DATASETS)})")


# Marks a catalog built from the interactions themselves: it names products first sold after a split's cutoff,
# which a model fitted before the cutoff could not know of, and names and prices as the whole period last had them
# (evaluate.fit builds it again from the training part: catalog_as_of).
FROM_INTERACTIONS = "catalog_from_interactions"
# The columns of an interaction that carry the catalog as the line had it (Online Retail's description and unit
# price), from which catalog_as_of builds a split's; no model is fitted on them.
LINE_CATALOG = {"catalog_name": "name", "catalog_price": "price"}


def catalog_as_of(train: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """A catalog built from the interactions, as it stood in the training part ``train``: only its products, each
    with the last name and the median price its lines there had (Online Retail's twelve products renamed after the
    cutoff, "PANNETONE" to "PANETTONE", were fitted under their later names). Interactions without the line
    catalog's columns keep ``products``' values."""
    if not set(LINE_CATALOG) <= set(train.columns):
        return products[products["product_id"].isin(train["product_id"])]
    catalog = _catalog(train.rename(columns=LINE_CATALOG))
    catalog.attrs[FROM_INTERACTIONS] = True
    return catalog


def _catalog(lines: pd.DataFrame) -> pd.DataFrame:
    """Per product, the last name and the median price of ``lines`` (with ``name`` and ``price``)."""
    products = (
        lines.sort_values("timestamp", kind="stable")
        .groupby("product_id")
        .agg(name=("name", "last"), price=("price", "median"))
        .reset_index()
    )
    products["description"] = products["name"]
    products["category"] = ""
    return products


def online_retail(years: str = "both") -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = datasets.online_retail(years=years).rename(
        columns={"country": "segment", "description": "catalog_name", "unit_price": "catalog_price"}
    )
    columns = ["customer_id", "product_id", "timestamp", "quantity", "amount", "order_id", "segment", *LINE_CATALOG]
    interactions = lines[columns].reset_index(drop=True)
    products = _catalog(interactions.rename(columns=LINE_CATALOG))  # the whole period's, for fits on all of it
    products.attrs[FROM_INTERACTIONS] = True
    return interactions, products


def without_line_catalog(interactions: pd.DataFrame) -> pd.DataFrame:
    """The interactions a model is fitted on: without the line catalog's columns, which are no interaction's."""
    return interactions.drop(columns=list(LINE_CATALOG), errors="ignore")


def movielens() -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = datasets.movielens_100k()
    items = datasets.movielens_items()
    products = pd.DataFrame(
        {
            "product_id": items["product_id"],
            "name": items["title"],
            "category": items["genres"].str.replace("|", " ", regex=False),
            "description": items["genres"].str.replace("|", " ", regex=False) + " " + items["year"].astype(str),
            "price": 0.0,
        }
    )
    return ratings[["customer_id", "product_id", "timestamp"]], products


def groceries() -> tuple[pd.DataFrame, pd.DataFrame]:
    baskets = datasets.groceries()
    # No times in this file: the basket's position stands in for time so time-based options still work.
    baskets["timestamp"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(baskets["basket_index"], unit="h")
    names = pd.Series(baskets["product_id"].unique())
    products = pd.DataFrame({"product_id": names, "name": names, "category": "", "description": names, "price": 0.0})
    products.attrs[FROM_INTERACTIONS] = True
    return baskets[["customer_id", "product_id", "timestamp", "quantity"]], products


def demo(n_customers: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    # generated once per process and copied (`datasets.demo_store`), as the other data sets are read: the exposure
    # eval and the lineup's run on the quick shop each generated it again (2.8 CPU-s for 500 customers)
    store = datasets.demo_store(seed=7, n_customers=n_customers)
    orders = store.orders
    interactions = orders[
        [
            c
            for c in orders.columns
            if c in ("customer_id", "product_id", "timestamp", "quantity", "amount", "order_id", "kind")
        ]  # the kind, so that views and carts weigh as views and carts, and are no purchase to predict
    ]
    return interactions.dropna(subset=["product_id"]).reset_index(drop=True), store.products
