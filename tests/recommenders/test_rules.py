"""Serving-time business rules, each checked on the checkerboard shop."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.registry import create
from recommenders.rules import Rules, for_sale, recommend_with_rules
from tests.recommenders.contract import checkerboard


@pytest.fixture(scope="module")
def shop():
    interactions, catalog, _ = checkerboard()
    model = create("item_knn").fit(interactions, catalog)
    return model, catalog, interactions


def bought_by(interactions: pd.DataFrame, customer: str) -> set[str]:
    return set(interactions.loc[interactions["customer_id"] == customer, "product_id"])


def test_defaults_exclude_bought_and_keep_shape(shop):
    model, catalog, interactions = shop
    recs = recommend_with_rules(model, ["c0", "d1", "stranger"], catalog, k=3)
    assert list(recs.columns) == ["customer_id", "rank", "product_id", "score"]
    assert list(recs["customer_id"].unique()) == ["c0", "d1", "stranger"]
    assert bought_by(interactions, "c0").isdisjoint(recs.loc[recs["customer_id"] == "c0", "product_id"])
    assert recs.loc[recs["customer_id"] == "c0", "product_id"].iloc[0] == "a0"


def test_out_of_stock_products_are_never_shown(shop):
    model, catalog, _ = shop
    catalog = catalog.assign(in_stock=catalog["product_id"] != "a0")
    recs = recommend_with_rules(model, ["c0", "stranger"], catalog, k=5)
    assert "a0" not in set(recs["product_id"])
    everything = recommend_with_rules(model, ["c0"], catalog, k=5, rules=Rules(in_stock_only=False))
    assert "a0" in set(everything["product_id"])


def test_a_line_that_is_no_merchandise_is_never_recommended(shop, window_shopper):
    """Online Retail's POSTAGE, bought again with every order abroad, was in 26 of 344 replenishment emails: a
    product the catalog marks ``recommendable`` false is no candidate, whatever the rules (stock, a reminder)."""
    model, catalog, _ = shop
    postage = catalog.assign(recommendable=catalog["product_id"] != "a0")
    for rules in (Rules(), Rules(in_stock_only=False)):
        shown = recommend_with_rules(model, ["c0", "stranger"], postage, k=5, rules=rules)
        assert "a0" not in set(shown["product_id"]) and len(shown) == 10
    reminder_model, reminder_catalog, _ = window_shopper
    marked = reminder_catalog.assign(recommendable=reminder_catalog["product_id"] != "a1")
    reminded = recommend_with_rules(reminder_model, ["c0"], marked, k=10, rules=Rules(bought_only=True))
    assert set(reminded["product_id"]) == {"a2", "a3", "a4"}


def test_for_sale_is_merchandise_in_stock_in_the_catalog_s_order():
    """The rules, `tailor recommend --products` and a reminder's products read what is for sale in one place: an
    empty stock cell is out of stock, an empty `recommendable` cell is merchandise, and a catalog saying nothing of
    either sells all it lists."""
    catalog = pd.DataFrame(
        {
            "product_id": ["z9", "POST", "a1", "gone", "b2"],
            "in_stock": [True, True, True, None, True],
            "recommendable": [True, False, None, True, True],
        }
    ).set_index("product_id")
    assert list(for_sale(catalog)) == ["z9", "a1", "b2"]
    assert list(for_sale(catalog.drop(columns=["in_stock", "recommendable"]))) == ["z9", "POST", "a1", "gone", "b2"]


def test_reorderable_products_may_come_back(shop):
    model, catalog, interactions = shop
    rules = Rules(reorderable_products=frozenset({"a1"}))
    recs = recommend_with_rules(model, ["c0"], catalog, k=10, rules=rules)
    assert "a1" in set(recs["product_id"])
    assert bought_by(interactions, "c0") - {"a1"} and (bought_by(interactions, "c0") - {"a1"}).isdisjoint(
        recs["product_id"]
    )
    by_category = recommend_with_rules(
        model, ["c0"], catalog, k=10, rules=Rules(reorderable_categories=frozenset({"garden"}))
    )
    assert bought_by(interactions, "c0") <= set(by_category["product_id"])


def test_max_per_category(shop):
    model, catalog, _ = shop
    recs = recommend_with_rules(model, ["c0"], catalog, k=4, rules=Rules(max_per_category=1, exclude_bought=False))
    categories = recs["product_id"].map(catalog.set_index("product_id")["category"])
    assert categories.value_counts().max() == 1 and len(recs) == 2


def test_a_category_spelt_two_ways_is_capped_as_one(shop):
    """A catalog holding "Tea" and "tea" (a product re-imported lowercased) was capped as two categories: with
    max_per_category=1 a list held two teas, though the API takes a category in any case."""
    model, catalog, _ = shop
    spelt = catalog.assign(
        category=catalog["category"].where(catalog["product_id"] != "a1", catalog["category"].str.upper())
    )
    assert spelt.set_index("product_id")["category"]["a1"] != catalog.set_index("product_id")["category"]["a1"]
    recs = recommend_with_rules(model, ["c0"], spelt, k=4, rules=Rules(max_per_category=1, exclude_bought=False))
    categories = recs["product_id"].map(catalog.set_index("product_id")["category"])
    assert categories.value_counts().max() == 1 and len(recs) == 2


@pytest.mark.parametrize("missing", ["", None])
def test_products_without_a_category_are_not_capped_as_one_category(shop, missing):
    """The Online Retail catalog has no categories (the import allows an empty one): every product counted as one
    category "", so a cap of 2 a category left every email 2 products instead of 3."""
    model, catalog, _ = shop
    catalog = catalog.assign(category=missing)
    recs = recommend_with_rules(model, ["c0"], catalog, k=4, rules=Rules(max_per_category=1, exclude_bought=False))
    assert len(recs) == 4


def test_price_band_follows_the_customers_usual_spend(shop):
    model, catalog, interactions = shop
    # c0 bought a1..a4 (prices 6..9, median 7.5): with band (0.9, 1.1) only 6.75..8.25 qualifies.
    recs = recommend_with_rules(model, ["c0"], catalog, k=10, rules=Rules(price_band=(0.9, 1.1), exclude_bought=False))
    in_band = set(catalog.loc[catalog["price"].between(6.75, 8.25), "product_id"])  # a2, a3, b2, b3: 7 and 8
    assert set(recs["product_id"]) == in_band  # the model ranks all ten: the band alone leaves these


def test_boosts_lift_flagged_products(shop):
    model, catalog, _ = shop
    catalog = catalog.assign(is_new=(catalog["product_id"] == "b4").astype(float))
    plain = recommend_with_rules(model, ["c0"], catalog, k=3)
    assert "b4" not in set(plain["product_id"])
    boosted = recommend_with_rules(model, ["c0"], catalog, k=3, rules=Rules(boosts={"is_new": 2.0}))
    assert boosted["product_id"].iloc[0] == "b4"


@pytest.fixture(scope="module")
def window_shopper():
    """The checkerboard shop where c0 also viewed b0 and put b1 in a cart, buying neither."""
    interactions, catalog, _ = checkerboard()
    browsing = pd.DataFrame(
        {
            "customer_id": "c0",
            "product_id": ["b0", "b1"],
            "timestamp": pd.Timestamp("2024-02-01"),
            "kind": ["view", "cart"],
        }
    )
    interactions = pd.concat([interactions.assign(kind="purchase"), browsing], ignore_index=True)
    return create("item_knn").fit(interactions, catalog), catalog, interactions


def test_viewed_and_carted_products_are_not_bought(window_shopper):
    model, catalog, interactions = window_shopper
    assert set(model.purchased_products("c0")) == {"a1", "a2", "a3", "a4"}
    assert {"b0", "b1"} <= set(model.seen_products("c0"))
    recs = recommend_with_rules(model, ["c0"], catalog, k=10)
    assert {"b0", "b1"} <= set(recs["product_id"])  # still worth showing: never bought
    assert bought_by(interactions[interactions["kind"] == "purchase"], "c0").isdisjoint(recs["product_id"])


def test_explanations_cite_only_purchases(window_shopper):
    model, _, _ = window_shopper
    # b2 is like b0 and b1 (bought together by the d customers) and unlike anything c0 bought.
    assert model.explain("c0", "b2") == []
    assert set(model.explain("c0", "a0")) <= {"a1", "a2", "a3", "a4"} and model.explain("c0", "a0")


def test_price_band_follows_purchases_not_views(window_shopper):
    model, catalog, _ = window_shopper
    catalog = catalog.assign(price=catalog["price"].where(~catalog["product_id"].isin(["b0", "b1"]), 100.0))
    # Had the views counted, c0's usual price would be 8.5 (6, 7, 8, 9, 100, 100) instead of 7.5.
    recs = recommend_with_rules(model, ["c0"], catalog, k=10, rules=Rules(price_band=(0.9, 1.1), exclude_bought=False))
    prices = recs["product_id"].map(catalog.set_index("product_id")["price"])
    assert len(recs) and prices.between(6.75, 8.25).all() and 7.0 in set(prices)


def test_a_customer_who_bought_the_models_whole_top_still_gets_k_products():
    """A shop's best customers got no recommendations: the model's top 50 over every product, less what they had
    bought, left nothing when they had bought those 50, and their emails went out with no product in them."""
    products = [f"p{i:03d}" for i in range(100)]
    rows = [(f"c{i}_{j}", product) for i, product in enumerate(products) for j in range(100 - i)]  # p000 most bought
    rows += [("heavy", product) for product in products[:60]]
    interactions = pd.DataFrame(rows, columns=["customer_id", "product_id"]).assign(
        timestamp=pd.Timestamp("2024-01-01")
    )
    catalog = pd.DataFrame({"product_id": products, "category": "any", "price": 1.0})
    model = create("popularity").fit(interactions, catalog)

    recs = recommend_with_rules(model, ["heavy"], catalog, k=10)
    assert list(recs["product_id"]) == products[60:70]  # the best of what they have not bought, in order
    again = recommend_with_rules(model, ["heavy"], catalog, k=10, rules=Rules(reorderable_products=frozenset({"p001"})))
    assert list(again["product_id"]) == ["p001", *products[60:69]]  # a re-orderable product keeps its place


def test_a_reorder_reminder_shows_only_what_the_customer_bought(window_shopper):
    """Replenishment emails said "your usual" over products the customer had never bought (20 of 75 in a
    demo campaign), some of them only viewed."""
    model, catalog, interactions = window_shopper
    bought = {"a1", "a2", "a3", "a4"}  # c0 also viewed b0 and carted b1
    recs = recommend_with_rules(model, ["c0", "stranger"], catalog, k=10, rules=Rules(bought_only=True))
    assert set(recs["product_id"]) == bought and set(recs["customer_id"]) == {"c0"}  # a stranger bought nothing
    ranked = model.recommend_bought(["c0"], k=2)
    assert len(ranked) == 2 and set(ranked["product_id"]) <= bought
    assert list(ranked["score"]) == sorted(ranked["score"], reverse=True)
    out_of_stock = catalog.assign(in_stock=catalog["product_id"] != "a1")
    assert "a1" not in set(
        recommend_with_rules(model, ["c0"], out_of_stock, k=10, rules=Rules(bought_only=True))["product_id"]
    )


def test_a_reorder_reminder_told_the_reorderable_products_shows_no_other(window_shopper):
    """A replenishment email showed durable goods the customer had bought once (a teapot as "your usual")."""
    model, catalog, _ = window_shopper
    rules = Rules(bought_only=True, reorderable_only=True, reorderable_products=frozenset({"a2", "a4", "b0"}))
    recs = recommend_with_rules(model, ["c0"], catalog, k=10, rules=rules)
    assert set(recs["product_id"]) == {"a2", "a4"}  # b0 is re-orderable, but c0 only viewed it
    nothing = Rules(bought_only=True, reorderable_only=True)
    assert recommend_with_rules(model, ["c0"], catalog, k=10, rules=nothing).empty


@pytest.fixture(scope="module")
def long_tail():
    """A popularity model over 100 products, p000 the most bought, p099 the least; customer "ann" bought p000."""
    products = [f"p{i:03d}" for i in range(100)]
    rows = [(f"c{i}_{j}", product) for i, product in enumerate(products) for j in range(100 - i)]
    rows += [("ann", "p000")]
    interactions = pd.DataFrame(rows, columns=["customer_id", "product_id"]).assign(
        timestamp=pd.Timestamp("2024-01-01")
    )
    catalog = pd.DataFrame({"product_id": products, "category": "any", "price": 10.0})
    return create("popularity").fit(interactions, catalog), catalog


def test_what_a_customer_bought_since_the_fit_is_bought(long_tail):
    """Orders imported after training were unknown to the model's purchases: the API and campaigns recommended the
    product bought yesterday."""
    model, catalog = long_tail
    assert recommend_with_rules(model, ["ann"], catalog, k=1)["product_id"].tolist() == ["p001"]
    bought = {"ann": {"p000", "p001"}, "new": {"p000"}}  # all each holds bought now
    later = recommend_with_rules(model, ["ann", "new"], catalog, k=1, bought=bought)
    assert later["product_id"].tolist() == ["p002", "p001"]  # a customer the model never saw too


def test_what_a_customer_returned_whole_since_the_fit_is_not_bought(long_tail):
    """A return imported after training left the product bought for the model: cross-sell still left out, as
    bought, the product ann had sent back."""
    model, catalog = long_tail
    assert recommend_with_rules(model, ["ann"], catalog, k=1, bought={})["product_id"].tolist() == ["p000"]


def test_the_rules_fill_a_list_from_beyond_the_first_candidates(long_tail):
    """The price band and the category cap were applied to the model's first candidates only: lists came back
    short or empty while products in stock would have filled them."""
    model, catalog = long_tail
    priced = catalog.assign(price=[10.0 if i in (0, 95, 96, 97) else 100.0 for i in range(100)])
    band = recommend_with_rules(model, ["ann"], priced, k=3, rules=Rules(price_band=(0.9, 1.1)))
    assert band["product_id"].tolist() == ["p095", "p096", "p097"]
    categorised = catalog.assign(category=["a"] * 90 + [f"c{i}" for i in range(10)])
    capped = recommend_with_rules(model, ["ann"], categorised, k=4, rules=Rules(max_per_category=1))
    assert capped["product_id"].tolist() == ["p001", "p090", "p091", "p092"]


def test_a_boost_reaches_a_product_the_model_ranks_last(long_tail):
    """A new arrival the model ranked far down was never a candidate: no boost lifted it, and the top of k=100
    was not the top of k=3."""
    model, catalog = long_tail
    flagged = catalog.assign(is_new=[1.0 if i == 99 else 0.0 for i in range(100)])
    rules = Rules(boosts={"is_new": 1000.0})
    assert recommend_with_rules(model, ["ann"], flagged, k=3, rules=rules)["product_id"].iloc[0] == "p099"
    assert recommend_with_rules(model, ["ann"], flagged, k=100, rules=rules)["product_id"].iloc[0] == "p099"
    bought = recommend_with_rules(model, ["ann"], flagged, k=3, rules=rules, bought={"ann": {"p099"}})
    assert "p099" not in bought["product_id"].tolist()  # a boost brings back nothing bought


def _bestseller_shop(products: int) -> tuple[object, pd.DataFrame]:
    """A popularity model over `products` products, "kit" bought by most and each next one by fewer."""
    names = ["kit", *(f"p{i}" for i in range(products - 1))]
    rows = [
        {"customer_id": f"fan{j}", "product_id": name, "timestamp": pd.Timestamp("2024-01-01"), "quantity": 1.0}
        for i, name in enumerate(names)
        for j in range(2 * (products - i))
    ]
    catalog = pd.DataFrame({"product_id": names, "name": names, "category": "", "price": 1.0, "in_stock": True})
    return create("popularity").fit(pd.DataFrame(rows), catalog), catalog


def test_a_capped_product_goes_to_the_customers_ranking_it_first_and_the_lists_stay_full():
    """A win-back of 1,438 Online Retail customers put one bicycle repair kit in 533 of its e-mails: with a cap,
    a product is in at most that share of the lists, all first places are served before any second place, and
    among equals the campaign's earlier customers keep it."""
    model, catalog = _bestseller_shop(6)
    customers = ["new3", "new1", "new0", "new2"]  # the campaign's order, not the ids'
    uncapped = recommend_with_rules(model, customers, catalog, k=2)
    assert uncapped.groupby("customer_id")["product_id"].apply(list).tolist() == [["kit", "p0"]] * 4
    capped = recommend_with_rules(model, customers, catalog, k=2, rules=Rules(max_share_per_product=0.5))
    lists = capped.groupby("customer_id")["product_id"].apply(list).to_dict()
    assert lists == {"new3": ["kit", "p0"], "new1": ["kit", "p0"], "new0": ["p1", "p2"], "new2": ["p1", "p2"]}
    assert list(capped["customer_id"].unique()) == customers and capped["rank"].tolist() == [1, 2] * 4


