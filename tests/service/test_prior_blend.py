"""The served scoring model is the public prior blended with the shop's own model: a shop without send
history still gets scored drafts (from the prior alone), and the shop's weight grows with its sends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.copy_model import CopyModel
from scoring.pipeline import score_drafts
from scoring.prior import DEFAULT_RATES, BlendedEngagement
from service.errors import NotReady
from service.pipeline.training import train_engagement
from service.settings import home_settings
from service.state import model_store
from tests.scoring.test_copy_model import _tests
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
    assert not np.allclose(blended, shop_only)
    # The blend's level is the shop's: over its own sends it predicts the shop's open rate (shrunk by 30 sends).
    opens, sends = metadata["open_rate"] * metadata["sends"], metadata["sends"]
    expected = (30 * DEFAULT_RATES["open"] + opens) / (30 + sends)
    sends_frame = pd.read_csv(demo_files["sends"], parse_dates=["sent_at"])  # with the customer's name and locale:
    customers = pd.read_csv(demo_files["customers"], usecols=["customer_id", "first_name", "locale"])
    sends_frame = sends_frame.merge(customers, on="customer_id", how="left")  # as the service reads its sends
    assert served.predict(sends_frame)["p_open"].mean() == pytest.approx(expected, abs=0.002)


def test_sends_without_opens_still_train_a_model_at_the_shops_level(engine, demo_files):
    """A shop without open tracking (or with few opens) gets the prior set to its own rates, not a failed
    training: the metadata says why the shop model was left out."""
    from service.db.session import session_scope
    from service.importing import import_frame, read_table

    sends = read_table(demo_files["sends"]).head(100).assign(opened="0", clicked="0", converted="0")
    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_frame(session, kind, read_table(demo_files[kind]))
        import_frame(session, "sends", sends)
    metadata = train_engagement(engine)
    assert metadata["sends"] == 100 and "0 opens out of 100" in metadata["shop_model"]
    served = model_store(home_settings().models_dir).get("engagement")
    assert served.shop is None and served.offsets["open"] < 0


def test_sends_whose_outcomes_may_still_come_wait_for_a_later_training(engine, demo_files, monkeypatch):
    """A send made minutes ago has no open yet; learned from, it would count as ignored and pull the shop's
    level down. Sends younger than TAILOR_SCORING_OUTCOME_DAYS are left out, and the metadata counts them."""
    from datetime import datetime, timedelta

    from service.db.session import session_scope
    from service.importing import import_frame, read_table

    sends = read_table(demo_files["sends"]).head(300)
    fresh = (datetime.now() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    sends.loc[sends.index[:40], ["sent_at", "opened", "clicked", "converted"]] = [fresh, "0", "0", "0"]
    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_frame(session, kind, read_table(demo_files[kind]))
        import_frame(session, "sends", sends)
    metadata = train_engagement(engine)
    assert metadata["sends"] == 260 and metadata["sends_waiting_for_outcomes"] == 40
    monkeypatch.setenv("TAILOR_SCORING_OUTCOME_DAYS", "0")
    assert train_engagement(engine)["sends"] == 300


def test_training_learns_from_the_latest_sends_only(engine, demo_files, monkeypatch):
    """However many sends a shop has made, training reads the latest TAILOR_SCORING_MAX_SENDS of those whose
    outcomes are in, so its time and memory stay bounded; the metadata counts the older ones left out."""
    from service.db.session import session_scope
    from service.importing import import_frame, read_table
    from service.pipeline import frames

    sends = read_table(demo_files["sends"]).head(300)
    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_frame(session, kind, read_table(demo_files[kind]))
        import_frame(session, "sends", sends)
    monkeypatch.setenv("TAILOR_SCORING_MAX_SENDS", "120")
    metadata = train_engagement(engine)
    assert metadata["sends"] == 120 and metadata["older_sends_left_out"] == 180
    served = model_store(home_settings().models_dir).get("engagement")
    assert served.shop.metadata["training_size"] == 120

    with session_scope(engine) as session:
        everything = frames.sends_frame(session)
        latest = frames.sends_frame(session, latest=120)
    assert len(everything) == 300 and len(latest) == 120
    older = everything[~everything.set_index(["customer_id", "subject", "sent_at"]).index.isin(
        latest.set_index(["customer_id", "subject", "sent_at"]).index
    )]  # fmt: skip
    assert len(older) == 180 and older["sent_at"].max() <= latest["sent_at"].min()


def test_a_copy_model_lets_the_better_worded_variant_win_before_any_history(engine, demo_files, client, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    """With TAILOR_SCORING_COPY_MODEL set, the prior moves P(click | open) by the subject's appeal, so the two
    variants of a draft no longer tie when the shop has no sends; the reason says so."""
    tests = _tests()
    model_path = tmp_path / "copy.joblib"
    CopyModel(char_ngrams=False).fit(tests["text"], tests["impressions"], tests["clicks"], tests["test_id"]).save(
        model_path
    )
    monkeypatch.setenv("TAILOR_SCORING_COPY_MODEL", str(model_path))
    for kind in ("customers", "products", "orders"):  # no past sends
        assert upload(client, kind, demo_files[kind]).status_code == 200
    assert train_engagement(engine)["copy_model"] == str(model_path)
    served = model_store(home_settings().models_dir).get("engagement")

    variants = pd.DataFrame(
        {
            "draft_id": ["d1", "d1"], "variant_id": ["a", "b"], "checks_passed": [True, True],
            "subject": ["What happened to a garden", "What happened to a garden is amazing"],
            "preheader": ["", ""], "intro": ["", ""], "first_name": ["Ana", "Ana"],
            "campaign_type": ["cross_sell"] * 2, "locale": ["en"] * 2, "segment": ["loyal"] * 2,
            "n_products": [3, 3], "mean_price": [30.0, 30.0], "sent_at": pd.to_datetime(["2026-11-20 10:00"] * 2),
        }
    )  # fmt: skip
    scored = score_drafts(variants, served)
    assert scored.drafts.loc["d1", "chosen_variant"] == "b"
    p_click = scored.variants.set_index("variant_id")["p_click"]
    assert p_click["b"] > DEFAULT_RATES["open"] * DEFAULT_RATES["click"] > p_click["a"]
    reasons = scored.variants.set_index("variant_id")["reasons"]
    assert reasons["b"][0] == "no history yet: rates from public data"
    assert reasons["b"][1].startswith("subject: more clickable") and reasons["a"][1].startswith("subject: less")


def test_an_unreadable_copy_model_fails_training_naming_the_setting(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("TAILOR_SCORING_COPY_MODEL", str(tmp_path / "missing.joblib"))
    with pytest.raises(NotReady, match="TAILOR_SCORING_COPY_MODEL: There is no model file"):
        train_engagement(engine)


def test_the_copy_model_judges_english_subjects_only(tmp_path):
    """It learned from English headlines: a German subject keeps the public click rate and gets no copy reason,
    while the English variants are still ranked against each other."""
    from scoring.prior import PublicPrior

    tests = _tests()
    model = CopyModel(char_ngrams=False).fit(tests["text"], tests["impressions"], tests["clicks"], tests["test_id"])
    variants = pd.DataFrame(
        {
            "draft_id": ["d1", "d1", "d2"], "variant_id": ["a", "b", "a"], "checks_passed": [True] * 3,
            "subject": ["What happened to a garden", "What happened to a garden is amazing", "Was im Garten geschah"],
            "preheader": [""] * 3, "intro": [""] * 3, "first_name": ["Ana"] * 3,
            "campaign_type": ["cross_sell"] * 3, "locale": ["en", "en-GB", "de"], "segment": ["loyal"] * 3,
            "n_products": [3] * 3, "mean_price": [30.0] * 3, "sent_at": pd.to_datetime(["2026-11-20 10:00"] * 3),
        }
    )  # fmt: skip
    scored = score_drafts(variants, BlendedEngagement(PublicPrior.default(model))).variants
    german = scored[scored["locale"] == "de"].iloc[0]
    assert german["p_click"] == pytest.approx(DEFAULT_RATES["open"] * DEFAULT_RATES["click"])
    assert german["reasons"] == ["no history yet: rates from public data"]
    english = scored[scored["draft_id"] == "d1"].set_index("variant_id")
    assert english.loc["b", "p_click"] > english.loc["a", "p_click"]
    assert english.loc["b", "reasons"][1].startswith("subject: more clickable")
