"""New arrivals as ``service.pipeline.generate`` serves them: their likeness, kept for the API's requests, compared
once by requests side by side after a catalog change; a new arrival the customer bought since the training (a
re-order reminder's, the API's with include_seen) is no new arrival to them; a campaign's drafts hold new
arrivals, told on the review page, unless the shop turns them off; and a catalog of which the model knows nothing and
cold start ranks nothing is told as such, with what to do."""

from __future__ import annotations

import re
import threading

import pandas as pd
import pytest
from markupsafe import escape
from sqlalchemy import select

from recommenders.cold_start import Likeness, NewArrivals
from recommenders.registry import create
from recommenders.rules import Rules
from service.db.models import Customer, Interaction, Product
from service.db.session import session_scope
from service.pipeline import generate
from tests.recommenders.contract import checkerboard
from tests.recommenders.test_cold_start import arrived
from tests.service.conftest import generated_campaign, trained_shop, upload, wait_for_job


def test_requests_side_by_side_compare_a_new_catalog_once(monkeypatch):
    interactions, catalog, _ = checkerboard()
    model = create("item_knn").fit(interactions, catalog)
    new = pd.DataFrame(
        {
            "product_id": [f"new{i}" for i in range(4_000)],
            "name": [f"red rose item {i}" for i in range(4_000)],
            "description": "red flower petals",
            "price": 5.0,
            "in_stock": True,
        }
    )
    current = pd.concat([catalog, new], ignore_index=True)
    compared = []
    real = Likeness.of.__func__

    def counted(cls, model, catalog):
        compared.append(catalog)
        return real(cls, model, catalog)

    monkeypatch.setattr(Likeness, "of", classmethod(counted))
    monkeypatch.setattr(generate, "_LAST_LIKENESS", None)
    start, served = threading.Barrier(4), []

    def request() -> None:
        start.wait()
        served.append(generate.with_kept_new_arrivals(model, current))

    requests = [threading.Thread(target=request) for _ in range(4)]
    for thread in requests:
        thread.start()
    for thread in requests:
        thread.join()
    assert len(served) == 4 and all(isinstance(each, NewArrivals) for each in served)
    assert len({id(each.likeness) for each in served}) == 1
    assert len(compared) == 1


def test_a_new_arrival_the_customer_bought_since_the_training_is_no_new_arrival_to_them():
    interactions, catalog, _ = checkerboard()
    model = create("item_knn").fit(interactions, catalog)
    current = arrived(catalog, new_red=catalog.iloc[0][["name", "category", "description"]].to_dict())
    current = current.assign(currency="EUR", url="https://shop.example/p")  # the products frame's columns
    bought = {"c0": set(model.purchases_of(["c0"])[0]) | {"new_red"}, "c1": set(model.purchases_of(["c1"])[0])}
    seen = Rules(exclude_bought=False)
    picks = generate.recommend_products(model, ["c0", "c1"], current, 8, seen, bought=lambda ids: bought)
    flags = {customer: {p["product_id"]: p["new_arrival"] for p in picks[customer]} for customer in ("c0", "c1")}
    assert flags["c0"]["new_red"] is False and flags["c1"]["new_red"] is True
    reminder = Rules(bought_only=True, reorderable_only=True, reorderable_products=frozenset(current["product_id"]))
    reminded = generate.recommend_products(model, ["c0"], current, 10, reminder, bought=lambda ids: bought)
    assert [p["new_arrival"] for p in reminded["c0"] if p["product_id"] == "new_red"] == [False]


def _bought_names(engine, customer_id: str) -> set[str]:
    with session_scope(engine) as session:
        return set(
            session.scalars(
                select(Product.name)
                .join(Interaction, Interaction.product_id == Product.id)
                .join(Customer, Customer.id == Interaction.customer_id)
                .where(Customer.external_id == customer_id, Interaction.kind == "purchase")
            )
        )


