"""Recommendations for one customer through the API, on a trained demo slice: business rules as query options,
facts from the catalog, explanations, and clear errors for contradictory options."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.db.models import Customer, Interaction, Product
from service.db.session import session_scope
from tests.service.conftest import generated_campaign, trained_shop, upload

pytestmark = pytest.mark.slow


@pytest.fixture
def trained(client, engine, demo_files):
    trained_shop(client, demo_files)
    with session_scope(engine) as session:
        catalog = {p.sku: (p.category, p.price, p.in_stock, p.name) for p in session.scalars(select(Product))}
        bought: dict[str, set[str]] = {}  # purchases only: the demo shop's views and carts are not bought
        for customer, sku in session.execute(
            select(Customer.external_id, Product.sku)
            .select_from(Interaction)
            .join(Product, Product.id == Interaction.product_id)
            .join(Customer, Customer.id == Interaction.customer_id)
            .where(Interaction.kind == "purchase")
        ):
            bought.setdefault(customer, set()).add(sku)
    return catalog, bought


def test_rules_shape_one_customers_list(client, trained):
    catalog, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))  # the richest history: every rule has work to do
    url = f"/customers/{customer}/recommendations"

    plain = client.get(url, params={"k": 10})
    assert plain.status_code == 200, plain.text
    items = plain.json()
    assert [i["rank"] for i in items] == list(range(1, 11))  # a catalog of far more than 10 in stock: a full list
    bought_names = {catalog[sku][3] for sku in bought[customer]}
    for item in items:
        _category, price, in_stock, _name = catalog[item["sku"]]
        assert in_stock and item["price"] == price  # facts from the catalog, out-of-stock never shown
        assert item["sku"] not in bought[customer]  # bought products are left out by default
        assert set(item["because_you_bought"]) <= bought_names  # never a product only viewed or carted
    assert any(item["because_you_bought"] for item in items)  # explanations come with the list
    # and each product says why it is there: by the purchases it names, or none named, by what ranked it
    assert all((item["reason"] == "because_you_bought") == bool(item["because_you_bought"]) for item in items)
    assert {item["reason"] for item in items} <= {"because_you_bought", "popular"}

    one_each = client.get(url, params={"k": 10, "max_per_category": 1}).json()
    categories = [catalog[i["sku"]][0] for i in one_each]
    open_categories = {c for sku, (c, _, stock, _) in catalog.items() if stock and sku not in bought[customer]}
    assert len(categories) == len(set(categories)) == min(10, len(open_categories))  # one of each it can have

    again = client.get(url, params={"k": 10, "include_seen": True}).json()
    assert {i["sku"] for i in again} & bought[customer]  # asked for re-orders, a heavy buyer gets some

    usual = sorted(catalog[sku][1] for sku in bought[customer])[len(bought[customer]) // 2]
    band = client.get(url, params={"k": 10, "price_band_low": 0.5, "price_band_high": 2.0}).json()
    assert band and all(0.5 * usual <= catalog[i["sku"]][1] <= 2.0 * usual for i in band)  # an empty list passed


def test_contradictory_rule_options_name_the_field(client, trained):
    customer = client.get("/customers", params={"limit": 1}).json()[0]["customer_id"]
    url = f"/customers/{customer}/recommendations"
    only_low = client.get(url, params={"price_band_low": 0.5})
    assert only_low.status_code == 422 and "price_band_high" in only_low.json()["message"]
    upside_down = client.get(url, params={"price_band_low": 2, "price_band_high": 1})
    assert upside_down.status_code == 422 and "price_band_low" in upside_down.json()["message"]
    negative = client.get(url, params={"max_per_category": 0})
    assert negative.status_code == 422 and "max_per_category" in str(negative.json())
    no_family = client.get(url, params={"max_per_family": 0})
    assert no_family.status_code == 422 and "max_per_family" in str(no_family.json())
    assert client.get(url, params={"max_per_family": 1}).status_code == 200  # a rule it takes, not a misspelt one


def test_a_misspelt_rule_is_refused_naming_it_not_ignored(client, trained):
    """?max_per_categroy=1 answered 200 with a list holding several products of a category: the merchandiser's
    rule was dropped without a word."""
    catalog, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))
    url = f"/customers/{customer}/recommendations"
    misspelt = client.get(url, params={"k": 10, "max_per_categroy": 1})
    assert misspelt.status_code == 422, misspelt.text
    [problem] = misspelt.json()["problems"]
    assert problem["field"] == "query.max_per_categroy" and "max_per_category" in problem["message"], problem
    spelt = client.get(url, params={"k": 10, "max_per_category": 1})
    categories = [catalog[item["sku"]][0] for item in spelt.json()]
    assert spelt.status_code == 200 and len(categories) == len(set(categories)), spelt.text


def test_margin_and_new_arrival_boosts_come_from_the_imported_catalog(client, trained, demo_files, tmp_path):
    """Products imported with a margin and an arrival day can be boosted: a strong boost brings the customer's
    highest-margin candidate (or a new arrival) to the top, and the catalog shows the imported values."""
    import pandas as pd

    catalog, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))
    url = f"/customers/{customer}/recommendations"
    plain = [i["sku"] for i in client.get(url, params={"k": 10}).json()]
    rich, fresh = plain[-1], plain[-2]  # the model's 10th and 9th choices
    products = pd.read_csv(demo_files["products"])
    products["margin"] = [10.0 if sku == rich else 1.0 for sku in products["sku"]]
    recent = (pd.Timestamp.now() - pd.Timedelta(days=3)).isoformat(timespec="seconds")
    products["arrived_at"] = [recent if sku == fresh else "2020-01-01" for sku in products["sku"]]
    products.loc[products["sku"] == plain[0], "arrived_at"] = ""  # optional: an unknown arrival day is no boost
    products.to_csv(tmp_path / "products.csv", index=False)
    assert upload(client, "products", tmp_path / "products.csv").status_code == 200

    assert client.get(url, params={"k": 10, "boost_margin": 5}).json()[0]["sku"] == rich
    boosted = client.get(url, params={"k": 10, "boost_new": 5}).json()
    assert boosted[0]["product_id"] == boosted[0]["sku"] == fresh  # named by product_id, and still by sku
    assert client.get(url, params={"k": 10, "boost_recently_arrived": 5}).json()[0]["product_id"] == fresh  # its name
    assert [i["sku"] for i in client.get(url, params={"k": 10}).json()] == plain  # no boost asked, no change
    shown = client.get(f"/products/{rich}").json()
    assert shown["margin"] == 10.0 and shown["arrived_at"].startswith("2020-01-01")
    assert client.get(url, params={"boost_margin": -1}).status_code == 422


def test_a_product_bought_since_the_training_is_not_recommended(client, trained, tmp_path):
    """Orders imported after `tailor train` were unknown to the rules: the product bought yesterday stayed first."""
    customer, first, price = _first_pick(client, trained)
    again = _picks_after_orders(
        client, customer, tmp_path, f"LATE-1,{customer},{first},1,{price},2026-11-30T10:00:00,purchase"
    )
    assert first not in again and len(again) == 3


def test_a_product_bought_and_returned_whole_is_not_bought(client, trained, tmp_path):
    """The rules read purchases from the database as they were: a product bought and sent back in full the same
    day (Online Retail's customer 12346 and its 74,215 jars) was left out as "already bought", while the models,
    trained net of such returns, never saw it bought."""
    customer, first, price = _first_pick(client, trained)
    again = _picks_after_orders(
        client, customer, tmp_path, f"BACK-1,{customer},{first},2,{2 * price},2026-11-30T10:00:00,purchase",
        f"CBACK-1,{customer},{first},-2,{-2 * price},2026-11-30T10:05:00,return",
    )  # fmt: skip
    assert again[0] == first  # not bought: still the first pick of cross-sell


def test_a_reorderable_category_is_the_catalog_s_in_any_case_and_a_misspelt_one_is_named(client, trained):
    """`reorderable_categories=pantry` (the catalog says "Pantry") and `=Pantyr` were both taken and did nothing:
    the customer's bought products of that category still never came again, and nothing said why."""
    catalog, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))
    categories = [category for category, *_ in catalog.values()]
    category = max({catalog[sku][0] for sku in bought[customer]}, key=categories.count)  # their most common one
    url = f"/customers/{customer}/recommendations"
    as_spelt = client.get(url, params={"k": 50, "reorderable_categories": category}).json()
    lower = client.get(url, params={"k": 50, "reorderable_categories": category.lower()})
    assert lower.status_code == 200 and lower.json() == as_spelt
    assert {i["sku"] for i in as_spelt} & {sku for sku in bought[customer] if catalog[sku][0] == category}
    misspelt = client.get(url, params={"reorderable_categories": category + "x"})
    assert misspelt.status_code == 422, misspelt.text
    (problem,) = misspelt.json()["problems"]
    assert problem["field"] == "query.reorderable_categories" and category in problem["message"]


