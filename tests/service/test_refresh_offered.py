"""The campaign's page offers to update its drafts with the catalog's facts only when the catalog changed a fact one
of its pending or flagged drafts shows. It offered it after any write to the catalog (a product no draft shows, a
product written again as it was): a copywriter told that the drafts' products had changed ran a job that found
nothing to update."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service.clock import utcnow
from service.db.session import session_scope

BEFORE = utcnow() - timedelta(days=3)  # when the catalog was written, before the drafts
# The catalog's products: those the drafts show (S1, S2), and one no draft shows (S9).
CATALOG = {
    "S1": {"name": "Sencha", "category": "tea", "price": 7.5, "currency": "EUR", "url": "https://shop.example/s1",
           "description": "A green tea."},
    "S2": {"name": "Hojicha", "category": "tea", "price": 9.0, "currency": "EUR", "url": "https://shop.example/s2",
           "description": "A roasted tea."},
    "S9": {"name": "Kettle", "category": "ware", "price": 40.0, "currency": "EUR", "url": "https://shop.example/s9",
           "description": "A kettle."},
}  # fmt: skip


@pytest.fixture
def campaign(engine) -> int:
    with session_scope(engine) as session:
        return _tea_campaign(session)


def _tea_campaign(session) -> int:
    """A campaign of a pending draft showing S1 and a flagged one showing S1 and S2, as the catalog has them, and an
    approved one showing S9; its id."""
    from service.db.models import Brand, Campaign, Customer, Draft, Product, Variant

    brand = session.scalar(select(Brand).where(Brand.slug == "hearth")) or Brand(slug="hearth", name="Hearth")
    campaign = Campaign(name="Tea", brand=brand, campaign_type="vip")
    for sku, facts in CATALOG.items():
        session.add(Product(sku=sku, **facts, created_at=BEFORE, updated_at=BEFORE))
    for n, (status, skus) in enumerate((("pending", ["S1"]), ("flagged", ["S1", "S2"]), ("approved", ["S9"]))):
        customer = Customer(external_id=f"c{n}", email=f"c{n}@example.com", marketing_consent=True)
        shown = [{"product_id": sku, **CATALOG[sku]} for sku in skus]
        variant = Variant(label="A", subject="Tea", html="<p>x</p>")
        session.add(Draft(campaign=campaign, customer=customer, status=status, flagged=status == "flagged",
                          recommendations=shown, variants=[variant]))  # fmt: skip
    session.flush()
    return campaign.id


def _offered(client, campaign_id: int) -> bool:
    page = client.get(f"/review/campaigns/{campaign_id}")
    assert page.status_code == 200
    return 'id="refresh-facts"' in page.text


def _written(engine, sku: str, **facts) -> None:
    """The catalog's product ``sku`` written now (as an import writes it), with ``facts`` changed."""
    from service.db.models import Product

    with session_scope(engine) as session:
        session.execute(update(Product).where(Product.sku == sku).values(**facts, updated_at=utcnow()))


def test_a_write_to_products_no_waiting_draft_shows_offers_no_update(campaign, client, engine):
    from service.db.models import Product

    assert not _offered(client, campaign)
    with session_scope(engine) as session:  # a product added since the drafts were written
        session.add(Product(sku="NEW1", name="Genmaicha", price=6.0, currency="EUR", url="https://shop.example/new1"))
    _written(engine, "S9", price=45.0)  # shown by an approved draft alone: not to update
    _written(engine, "S2")  # written again as it was: the drafts show what it is
    assert not _offered(client, campaign)


@pytest.mark.parametrize(
    "sku, facts",
    [("S1", {"price": 8.25}), ("S2", {"currency": "USD"}), ("S2", {"name": "Hojicha Gold"}),
     ("S1", {"url": "https://shop.example/sencha"}), ("S2", {"description": "A tea roasted over charcoal."})],
)  # fmt: skip
def test_a_fact_a_waiting_draft_shows_changed_offers_the_update_which_finds_it(campaign, client, engine, sku, facts):
    from service.refreshed_facts import out_of_date_drafts

    _written(engine, sku, **facts)
    assert _offered(client, campaign)
    with session_scope(engine) as session:
        assert out_of_date_drafts(session, campaign)  # the job the update starts finds it


def test_the_offer_is_read_alike_on_either_database(any_engine):
    """The drafts showing a product written since are found by the database (SQLite's json_each, PostgreSQL's
    json_array_elements), a draft whose products are stored as JSON null among them."""
    from service.db.models import Customer, Draft
    from service.refreshed_facts import may_be_out_of_date

    with session_scope(any_engine) as session:
        campaign_id = _tea_campaign(session)
        customer = Customer(external_id="c9", email="c9@example.com")
        session.add(Draft(campaign_id=campaign_id, customer=customer, status="pending", recommendations=None))
    _written(any_engine, "S9", price=45.0)
    with session_scope(any_engine) as session:
        assert not may_be_out_of_date(session, campaign_id)
    _written(any_engine, "S2", price=9.5)
    with session_scope(any_engine) as session:
        assert may_be_out_of_date(session, campaign_id)
