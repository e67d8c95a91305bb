"""The fallback list, through the API on SQLite and a campaign's job: a catalog the recommender knows nothing of, whose
products read like none it knows, was answered 409 NotReady and failed the campaign before any copy, though the
shop's orders since the training said which of them sell; a partly new one left lists short. Both are now filled
with the in-stock products the model cannot rank, by their recent popularity in the shop's orders, each marked as a
fallback (in the API's answer and on the review page), after the same business rules."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from markupsafe import escape

from tests.service.conftest import trained_shop, upload, wait_for_job

pytestmark = pytest.mark.slow

# Buyers of each new product since the training (NEW-5 none; NEW-6 many, but sold out), the first of NEW-1's being
# the customer asked about; NEW-2 costs far more than anything they buy.
BUYERS = {"NEW-0": 5, "NEW-1": 4, "NEW-2": 3, "NEW-3": 2, "NEW-4": 1, "NEW-5": 0, "NEW-6": 6}
CATEGORIES = {"NEW-0": "Zyzzyva", "NEW-2": "Zyzzyva"}  # the others "Quux"


def _new_range(client, demo_files, tmp_path, in_stock_before: list[str]) -> str:
    """After the training: the demo's products sold out but ``in_stock_before``, a range of products reading like
    none it knows, and orders of them (BUYERS); returns the customer asked about, one of NEW-1's buyers."""
    trained_shop(client, demo_files)
    products, orders = pd.read_csv(demo_files["products"]), pd.read_csv(demo_files["orders"])
    customers = orders["customer_id"].drop_duplicates().tolist()
    customer = customers[0]
    usual = products.set_index("sku")["price"].reindex(orders.loc[orders["customer_id"] == customer, "product_id"])
    price = float(usual.median())  # theirs stays the median with one more line at it: the price band's reference
    new = pd.DataFrame(
        {
            "sku": list(BUYERS),
            "name": [f"Qwxz {i}" for i in range(len(BUYERS))],
            "category": [CATEGORIES.get(sku, "Quux") for sku in BUYERS],
            "price": [price * 100 if sku == "NEW-2" else price for sku in BUYERS],
            "currency": "EUR",
            "description": "Vrkl",
            "url": [f"https://shop.example/p/{sku}" for sku in BUYERS],
            "in_stock": [sku != "NEW-6" for sku in BUYERS],
        }
    )
    catalog = pd.concat([products.assign(in_stock=products["sku"].isin(in_stock_before)), new])
    catalog.to_csv(tmp_path / "products.csv", index=False)
    assert upload(client, "products", tmp_path / "products.csv").status_code == 200
    since = pd.Timestamp(orders["timestamp"].max())
    lines = [
        {
            "order_id": f"N-{sku}-{n}",
            "customer_id": buyer,
            "product_id": sku,
            "quantity": 1.0,
            "amount": price,
            "discount": 0.0,
            "timestamp": since + pd.Timedelta(hours=n + 1),
            "kind": "purchase",
        }  # fmt: skip
        for sku, count in BUYERS.items()
        for n, buyer in enumerate((([customer] if sku == "NEW-1" else []) + customers[1:])[:count])
    ]
    pd.DataFrame(lines).to_csv(tmp_path / "orders.csv", index=False)
    assert upload(client, "orders", tmp_path / "orders.csv").status_code == 200
    return customer


