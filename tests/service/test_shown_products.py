"""The products each draft's email shows are kept as rows (``draft_products``, service.db.shown_products), by which
a campaign's page finds the drafts showing a product the catalog wrote since them, instead of reading every draft's
JSON on each load. The rows follow every write of a draft's products: generation's inserts, the ORM's writes (a
refresh), and a draft's deletion (an erasure, its campaign deleted), on either database."""

from __future__ import annotations

from sqlalchemy import select

from service.db.session import session_scope
from tests.service.conftest import generated_campaign, trained_shop
from tests.service.test_refresh_offered import _offered, _tea_campaign, _written


def _stored(session, campaign_id: int) -> dict[int, list[str]]:
    """The skus stored as each of the campaign's drafts shows, by draft id (a draft showing none left out)."""
    from service.db.models import Draft, DraftProduct

    rows = session.execute(
        select(DraftProduct.draft_id, DraftProduct.product_sku)
        .join(Draft, Draft.id == DraftProduct.draft_id)
        .where(Draft.campaign_id == campaign_id)
        .order_by(DraftProduct.draft_id, DraftProduct.product_sku)
    )
    stored: dict[int, list[str]] = {}
    for draft_id, sku in rows:
        stored.setdefault(draft_id, []).append(sku)
    return stored


def _shown(session, campaign_id: int) -> dict[int, list[str]]:
    """The skus each of the campaign's drafts shows, read from its ``recommendations``."""
    from service.db.models import Draft

    drafts = session.execute(select(Draft.id, Draft.recommendations).where(Draft.campaign_id == campaign_id))
    shown = {draft_id: sorted({p["product_id"] for p in products or []}) for draft_id, products in drafts}
    return {draft_id: skus for draft_id, skus in shown.items() if skus}


def test_a_generated_draft_s_products_are_stored_and_a_change_to_one_offers_the_update(
    client, engine, demo_files, written_by_the_fake_model
):
    """Generation writes its drafts in multi-row inserts, past the ORM's events: their rows are written beside."""
    from service.db.models import Draft, Product

    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=6)
    with session_scope(engine) as session:
        shown = _shown(session, campaign_id)
        assert shown and _stored(session, campaign_id) == shown
        pending = session.scalar(
            select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == "pending").order_by(Draft.id)
        )
    assert not _offered(client, campaign_id)
    with session_scope(engine) as session:  # a product the first pending draft shows costs more now
        changed = session.scalars(select(Product).where(Product.sku == shown[pending][0])).one()
        changed.price = round(changed.price + 1, 2)
    assert _offered(client, campaign_id)


def test_the_stored_products_follow_a_draft_s_products_set_again_a_refresh_and_its_deletion(any_engine):
    from service.campaigns import delete_campaign
    from service.customers import erase_customer
    from service.db.models import Draft, DraftProduct
    from service.refreshed_facts import may_be_out_of_date, refresh_facts

    with session_scope(any_engine) as session:
        campaign_id = _tea_campaign(session)
        assert sorted(_stored(session, campaign_id).values()) == [["S1"], ["S1", "S2"], ["S9"]]
        waiting = (Draft.campaign_id == campaign_id, Draft.status == "pending")
        pending = session.scalars(select(Draft).where(*waiting)).one()
        pending_id = pending.id
        # its products set again (as a refresh sets them): the rows follow, and a product it no longer shows is no
        # longer a reason to read it
        pending.recommendations = [pending.recommendations[0] | {"product_id": "S2"}]
    with session_scope(any_engine) as session:
        assert _stored(session, campaign_id) == _shown(session, campaign_id)
        assert _stored(session, campaign_id)[pending_id] == ["S2"]
    _written(any_engine, "S1", price=8.25)  # shown by the flagged draft alone now
    with session_scope(any_engine) as session:
        flagged = session.scalars(select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == "flagged"))
        flagged_id = flagged.one()
        assert may_be_out_of_date(session, campaign_id)
        refresh_facts(session, flagged_id, "Ola")
    with session_scope(any_engine) as session:
        assert _stored(session, campaign_id)[flagged_id] == ["S1", "S2"]  # the refresh wrote its products again
        assert not may_be_out_of_date(session, campaign_id)
        erase_customer(session, "c1")  # the flagged draft's customer: the draft goes, and its rows
    with session_scope(any_engine) as session:
        assert flagged_id not in _stored(session, campaign_id)
        assert _stored(session, campaign_id) == _shown(session, campaign_id)
        delete_campaign(session, campaign_id)
    with session_scope(any_engine) as session:
        assert session.scalars(select(DraftProduct.draft_id)).all() == []


def test_a_draft_whose_products_are_stored_as_json_null_or_without_ids_stores_none(engine):
    from service.db.models import Customer, Draft

    with session_scope(engine) as session:
        campaign_id = _tea_campaign(session)
        for n, products in enumerate((None, [], [{"name": "a product without its id"}])):
            customer = Customer(external_id=f"n{n}", email=f"n{n}@example.com")
            session.add(Draft(campaign_id=campaign_id, customer=customer, recommendations=products))
    with session_scope(engine) as session:
        assert len(_stored(session, campaign_id)) == 3  # the tea campaign's own three drafts, none of these
