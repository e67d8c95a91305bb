"""The served scoring model is the public prior blended with the shop's own model: a shop without send
history still gets scored drafts (from the prior alone), and the shop's weight grows with its sends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.prior import DEFAULT_RATES, BlendedEngagement
from service.pipeline.training import train_engagement
from service.settings import home_settings
from service.state import model_store
from tests.service.conftest import upload, wait_for_job


def test_a_shop_without_send_history_gets_drafts_scored_by_the_public_prior(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    for kind in ("customers", "products", "orders"):  # no past sends
        assert upload(client, kind, demo_files[kind]).status_code == 200
    train = wait_for_job(client, client.post("/train").json()["job_id"])
    assert train["status"] == "succeeded", train["error"]
    engagement = train["result"]["engagement"]
    assert engagement["sends"] == 0 and engagement["shop_weights"] == {"open": 0.0, "click": 0.0, "conversion": 0.0}

    body = {"name": "First mail", "brand": "hearth", "campaign_type": "cross_sell", "max_customers": 3}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert len(drafts) == 3
    for variant in (v for d in drafts for v in d["variants"]):
        assert variant["p_open"] == pytest.approx(DEFAULT_RATES["open"])
        assert variant["p_click"] == pytest.approx(DEFAULT_RATES["open"] * DEFAULT_RATES["click"])
        assert variant["reasons"] == ["no history yet: rates from public data"]


def test_the_shop_model_weighs_in_by_its_number_of_sends(client, engine, demo_files):
    for kind in ("customers", "products", "orders", "sends"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    metadata = train_engagement(engine)
    served = model_store(home_settings().models_dir).get("engagement")
    assert isinstance(served, BlendedEngagement) and served.shop is not None
    rows = served.shop.links["open"].metrics["rows"]
    assert rows > 500 and metadata["shop_weights"]["open"] == pytest.approx(rows / (rows + 2000), abs=1e-4)

    variants = pd.DataFrame(
        {
            "subject": ["Back in stock for you", "Last chance: 20% off today!!!"], "preheader": ["", ""],
            "intro": ["", ""], "first_name": ["Ana", ""], "campaign_type": ["cross_sell", "win_back"],
            "locale": ["en", "de"], "segment": ["loyal", "at_risk"], "n_products": [3, 2], "mean_price": [30.0, 12.0],
            "sent_at": pd.to_datetime(["2026-11-20 10:00", "2026-11-20 21:00"]),
        }
    )  # fmt: skip
    blended = served.predict(variants)["p_open"].to_numpy()
    shop_only = served.shop.predict(variants)["p_open"].to_numpy()
    prior = DEFAULT_RATES["open"]
    between = (np.minimum(shop_only, prior) <= blended + 1e-9) & (blended <= np.maximum(shop_only, prior) + 1e-9)
    assert between.all() and not np.allclose(blended, shop_only)