def _asked(client, customer: str, **params) -> list[dict]:
    answer = client.get(f"/customers/{customer}/recommendations", params={"k": 5, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_catalog_the_recommender_knows_nothing_of_is_served_by_popularity_after_the_rules(
    client, demo_files, tmp_path, monkeypatch
):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    customer = _new_range(client, demo_files, tmp_path, in_stock_before=[])

    picks = _asked(client, customer)
    # by buyers, the bought NEW-1, the sold-out NEW-6 and the never-bought NEW-5 left out
    assert [pick["sku"] for pick in picks] == ["NEW-0", "NEW-2", "NEW-3", "NEW-4"]
    assert all(pick["fallback"] and not pick["new_arrival"] and pick["because_you_bought"] == [] for pick in picks)
    assert [pick["sku"] for pick in _asked(client, customer, max_per_category=1)] == ["NEW-0", "NEW-3"]
    banded = _asked(client, customer, price_band_low=0.5, price_band_high=2)
    assert [pick["sku"] for pick in banded] == ["NEW-0", "NEW-3", "NEW-4"]

    campaign_id = client.post(
        "/campaigns", json={"name": "New range", "brand": "hearth", "campaign_type": "cross_sell", "max_customers": 10}
    ).json()["id"]
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    shown = [pick for draft in drafts for pick in draft["recommendations"]]
    assert drafts and shown and all(pick["fallback"] for pick in shown)
    assert {pick["product_id"] for pick in shown} <= {"NEW-0", "NEW-1", "NEW-2", "NEW-3", "NEW-4"}
    draft = next(draft for draft in drafts if draft["recommendations"])
    page = client.get(f"/review/drafts/{draft['id']}")
    assert page.status_code == 200
    pick = draft["recommendations"][0]
    line = next(line for line in re.findall(r"<li>(.*?)</li>", page.text) if f">{pick['product_id']}<" in line)
    assert line.startswith(f"<bdi>{escape(pick['name'])}</bdi>") and "popular in the shop lately" in line, line


def test_a_partly_new_catalog_fills_short_lists_after_the_model_s_own_picks(client, demo_files, tmp_path):
    products, orders = pd.read_csv(demo_files["products"]), pd.read_csv(demo_files["orders"])
    customer = orders["customer_id"].iloc[0]
    never_bought = products.loc[~products["sku"].isin(orders.loc[orders["customer_id"] == customer, "product_id"])]
    known = never_bought["sku"].head(2).tolist()
    assert _new_range(client, demo_files, tmp_path, in_stock_before=known) == customer

    picks = _asked(client, customer)
    assert sorted(pick["sku"] for pick in picks[:2]) == sorted(known)
    assert [pick["sku"] for pick in picks[2:]] == ["NEW-0", "NEW-2", "NEW-3"]
    assert [pick["fallback"] for pick in picks] == [False, False, True, True, True]


def test_the_fallback_s_popularity_is_read_once_until_the_orders_or_the_catalog_change(
    client, engine, demo_files, tmp_path
):
    """Each request whose list came out short read every purchase of the shop again to rank the same products the
    same way; they are read once now, and again when an import changes the orders or the catalog, whose discontinued
    and repriced products are never served as they were."""
    from sqlalchemy import event

    customer = _new_range(client, demo_files, tmp_path, in_stock_before=[])
    others = pd.read_csv(demo_files["orders"])["customer_id"].drop_duplicates().tolist()[10:12]
    reads: list[str] = []

    def count_purchase_reads(_connection, _cursor, statement: str, *_args) -> None:
        if "GROUP BY" in statement and "max(interactions.timestamp)" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count_purchase_reads)
    try:
        assert [pick["sku"] for pick in _asked(client, customer)] == ["NEW-0", "NEW-2", "NEW-3", "NEW-4"]
        for other in others:
            assert all(pick["fallback"] for pick in _asked(client, other))
        assert len(reads) == 1

        catalog = pd.read_csv(tmp_path / "products.csv")
        catalog.loc[catalog["sku"] == "NEW-0", "in_stock"] = False
        catalog.loc[catalog["sku"] == "NEW-3", "price"] = 7.77
        catalog.to_csv(tmp_path / "products.csv", index=False)
        assert upload(client, "products", tmp_path / "products.csv").status_code == 200
        picks = _asked(client, customer)
        assert [pick["sku"] for pick in picks] == ["NEW-2", "NEW-3", "NEW-4"]
        assert picks[1]["price"] == 7.77
        assert len(reads) == 2

        buyers = pd.read_csv(demo_files["orders"])["customer_id"].drop_duplicates().tolist()[20:30]
        latest = pd.Timestamp(pd.read_csv(tmp_path / "orders.csv")["timestamp"].max())
        lines = pd.DataFrame(
            {
                "order_id": [f"L-{n}" for n in range(len(buyers))], "customer_id": buyers, "product_id": "NEW-4",
                "quantity": 1.0, "amount": 1.0, "discount": 0.0, "kind": "purchase",
                "timestamp": latest + pd.Timedelta(days=1),
            }
        )  # fmt: skip
        lines.to_csv(tmp_path / "orders.csv", index=False)
        assert upload(client, "orders", tmp_path / "orders.csv").status_code == 200
        assert [pick["sku"] for pick in _asked(client, customer)] == ["NEW-4", "NEW-2", "NEW-3"]
        assert len(reads) == 3
    finally:
        event.remove(engine, "before_cursor_execute", count_purchase_reads)


def test_an_order_line_corrected_in_place_ranks_the_fallback_again(client, demo_files, tmp_path):
    """An order line re-imported under its key (order, product, kind) with another date, or a return with another
    quantity and amount, is updated in place: the lines' count, newest id and latest moment stay, and the fallback
    kept ranking the products as before the correction until the next new line, return or product change."""
    customer = _new_range(client, demo_files, tmp_path, in_stock_before=[])
    assert [pick["sku"] for pick in _asked(client, customer)] == ["NEW-0", "NEW-2", "NEW-3", "NEW-4"]

    lines = pd.read_csv(tmp_path / "orders.csv", parse_dates=["timestamp"])
    dated = lines["product_id"] == "NEW-0"
    lines.loc[dated, "timestamp"] -= pd.Timedelta(days=365)  # its 5 buyers bought a year before: far less popular
    lines[dated].to_csv(tmp_path / "corrected.csv", index=False)
    corrected = upload(client, "orders", tmp_path / "corrected.csv")
    assert corrected.status_code == 200 and (corrected.json()["inserted"], corrected.json()["updated"]) == (0, 5)
    assert [pick["sku"] for pick in _asked(client, customer)] == ["NEW-2", "NEW-3", "NEW-4", "NEW-0"]

    # NEW-2's 3 buyers send back half of what they bought (a new line each: read again), then the whole of it
    returned = lines[lines["product_id"] == "NEW-2"].assign(
        order_id=lambda frame: "R-" + frame["order_id"], kind="return", quantity=0.5,
        amount=lambda frame: frame["amount"] / 2, timestamp=lambda frame: frame["timestamp"] + pd.Timedelta(hours=1),
    )  # fmt: skip
    returned.to_csv(tmp_path / "returns.csv", index=False)
    assert upload(client, "orders", tmp_path / "returns.csv").status_code == 200
    assert [pick["sku"] for pick in _asked(client, customer)] == ["NEW-2", "NEW-3", "NEW-4", "NEW-0"]
    returned.assign(quantity=1.0, amount=returned["amount"] * 2).to_csv(tmp_path / "returns.csv", index=False)
    corrected = upload(client, "orders", tmp_path / "returns.csv")
    assert corrected.status_code == 200 and (corrected.json()["inserted"], corrected.json()["updated"]) == (0, 3)
    assert [pick["sku"] for pick in _asked(client, customer)] == ["NEW-3", "NEW-4", "NEW-0"]
