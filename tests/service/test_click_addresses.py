"""A click names its product however the email service spells the address it reports (generation.links.link_key):
with its own campaign parameters or the shop's ad click ids appended, its parameters in another order, `&amp;` left
as the HTML wrote it, percent-encoded otherwise, in capitals, over http, with `www.`, a trailing slash or a fragment;
while a parameter that names the product (`?variant=2`) still tells two products apart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Customer, Draft, Event, Product, Send
from service.db.session import session_scope
from service.pipeline import frames
from tests.service.conftest import set_host_clock_off
from tests.service.test_product_clicks import CATALOG as TRACKED_CATALOG
from tests.service.test_product_clicks import PUBLIC, _approved_showing_products
from tests.service.test_sending import new_campaign, send_job, upload_products

CATALOG = pd.DataFrame(
    {
        "sku": ["T1", "D1", "D2", "K1", "C1", "G1", "M1", "M2"],
        "name": ["Sencha tea", "Linen dress, blue", "Linen dress, green", "Chef knife", "Café cup", "Gift card",
                 "Mug", "Mug, the shop's second entry"],
        "category": ["tea", "dress", "dress", "kitchen", "home", "gift", "home", "home"],
        "price": ["7.5", "90", "90", "49", "12", "25", "9", "9"], "currency": ["EUR"] * 8, "description": [""] * 8,
        "in_stock": ["1"] * 8,
        "url": [
            "https://shop.example/p/T1?size=a&c=1", "https://shop.example/p/dress?variant=1",
            "https://shop.example/p/dress?variant=2", "https://shop.example/p/K1", "https://shop.example/p/café",
            "https://shop.example/?id=12", "https://shop.example/p/mug", "https://shop.example/p/mug/",
        ],
    }
)  # fmt: skip
# As the email services report a click on each product's link (or on no product's), and the product it is.
REPORTED = [
    # SendGrid's, Brevo's and Mailchimp's Google Analytics tracking appends the utm_ parameters
    ("https://shop.example/p/K1?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "K1"),
    ("https://shop.example/p/dress?variant=2&mc_cid=4a1b2c&mc_eid=9f8e7d", "D2"),  # Mailchimp's e-commerce ids
    ("https://shop.example/p/T1?c=1&size=a", "T1"),  # the parameters in another order
    ("https://shop.example/p/T1?size=a&amp;c=1", "T1"),  # the link as the HTML wrote it
    ("HTTP://WWW.SHOP.EXAMPLE/p/K1/#reviews", "K1"),
    ("https://shop.example/p/caf%c3%a9?fbclid=IwAR0x", "C1"),  # encoded, and the shop's ad click id
    ("https://shop.example/p/dress?utm_source=newsletter", None),  # which dress is not said: neither's
    ("https://shop.example/p/dress?variant=3", None),  # no dress of the email
    ("https://shop.example/p/k1", None),  # a path's case names another page
    ("https://shop.example?id=12&utm_source=newsletter", "G1"),  # a page of the shop's home page
    # Two entries of the catalog at one page: the click is the one its address is spelt as, else neither's.
    ("https://shop.example/p/mug/", "M2"),
    ("https://shop.example/p/mug?utm_source=newsletter", None),
]


@pytest.fixture
def sends(client, engine) -> dict[str, int | str]:
    """Two sends to one customer: one of an email Tailor made showing every product of the catalog, and one of the
    shop's imported history (no draft: the catalog names the product). Their `send_id`s for POST /events."""
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        picks = [{"product_id": row.sku, "url": row.url} for row in CATALOG.itertuples()]
        draft = Draft(campaign_id=campaign_id, customer=customer, status="sent", recommendations=picks)
        session.add(draft)
        session.flush()
        made = Send(customer=customer, campaign_id=campaign_id, draft_id=draft.id, subject="Hi",
                    campaign_type="cross_sell", sent_at=datetime(2026, 1, 1))  # fmt: skip
        imported = Send(customer=customer, external_id="s-old", subject="Old", campaign_type="newsletter",
                        sent_at=datetime(2026, 1, 1))  # fmt: skip
        session.add_all([made, imported])
        session.flush()
        return {"made": made.id, "imported": "s-old"}


