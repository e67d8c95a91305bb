"""What a pick's `reason` says where no purchase explains it, for each kind of model the shop may train: `popular`
only where the shop's popularity ranked it (every pick of the popularity baseline, whatever the customer bought; the
blend's, among whose signals popularity is; any model's for a customer it never saw), `activity` where the model
ranked it by the customer's own interactions (EASE's, ALS's and BPR's for a customer who only viewed). Before, every
such pick was `popular` ("popular in the shop" on the review page), and the popularity baseline's picks cited the
purchases co-bought with them as "because you bought", though it ranks by popularity alone."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.registry import create
from recommenders.rules import Rules
from service.pipeline.generate import recommend_products
from tests.recommenders.contract import checkerboard

# what each model ranks a known customer's picks by where no purchase of theirs explains them
UNEXPLAINED = {
    "popularity": "popular", "ease": "activity", "als": "activity", "bpr": "activity", "blend": "popular",
}  # fmt: skip
PARAMS = {"blend": {"collaborative_params": {"regularization": 1.0}}, "als": {"factors": 8}, "bpr": {"factors": 8}}


@pytest.fixture(scope="module")
def shop():
    """The checkerboard's purchases and catalog, and a customer, v0, who only viewed three of c0..c9's products."""
    purchases, catalog, _ = checkerboard()
    views = pd.DataFrame(
        {"customer_id": "v0", "product_id": ["a0", "a1", "a2"], "timestamp": purchases["timestamp"].max(),
         "quantity": 1.0, "amount": 0.0, "segment": "red", "kind": "view"}
    )  # fmt: skip
    interactions = pd.concat([purchases.assign(kind="purchase"), views], ignore_index=True)
    catalog = catalog.assign(currency="EUR", url="https://shop.example/p")
    return interactions, catalog, purchases.groupby("customer_id")["product_id"].agg(set).to_dict()


@pytest.mark.parametrize("name", list(UNEXPLAINED))
def test_a_pick_no_purchase_explains_is_popular_only_where_popularity_ranked_it(shop, name):
    interactions, catalog, bought = shop
    model = create(name, **PARAMS.get(name, {})).fit(interactions, catalog)
    picks = recommend_products(
        model, ["c0", "v0", "stranger"], catalog, 4, Rules(), bought=lambda ids: {c: bought.get(c, set()) for c in ids}
    )
    assert [pick["reason"] for pick in picks["stranger"]] == ["popular"] * 4  # a customer the model never saw
    assert [pick["reason"] for pick in picks["v0"]] == [UNEXPLAINED[name]] * 4  # no purchase to explain any
    for pick in picks["c0"]:
        assert pick["reason"] == ("because_you_bought" if pick["because_you_bought"] else UNEXPLAINED[name]), pick
    if name == "popularity":  # ranked by the shop's buyers alone: no purchase of c0's is why
        assert all(pick["because_you_bought"] == [] for pick in picks["c0"])
    else:  # c0's missing product of their group, which their purchases explain
        assert picks["c0"][0]["reason"] == "because_you_bought"
