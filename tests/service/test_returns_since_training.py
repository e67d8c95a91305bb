"""Returns imported after the models were trained: a campaign generated then reads what each customer holds bought
now, net of the purchases returned whole, for its "because you bought" reasons and its re-order picks, where the
trained model still holds those purchases bought until the next training."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db.models import Customer, Interaction, Product
from service.db.session import session_scope
from service.pipeline import frames
from tests.service.conftest import generated_campaign, trained_shop, upload

pytestmark = pytest.mark.slow


def _drafts(client, campaign_id: int) -> list[dict]:
    return client.get(f"/campaigns/{campaign_id}/drafts", params={"limit": 500}).json()


def _return_whole(client, engine, tmp_path, customer: str, skus: set[str]) -> None:
    """Import, as the shop's next orders file, a return of each of ``customer``'s purchase lines of ``skus``, a
    minute after it, for all it bought and paid: every one of those purchases is cancelled whole."""
    with session_scope(engine) as session:
        lines = session.execute(
            select(Interaction.order_id, Product.sku, Interaction.quantity, Interaction.amount, Interaction.timestamp)
            .join(Product, Product.id == Interaction.product_id)
            .join(Customer, Customer.id == Interaction.customer_id)
            .where(Customer.external_id == customer, Product.sku.in_(skus), Interaction.kind == "purchase")
        ).all()
    assert lines, (customer, skus)
    returns = tmp_path / "returns.csv"
    returns.write_text(
        "order_id,customer_id,product_id,quantity,amount,timestamp,kind\n"
        + "".join(
            f"{order},{customer},{sku},{-quantity},{-amount},{(at + timedelta(minutes=1)).isoformat()},return\n"
            for order, sku, quantity, amount, at in lines
        )
    )
    assert upload(client, "orders", returns).status_code == 200
    with session_scope(engine) as session:  # the database holds them returned: the trained model does not
        assert not frames.purchases_of(session, [customer]).get(customer, set()) & skus


def test_a_product_returned_whole_since_the_training_is_no_reason(client, engine, demo_files, tmp_path, monkeypatch):
    """A return imported after `tailor train` left the product bought for the trained model until the next training:
    a cross-sell email said "because you bought" a product its customer had sent back whole."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    skus_named: dict[str, set[str]] = {}
    with session_scope(engine) as session:
        for sku, name in session.execute(select(Product.sku, Product.name)):
            skus_named.setdefault(name, set()).add(sku)
    drafts = _drafts(client, generated_campaign(client))
    draft = next(d for d in drafts if any(r["because_you_bought"] for r in d["recommendations"]))
    customer = draft["customer_id"]
    cited = next(r["because_you_bought"][0] for r in draft["recommendations"] if r["because_you_bought"])
    _return_whole(client, engine, tmp_path, customer, skus_named[cited])

    again = [d for d in _drafts(client, generated_campaign(client)) if d["customer_id"] == customer]
    assert again and again[0]["recommendations"], "the customer still has other purchases to be explained by"
    reasons = [name for r in again[0]["recommendations"] for name in r["because_you_bought"]]
    assert cited not in reasons, reasons


def test_a_product_returned_whole_since_the_training_is_no_reorder_pick(
    client, engine, demo_files, tmp_path, monkeypatch
):
    """A re-order reminder offered, as "your usual", a product its customer had sent back whole after the training."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    drafts = _drafts(client, generated_campaign(client, campaign_type="replenishment"))
    draft = next(d for d in drafts if len(d["recommendations"]) >= 2)  # they stay in the audience by the others
    customer, returned = draft["customer_id"], draft["recommendations"][0]["product_id"]
    _return_whole(client, engine, tmp_path, customer, {returned})

    again = _drafts(client, generated_campaign(client, campaign_type="replenishment"))
    again = [d for d in again if d["customer_id"] == customer]
    assert again and again[0]["recommendations"]
    assert returned not in {r["product_id"] for r in again[0]["recommendations"]}
