"""Cold start for products imported after the training (`recommenders.cold_start`), on the checkerboard shop: a new
arrival worded like a red product is ranked for the red customers on the model's scale, and for nobody else."""

from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import pandas as pd
import pytest

from recommenders.cold_start import MIN_SIMILARITY, Likeness, NewArrivals, with_new_arrivals
from recommenders.registry import create
from recommenders.rules import recommend_with_rules
from tests.recommenders.contract import checkerboard


@pytest.fixture(scope="module")
def shop():
    interactions, catalog, _ = checkerboard()
    return create("item_knn").fit(interactions, catalog), catalog


def arrived(catalog: pd.DataFrame, **texts: dict[str, str]) -> pd.DataFrame:
    """The catalog with new products (product id -> its name, category and description)."""
    new = pd.DataFrame([{"product_id": sku, "price": 5.0, "in_stock": True, **text} for sku, text in texts.items()])
    return pd.concat([catalog, new], ignore_index=True)


def test_a_catalog_without_new_products_serves_the_model_itself(shop):
    model, catalog = shop
    assert with_new_arrivals(model, catalog) is model


@pytest.mark.parametrize("text", ["", "x"])
def test_a_catalog_without_a_word_to_compare_serves_the_model_itself(shop, text):
    """Texts all empty or of single characters (TF-IDF reads words of two or more) left an empty vocabulary, and
    its error failed every campaign and request while the catalog held a new product."""
    model, catalog = shop
    wordless = {"name": text, "category": text, "description": text}
    current = arrived(catalog.assign(**wordless), new_one=wordless)
    assert with_new_arrivals(model, current) is model
    lists = recommend_with_rules(with_new_arrivals(model, current), ["c0"], current, k=3)
    assert len(lists) == 3 and "new_one" not in set(lists["product_id"])


def test_a_new_product_worded_as_a_known_one_takes_its_score_for_its_buyers_only(shop):
    model, catalog = shop
    a0 = catalog.iloc[0][["name", "category", "description"]].to_dict()
    current = arrived(catalog, new_red=a0, new_odd={"name": "qwxz", "category": "zyz", "description": "vrkl"})
    served = with_new_arrivals(model, current)
    assert isinstance(served, NewArrivals) and list(served.new_products) == ["new_red", "new_odd"]

    plain = model.recommend(["c0", "d0"], k=3)
    lists = served.recommend(["c0", "d0", "stranger"], k=3)
    red = lists[lists["customer_id"] == "c0"]
    assert list(red["product_id"][:2]) == ["a0", "new_red"]  # worded as a0, which c0 never bought: right below it
    assert red["score"].iloc[1] == pytest.approx(plain.loc[plain["customer_id"] == "c0", "score"].iloc[0])
    assert list(red["rank"]) == [1, 2, 3]
    # c1 bought a0: its new version comes first among the products new to c1, at the best one's score
    bought = served.recommend(["c1"], k=3)
    assert list(bought["product_id"][:2]) == ["a1", "new_red"] and bought["score"].iloc[0] == bought["score"].iloc[1]
    assert served.explain_many(["c1"], ["new_red"], n=1) == [["a0"]]  # "new, like a0 you bought"
    assert list(lists.loc[lists["customer_id"] == "d0", "product_id"]) == list(
        plain.loc[plain["customer_id"] == "d0", "product_id"]
    )  # a blue customer buys nothing like it: their list is the model's
    assert "new_odd" not in set(lists["product_id"])  # like nothing known: no score, no place

    explained = served.explain_many(["c0", "c0", "d0"], ["new_red", "a0", "new_red"], n=2)
    assert explained[0] and set(explained[0]) <= {"a1", "a2", "a3", "a4"}  # what c0 bought that reads like it
    assert explained[1] == model.explain("c0", "a0", n=2) and explained[2] == []


def test_the_rules_serve_a_new_product_bought_since_the_training_as_bought(shop):
    model, catalog = shop
    current = arrived(catalog, new_red=catalog.iloc[0][["name", "category", "description"]].to_dict())
    served = with_new_arrivals(model, current)
    fresh = recommend_with_rules(served, ["c0", "c1"], current, k=3)
    assert "new_red" in set(fresh.loc[fresh["customer_id"] == "c0", "product_id"])
    again = recommend_with_rules(served, ["c0"], current, k=3, bought={"c0": {"new_red"}})
    assert "new_red" not in set(again["product_id"])
    out = recommend_with_rules(served, ["c0"], current.assign(in_stock=current["product_id"] != "new_red"), k=3)
    assert "new_red" not in set(out["product_id"])


