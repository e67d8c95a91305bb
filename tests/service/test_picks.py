"""A campaign's picks held as columns give each customer the same dicts of catalog facts as before, and its
draft requests, built when asked for, share one object per product."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.registry import create
from recommenders.rules import Rules
from service.pipeline.draft_requests import DraftRequests
from service.pipeline.generate import recommend_products
from service.pipeline.picks import Picks
from tests.recommenders.contract import checkerboard

CATALOG = {
    product_id: {"name": name, "category": category, "price": price, "currency": "EUR",
                 "url": f"https://shop.example/{product_id}", "description": description}
    for product_id, name, category, price, description in [
        ("p1", "Teapot", "tea", 24, "Cast iron"),
        ("p2", "Kettle", "tea", 39.5, ""),
        ("p3", "Skillet", "pans", 55, "Steel"),
    ]
}  # fmt: skip
RANKED = pd.DataFrame(
    {
        "customer_id": ["c2", "c2", "c1"],
        "rank": [1, 2, 1],
        "product_id": ["p3", "p1", "p1"],
        "score": [0.9, 0.5, 0.7],
    }
)
BECAUSE = [["p1", "gone"], [], ["p2"]]  # "gone": a product no longer in the catalog is not cited


def _pick(rank, product_id, score, because, new_arrival=False, reason="because_you_bought"):
    return {"rank": rank, "product_id": product_id, **CATALOG[product_id], "price": float(CATALOG[product_id]["price"]),
            "score": score, "because_you_bought": because, "new_arrival": new_arrival, "fallback": False,
            "reason": reason}  # fmt: skip


def test_each_customer_gets_their_picks_in_rank_order_with_catalog_facts():
    picks = Picks(RANKED, BECAUSE, CATALOG)
    assert dict(picks) == {
        "c2": [_pick(1, "p3", 0.9, ["Teapot"]), _pick(2, "p1", 0.5, [], reason="popular")],
        "c1": [_pick(1, "p1", 0.7, ["Kettle"])],
    }
    assert list(picks) == ["c2", "c1"] and len(picks) == 2
    assert picks.get("c9", []) == [] and "c9" not in picks
    assert all(isinstance(pick["price"], float) and isinstance(pick["rank"], int) for pick in picks["c2"])
    # a product the model was trained without says so: its reasons are the purchases most like it
    assert Picks(RANKED, BECAUSE, CATALOG, new_arrivals=[True, False, False])["c2"] == [
        _pick(1, "p3", 0.9, ["Teapot"], new_arrival=True, reason="new_arrival"),
        _pick(2, "p1", 0.5, [], reason="popular"),
    ]  # fmt: skip


def test_a_pick_no_purchase_explains_says_why_it_is_there():
    """A pick that cites no purchase showed no reason on the review page nor in the API (31 of 1,407 picks of a
    campaign on Online Retail): one the customer bought is there again as a re-order, one new to them by what the
    model reads of the whole shop, a fallback by its popularity, a new arrival by its likeness; one that cites a
    purchase, because of it. A purchase that may not be cited (POSTAGE) leaves the pick to those reasons."""
    postage = {**CATALOG, "p1": {**CATALOG["p1"], "recommendable": False}}
    reasons = [pick["reason"] for picks in Picks(RANKED, BECAUSE, postage).values() for pick in picks]
    assert reasons == ["popular", "popular", "because_you_bought"]
    again = Picks(RANKED, BECAUSE, postage, bought_before=[True, True, True])
    assert [pick["reason"] for picks in again.values() for pick in picks] == [
        "bought_before", "bought_before", "because_you_bought"
    ]  # fmt: skip
    marked = Picks(RANKED, BECAUSE, CATALOG, new_arrivals=[False, True, False], fallbacks=[False, False, True])
    assert [pick["reason"] for picks in marked.values() for pick in picks] == [
        "because_you_bought", "new_arrival", "fallback"
    ]  # fmt: skip


def test_a_purchase_that_is_no_merchandise_is_no_reason():
    """ "Because you bought POSTAGE": a product the catalog marks not recommendable is not cited."""
    postage = {**CATALOG, "p2": {**CATALOG["p2"], "recommendable": False}}
    assert Picks(RANKED, BECAUSE, postage)["c1"][0]["because_you_bought"] == []
    assert Picks(RANKED, BECAUSE, postage)["c2"][0]["because_you_bought"] == ["Teapot"]


def test_a_purchase_named_as_the_pick_itself_is_no_reason_and_no_name_is_cited_twice():
    """A catalog holding one product under two skus (Online Retail has 172 such names) explained "Teapot" with
    "because you bought Teapot"; two bought skus of one name were cited as "Kettle, Kettle"."""
    twins = {**CATALOG, "p4": {**CATALOG["p1"], "name": " teapot"}, "p5": {**CATALOG["p2"]}}
    because = [["p4", "p1"], [], ["p4", "p2", "p5", "p3"]]
    picks = Picks(RANKED, because, twins)
    assert picks["c2"][0]["because_you_bought"] == [" teapot"]  # p3, a skillet: the teapot once, of two skus
    assert picks["c1"][0]["because_you_bought"] == ["Kettle", "Skillet"]  # p1, the teapot: not its twin p4


def test_picks_of_a_customer_must_come_together():
    scattered = RANKED.iloc[[0, 2, 1]].reset_index(drop=True)
    with pytest.raises(ValueError, match="together"):
        Picks(scattered, BECAUSE, CATALOG)


def test_no_picks_is_an_empty_mapping():
    picks = Picks(RANKED.iloc[:0], [], CATALOG)
    assert len(picks) == 0 and picks.get("c1") is None


def test_requests_share_one_fact_per_product():
    picks = Picks(RANKED, BECAUSE, CATALOG)
    audience = pd.DataFrame({"customer_id": ["c1", "c2"], "first_name": ["Ana", ""], "locale": ["en", "de"],
                             "segment": ["loyal", "at_risk"]})  # fmt: skip
    requests = DraftRequests(audience, picks, "cross_sell")
    first, second = requests
    assert len(requests) == 2 and requests[-1] == second and requests[0:1] == [first] and requests[0] is not first
    assert [p.product_id for p in first.products] == ["p1"] and [p.product_id for p in second.products] == ["p3", "p1"]
    assert first.products[0] is second.products[1]
    assert second.products[0].model_dump() == {
        "product_id": "p3", "name": "Skillet", "category": "pans", "price": 55.0, "currency": "EUR",
        "url": "https://shop.example/p3", "description": "Steel",
    }  # fmt: skip
    assert first.customer.first_name == "Ana" and second.customer.locale == "de"


@pytest.fixture(scope="module")
def fitted_shop():
    """A model fitted on the checkerboard shop, its catalog with the products frame's columns, the customers and
    each one's expected first pick."""
    interactions, catalog, first = checkerboard()
    model = create("item_knn").fit(interactions, catalog)
    catalog = catalog.assign(currency="EUR", url="https://shop.example/p")  # the products frame's columns
    return model, catalog, sorted(interactions["customer_id"].unique()), first