def test_a_reorderable_category_spelt_two_ways_in_the_catalog_brings_back_both(client, trained, demo_files, tmp_path):
    """A catalog holding "Pantry" and "pantry" (one product re-imported lowercased) kept one spelling: asked for
    `Pantry`, the customer's products filed under it still never came again, and the 422 for a misspelt category
    listed one of the two."""
    import pandas as pd

    catalog, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))
    in_stock = [sku for sku in sorted(bought[customer]) if catalog[sku][2]]
    category = max({catalog[sku][0] for sku in in_stock}, key=[catalog[sku][0] for sku in in_stock].count)
    first, *others = [sku for sku in in_stock if catalog[sku][0] == category]
    assert others, "the richest customer bought two products of a category"
    products = pd.read_csv(demo_files["products"])
    products.loc[products["sku"] == first, "category"] = category.lower()
    products.to_csv(tmp_path / "products.csv", index=False)
    assert upload(client, "products", tmp_path / "products.csv").status_code == 200

    url = f"/customers/{customer}/recommendations"
    for asked in (category, category.lower()):
        shown = {i["sku"] for i in client.get(url, params={"k": 100, "reorderable_categories": asked}).json()}
        assert first in shown and set(others) & shown, (asked, shown)
    misspelt = client.get(url, params={"reorderable_categories": category + "x"}).json()["problems"][0]["message"]
    assert f"{category}, " in misspelt and f"{category.lower()}" in misspelt, misspelt