@pytest.mark.parametrize("send", ["made", "imported"])
def test_an_email_service_s_spelling_of_a_product_s_link_names_the_product(client, engine, sends, send):
    for minute, (url, _) in enumerate(REPORTED):  # one a request: each read the catalog for its own address
        at = datetime(2026, 1, 2, 10) + timedelta(minutes=minute)
        click = {"send_id": sends[send], "kind": "click", "url": url, "occurred_at": f"{at:%Y-%m-%dT%H:%M:%SZ}"}
        answer = client.post("/events", json={"events": [click]})
        # a click that names no product is recorded all the same
        assert answer.status_code == 200 and answer.json()["recorded"] == 1, answer.text
    with session_scope(engine) as session:
        named = session.execute(
            select(Product.sku).select_from(Event).outerjoin(Product, Product.id == Event.product_id)
            .order_by(Event.occurred_at)
        ).scalars().all()  # fmt: skip
    assert list(zip((url for url, _ in REPORTED), named, strict=True)) == [(url, sku) for url, sku in REPORTED]


def test_tailor_s_tracked_click_and_the_email_service_s_report_of_it_are_one_view_of_the_product(
    client, engine, mail_server, monkeypatch
):
    """The reader clicked the tea's link once: Tailor's tracked link recorded it as the email linked it, and the email
    service reported it with its campaign parameters. One product clicked, one view learned."""
    campaign_id, html = _sent_with_tracked_links(client, engine, mail_server, monkeypatch)
    tea = re.findall(r'<a href="(' + PUBLIC + r'/track/click/[^"]*)"', html)[0].replace("&amp;", "&")
    set_host_clock_off(monkeypatch, timedelta(minutes=1))
    assert TestClient(client.app).get(tea.removeprefix(PUBLIC), follow_redirects=False).status_code == 302
    assert client.app.state.tailor.engagement.flush()
    (send,) = client.get("/customers/c1/sends").json()
    reported = {"send_id": send["id"], "kind": "click", "event_id": "sg-1",
                "url": "https://shop.example/p/T1?size=a&c=1&utm_source=tailor&utm_medium=email"}  # fmt: skip
    assert client.post("/events", json={"events": [reported]}).json()["recorded"] == 1

    (send,) = client.get("/customers/c1/sends").json()
    assert [e["product"] for e in send["events"] if e["kind"] == "click"] == ["T1", "T1"]
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert performance["clicked"] == 1
    assert performance["product_clicks"] == [{"product_id": "T1", "product": "T1", "name": "Sencha tea", "clicks": 1}]
    with session_scope(engine) as session:
        learned = frames.interactions_frame(session, email_clicks=True)
    assert learned[["customer_id", "product_id", "kind"]].values.tolist() == [["c1", "T1", "view"]]


def test_an_email_service_that_relays_tailor_s_tracked_email_reports_tailor_s_link_which_names_its_product(
    client, engine, mail_server, monkeypatch
):
    """An email service that sends Tailor's mail (its SMTP relay) and tracks its clicks too rewrites Tailor's click
    links, and reports the link it rewrote: Tailor's own, which leads to the product's address. A link whose address
    was changed on the way (its signature is another address's) names nothing."""
    campaign_id, html = _sent_with_tracked_links(client, engine, mail_server, monkeypatch)
    tea = re.findall(r'<a href="(' + PUBLIC + r'/track/click/[^"]*)"', html)[0]  # as the HTML writes it
    changed = tea.replace("%2FT1", "%2FK1")
    (send,) = client.get("/customers/c1/sends").json()
    reported = [
        {"send_id": send["id"], "kind": "click", "event_id": f"relay-{n}", "url": url,
         "occurred_at": f"{datetime.now(UTC) - timedelta(minutes=2 - n):%Y-%m-%dT%H:%M:%SZ}"}
        for n, url in enumerate((f"{tea}&amp;utm_source=relay&amp;utm_medium=email", changed))
    ]  # fmt: skip
    assert client.post("/events", json={"events": reported}).json()["recorded"] == 2

    (send,) = client.get("/customers/c1/sends").json()
    assert [e["product"] for e in sorted(send["events"], key=lambda e: e["occurred_at"]) if e["kind"] == "click"] == [
        "T1", None,
    ]  # fmt: skip
    assert client.get(f"/campaigns/{campaign_id}").json()["performance"]["product_clicks"] == [
        {"product_id": "T1", "product": "T1", "name": "Sencha tea", "clicks": 1}
    ]


