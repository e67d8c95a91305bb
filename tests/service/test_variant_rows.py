"""What a generation hands the engagement model for a batch of drafts (``score_variants``): each variant in the
sends shape, with its own customer's facts from the audience, whatever order the drafts come in."""

from __future__ import annotations

import math
from datetime import datetime
from types import SimpleNamespace

import pandas as pd

from service.pipeline import generate
from service.segments import NO_ORDERS
from tests.service.test_save_drafts import _campaign

MOMENT = datetime(2026, 11, 20, 10, 30)


def _scored_rows(monkeypatch, audience: pd.DataFrame, drafts: list) -> pd.DataFrame:
    """The rows ``score_variants`` gives the model for ``drafts``, each scored with made-up predictions."""
    handed: list[pd.DataFrame] = []

    def score_drafts(variants, engagement, rules=None, draft_column="draft_id"):
        handed.append(variants.copy())
        scored = variants.assign(p_open=0.2, p_click=0.05, p_conversion=0.01, reasons=[["r"]] * len(variants))
        chosen = scored.groupby(draft_column).head(1).set_index(draft_column)
        return SimpleNamespace(
            variants=scored,
            drafts=chosen.assign(chosen_variant=chosen["variant_id"], flagged=False, flag_reasons=[[]] * len(chosen)),
        )

    monkeypatch.setattr("scoring.pipeline.score_drafts", score_drafts)
    variants, selection = generate.score_variants(None, drafts, audience, "win_back", None, MOMENT)
    assert list(selection.index) == [draft.customer_id for draft in drafts]
    assert list(variants.index) == [(draft.customer_id, label) for draft in drafts for label in "AB"]
    (rows,) = handed
    return rows


def test_each_variant_carries_its_own_customers_facts_whatever_order_the_drafts_come_in(monkeypatch):
    audience, drafts, _, _, _ = _campaign("Back soon", customers=["c0", "c1", "c2"])
    audience = audience.assign(
        first_name=["Ann", "", "Cy"], segment=["champions", None, "at_risk"], mean_price=[12.5, 0.0, 0.0],
        rec_score=[0.4, None, 0.9], churn_risk=[0.1, 0.7, None],
    )  # fmt: skip
    rows = _scored_rows(monkeypatch, audience, [drafts[2], drafts[0], drafts[1]])
    facts = rows[["customer_id", "variant_id", "first_name", "segment", "mean_price"]].to_numpy().tolist()
    assert facts == [
        ["c2", "A", "Cy", "at_risk", 0.0], ["c2", "B", "Cy", "at_risk", 0.0],
        ["c0", "A", "Ann", "champions", 12.5], ["c0", "B", "Ann", "champions", 12.5],
        ["c1", "A", "", NO_ORDERS, 0.0], ["c1", "B", "", NO_ORDERS, 0.0],
    ]  # fmt: skip
    assert rows["rec_score"].tolist()[:4] == [0.9, 0.9, 0.4, 0.4] and rows["rec_score"].iloc[4:].isna().all()
    assert rows["churn_risk"].iloc[:2].isna().all() and rows["churn_risk"].tolist()[2:] == [0.1, 0.1, 0.7, 0.7]
    assert rows["subject"].tolist()[:2] == ["Back soon A for c2", "Back soon B for c2"]
    assert rows["checks_passed"].tolist() == [True, True, True, True, True, False]  # c1's B failed its check
    assert (rows["sent_at"] == pd.Timestamp(MOMENT).floor("h")).all() and (rows["n_products"] == 2).all()


def test_an_audience_without_the_email_features_scores_them_as_missing(monkeypatch):
    """An audience frame without the features the generation adds (a caller's own): mean price 0, the others
    missing."""
    audience, drafts, _, _, _ = _campaign("Back soon", customers=["c0", "c1"])
    rows = _scored_rows(monkeypatch, audience.assign(first_name=["Ann", "Bo"], segment="loyal"), drafts)
    assert rows["mean_price"].tolist() == [0.0] * 4 and rows["first_name"].tolist() == ["Ann", "Ann", "Bo", "Bo"]
    assert all(value is None or math.isnan(value) for value in [*rows["rec_score"], *rows["churn_risk"]])