def _first_pick(client, trained) -> tuple[str, str, float]:
    """A customer who bought before the training, their first pick of three, and its price."""
    catalog, bought = trained
    customer = next(iter(sorted(bought)))
    first = client.get(f"/customers/{customer}/recommendations", params={"k": 3}).json()[0]["sku"]
    return customer, first, catalog[first][1]


def _picks_after_orders(client, customer: str, tmp_path, *lines: str) -> list[str]:
    """The customer's three picks once an orders file of ``lines`` (order_id, customer_id, product_id, quantity,
    amount, timestamp, kind) is imported."""
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,product_id,quantity,amount,timestamp,kind\n" + "\n".join(lines) + "\n")
    assert upload(client, "orders", orders).status_code == 200
    return [r["sku"] for r in client.get(f"/customers/{customer}/recommendations", params={"k": 3}).json()]


def _new_version_of_a_favourite(client, trained, demo_files, tmp_path):
    """Import, after the training, NEW-LIKE (the richest customer's favourite "Deluxe") and NEW-ODD (like nothing):
    that customer's recommendations address and the favourite's catalog row."""
    import pandas as pd

    _, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))
    url = f"/customers/{customer}/recommendations"
    favourite = client.get(url, params={"k": 3, "include_seen": True}).json()[0]["sku"]  # what the model ranks first
    assert favourite in bought[customer]
    products = pd.read_csv(demo_files["products"])
    original = products[products["sku"] == favourite].iloc[0]
    arrivals = pd.DataFrame(
        [
            original.to_dict() | {"sku": "NEW-LIKE", "name": f"{original['name']} Deluxe"},
            original.to_dict() | {"sku": "NEW-ODD", "name": "Qwxz", "category": "Zyzzyva", "description": "Vrkl"},
        ]
    )
    pd.concat([products, arrivals]).to_csv(tmp_path / "products.csv", index=False)
    assert upload(client, "products", tmp_path / "products.csv").status_code == 200
    return url, original


