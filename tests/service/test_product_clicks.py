"""Which product a click was on: Tailor's tracked links and an email service's click events that give the address
name the product of the email whose link it was, the campaign's report counts the products clicked, and the
recommender's training reads each such click as the reader's view of the product."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from generation.brands import load_brand
from service.clock import utcnow
from service.db.models import Customer, Draft, Event, Product, Send, Variant
from service.db.session import session_scope
from service.pipeline import frames
from service.pipeline.training import train_recommender
from tests.service.conftest import set_host_clock_off, upload
from tests.service.test_sending import new_campaign, send_job, upload_products

PUBLIC = "https://mail.shop.example"
SHOP = "https://shop.example/"  # the brand's shop, which products without a page of their own link to
FOOTER = load_brand("hearth").footer_for("en")
CATALOG = pd.DataFrame(
    {
        "sku": ["T1", "K1", "M1"], "name": ["Sencha tea", "Chef knife", "Linen napkins"],
        "category": ["tea", "kitchen", "home"], "price": ["7.5", "49", "12"], "currency": ["EUR"] * 3,
        "description": [""] * 3, "url": ["https://shop.example/p/T1?size=a&c=1", SHOP, SHOP], "in_stock": ["1"] * 3,
    }
)  # fmt: skip


def _approved_showing_products(client, engine, campaign_id: int, catalog: pd.DataFrame = CATALOG) -> int:
    """An approved draft for customer c1 whose email shows the products of ``catalog``, each linked as the catalog
    spells it (two of the three of ``CATALOG`` to the shop)."""
    shown = catalog.set_index("sku")
    recommendations = [
        {
            "rank": rank, "product_id": sku, "name": row["name"], "category": row.category, "price": float(row.price),
            "currency": row.currency, "url": row.url, "score": 1.0,
        }
        for rank, (sku, row) in enumerate(shown.iterrows(), start=1)
    ]  # fmt: skip
    links = "".join(
        f'<p><a href="{row.url.replace("&", "&amp;")}">{row["name"]}</a></p>' for _, row in shown.iterrows()
    )
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        variant = Variant(label="A", subject="Hello", html=f"<html><body>{links}<p>{FOOTER}</p></body></html>",
                          text=f"Hello\n--\n{FOOTER}\n")  # fmt: skip
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant],
                      recommendations=recommendations)  # fmt: skip
        session.add(draft)
        session.flush()
        draft.selected_variant_id, draft_id = variant.id, draft.id
    assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200
    return draft_id


def _clicked_products(engine) -> list[tuple[str, str | None]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(Event.kind, Product.sku)
            .outerjoin(Product, Product.id == Event.product_id)
            .where(Event.kind == "click")
        )
        return sorted(((kind, sku) for kind, sku in rows), key=lambda row: (row[0], row[1] or ""))


def test_a_tracked_click_on_a_product_s_link_is_that_product_s_in_the_report_the_record_and_the_training(
    client, engine, mail_server, monkeypatch
):
    controller, messages = mail_server
    for name, value in {"SMTP_PORT": str(controller.port), "PUBLIC_URL": PUBLIC, "TRACK_CLICKS": "true"}.items():
        monkeypatch.setenv(f"TAILOR_{name}", value)
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    _approved_showing_products(client, engine, campaign_id)
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    html = messages[0].get_body(("html",)).get_content()
    tea, knife, _ = (
        link.replace("&amp;", "&") for link in re.findall(r'<a href="(' + PUBLIC + r'/track/click/[^"]*)"', html)
    )

    recipient = TestClient(client.app)
    # The tea twice (one click), and a minute later the knife, whose link is the shop's (a reader's pace: two links
    # within a second are a link scanner's).
    for minutes, link in ((1, tea), (1, tea), (2, knife)):
        set_host_clock_off(monkeypatch, timedelta(minutes=minutes))
        assert recipient.get(link.removeprefix(PUBLIC), follow_redirects=False).status_code == 302
    assert client.app.state.tailor.engagement.flush()

    # The knife's link is the napkins' too: that click is no one product's.
    assert _clicked_products(engine) == [("click", None), ("click", "T1")]
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert performance["clicked"] == 1
    assert performance["product_clicks"] == [{"product_id": "T1", "product": "T1", "name": "Sencha tea", "clicks": 1}]
    (send,) = client.get("/customers/c1/sends").json()
    assert sorted((e["product"] or "") for e in send["events"] if e["kind"] == "click") == ["", "T1"]
    assert "products clicked most: <bdi>Sencha tea</bdi> (1)" in client.get(f"/review/campaigns/{campaign_id}").text

    with session_scope(engine) as session:
        learned = frames.interactions_frame(session, email_clicks=True)
        imported_only = frames.interactions_frame(session)
    (view,) = learned[["customer_id", "product_id", "kind", "quantity", "amount"]].itertuples(index=False)
    assert tuple(view) == ("c1", "T1", "view", 1.0, 0.0) and learned["order_id"].str.startswith("email-click:").all()
    assert imported_only.empty


def test_an_email_service_s_click_names_its_product_by_the_address_it_reports(client, engine):
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        draft = Draft(campaign_id=campaign_id, customer=customer, status="sent",
                      recommendations=[{"product_id": "K1", "url": "https://shop.example/p/K1"}])  # fmt: skip
        session.add(draft)
        session.flush()
        sent_at = datetime(2026, 1, 1)
        made = Send(customer=customer, campaign_id=campaign_id, draft_id=draft.id, subject="Hi",
                    campaign_type="cross_sell", sent_at=sent_at)  # fmt: skip
        # Imported history: no draft says what the email showed, so the catalog's one product of the address does.
        imported = Send(customer=customer, external_id="s-old", subject="Old", campaign_type="newsletter",
                        sent_at=sent_at)  # fmt: skip
        session.add_all([made, imported])
        session.flush()
        made_id = made.id
    at = "2026-01-02T10:00:00Z"
    events = [
        {"send_id": made_id, "kind": "click", "occurred_at": at, "url": "https://shop.example/p/K1"},
        # Not a link of that email, though the catalog's tea page: the email showed no tea.
        {"send_id": made_id, "kind": "click", "occurred_at": "2026-01-02T10:01:00Z",
         "url": "https://shop.example/p/T1?size=a&c=1"},
        {"send_id": "s-old", "kind": "click", "occurred_at": at, "url": "https://shop.example/p/T1?size=a&c=1"},
        {"send_id": "s-old", "kind": "click", "occurred_at": "2026-01-02T10:02:00Z", "url": SHOP},  # two products'
    ]  # fmt: skip
    answer = client.post("/events", json={"events": events})
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == 4
    assert _clicked_products(engine) == [("click", None), ("click", None), ("click", "K1"), ("click", "T1")]
    assert client.get(f"/campaigns/{campaign_id}").json()["performance"]["product_clicks"] == [
        {"product_id": "K1", "product": "K1", "name": "Chef knife", "clicks": 1}
    ]


def test_only_a_click_carries_an_address(client):
    event = {"send_id": 1, "kind": "open", "url": "https://shop.example/p/T1"}
    answer = client.post("/events", json={"events": [event]})
    assert answer.status_code == 422
    assert "events[0].url" in answer.text and "only a click carries a url" in answer.text


def test_the_recommender_learns_the_products_readers_clicked_unless_told_not_to(
    client, engine, demo_files, monkeypatch
):
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    with session_scope(engine) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id)).first()
        product = session.scalars(select(Product).where(Product.url != "").order_by(Product.id)).first()
        send = Send(customer=customer, external_id="s1", subject="Hi", campaign_type="newsletter",
                    sent_at=datetime(2020, 1, 1))  # fmt: skip
        session.add(send)
        url = product.url
    click = {"send_id": "s1", "kind": "click", "occurred_at": "2020-01-02T00:00:00Z", "url": url}
    assert client.post("/events", json={"events": [click]}).json()["recorded"] == 1

    learned = train_recommender(engine, "popularity")["data"]
    monkeypatch.setenv("TAILOR_MODELS_LEARN_CLICKS", "false")
    imported_only = train_recommender(engine, "popularity")["data"]
    assert (learned["email_clicks"], imported_only["email_clicks"]) == (1, 0)
    assert learned["rows"] == imported_only["rows"] + 1


def test_the_holdout_s_last_days_are_the_orders_last_days_though_readers_clicked_since(client, engine, demo_files):
    """Clicks come as they happen, orders when the shop imports them: a click after the last order imported must not
    move the days the recommender is measured on past the orders (they held no purchase, and it was not measured)."""
    for kind in ("customers", "products", "orders"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    imported_only = train_recommender(engine, "popularity")["holdout"]
    with session_scope(engine) as session:
        last_order = frames.interactions_frame(session)["timestamp"].max().to_pydatetime()
        customer = session.scalars(select(Customer).order_by(Customer.id)).first()
        product = session.scalars(select(Product).where(Product.url != "").order_by(Product.id)).first()
        sent_at = utcnow() - timedelta(hours=1)  # the demo's history ended on 1 November 2026
        assert sent_at > last_order + timedelta(days=30)
        session.add(Send(customer=customer, external_id="s1", subject="Hi", campaign_type="newsletter",
                         sent_at=sent_at))  # fmt: skip
        url = product.url
    click = {"send_id": "s1", "kind": "click", "occurred_at": f"{sent_at:%Y-%m-%dT%H:%M:%S}Z", "url": url}
    assert client.post("/events", json={"events": [click]}).json()["recorded"] == 1

    trained = train_recommender(engine, "popularity")
    assert trained["data"]["email_clicks"] == 1
    assert "skipped" not in imported_only and trained["holdout"] == imported_only


def test_a_customer_s_sends_and_access_export_read_the_clicked_products_in_one_query(client, engine):
    """Each event's `product` was read product by product, a query each, as GET /customers/{id}/sends and the
    subject access export serialised them: a reader of many emails made either a query per product clicked."""
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        products = [Product(sku=f"P{n}", name=f"Product {n}", price=1.0, url=f"https://shop.example/p/{n}")
                    for n in range(12)]  # fmt: skip
        sends = [Send(customer=customer, external_id=f"s{n}", subject="Hi", campaign_type="newsletter",
                      sent_at=datetime(2026, 1, 1) + timedelta(days=n)) for n in range(12)]  # fmt: skip
        session.add_all([*products, *sends])
        session.flush()
        for send, product in zip(sends, products, strict=True):
            session.add(Event(send_id=send.id, kind="click", occurred_at=send.sent_at, product_id=product.id))
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        listed = client.get("/customers/c1/sends").json()
        exported = client.get("/customers/c1/export").json()["sends"]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    for sends_shown in (listed, exported):
        assert sorted(e["product"] for s in sends_shown for e in s["events"]) == sorted(f"P{n}" for n in range(12))
    assert sum("FROM products" in statement for statement in statements) == 2


def test_an_email_s_product_clicked_again_is_learned_as_one_view(client, engine):
    """The recommender weighs each line it is given: a reader who clicked a product twice, each reported by the
    email service with an id of its own (or once by it and once by Tailor's tracked link), viewed it once from that
    email, as an imported visit's views of a product are one line."""
    upload_products(client, CATALOG)
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        session.add_all([Send(customer=customer, external_id=f"s{n}", subject="Hi", campaign_type="newsletter",
                              sent_at=datetime(2026, 1, n)) for n in (1, 2)])  # fmt: skip
    tea = "https://shop.example/p/T1?size=a&c=1"
    events = [
        {"send_id": send, "kind": "click", "occurred_at": at, "url": tea, "event_id": f"{send}-{at}"}
        for send, at in (("s1", "2026-01-03T10:00:00Z"), ("s1", "2026-01-03T10:05:00Z"), ("s2", "2026-01-04T10:00:00Z"))
    ]  # fmt: skip
    assert client.post("/events", json={"events": events}).json()["recorded"] == 3
    with session_scope(engine) as session:
        learned = frames.interactions_frame(session, email_clicks=True)
    assert sorted(zip(learned["order_id"], learned["timestamp"].astype(str), strict=True)) == [
        ("email-click:1", "2026-01-03 10:00:00"), ("email-click:2", "2026-01-04 10:00:00"),
    ]  # fmt: skip


def test_a_product_whose_link_the_email_gave_as_the_shop_s_is_named_by_the_shop_s_address(client, engine):
    """A product whose catalog address is no web address is linked to the brand's shop (generation.render): a click
    on that link is the product's when no other link of the email is the shop's, and no one's when one is."""
    campaign_id = new_campaign(client)  # the hearth brand, whose shop is https://hearth.example/
    shop = load_brand("hearth").shop_url
    with session_scope(engine) as session:
        session.add_all(
            [
                Product(sku=sku, name=sku, price=1.0, url=url)
                for sku, url in (("T1", "https://hearth.example/p/T1"), ("K1", "hearth.example/p/K1"), ("H1", shop))
            ]
        )
        sends = {}
        for customer_id, shown in (("c1", ("T1", "K1")), ("c2", ("H1", "K1"))):
            customer = Customer(external_id=customer_id, email=f"{customer_id}@example.com", marketing_consent=True)
            picks = [{"product_id": sku, "url": session.scalar(select(Product.url).where(Product.sku == sku))}
                     for sku in shown]  # fmt: skip
            draft = Draft(campaign_id=campaign_id, customer=customer, status="sent", recommendations=picks)
            session.add(draft)
            session.flush()
            sends[customer_id] = Send(customer=customer, campaign_id=campaign_id, draft_id=draft.id, subject="Hi",
                                      campaign_type="cross_sell", sent_at=datetime(2026, 1, 1))  # fmt: skip
            session.add(sends[customer_id])
        session.flush()
        send_ids = {customer_id: send.id for customer_id, send in sends.items()}
    events = [
        {"send_id": send_ids[customer_id], "kind": "click", "occurred_at": "2026-01-02T10:00:00Z", "url": shop}
        for customer_id in ("c1", "c2")
    ]  # fmt: skip
    assert client.post("/events", json={"events": events}).json()["recorded"] == 2
    # c1's email linked the knife alone to the shop; c2's linked the shop's own entry there too: no one's.
    assert client.get(f"/campaigns/{campaign_id}").json()["performance"]["product_clicks"] == [
        {"product_id": "K1", "product": "K1", "name": "K1", "clicks": 1}
    ]