def _sent_with_tracked_links(client, engine, mail_server, monkeypatch) -> tuple[int, str]:
    """A campaign of one email showing the tracked catalog's products, sent with tracked links: its id and the
    email's HTML."""
    controller, messages = mail_server
    for name, value in {"SMTP_PORT": str(controller.port), "PUBLIC_URL": PUBLIC, "TRACK_CLICKS": "true"}.items():
        monkeypatch.setenv(f"TAILOR_{name}", value)
    upload_products(client, TRACKED_CATALOG)
    campaign_id = new_campaign(client)
    _approved_showing_products(client, engine, campaign_id)
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    return campaign_id, messages[0].get_body(("html",)).get_content()


# Each product's address as the catalog spells it, and a click on it as an email service reports it, spelt otherwise
# by the URL standards: RFC 3986's normalisation, and IDNA's ASCII form of a host in another script.
SPELT_OTHERWISE = {
    "B1": ("https://bücher.example/p/1", "https://xn--bcher-kva.example/p/1"),
    "B2": ("https://xn--bcher-kva.example/p/2", "https://b%C3%BCcher.example/p/2"),
    "B3": ("https://b%c3%bccher.example/p/3", "https://BÜCHER.example/p/3?utm_source=newsletter"),
    "S1": ("https://straße.example/p", "https://xn--strae-oqa.example/p"),  # IDNA 2008: not strasse.example's
    "S2": ("https://strasse.example/p", "https://STRASSE.example/p"),
    "E1": ("https://shop.example/p/caf%C3%A9", "https://shop.example/p/café"),
    "E2": ("https://shop.example/p/th%c3%a9", "https://shop.example/p/th%C3%A9"),
    "A1": ("https://shop.example/~ann/p", "https://shop.example/%7Eann/p"),
    "A2": ("https://shop.example/%7ebob/p", "https://shop.example/~bob/p"),
    "D1": ("https://shop.example./p/dot", "https://shop.example/p/dot"),
    "P1": ("https://shop.example:443/p/port", "https://shop.example/p/port"),
    "P2": ("http://shop.example/p/port80", "http://shop.example:80/p/port80"),
    "H1": ("https://home.example", "https://home.example/"),
    "H2": ("https://other.example/", "https://other.example"),
    "G1": ("https://shop.example/p/tea", "https://shop.example/p/x/../tea"),
    # a reserved character encoded is another page than the character (RFC 3986 6.2.2.2), whose hex digits' case is
    # no matter: both were one key, and a click with the campaign's parameters neither's
    "R1": ("https://shop.example/p/tea;red", "https://shop.example/p/tea;red?utm_source=newsletter"),
    "R2": ("https://shop.example/p/tea%3Bred", "https://shop.example/p/tea%3bred?utm_source=newsletter"),
}
SPELLINGS_CATALOG = pd.DataFrame(
    {
        "sku": list(SPELT_OTHERWISE), "name": [f"Product {sku}" for sku in SPELT_OTHERWISE],
        "category": ["books"] * len(SPELT_OTHERWISE), "price": ["10"] * len(SPELT_OTHERWISE),
        "currency": ["EUR"] * len(SPELT_OTHERWISE), "description": [""] * len(SPELT_OTHERWISE),
        "in_stock": ["1"] * len(SPELT_OTHERWISE), "url": [url for url, _ in SPELT_OTHERWISE.values()],
    }
)  # fmt: skip


