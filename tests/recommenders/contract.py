"""The contract every recommender meets, as a mixin: a model's test class subclasses it and sets `model_name`.

The data is a checkerboard: customers c0..c9 buy from products a0..a4 and customers d0..d9 from b0..b4,
each customer leaving out exactly one product of their own group. A personalised model must put that
missing product first; every model must respect exclude-seen, allowed products, unknown customers and
survive a save/load round trip with identical recommendations.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from recommenders.base import RECOMMENDATION_COLUMNS, Recommender
from recommenders.errors import NotFitted
from recommenders.registry import create

GROUP_SIZE = 10
PRODUCTS_PER_GROUP = 5


def checkerboard() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Interactions, a matching catalog and each customer's expected first recommendation."""
    rows, expected = [], {}
    start = pd.Timestamp("2024-01-01")
    for group, prefix, product_prefix in (("red", "c", "a"), ("blue", "d", "b")):
        for i in range(GROUP_SIZE):
            customer = f"{prefix}{i}"
            left_out = i % PRODUCTS_PER_GROUP
            expected[customer] = f"{product_prefix}{left_out}"
            for j in range(PRODUCTS_PER_GROUP):
                if j != left_out:
                    rows.append(
                        {
                            "customer_id": customer,
                            "product_id": f"{product_prefix}{j}",
                            "timestamp": start + pd.Timedelta(days=i + j),
                            "quantity": 1.0 + j,
                            "amount": 10.0,
                            "segment": group,
                        }
                    )
    catalog = pd.DataFrame(
        {
            "product_id": [f"{p}{j}" for p in "ab" for j in range(PRODUCTS_PER_GROUP)],
            "name": [f"{'red rose' if p == 'a' else 'blue ocean'} item {j}" for p in "ab" for j in range(5)],
            "category": ["garden" if p == "a" else "sea" for p in "ab" for _ in range(5)],
            "description": [f"{'red flower petals' if p == 'a' else 'blue sea waves'}" for p in "ab" for _ in range(5)],
            "price": [5.0 + j for _ in "ab" for j in range(5)],
            "in_stock": True,
        }
    )
    return pd.DataFrame(rows), catalog, expected


