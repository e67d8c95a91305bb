"""A fixed, seeded sample of draft requests built from Tailor's demo store: real segments from the customers'
orders, each customer's favourite category for products, and a segment-specific offer."""

from __future__ import annotations

import pandas as pd

from generation.schemas import CustomerFacts, DraftRequest, Offer, ProductFact

PRODUCTS_PER_EMAIL = 3
CAMPAIGN_BY_SEGMENT = {
    "new": "welcome",
    "champions": "vip",
    "loyal": "replenishment",
    "potential_loyalists": "cross_sell",
    "at_risk": "win_back",
    "cant_lose": "win_back",
    "hibernating": "win_back",
    "lost": "win_back",
}
OFFER_BY_SEGMENT = {
    "at_risk": Offer(kind="percent_off", value=10, code="BACK10"),
    "cant_lose": Offer(kind="percent_off", value=15, code="MISSYOU15"),
    "hibernating": Offer(kind="free_shipping", value=0),
    "lost": Offer(kind="percent_off", value=20, code="HELLO20"),
    "champions": Offer(kind="gift", value=0),
}


def demo_requests(
    n_customers: int, *, seed: int = 7, locale: str | None = None, campaign_type: str | None = None
) -> list[DraftRequest]:
    """Up to `n_customers` requests from the demo store, optionally one locale and one campaign type for all."""
    from evals.datasets import demo_store
    from service.demo.segments import segments_on

    store = demo_store(seed=seed, n_customers=max(3000, n_customers * 3))
    customers = store.customers[store.customers.marketing_consent & ~store.customers.unsubscribed]
    if locale:
        customers = customers[customers.locale == locale]
    customers = customers.sort_values("customer_id").head(n_customers)
    purchases = store.orders[store.orders.kind == "purchase"]
    segments = segments_on(purchases, pd.Timestamp(store.as_of), pd.Index(customers.customer_id))
    products = store.products[store.products.in_stock]
    popularity = purchases.product_id.value_counts()
    products = products.assign(popularity=products.product_id.map(popularity).fillna(0)).sort_values(
        ["popularity", "product_id"], ascending=[False, True]
    )
    # Of the sampled customers only: each customer's favourite and purchases are their own rows' (filtered after the
    # merge, whose row order the favourite's ties depend on); over every customer of the store, it was most of the
    # time of a 20-customer sample, and half that of the cost part's 1,000.
    sampled = purchases.customer_id.isin(customers.customer_id)
    with_category = purchases.merge(store.products[["product_id", "category"]], on="product_id")
    favourite = _most_bought(with_category[with_category.customer_id.isin(customers.customer_id)])
    bought = purchases[sampled].groupby("customer_id").product_id.agg(set)
    by_category = {category: list(rows.itertuples(index=False)) for category, rows in products.groupby("category")}
    requests = []
    for row in customers.itertuples(index=False):
        segment = str(segments.get(row.customer_id, "new") or "new")
        category = favourite.get(row.customer_id, products.category.iloc[0])
        seen = bought.get(row.customer_id, set())
        # the category's first products (by popularity) the customer has not bought
        picks = [p for p in by_category.get(category, []) if p.product_id not in seen][:PRODUCTS_PER_EMAIL]
        requests.append(
            DraftRequest(
                customer=CustomerFacts(
                    customer_id=row.customer_id, first_name=row.first_name, locale=row.locale, segment=segment
                ),
                campaign_type=campaign_type or CAMPAIGN_BY_SEGMENT.get(segment, "cross_sell"),
                products=[ProductFact(**{k: getattr(p, k) for k in ProductFact.model_fields}) for p in picks],
                offer=OFFER_BY_SEGMENT.get(segment),
            )
        )
    return requests


def _most_bought(rows: pd.DataFrame) -> pd.Series:
    """Each customer's most bought category, by ``customer_id``; of a tie, the one bought first in ``rows``' order
    (as ``value_counts().index[0]`` per customer chose it, at a thousandth of its time)."""
    rows = rows[["customer_id", "category"]].assign(position=range(len(rows)))
    counts = rows.groupby(["customer_id", "category"], sort=False, observed=True).position.agg(["size", "min"])
    best = counts.reset_index().sort_values(["size", "min"], ascending=[False, True], kind="stable")
    return best.drop_duplicates("customer_id").set_index("customer_id").category