@pytest.mark.slow
def test_a_campaign_shows_new_arrivals_on_the_review_page_unless_the_shop_turns_them_off(
    client, engine, demo_files, tmp_path, monkeypatch
):
    """A draft's new arrival reads "new, like X you bought" on the review page, X a product the customer bought (no
    test rendered it); TAILOR_CAMPAIGN_NEW_ARRIVALS=false leaves new arrivals out of a campaign (a shop could not)."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    products = pd.read_csv(demo_files["products"])
    deluxe = products.assign(sku="NEW-" + products["sku"], name=products["name"] + " Deluxe")  # after the training
    pd.concat([products, deluxe]).to_csv(tmp_path / "products.csv", index=False)
    assert upload(client, "products", tmp_path / "products.csv").status_code == 200

    campaign_id = generated_campaign(client, max_customers=10)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    draft, pick = next(
        (draft, pick)
        for draft in drafts
        for pick in draft["recommendations"]
        if pick["new_arrival"] and pick["because_you_bought"]
    )
    assert pick["product_id"].startswith("NEW-")
    assert set(pick["because_you_bought"]) <= _bought_names(engine, draft["customer_id"])
    page = client.get(f"/review/drafts/{draft['id']}")
    assert page.status_code == 200
    line = next(line for line in re.findall(r"<li>(.*?)</li>", page.text) if f">{pick['product_id']}<" in line)
    assert line.startswith(f"<bdi>{escape(pick['name'])}</bdi>") and "because you bought" not in line, line
    bought = ", ".join(f"<bdi>{escape(name)}</bdi>" for name in pick["because_you_bought"])  # isolated, as names are
    assert f"new, like {bought} you bought" in line, line

    monkeypatch.setenv("TAILOR_CAMPAIGN_NEW_ARRIVALS", "false")
    without = client.get(f"/campaigns/{generated_campaign(client, max_customers=10)}/drafts").json()
    picks = [pick for draft in without for pick in draft["recommendations"]]
    assert picks and not any(pick["new_arrival"] or pick["product_id"].startswith("NEW-") for pick in picks)


@pytest.mark.slow
def test_a_catalog_the_recommender_knows_nothing_of_is_told_with_what_to_do(client, demo_files, tmp_path, monkeypatch):
    """A range replaced whole after the training by products like none it knows: every list was empty, the API
    answered [] and a campaign wrote e-mails without a product, each flagged as if the rules had left its customer's
    out. The API and the campaign's job now say why, and what to do, before any copy is written."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    products = pd.read_csv(demo_files["products"])
    unlike = products.assign(
        sku="NEW-" + products["sku"], name=[f"Qwxz {i}" for i in range(len(products))], category="Zyzzyva",
        description="Vrkl",
    )  # fmt: skip
    pd.concat([products.assign(in_stock=False), unlike]).to_csv(tmp_path / "products.csv", index=False)
    assert upload(client, "products", tmp_path / "products.csv").status_code == 200
    customer = pd.read_csv(demo_files["orders"])["customer_id"].iloc[0]

    answer = client.get(f"/customers/{customer}/recommendations", params={"k": 5})
    assert answer.status_code == 409 and answer.json()["error"] == "NotReady", answer.text
    told = answer.json()["message"]
    for_sale = int(unlike["in_stock"].sum())  # the demo's sold-out products are none it may show
    assert f"knows none of the {for_sale} products it may show" in told and "POST /train" in told, told
    assert "reads like one it knows" in told and "nor was any of them bought in the shop's orders" in told

    campaign_id = client.post(
        "/campaigns", json={"name": "New range", "brand": "hearth", "campaign_type": "cross_sell"}
    ).json()["id"]
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])
    assert job["status"] == "failed" and "knows none of the" in job["error"], job
    assert client.get(f"/campaigns/{campaign_id}/drafts").json() == []

    monkeypatch.setenv("TAILOR_CAMPAIGN_NEW_ARRIVALS", "false")
    told = client.get(f"/customers/{customer}/recommendations", params={"k": 5}).json()["message"]
    assert "TAILOR_CAMPAIGN_NEW_ARRIVALS=false" in told and "POST /train" in told, told