def test_the_cap_thins_a_product_out_but_never_empties_an_email():
    """Three products and three to an e-mail: every customer needs all of them, whatever the cap."""
    model, catalog = _bestseller_shop(3)
    customers = [f"new{i}" for i in range(4)]
    capped = recommend_with_rules(model, customers, catalog, k=3, rules=Rules(max_share_per_product=0.25))
    assert capped.groupby("customer_id").size().tolist() == [3, 3, 3, 3]
    assert capped.groupby("customer_id")["product_id"].apply(list).tolist() == [["kit", "p0", "p1"]] * 4


def test_a_customer_the_cap_leaves_short_gets_a_longer_list_before_a_capped_product():
    """Forty products, ten customers of three each and a cap of one list a product: the model's longer lists keep
    the cap. The first 23 candidates ran out after seven customers, and "kit" went back into four of the lists."""
    model, catalog = _bestseller_shop(40)
    customers = [f"new{i}" for i in range(10)]
    capped = recommend_with_rules(model, customers, catalog, k=3, rules=Rules(max_share_per_product=0.1))
    assert capped.groupby("customer_id").size().tolist() == [3] * 10
    assert capped["product_id"].value_counts().max() == 1
    assert list(capped["customer_id"].unique()) == customers and capped["rank"].tolist() == [1, 2, 3] * 10