class RecommenderContract:
    """Subclass and set `model_name` (and `params`); set `personalised = False` for non-personal baselines."""

    model_name: ClassVar[str]
    params: ClassVar[dict] = {}
    personalised: ClassVar[bool] = True
    # whether what no purchase explains in a known customer's list is ranked by the shop's popularity
    popularity_ranked: ClassVar[bool] = False

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls):
        return checkerboard()

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, data) -> Recommender:
        interactions, catalog, _ = data
        return create(cls.model_name, **cls.params).fit(interactions, catalog)

    def test_recommendations_have_the_shared_shape(self, model, data):
        recs = model.recommend(["c0", "d3"], k=3)
        assert list(recs.columns) == RECOMMENDATION_COLUMNS
        assert recs.groupby("customer_id")["rank"].apply(list).to_dict() == {"c0": [1, 2, 3], "d3": [1, 2, 3]}
        assert recs["score"].map(np.isfinite).all()
        assert all(recs.groupby("customer_id")["score"].apply(lambda s: s.is_monotonic_decreasing))

    def test_checkerboard_first_pick_is_the_missing_product(self, model, data):
        if not self.personalised:
            pytest.skip("a non-personalised baseline cannot know each customer's missing product")
        _, _, expected = data
        recs = model.recommend(list(expected), k=1)
        picked = dict(zip(recs["customer_id"], recs["product_id"], strict=True))
        assert picked == expected

    def test_seen_products_are_excluded_unless_asked(self, model, data):
        interactions, _, _ = data
        seen = set(interactions.loc[interactions["customer_id"] == "c1", "product_id"])
        recs = model.recommend(["c1"], k=10)
        assert seen.isdisjoint(recs["product_id"])
        assert len(recs) == 10 - len(seen)
        everything = model.recommend(["c1"], k=10, exclude_seen=False)
        assert len(everything) == 10 and seen <= set(everything["product_id"])

    def test_all_and_new_lists_come_from_one_scoring(self, model, data, monkeypatch):
        interactions, _, _ = data
        customers = [*sorted(interactions["customer_id"].unique())[:6], "stranger"]
        allowed = ["b0", "b1", "a2", "a3", "c1"]
        expected = [
            model.recommend(customers, k=4, exclude_seen=exclude_seen, allowed_products=allowed)
            for exclude_seen in (False, True)
        ]
        assert len(expected[0]) > len(expected[1])  # seen products are among the allowed ones
        scored = []
        score = model._score
        monkeypatch.setattr(model, "_score", lambda rows: scored.append(len(rows)) or score(rows))
        both = model.recommend_all_and_new(customers, k=4, allowed_products=allowed)
        for got, want in zip(both, expected, strict=True):
            pd.testing.assert_frame_equal(got, want)
        assert sum(scored) == len(customers) - 1  # each known customer scored once

    def test_purchases_of_many_customers_are_each_one_s_purchases(self, model, data):
        interactions, _, _ = data
        customers = [*sorted(interactions["customer_id"].unique()), "stranger", "c1"]
        expected = [set(model.purchased_products(customer)) for customer in customers]
        assert any(expected) and expected[-2] == set()
        assert model.purchases_of(customers) == expected

    def test_allowed_products_restrict_the_list(self, model):
        allowed = ["b0", "b1", "a2", "not-a-product"]
        recs = model.recommend(["c0", "d0", "stranger"], k=5, allowed_products=allowed)
        assert set(recs["product_id"]) <= set(allowed)
        assert not model.recommend(["c0"], k=5, allowed_products=[]).shape[0]

    def test_what_no_purchase_explains_is_said_popular_only_where_popularity_ranks_it(self, model):
        """A customer the model never saw gets the most popular products; a known one's, as the model ranks."""
        assert model.ranks_by_popularity(["c0", "stranger", "d1"]).tolist() == [self.popularity_ranked, True] + [
            self.popularity_ranked
        ]
        if not model.explains_by_purchases:  # a baseline ranking by popularity alone: no purchase is why
            assert model.explain("c0", "a0") == [] and model.explain_many(["c0"], ["a0"]) == [[]]

    def test_unknown_customers_get_popularity(self, model, data):
        interactions, _, _ = data
        recs = model.recommend(["stranger", "c0"], k=3)
        stranger = recs[recs["customer_id"] == "stranger"]
        assert list(stranger["rank"]) == [1, 2, 3]
        counts = interactions.groupby("product_id")["customer_id"].nunique()
        assert set(stranger["product_id"]) <= set(counts.index[counts == counts.max()])
        assert recs["customer_id"].iloc[0] == "stranger"

    def test_save_load_round_trip(self, model, tmp_path):
        path = model.save(tmp_path / "model.pkl")
        loaded = type(model).load(path)
        customers = ["c0", "d4", "stranger"]
        pd.testing.assert_frame_equal(loaded.recommend(customers, k=4), model.recommend(customers, k=4))
        assert loaded.purchased_products("c0") == model.purchased_products("c0")
        assert Recommender.load(path).get_params() == model.get_params()

    def test_without_a_kind_column_every_interaction_is_a_purchase(self, model, data):
        interactions, _, _ = data
        bought = set(interactions.loc[interactions["customer_id"] == "c0", "product_id"])
        assert set(model.purchased_products("c0")) == bought == set(model.seen_products("c0"))
        assert model.purchased_products("stranger") == []

    def test_explain_cites_the_customers_own_history(self, model, data):
        interactions, _, expected = data
        reasons = model.explain("c0", expected["c0"], n=2)
        history = set(interactions.loc[interactions["customer_id"] == "c0", "product_id"])
        assert len(reasons) <= 2 and set(reasons) <= history
        if self.personalised and model.explains_by_purchases:  # none for a ranking by popularity
            assert reasons
        assert model.explain("stranger", "a0") == []
        assert model.explain("c0", "no-such-product") == []

    def test_explain_many_gives_each_pair_what_explain_gives(self, model, data):
        interactions, _, _ = data
        customers = sorted(interactions["customer_id"].unique())[:6]
        products = sorted(interactions["product_id"].unique())[:5]
        pairs = [(c, p) for p in products for c in customers][::-1]  # products interleaved, not grouped
        pairs += [("stranger", products[0]), (customers[0], "no-such-product"), (customers[1], products[1])]
        many = model.explain_many([c for c, _ in pairs], [p for _, p in pairs], n=2)
        assert many == [model.explain(c, p, n=2) for c, p in pairs]
        if self.personalised and model.explains_by_purchases:  # none for a ranking by popularity
            assert any(many)
        assert model.explain_many([], []) == []

    def test_explain_many_cites_what_the_customer_holds_bought_now(self, model, data):
        """A purchase returned whole since the fit (left out of ``bought``) is never cited; a customer ``bought``
        does not name bought nothing; ``bought`` as the model saw it explains as the model does."""
        interactions, _, expected = data
        customers = sorted(interactions["customer_id"].unique())[:6]
        products = [expected[customer] for customer in customers]
        as_fitted = dict(zip(customers, model.purchases_of(customers), strict=True))
        explained = model.explain_many(customers, products, n=2)
        assert model.explain_many(customers, products, n=2, bought=as_fitted) == explained
        returned = {customer: set(reasons[:1]) for customer, reasons in zip(customers, explained, strict=True)}
        kept = {customer: as_fitted[customer] - returned[customer] for customer in customers}
        again = model.explain_many(customers, products, n=2, bought=kept)
        assert all(not returned[c] & set(reasons) for c, reasons in zip(customers, again, strict=True)), again
        assert model.explain_many(customers, products, n=2, bought={}) == [[]] * len(customers)
        if self.personalised and model.explains_by_purchases:  # none for a ranking by popularity
            assert any(returned.values())

    def test_similar_items_stay_in_the_group(self, model):
        similar = model.similar_items("a0", k=3)
        assert list(similar.columns) == ["product_id", "score"]
        assert "a0" not in set(similar["product_id"])
        if self.personalised:
            assert set(similar["product_id"]) <= {f"a{j}" for j in range(1, PRODUCTS_PER_GROUP)}
        assert model.similar_items("no-such-product").empty

    def test_unfitted_model_says_so(self):
        with pytest.raises(NotFitted, match="not been trained"):
            create(self.model_name, **self.params).recommend(["c0"])

    def test_params_are_plain_data(self, model):
        import json

        json.dumps(model.get_params())
