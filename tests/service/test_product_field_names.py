"""One name for a product's id across the API: `product_id`, as the orders file and a draft's products name it.
The names answers gave before (`sku`, `product`) are still given beside it, marked deprecated in the OpenAPI
document with the field that replaces them, so that the marketing tools that read them keep working; and the
recommendations' boost of recently arrived products takes its new name or its old one, refusing both at odds."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select

from service.db.models import Customer, Draft, Interaction, Product, Send
from service.db.session import session_scope
from tests.service.test_sending import new_campaign, upload_products

CATALOG = pd.DataFrame(
    {
        "sku": ["T1", "K1"], "name": ["Sencha tea", "Chef knife"], "category": ["tea", "kitchen"],
        "price": ["7.5", "49"], "currency": ["EUR"] * 2, "description": [""] * 2,
        "url": ["https://shop.example/p/T1", "https://shop.example/p/K1"], "in_stock": ["1"] * 2,
    }
)  # fmt: skip


def _a_clicked_email_and_an_order_line(client, engine) -> int:
    """Customer c1 with an order line of K1 and a campaign's email whose K1 link they clicked; the campaign's id."""
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        knife = session.scalar(select(Product).where(Product.sku == "K1"))
        draft = Draft(campaign_id=campaign_id, customer=customer, status="sent",
                      recommendations=[{"product_id": "K1", "url": "https://shop.example/p/K1"}])  # fmt: skip
        session.add(draft)
        session.flush()
        session.add(Interaction(order_id="o1", customer_id=customer.id, product_id=knife.id, quantity=1.0,
                                amount=49.0, timestamp=datetime(2025, 12, 1)))  # fmt: skip
        send = Send(customer=customer, campaign_id=campaign_id, draft_id=draft.id, subject="Hi",
                    campaign_type="cross_sell", sent_at=datetime(2026, 1, 1))  # fmt: skip
        session.add(send)
        session.flush()
        send_id = send.id
    click = {"send_id": send_id, "kind": "click", "occurred_at": "2026-01-02T10:00:00Z", "url": CATALOG.url[1]}
    assert client.post("/events", json={"events": [click]}).status_code == 200
    return campaign_id


def test_every_answer_naming_a_product_names_it_product_id_and_still_by_its_old_name(client, engine):
    campaign_id = _a_clicked_email_and_an_order_line(client, engine)

    listed = client.get("/products").json()
    assert [(p["product_id"], p["sku"]) for p in listed] == [("T1", "T1"), ("K1", "K1")]
    one = client.get("/products/K1").json()
    assert one["product_id"] == one["sku"] == "K1"

    clicked = client.get(f"/campaigns/{campaign_id}").json()["performance"]["product_clicks"]
    assert clicked == [{"product_id": "K1", "product": "K1", "name": "Chef knife", "clicks": 1}]

    (sent,) = client.get("/customers/c1/sends").json()
    assert [(e["product_id"], e["product"]) for e in sent["events"]] == [("K1", "K1")]

    exported = client.get("/customers/c1/export").json()
    assert [(e["product_id"], e["product"]) for s in exported["sends"] for e in s["events"]] == [("K1", "K1")]
    (line,) = exported["orders"]
    # `product` held the name here, where elsewhere it held the id: `product_name` says which
    assert (line["product_id"], line["sku"], line["product_name"], line["product"]) == (
        "K1", "K1", "Chef knife", "Chef knife"
    )  # fmt: skip


def _property(document: dict, schema: str, field: str) -> dict:
    return document["components"]["schemas"][schema]["properties"][field]


def test_the_openapi_document_marks_each_old_name_deprecated_and_names_the_field_that_replaces_it(client):
    document = client.get("/openapi.json").json()
    replaced = {
        ("ProductOut", "sku"): "product_id",
        ("Recommendation", "sku"): "product_id",
        ("SendEventOut", "product"): "product_id",
        ("OrderLineOut", "sku"): "product_id",
        ("OrderLineOut", "product"): "product_name",
    }
    for (schema, old), new in replaced.items():
        assert new in document["components"]["schemas"][schema]["properties"], (schema, new)
        field = _property(document, schema, old)
        assert field.get("deprecated") is True and f"`{new}`" in field["description"], (schema, old, field)
    for schema, field in (("ProductOut", "product_id"), ("Recommendation", "product_id")):
        assert not _property(document, schema, field).get("deprecated"), (schema, field)

    clicks = _property(document, "CampaignOut", "performance")["properties"]["product_clicks"]["items"]
    assert "deprecated" not in clicks["properties"]["product_id"]
    assert clicks["properties"]["product"]["deprecated"] is True
    assert "`product_id`" in clicks["properties"]["product"]["description"]

    operation = document["paths"]["/customers/{customer_id}/recommendations"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert not parameters["boost_recently_arrived"].get("deprecated")
    assert "arrived_at" in parameters["boost_recently_arrived"]["description"]
    assert parameters["boost_new"]["deprecated"] is True
    assert "`boost_recently_arrived`" in parameters["boost_new"]["description"]
    # the flag the boost does not read: a product the model was trained without, whenever it arrived
    new_arrival = _property(document, "Recommendation", "new_arrival")["description"]
    assert "boost_recently_arrived" in new_arrival and "arrived_at" in new_arrival


def test_the_boost_given_by_both_its_names_at_odds_is_refused_naming_both(client):
    url = "/customers/c1/recommendations"
    refused = client.get(url, params={"boost_new": 1, "boost_recently_arrived": 2})
    assert refused.status_code == 422, refused.text
    problems = refused.json()["problems"]
    assert {p["field"] for p in problems} == {"query.boost_new", "query.boost_recently_arrived"}, problems
    assert all("boost_new" in p["message"] and "boost_recently_arrived" in p["message"] for p in problems)
    # the same weight by both names is one boost: the request goes on (to the customer, whom this shop has not)
    agreed = client.get(url, params={"boost_new": 2, "boost_recently_arrived": 2.0})
    assert agreed.status_code == 404, agreed.text