def test_a_product_imported_after_the_training_is_recommended_to_who_buys_its_like(client, trained, demo_files,
                                                                                   tmp_path):  # fmt: skip
    """A product imported after `tailor train` was unknown to the model and never recommended until the next
    training: a customer who keeps buying a product now gets its new version, told why; one like nothing in the
    catalog comes to nobody's list."""
    _, bought = trained
    url, original = _new_version_of_a_favourite(client, trained, demo_files, tmp_path)
    picks = client.get(url, params={"k": 10}).json()
    new = [pick for pick in picks if pick["sku"] == "NEW-LIKE"]
    assert new and new[0]["new_arrival"] and original["name"] in new[0]["because_you_bought"], picks
    assert not any(pick["new_arrival"] for pick in picks if pick["sku"] != "NEW-LIKE")
    for someone in sorted(bought)[:20]:
        shown = client.get(f"/customers/{someone}/recommendations", params={"k": 10})
        assert shown.status_code == 200 and "NEW-ODD" not in {pick["sku"] for pick in shown.json()}


def test_a_shop_that_turns_new_arrivals_off_gets_the_models_picks_alone(client, trained, demo_files, tmp_path,
                                                                        monkeypatch):  # fmt: skip
    """Cold start costs the known products some accuracy (NDCG@10 0.1412 -> 0.1392 on Online Retail), and a shop
    could not turn it off: TAILOR_CAMPAIGN_NEW_ARRIVALS=false leaves a product imported since the training out."""
    url, _ = _new_version_of_a_favourite(client, trained, demo_files, tmp_path)
    assert "NEW-LIKE" in {pick["sku"] for pick in client.get(url, params={"k": 10}).json()}  # on by default
    monkeypatch.setenv("TAILOR_CAMPAIGN_NEW_ARRIVALS", "false")
    picks = client.get(url, params={"k": 10}).json()
    assert len(picks) == 10 and not any(pick["new_arrival"] for pick in picks), picks
    assert not {"NEW-LIKE", "NEW-ODD"} & {pick["sku"] for pick in picks}


def test_the_shop_s_discount_sets_how_far_below_its_twin_a_new_arrival_is_ranked(client, trained, demo_files,
                                                                                 tmp_path, monkeypatch):  # fmt: skip
    """TAILOR_CAMPAIGN_NEW_ARRIVALS_DISCOUNT: at 0 the favourite's new version is ranked at its twin's score, higher
    than at the default 1; at 10 below every candidate; out of its bounds (negative, above 10, not a number) it is
    refused, naming it."""
    from pydantic import ValidationError

    from recommenders.cold_start import DISCOUNT
    from service.settings import CampaignSettings

    assert CampaignSettings().new_arrivals_discount == DISCOUNT  # the settings' own default, not imported
    url, _ = _new_version_of_a_favourite(client, trained, demo_files, tmp_path)
    default = [pick["sku"] for pick in client.get(url, params={"k": 10}).json()]
    monkeypatch.setenv("TAILOR_CAMPAIGN_NEW_ARRIVALS_DISCOUNT", "0")
    near = [pick["sku"] for pick in client.get(url, params={"k": 10}).json()]
    monkeypatch.setenv("TAILOR_CAMPAIGN_NEW_ARRIVALS_DISCOUNT", "10")
    far = [pick["sku"] for pick in client.get(url, params={"k": 10}).json()]
    assert "NEW-LIKE" in default and near.index("NEW-LIKE") < default.index("NEW-LIKE"), (near, default)
    assert "NEW-LIKE" not in far and len(far) == 10, far
    for wrong in ("-0.5", "11", "nan"):
        monkeypatch.setenv("TAILOR_CAMPAIGN_NEW_ARRIVALS_DISCOUNT", wrong)
        with pytest.raises(ValidationError, match="new_arrivals_discount"):
            CampaignSettings()