@pytest.mark.parametrize("send", ["sent", "imported"])
def test_a_click_reported_in_another_spelling_of_the_url_standards_names_the_product(
    client, engine, mail_server, monkeypatch, send
):
    """The catalog imported with each product's address in one spelling, an email sent through SMTP linking each
    (or a send of the shop's imported history, which the catalog's stored keys answer), and the email service's
    report of a click on each in another spelling: each click names its product; a host that is another name (no
    umlaut) names none."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, SPELLINGS_CATALOG)
    if send == "sent":
        campaign_id = new_campaign(client)
        _approved_showing_products(client, engine, campaign_id, SPELLINGS_CATALOG)
        assert send_job(client, campaign_id)["result"]["sent"] == 1
        html = messages[0].get_body(("html",)).get_content()
        assert all(f'href="{url}"' in html for url, _ in SPELT_OTHERWISE.values())
        (sent,) = client.get("/customers/c1/sends").json()
        send_id: int | str = sent["id"]
    else:
        with session_scope(engine) as session:
            customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
            session.add(Send(customer=customer, external_id="s-old", subject="Old", campaign_type="newsletter",
                             sent_at=datetime(2026, 1, 1)))  # fmt: skip
        send_id = "s-old"
    reported = {**{sku: url for sku, (_, url) in SPELT_OTHERWISE.items()}, "none": "https://bucher.example/p/1"}
    clicks = [
        {"send_id": send_id, "kind": "click", "event_id": f"esp-{sku}", "url": url} for sku, url in reported.items()
    ]
    answer = client.post("/events", json={"events": clicks})
    assert answer.status_code == 200 and answer.json()["recorded"] == len(reported), answer.text
    with session_scope(engine) as session:
        named = dict(
            session.execute(
                select(Event.external_id, Product.sku).outerjoin(Product, Product.id == Event.product_id)
                .where(Event.kind == "click")
            ).all()
        )  # fmt: skip
    assert named == {f"esp-{sku}": (None if sku == "none" else sku) for sku in reported}


def test_a_tracked_link_with_a_reserved_character_encoded_leads_to_and_names_the_page_the_shop_wrote(
    client, engine, mail_server, monkeypatch
):
    """`/p/tea%3Bred` and `/p/tea;red` are two pages to the shop's server (RFC 3986 6.2.2.2: a reserved character and
    its encoding are not the same): Tailor's tracked link sends the reader to the one the email linked, spelt as the
    shop wrote it, and a click the email service reports on either, with its campaign parameters, names its own."""
    controller, messages = mail_server
    for name, value in {"SMTP_PORT": str(controller.port), "PUBLIC_URL": PUBLIC, "TRACK_CLICKS": "true"}.items():
        monkeypatch.setenv(f"TAILOR_{name}", value)
    catalog = SPELLINGS_CATALOG[SPELLINGS_CATALOG.sku.isin(["R1", "R2"])]
    upload_products(client, catalog)
    campaign_id = new_campaign(client)
    _approved_showing_products(client, engine, campaign_id, catalog)
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    html = messages[0].get_body(("html",)).get_content()
    _, encoded = (
        link.replace("&amp;", "&") for link in re.findall(r'<a href="(' + PUBLIC + r'/track/click/[^"]*)"', html)
    )

    set_host_clock_off(monkeypatch, timedelta(minutes=1))
    followed = TestClient(client.app).get(encoded.removeprefix(PUBLIC), follow_redirects=False)
    assert followed.status_code == 302 and followed.headers["location"] == "https://shop.example/p/tea%3Bred"
    assert client.app.state.tailor.engagement.flush()
    (send,) = client.get("/customers/c1/sends").json()
    reported = [
        {"send_id": send["id"], "kind": "click", "event_id": f"esp-{n}", "url": url,
         "occurred_at": f"{datetime.now(UTC) + timedelta(minutes=2 + n):%Y-%m-%dT%H:%M:%SZ}"}
        for n, url in enumerate(("https://shop.example/p/tea;red?utm_source=newsletter",
                                 "https://shop.example/p/tea%3Bred?utm_source=newsletter"))
    ]  # fmt: skip
    assert client.post("/events", json={"events": reported}).json()["recorded"] == 2

    (send,) = client.get("/customers/c1/sends").json()
    clicks = sorted((e for e in send["events"] if e["kind"] == "click"), key=lambda e: e["occurred_at"])
    assert [e["product"] for e in clicks] == ["R2", "R1", "R2"]