def test_reasons_cite_what_the_customer_holds_bought_now_for_new_and_known_products(shop):
    """Given what a customer holds bought now (a purchase returned whole since the training left out), the reasons
    for new and known products alike cite only that."""
    model, catalog = shop
    current = arrived(catalog, new_red=catalog.iloc[0][["name", "category", "description"]].to_dict())
    served = with_new_arrivals(model, current)
    seen = served.explain_many(["c1", "c1"], ["new_red", "a1"], n=4)
    assert "a0" in seen[0] and "a0" in seen[1]  # c1's purchase of a0, as the model saw it
    kept = set(model.purchases_of(["c1"])[0]) - {"a0"}  # a0 returned whole since
    now = served.explain_many(["c1", "c1"], ["new_red", "a1"], n=4, bought={"c1": kept})
    assert now[0] and now[1] and "a0" not in now[0] + now[1]
    assert set(now[0] + now[1]) <= kept


def test_a_new_product_whose_twin_sold_out_is_placed_as_the_twin_would_have_been(shop):
    """A new print replacing one sold out is the new arrival a shop has most: the sold-out twin is no candidate any
    more, but its score still places the new product, and the twin itself is not shown."""
    model, catalog = shop
    current = arrived(catalog, new_red=catalog.iloc[0][["name", "category", "description"]].to_dict())
    in_stock = current.assign(in_stock=current["product_id"] != "a0")
    served = with_new_arrivals(model, in_stock)
    lists = recommend_with_rules(served, ["c0", "c1"], in_stock, k=3)
    assert list(lists.loc[lists["customer_id"] == "c0", "product_id"])[:1] == ["new_red"]
    assert list(lists.loc[lists["customer_id"] == "c1", "product_id"])[:2] == ["a1", "new_red"]
    assert "a0" not in set(lists["product_id"])
    everything, new = served.recommend_all_and_new(["c0"], 3, allowed_products=in_stock["product_id"][1:])
    assert "a0" not in set(everything["product_id"]) | set(new["product_id"]) and len(everything) == 3

    texts = {f"new_{sku}": catalog.set_index("product_id").loc[sku, ["name", "category", "description"]].to_dict()
             for sku in ("a0", "b0", "b1")}  # fmt: skip
    several = arrived(catalog, **texts)
    allowed = several.loc[~several["product_id"].isin(["a0", "b0", "b1"]), "product_id"]
    served = with_new_arrivals(model, several)
    for k in (2, 3, 5):  # more sold-out twins than k (scored apart), as many, fewer (in one scoring)
        everything, new = served.recommend_all_and_new(["c0", "d0"], k, allowed_products=allowed)
        assert not {"a0", "b0", "b1"} & (set(everything["product_id"]) | set(new["product_id"]))
        assert len(everything) == len(new) == 2 * k and list(new["rank"]) == [*range(1, k + 1)] * 2
        assert new["product_id"].iloc[0] == "new_a0" and new["product_id"].iloc[k] in {"new_b0", "new_b1"}


def test_the_likeness_of_a_large_catalog_is_computed_in_bounded_memory():
    """Words every description shares make nearly every (new, known) pair's product nonzero: 1,000 new products
    against 10,000 known held ten million cosines at once before the few alike were kept."""
    products = [f"p{i}" for i in range(11_000)]
    catalog = pd.DataFrame(
        {
            "product_id": products,
            "name": [f"item{i} model{i % 300}" for i in range(11_000)],
            "description": "a lovely thing for your home, made with care",
        }
    )
    known = SimpleNamespace(vocabulary=SimpleNamespace(products=pd.Index(products[:10_000])))
    tracemalloc.start()
    try:
        likeness = Likeness.of(known, catalog)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 60 * 2**20, f"{peak / 2**20:.0f} MiB"
    assert likeness.similarity.shape == (1_000, 10_000) and likeness.similarity.min() == 0.0
    assert likeness.similarity.data.min() >= MIN_SIMILARITY
    twins = likeness.twins.groupby("product_id")["twin"].agg(set)
    assert twins["p10000"] == {f"p{i}" for i in range(100, 10_000, 300)}  # model100, as p10000 is