def test_an_audience_ranked_in_chunks_gets_the_picks_it_gets_in_one_piece(fitted_shop):
    """A campaign ranks its audience a chunk of customers at a time and asks what each chunk bought for that chunk
    alone: every customer gets the same picks, reasons and order as when the audience is ranked in one piece."""
    model, catalog, shop_customers, first = fitted_shop
    customers = [*shop_customers[:7], "stranger"]
    since_fit = {customers[1]: {first[customers[1]]}}  # their first pick, bought after the model was fitted
    asked = []

    def bought(customer_ids):
        asked.append(list(customer_ids))
        fitted = model.purchases_of(customer_ids)
        return {c: seen | since_fit.get(c, set()) for c, seen in zip(customer_ids, fitted, strict=True)}

    chunked = recommend_products(model, customers, catalog, 3, Rules(), bought=bought, chunk_size=3)
    assert asked == [customers[:3], customers[3:6], customers[6:]]
    whole = recommend_products(model, customers, catalog, 3, Rules(), bought=bought, chunk_size=100)
    assert list(chunked) == list(whole) == customers and dict(chunked) == dict(whole)
    assert first[customers[1]] not in [pick["product_id"] for pick in chunked[customers[1]]]
    assert chunked[customers[0]][0]["product_id"] == first[customers[0]]
    assert any(pick["because_you_bought"] for picks in chunked.values() for pick in picks)


