"""Characters no one sees in the addresses a draft goes to and links to, stored before the imports refused them (a
customers file read before the check, a products file whose url was never checked for them): an address with a
zero-width space is another address (the mail bounces, or reaches someone else), and a product link with one shows
one address and leads to another. The send holds such a draft back for a person, naming the address or link and what
mends it; approving it, one by one, all pending or again after lateness, is refused or leaves it flagged; an export
says it is not mailable; and a products file with such a url is refused naming its row."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Customer, Draft, Variant
from service.db.session import session_scope
from tests.service.test_sending import CATALOG, FOOTER

HIDDEN_ADDRESS = "c1\u200b@example.com"  # looks like c1@example.com
HIDDEN_LINK = "https://shop.example/p/T\u200b1"  # looks like the tea's page, and is another
ADDRESS_REASON = (
    "the customer's email address: character 3 is U+200B ZERO WIDTH SPACE, which no one sees and which makes it "
    "another address; correct the address where the shop keeps its customers and import the customers again, then "
    "approve the draft again; or reject it"
)
LINK_REASON = (
    "the link of Sencha tea (T1): character 25 is U+200B ZERO WIDTH SPACE, which no one sees and which makes it lead "
    "elsewhere than it shows; correct the url where the shop keeps its catalog and import the products again, then "
    "update the draft with the catalog's facts; or reject it"
)


def _address_stored_before(engine, external_id: str) -> None:
    with session_scope(engine) as session:
        session.scalar(select(Customer).where(Customer.external_id == external_id)).email = HIDDEN_ADDRESS


def _link_stored_before(engine, draft_id: int) -> None:
    """The draft's product link as generation rendered it from a catalog url stored with a zero-width space."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        draft.recommendations = [{**draft.recommendations[0], "url": HIDDEN_LINK}]
        variant = session.get(Variant, draft.selected_variant_id)
        variant.text = f"Hello\n\n* Sencha tea - 7.50 EUR\n  View product: {HIDDEN_LINK}\n\n--\n{FOOTER}\n"
        variant.html = f'<p>Hello</p><p><a href="{HIDDEN_LINK}">View product</a></p><p>{FOOTER}</p>'


def _reasons(engine, draft_id: int) -> tuple[str, list[str]]:
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        return draft.status, list(draft.flag_reasons or [])


def test_a_product_url_with_a_character_no_one_sees_is_refused_naming_its_row(client, engine):
    """The url is the link every email shows: kept with a zero-width space, it looked like the product's page and led
    elsewhere; dropped, it would be another address than the file's."""
    products = CATALOG.assign(url=["https://shop.example/p/T1", HIDDEN_LINK.replace("T", "K"), "https://\u202eshop.ex"])
    body = products.to_csv(index=False).encode()

    answer = client.post("/imports/products", files={"file": ("products.csv", body, "text/csv")})

    assert answer.status_code == 422, answer.text
    assert [(p["row"], p["column"], p["message"]) for p in answer.json()["problems"]] == [
        (3, "url", "character 25 is U+200B ZERO WIDTH SPACE, which no one sees and which makes it another address: "
         "correct the address where the file comes from"),
        (4, "url", "character 9 is U+202E RIGHT-TO-LEFT OVERRIDE, which no one sees and which makes it another "
         "address: correct the address where the file comes from"),
    ]  # fmt: skip