def test_customers_none_of_whose_candidates_is_a_twin_get_the_models_list(shop):
    """Asked alone, a blue customer's candidates hold no twin of the red new arrival: no pair to score (pandas'
    string ids then made the empty scores text, and the API answered 500)."""
    model, catalog = shop
    current = arrived(catalog, new_red=catalog.iloc[0][["name", "category", "description"]].to_dict())
    served = with_new_arrivals(model, current)
    lists = served.recommend(["d0"], k=1)
    plain = model.recommend(["d0"], k=1)
    assert list(lists["product_id"]) == list(plain["product_id"])
    assert lists["score"].dtype == "float64"


def test_a_range_replaced_whole_is_ranked_by_the_sold_out_range_it_replaced(shop):
    """A shop that replaced its whole range since the training: every known product sold out, every product for sale
    new. Each list was empty (the model had no candidate for sale, and cold start placed nothing without one), and so
    was every e-mail of a campaign; each new product is placed by the sold-out one it reads like, for who would want
    that one, and explained by what the customer bought."""
    model, catalog = shop
    texts = catalog.set_index("product_id")[["name", "category", "description"]]
    current = arrived(catalog.assign(in_stock=False), **{f"new_{sku}": row.to_dict() for sku, row in texts.iterrows()})
    served = with_new_arrivals(model, current)
    lists = recommend_with_rules(served, ["c0", "d0"], current, k=3)
    red, blue = (list(lists.loc[lists["customer_id"] == customer, "product_id"]) for customer in ("c0", "d0"))
    assert len(red) == len(blue) == 3
    assert red[0] == "new_a0" and set(red) <= {f"new_a{j}" for j in range(5)}  # c0's first pick, a0, made new
    assert blue[0] == "new_b0" and set(blue) <= {f"new_b{j}" for j in range(5)}
    (reasons,) = served.explain_many(["c0"], ["new_a0"], n=4)
    assert reasons and set(reasons) <= {f"a{j}" for j in range(1, 5)}  # what c0 bought that reads like it
    for_sale = current.loc[current["in_stock"], "product_id"]
    for k in (2, 12):  # more sold-out twins than k (scored apart), fewer (in one scoring)
        everything, new = served.recommend_all_and_new(["c0", "d0"], k, allowed_products=for_sale)
        assert list(new["product_id"][:2]) == ["new_a0", "new_a1"] and len(new) == min(2 * k, 20)
        assert set(everything["product_id"]) <= set(for_sale)


def test_the_discount_weighs_how_far_a_new_product_falls_below_its_twin_for_being_unlike_it(shop):
    """A shop whose new range is the news places new arrivals nearer their twins (on Online Retail's last month, 0.5
    found twice the new arrivals bought, for 2.7 % of the known products' NDCG@10); one that wants the model's ranking
    kept places them lower."""
    model, catalog = shop
    half = {"name": "red rose item 0", "category": "garden", "description": "silk ribbon"}  # a0's name and category
    current = arrived(catalog, new_red=half)
    (similarity,) = Likeness.of(model, current).twins["similarity"].unique()  # the five red ones alike
    assert MIN_SIMILARITY < similarity < 1
    plain = model.recommend(["c0"], k=6)  # the candidates whose spread is discounted
    spread = plain["score"].max() - plain["score"].min()

    def scored(discount: float) -> float:
        lists = with_new_arrivals(model, current, discount).recommend(["c0"], k=6)
        return float(lists.loc[lists["product_id"] == "new_red", "score"].iloc[0])

    best = plain["score"].iloc[0]  # a0's
    assert scored(0) == pytest.approx(best)  # at its twin's score
    assert scored(1) == pytest.approx(best - (1 - similarity) * spread, rel=1e-5)
    assert scored(0.5) == pytest.approx(best - 0.5 * (1 - similarity) * spread, rel=1e-5)
    for wrong in (-0.5, float("nan")):
        with pytest.raises(ValueError, match="discount must be 0 or more"):
            with_new_arrivals(model, current, wrong)