def test_the_cap_and_the_category_cap_together_count_what_is_chosen():
    """Two categories, two a category to an e-mail: filtered first, every customer had the same four candidates,
    and a cap of 0.2 put "kit" in half the e-mails; a capped product makes room for the next of its category."""
    model, catalog = _bestseller_shop(40)
    catalog = catalog.assign(category=[f"c{i % 2}" for i in range(len(catalog))])
    customers = [f"new{i}" for i in range(10)]
    rules = Rules(max_per_category=2, max_share_per_product=0.2)
    capped = recommend_with_rules(model, customers, catalog, k=3, rules=rules)
    assert capped.groupby("customer_id").size().tolist() == [3] * 10
    assert capped["product_id"].value_counts().max() <= 2
    per_category = capped.assign(category=capped["product_id"].map(catalog.set_index("product_id")["category"]))
    assert per_category.groupby(["customer_id", "category"]).size().max() <= 2


def test_a_reminder_shows_what_the_customer_bought_since_the_model_was_fitted():
    """Orders imported after the training: 7 of 17 replenishment e-mails of an Online Retail shop said "here are
    your favourites, ready to re-order" over no product, since the model knew nothing of those purchases."""
    model, catalog = _bestseller_shop(6)
    bought = {"new0": {"p3", "p1"}, "fan11": {"kit", "p4"}}  # new0 is unknown to the model; fan11 had the kit alone
    rules = Rules(bought_only=True)
    reminded = recommend_with_rules(model, ["new0", "fan11"], catalog, k=3, rules=rules, bought=bought)
    lists = reminded.groupby("customer_id", sort=False)["product_id"].apply(list).to_dict()
    assert lists == {"new0": ["p1", "p3"], "fan11": ["kit", "p4"]}  # what the model ranked first


def test_a_reminder_leaves_out_what_the_customer_returned_whole_since_the_model_was_fitted():
    """A re-order reminder offered, as "your usual", the kit fan11 had sent back after the training."""
    model, catalog = _bestseller_shop(6)
    reminded = recommend_with_rules(
        model, ["fan11"], catalog, k=3, rules=Rules(bought_only=True), bought={"fan11": {"p4"}}
    )
    assert reminded["product_id"].tolist() == ["p4"]