def test_a_customer_named_twice_in_an_audience_is_ranked_once(fitted_shop):
    model, catalog, _, _ = fitted_shop
    customers = ["c0", "c1", "c2", "c0"]
    picks = recommend_products(model, customers, catalog, 3, Rules(), chunk_size=2)
    assert list(picks) == ["c0", "c1", "c2"] and dict(picks) == dict(
        recommend_products(model, customers[:3], catalog, 3, Rules())
    )


def test_a_product_marked_no_merchandise_after_its_email_was_written_holds_the_email_back():
    """A draft written before POSTAGE was marked not recommendable went out with it: approval and sending check
    the catalog's stock and price, and now this too."""
    from types import SimpleNamespace

    from service.pipeline.freshness import changed_facts

    shown = [{"product_id": "POST", "name": "POSTAGE", "price": 18.0, "currency": "GBP"}]
    marked = {"POST": SimpleNamespace(recommendable=False, in_stock=True, price=18.0, currency="GBP")}
    assert changed_facts(shown, marked) == ["POSTAGE (POST) is marked as no merchandise (not recommendable)"]
    still = {"POST": SimpleNamespace(recommendable=True, in_stock=True, price=18.0, currency="GBP")}
    assert changed_facts(shown, still) == []


def test_a_re_order_and_a_pick_for_a_customer_of_no_history_say_so(fitted_shop):
    """What the model ranks a list by when no purchase explains a pick reaches it: a stranger's list is the shop's
    popular products, a reminder's only product the customer's own purchase again."""
    model, catalog, _, _ = fitted_shop
    picks = recommend_products(model, ["c0", "stranger"], catalog, 3, Rules())
    assert [pick["reason"] for pick in picks["stranger"]] == ["popular"] * 3
    assert picks["c0"][0]["reason"] == "because_you_bought"
    reminder = Rules(exclude_bought=False, bought_only=True)
    (again,) = recommend_products(model, ["c0"], catalog, 3, reminder, bought=lambda ids: {"c0": {"a1"}})["c0"]
    assert (again["product_id"], again["because_you_bought"], again["reason"]) == ("a1", [], "bought_before")


def test_picks_read_a_product_listed_twice_as_its_first_row_and_cite_no_purchase_gone_from_the_catalog(fitted_shop):
    """Picks read the catalog rows of the products picked and cited alone: a product listed again further down
    reads as its first row, in the picks and in the reasons, and a purchase no longer in the catalog is not cited,
    as when the whole catalog was read."""
    model, catalog, _, _ = fitted_shop
    customers = ["c0", "c1", "c2"]
    picks = recommend_products(model, customers, catalog, 3, Rules())
    cited = {name for listed in picks.values() for pick in listed for name in pick["because_you_bought"]}
    assert cited and all(picks.values())
    listed_again = catalog.assign(name=catalog["name"] + " (again)", price=catalog["price"] + 1)
    assert dict(recommend_products(model, customers, pd.concat([catalog, listed_again]), 3, Rules())) == dict(picks)
    (gone,) = [product for product, name in zip(catalog["product_id"], catalog["name"], strict=True)
               if name == sorted(cited)[0]]  # fmt: skip
    without = recommend_products(model, customers, catalog[catalog["product_id"] != gone], 3, Rules())
    assert sorted(cited)[0] not in {
        name for listed in without.values() for p in listed for name in p["because_you_bought"]
    }
    assert {name for listed in without.values() for p in listed for name in p["because_you_bought"]} == cited - {
        sorted(cited)[0]
    }
