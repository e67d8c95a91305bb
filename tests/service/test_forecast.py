"""Predicted campaign totals before sending, revenue included: exact on a tiny campaign, and end to end on
the demo shop with the fake LLM (the forecast shown by the API and the review page)."""

from __future__ import annotations

import pandas as pd
import pytest

from service.experiments import held_out_customers
from service.forecasts import forecast_totals, order_values
from tests.service.conftest import generated_campaign, trained_shop


def test_revenue_is_p_conversion_times_each_customers_order_value():
    selection = pd.DataFrame(
        {"p_open": [0.5, 0.4], "p_click": [0.2, 0.1], "p_conversion": [0.1, 0.2]},
        index=pd.Index(["c1", "c2"], name="customer_id"),
    )
    # c2 has no orders yet: the recommended products' mean price stands in.
    values = order_values(pd.Series({"c2": None, "c1": 50.0}), pd.Series({"c2": 30.0, "c1": 10.0}))
    assert values.to_dict() == {"c2": 30.0, "c1": 50.0}

    totals = forecast_totals(selection, values)
    assert totals["sends"] == 2 and totals["opens"] == 0.9 and totals["conversions"] == 0.3
    assert totals["revenue"] == pytest.approx(0.1 * 50 + 0.2 * 30)
    assert 0 <= totals["revenue_low"] < totals["revenue"] < totals["revenue_high"]
    assert totals["opens_low"] < totals["opens"] < totals["opens_high"] and totals["level"] == 0.9
    assert totals["conversion_rate"] == 0.15

    empty = forecast_totals(selection.iloc[0:0], values)
    assert empty["sends"] == 0 and empty["revenue"] == 0 and empty["revenue_high"] == 0


def test_generated_campaign_forecasts_revenue_in_api_and_review_page(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setattr("service.forecasts._ROWS_AT_ONCE", 4)  # its drafts are read in parts, as a large campaign's
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, name="Forecast", max_customers=6)

    forecast = client.get(f"/campaigns/{campaign_id}").json()["forecast"]
    drafts = client.get(f"/campaigns/{campaign_id}/drafts", params={"limit": 100}).json()
    chosen = [next(v for v in d["variants"] if v["id"] == d["selected_variant_id"]) for d in drafts]
    assert forecast["sends"] == len(drafts) == 6
    assert forecast["conversions"] == pytest.approx(sum(v["p_conversion"] for v in chosen), abs=0.01)
    assert forecast["revenue_low"] <= forecast["revenue"] <= forecast["revenue_high"] and forecast["revenue"] > 0
    customers = {c["customer_id"]: c for c in client.get("/customers", params={"limit": 1000}).json()}
    expected = sum(
        v["p_conversion"] * (customers[d["customer_id"]]["profile"].get("monetary") or 0)
        for d, v in zip(drafts, chosen, strict=True)
    )
    assert forecast["revenue"] == pytest.approx(expected, rel=0.01)  # every customer of a cross-sell has orders

    page = client.get(f"/review/campaigns/{campaign_id}")
    assert 'id="forecast-revenue"' in page.text and f"revenue {forecast['revenue']:.2f}" in page.text

    # Review changes what will be sent, and the forecast follows: a rejected draft leaves it, and a draft
    # approved with its other variant brings that variant's predictions.
    rejected, switched = drafts[0], drafts[1]
    client.post(f"/drafts/{rejected['id']}/reject", json={"comment": "not this one"})
    other = next(v for v in switched["variants"] if v["id"] != switched["selected_variant_id"])
    client.post(f"/drafts/{switched['id']}/approve", json={"variant_id": other["id"]})
    reviewed = client.get(f"/campaigns/{campaign_id}").json()["forecast"]
    expected_opens = sum(v["p_open"] for v in chosen[2:]) + other["p_open"]
    assert reviewed["sends"] == 5 and reviewed["opens"] == pytest.approx(expected_opens, abs=0.01)

    # An experiment's holdout is sent nothing, so its customers are not in the forecast.
    experiment_id = generated_campaign(client, name="Forecast with a holdout", max_customers=6, holdout_share=0.5)
    drafts = client.get(f"/campaigns/{experiment_id}/drafts", params={"limit": 100}).json()
    held = held_out_customers(experiment_id, 0.5, [d["customer_id"] for d in drafts])
    with_holdout = client.get(f"/campaigns/{experiment_id}").json()["forecast"]
    assert 0 < len(held) < 6 and with_holdout["held_out"] == len(held) and with_holdout["sends"] == 6 - len(held)
    mailed = [d for d in drafts if d["customer_id"] not in held]
    chosen = [next(v for v in d["variants"] if v["id"] == d["selected_variant_id"]) for d in mailed]
    assert with_holdout["opens"] == pytest.approx(sum(v["p_open"] for v in chosen), abs=0.01)
    page = client.get(f"/review/campaigns/{experiment_id}")
    assert f"(for {6 - len(held)} sends; {len(held)} held out)" in page.text


def test_customers_who_bounce_or_complain_leave_the_forecast_of_what_is_still_to_send(
    client, engine, demo_files, monkeypatch
):
    """The forecast still counted the opens and clicks of customers who had since unsubscribed or bounced, whose
    drafts sending skips."""
    from sqlalchemy import select

    from service.db.models import Customer, Send
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=5)
    before = client.get(f"/campaigns/{campaign_id}").json()["forecast"]
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    with session_scope(engine) as session:  # an email from the shop's history to two of the campaign's customers
        sends = [
            session.scalar(select(Send.id).join(Customer).where(Customer.external_id == d["customer_id"]).limit(1))
            for d in drafts[:2]
        ]
    events = [{"send_id": sends[0], "kind": "bounce"}, {"send_id": sends[1], "kind": "complaint"}]
    assert client.post("/events", json={"events": events}).json()["recorded"] == 2
    after = client.get(f"/campaigns/{campaign_id}").json()["forecast"]
    assert (before["sends"], after["sends"]) == (5, 3) and after["opens"] < before["opens"]


def test_the_products_prices_stand_in_for_the_order_value_of_customers_without_spend_alone(client, engine):
    """The forecast read and decoded every draft's recommendations (about 1 KB of JSON each) for a mean price that
    only a customer without past spend needs: those with spend are valued at it, the others at their products'
    mean price (a product without a price counts 0)."""
    from service.db.models import Campaign, Customer, Draft, Variant
    from service.db.session import session_scope
    from service.forecasts import refresh_forecast

    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    customers = {"spender": 50.0, "new": None, "refunded": 0.0}
    prices = {"spender": [10.0, 30.0], "new": [20.0, 40.0, None], "refunded": [15.0]}
    with session_scope(engine) as session:
        for name, monetary in customers.items():
            customer = Customer(external_id=name, email=f"{name}@example.com", marketing_consent=True)
            customer.monetary = monetary
            variant = Variant(label="A", subject="Hi", p_open=0.5, p_click=0.2, p_conversion=0.1)
            products = [{"product_id": f"p{n}", "price": price} for n, price in enumerate(prices[name])]
            draft = Draft(campaign_id=campaign_id, customer=customer, variants=[variant], recommendations=products)
            session.add(draft)
            session.flush()
            draft.selected_variant_id = variant.id
    with session_scope(engine) as session:
        forecast = refresh_forecast(session, session.get(Campaign, campaign_id))
    assert forecast["sends"] == 3
    assert forecast["revenue"] == pytest.approx(0.1 * 50 + 0.1 * 20 + 0.1 * 15)
