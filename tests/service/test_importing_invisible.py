"""Names and descriptions a shop's files bring, as an email and the review page show them: a supplier's feed with a
direction control in a product's name showed the email's product line in another order than it was written, and a
zero-width character in a name or description hid a word from the copy checks and counted against the sender with
spam filters. They are stored without them; the joiners a script that joins its letters needs stay."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from generation.render import greeting
from service.db.models import Customer, Product

PRODUCTS = (
    "sku,name,category,price,currency,description,url,in_stock\n"
    'K1,Cast Iron Teapot \u202e04 EUR,Kit\u00adchen,39,EUR,"A heavy teapot, fr\u200bee of lead.",,true\n'
    "K2,\u0686\u0627\u06cc\u200c\u062e\u0648\u0631\u06cc,Tea,5,EUR,\ufeffLoose leaf tea.,,true\n"
)  # K2: "چای‌خوری" (Persian, a tea set), written with the zero-width non-joiner it needs
CUSTOMERS = "customer_id,email,first_name,marketing_consent\nc1,ann@example.com,An\u200bna\u2069,true\n"


def test_imported_names_and_descriptions_are_kept_as_a_reader_sees_them(client, engine):
    for kind, text in (("products", PRODUCTS), ("customers", CUSTOMERS)):
        answer = client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", text.encode(), "text/csv")})
        assert answer.status_code == 200, answer.text
    with Session(engine) as session:
        products = {p.sku: p for p in session.scalars(select(Product))}
        first_name = session.scalar(select(Customer.first_name).where(Customer.external_id == "c1"))
    assert (products["K1"].name, products["K1"].category) == ("Cast Iron Teapot 04 EUR", "Kitchen")
    assert products["K1"].description == "A heavy teapot, free of lead."
    assert products["K2"].name == "\u0686\u0627\u06cc\u200c\u062e\u0648\u0631\u06cc"
    assert products["K2"].description == "Loose leaf tea."
    assert first_name == "Anna" and greeting(first_name, "en") == "Hi Anna,"