def test_a_range_replaced_whole_since_the_training_is_recommended_by_the_range_it_replaced(client, trained, demo_files,
                                                                                           tmp_path):  # fmt: skip
    """A shop that replaced its whole range after `tailor train` (each product sold out, a new version of it in
    stock) got empty lists, and campaigns that showed no product: the model knew nothing for sale. Each customer now
    gets the new versions of what the model would have shown them or of what they buy (a new print of a customer's
    usual comes first among the products new to them), told as new and why."""
    import pandas as pd

    _, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))
    url = f"/customers/{customer}/recommendations"
    before = [pick["sku"] for pick in client.get(url, params={"k": 10}).json()]
    products = pd.read_csv(demo_files["products"])
    renewed = products.assign(sku="NEW-" + products["sku"], name=products["name"] + " Deluxe")
    pd.concat([products.assign(in_stock=False), renewed]).to_csv(tmp_path / "products.csv", index=False)
    assert upload(client, "products", tmp_path / "products.csv").status_code == 200

    picks = client.get(url, params={"k": 10}).json()
    assert len(picks) == 10 and all(pick["new_arrival"] and pick["sku"].startswith("NEW-") for pick in picks), picks
    renewed_of_theirs = {f"NEW-{sku}" for sku in {*before, *bought[customer]}}
    assert len(renewed_of_theirs & {pick["sku"] for pick in picks}) >= 8, (before, picks)
    bought_names = set(products.loc[products["sku"].isin(bought[customer]), "name"])
    assert any(pick["because_you_bought"] for pick in picks)
    assert all(set(pick["because_you_bought"]) <= bought_names for pick in picks)


def test_scores_are_shown_to_six_significant_digits_in_the_order_of_their_ranks(client, trained, monkeypatch):
    """Scores came with the float noise of the sums that made them (0.8200000000000001); shown rounded, the list's
    order is still the ranks', as the model gave it. So are the scores of a draft's products."""
    _catalog, bought = trained
    customer = max(bought, key=lambda c: len(bought[c]))
    items = client.get(f"/customers/{customer}/recommendations", params={"k": 20}).json()
    scores = [item["score"] for item in items]
    assert [item["rank"] for item in items] == list(range(1, 21))
    assert all(float(f"{score:.6g}") == score for score in scores), scores
    assert scores == sorted(scores, reverse=True), scores
    assert len(set(scores)) > 1  # rounded, they still tell the products apart

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = generated_campaign(client, max_customers=5)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    picks = [pick for draft in drafts for pick in draft["recommendations"]]
    assert picks and all(float(f"{pick['score']:.6g}") == pick["score"] for pick in picks), picks
    assert [pick["score"] for pick in drafts[0]["recommendations"]] == [
        pick["score"] for pick in client.get(f"/drafts/{drafts[0]['id']}").json()["recommendations"]
    ]


def test_the_review_page_says_why_a_product_no_purchase_explains_is_in_the_email(client, trained, engine, monkeypatch):
    """A product that named no purchase showed no reason on the review page: it says now what ranked it, popular in
    the shop or bought before. A draft stored before picks had a reason shows what it showed."""
    from html import unescape

    from markupsafe import escape

    from service.db.models import Draft

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = generated_campaign(client, max_customers=5)
    drafts = [draft for draft in client.get(f"/campaigns/{campaign_id}/drafts").json() if draft["recommendations"]]
    assert all(pick["reason"] for draft in drafts for pick in draft["recommendations"])
    first, second, third = (dict(pick) for pick in drafts[0]["recommendations"][:3])
    unexplained = [
        {**first, "because_you_bought": [], "reason": "popular"},
        {**second, "because_you_bought": [], "reason": "bought_before"},
        {key: value for key, value in third.items() if key != "reason"} | {"because_you_bought": []},
    ]
    with session_scope(engine) as session:
        session.get(Draft, drafts[0]["id"]).recommendations = unexplained
    page = client.get(f"/review/drafts/{drafts[0]['id']}")
    assert page.status_code == 200, page.text
    lines = {pick["product_id"]: line for line in re.findall(r"<li>(.*?)</li>", page.text) for pick in unexplained
             if f">{pick['product_id']}<" in line}  # fmt: skip
    assert "popular in the shop" in lines[first["product_id"]] and escape(first["name"]) in lines[first["product_id"]]
    assert "bought before" in lines[second["product_id"]]
    assert "popular" not in lines[third["product_id"]] and "bought" not in lines[third["product_id"]]
    # one that the model ranked by the customer's views (EASE's, ALS's, BPR's) is not said to be popular
    ranked_by_views = {**first, "because_you_bought": [], "reason": "activity"}
    with session_scope(engine) as session:
        session.get(Draft, drafts[0]["id"]).recommendations = [ranked_by_views]
    (line,) = re.findall(r"<li>(.*?)</li>", client.get(f"/review/drafts/{drafts[0]['id']}").text)
    assert "by this customer's views and other activity" in unescape(line) and "popular" not in line, line
