"""A click on an imported send (no draft says what its email showed) finds its product in the catalog by the link
key stored with each product (service.db.link_keys), looked up by index: it was every product with an address read
and keyed in Python, on each events request holding such a click. The key follows the product's address wherever it
is written: a products import, or a product written through the models."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, select

from service.db.models import Customer, Event, Product, Send
from service.db.session import session_scope
from service.events import ingest_events
from service.schemas import EventIn
from tests.service.test_click_addresses import CATALOG
from tests.service.test_sending import upload_products

SENT_AT = datetime(2026, 1, 1)


def _imported_send(engine) -> None:
    """A send of the shop's imported history, `s-old`: no draft of Tailor's says which products it showed."""
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        session.add(Send(customer=customer, external_id="s-old", subject="Old", campaign_type="newsletter",
                         sent_at=SENT_AT))  # fmt: skip


def _clicked(engine, urls: list[str]) -> list[str | None]:
    """The products (SKUs) that clicks on ``urls`` on the imported send are recorded on, in order."""
    with session_scope(engine) as session:
        recorded = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
        clicks = [
            EventIn(send_id="s-old", kind="click", url=url, occurred_at=SENT_AT + timedelta(minutes=recorded + n))
            for n, url in enumerate(urls, start=1)
        ]
        assert ingest_events(session, clicks)["recorded"] == len(urls)
        return list(
            session.scalars(
                select(Product.sku).select_from(Event).outerjoin(Product, Product.id == Event.product_id)
                .where(Event.id > recorded).order_by(Event.id)
            )
        )  # fmt: skip


def test_a_product_whose_address_a_later_import_changes_is_clicked_at_its_new_address_not_its_old(client, engine):
    upload_products(client, CATALOG)
    _imported_send(engine)
    assert _clicked(engine, ["https://shop.example/p/K1?utm_source=news"]) == ["K1"]
    moved = CATALOG.assign(url=CATALOG.url.where(CATALOG.sku != "K1", "https://shop.example/knives/chef"))
    upload_products(client, moved)
    assert _clicked(engine, ["https://www.shop.example/knives/chef/?utm_source=news", "https://shop.example/p/K1"]) == [
        "K1", None,
    ]  # fmt: skip


def test_a_product_written_through_the_models_is_found_at_its_address_and_at_its_new_one(engine):
    _imported_send(engine)
    with session_scope(engine) as session:
        session.add(Product(sku="T1", name="Tea", price=5.0, url="https://shop.example/p/tea"))
    assert _clicked(engine, ["https://shop.example/p/tea?mc_cid=1"]) == ["T1"]
    with session_scope(engine) as session:
        session.scalars(select(Product)).one().url = "https://shop.example/p/sencha"
    assert _clicked(engine, ["https://shop.example/p/sencha?mc_cid=1", "https://shop.example/p/tea"]) == ["T1", None]


def test_clicks_on_imported_sends_read_only_the_products_at_their_addresses(client, engine):
    """The catalog is read by the clicks' link keys, in one query for the request's clicks, not product by product
    nor the whole catalog."""
    upload_products(client, CATALOG)
    _imported_send(engine)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        named = _clicked(engine, ["https://shop.example/p/K1", "https://shop.example/p/café", "https://shop.example/x"])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert named == ["K1", "C1", None]
    catalog_reads = [s for s in statements if "FROM products" in s and "JOIN products" not in s and "events" not in s]
    assert len(catalog_reads) == 1 and "products.link_key_digest IN" in catalog_reads[0], catalog_reads


def test_a_long_address_in_a_script_percent_encoding_lengthens_is_stored_and_clicked(any_engine):
    """A key spells each letter of the address that is no ASCII in percent-encoding, up to 12 characters each: a
    product's address of 1,000 characters (as the importer takes) may have a key of 9,000, past what a PostgreSQL
    index entry holds (2,704 bytes). What is stored and indexed is its digest, of 64 characters whatever the key."""
    title = "".join(chr(0x4E00 + n * 7919 % 20_000) for n in range(977))  # CJK letters, none repeated in a row
    address = f"https://shop.example/p/{title}"
    _imported_send(any_engine)
    with session_scope(any_engine) as session:
        session.add(Product(sku="B1", name="Book", price=5.0, url=address))
    assert _clicked(any_engine, [address.replace("https://", "http://www.") + "?utm_source=news"]) == ["B1"]
