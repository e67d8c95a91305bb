"""One call scores a campaign: predictions, reasons, ranks and per-draft choices; the registry names models."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring import score_drafts
from scoring.base import Scorer
from scoring.errors import ScoringError
from scoring.features import OUTCOME_COLUMNS
from scoring.prior import BlendedEngagement, PublicPrior
from scoring.registry import create, names
from tests.scoring.conftest import make_sends


def _campaign():
    variants = make_sends(n=6, seed=7).drop(columns=OUTCOME_COLUMNS).reset_index(drop=True)
    variants["first_name"] = "Eva"
    variants["subject"] = ["Eva, fresh this week", "Fresh this week"] * 3
    variants["draft_id"] = ["d1", "d1", "d2", "d2", "d3", "d3"]
    variants["variant_id"] = ["a", "b"] * 3
    variants["checks_passed"] = [True, True, True, True, False, True]
    return variants


def test_score_drafts_with_the_shop_model(fitted_engagement):
    scored = score_drafts(_campaign(), fitted_engagement)
    assert {"p_open", "p_click", "p_conversion", "value", "rank", "reasons"} <= set(scored.variants.columns)
    reasons = scored.variants["reasons"]
    assert all(len(r) == 5 for r in reasons)  # three for the open, one each for the click and the conversion
    assert all(r[3].endswith("the chance of a click after opening") for r in reasons)
    assert all(r[4].endswith("the chance of a purchase after clicking") for r in reasons)
    assert scored.drafts.loc["d1", "chosen_variant"] == "a"  # the first name lifts opens
    assert scored.drafts.loc["d3", "chosen_variant"] == "b" and scored.drafts.loc["d3", "flagged"]


def test_a_blend_says_when_public_rates_outweigh_the_shop(fitted_engagement):
    young = score_drafts(_campaign(), BlendedEngagement(PublicPrior.default(), fitted_engagement, prior_sends=1e5))
    assert young.variants["reasons"].map(lambda r: r[0].startswith("mostly public rates")).all()
    grown = score_drafts(_campaign(), BlendedEngagement(PublicPrior.default(), fitted_engagement, prior_sends=100))
    assert not grown.variants["reasons"].map(lambda r: r[0].startswith("mostly public rates")).any()


def test_score_drafts_with_only_the_prior():
    scored = score_drafts(_campaign(), BlendedEngagement(PublicPrior.default()))
    assert len(scored.drafts) == 3
    assert scored.variants["reasons"].map(len).eq(1).all()


def test_registry_and_protocol(fitted_engagement):
    assert names() == ["copy", "engagement"]
    assert isinstance(fitted_engagement, Scorer) and isinstance(BlendedEngagement(PublicPrior.default()), Scorer)
    assert create("copy", C=1.0).C == 1.0
    with pytest.raises(ScoringError, match="engagement"):
        create("nope")


def test_a_blend_scores_with_the_shop_model_s_predictions_made_once(fitted_engagement, monkeypatch):
    blend = BlendedEngagement(PublicPrior.default(), fitted_engagement, prior_sends=500)
    variants = _campaign()
    expected = blend.predict(variants)
    calls = []
    predict = fitted_engagement.predict
    monkeypatch.setattr(fitted_engagement, "predict", lambda rows: calls.append(len(rows)) or predict(rows))
    scored = score_drafts(variants, blend)
    assert calls == []  # the shop model's predictions came with its reasons
    for column in expected.columns:
        assert scored.variants.sort_index()[column].tolist() == pytest.approx(expected[column].tolist(), rel=1e-12)


def test_a_draft_s_subject_appeal_is_the_same_whichever_drafts_it_is_scored_with():
    """Generation scores a batch of drafts, an edit one draft: a subject's appeal (the copy model's) is measured
    against its own draft's subjects, so the two give a draft the same figures and reasons, to the float."""
    from scoring.copy_model import CopyModel
    from tests.scoring.test_copy_model import _tests

    tests = _tests()
    copy_model = CopyModel(char_ngrams=False).fit(
        tests["text"], tests["impressions"], tests["clicks"], tests["test_id"]
    )
    blend = BlendedEngagement(PublicPrior.default(copy_model))
    variants = _campaign()
    variants["locale"] = "en"
    variants["subject"] = [
        "What happened to a garden", "What happened to a garden is amazing",
        "What happened to a river is amazing", "A river", "What happened to a kitchen", "A kitchen",
    ]  # fmt: skip
    together = score_drafts(variants, blend).variants.sort_index()
    alone = pd.concat(
        score_drafts(variants[variants["draft_id"] == draft], blend).variants for draft in ("d1", "d2", "d3")
    ).sort_index()
    for column in ("p_open", "p_click", "p_conversion", "reasons"):
        assert together[column].tolist() == alone[column].tolist(), column
    by_variant = together.set_index(["draft_id", "variant_id"])
    assert by_variant.loc[("d1", "b"), "p_click"] > by_variant.loc[("d1", "a"), "p_click"]
    assert by_variant.loc[("d1", "b"), "reasons"][1].startswith(
        "subject: more clickable than the average of this email"
    )


def test_a_draft_with_one_subject_gets_no_appeal_and_no_copy_reason():
    """The copy model's scores are relative: a draft of one variant, or whose variants share their subject, has no
    other subject to be compared with, so it keeps the public click rate and gets no "more clickable" reason."""
    from scoring.copy_model import CopyModel
    from tests.scoring.test_copy_model import _tests

    tests = _tests()
    copy_model = CopyModel(char_ngrams=False).fit(
        tests["text"], tests["impressions"], tests["clicks"], tests["test_id"]
    )
    variants = _campaign().iloc[:5].copy()
    variants["locale"] = "en"
    variants["draft_id"] = ["d1", "d1", "d2", "d2", "d3"]
    variants["subject"] = [
        "What happened to a garden", "What happened to a garden is amazing",
        "What happened to a river is amazing", "What happened to a river is amazing", "What happened to a kitchen",
    ]  # fmt: skip
    prior = PublicPrior.default(copy_model)
    scored = score_drafts(variants, BlendedEngagement(prior)).variants.set_index(["draft_id", "variant_id"])
    one_subject = scored.loc[[("d2", "a"), ("d2", "b"), ("d3", "a")]]
    assert one_subject["p_click"].tolist() == pytest.approx([prior.rates["open"] * prior.rates["click"]] * 3)
    assert one_subject["reasons"].tolist() == [["no history yet: rates from public data"]] * 3
    assert scored.loc[("d1", "b"), "reasons"][1].startswith("subject: more clickable")


def test_drafts_scored_in_one_batch_score_as_in_several(fitted_engagement):
    """A campaign is scored a batch of drafts at a time (the batches' size is a setting): which drafts share a batch
    changes none of a draft's figures, reasons, ranks or choice, down to the last bit."""
    variants = make_sends(n=60, seed=3).drop(columns=OUTCOME_COLUMNS).reset_index(drop=True)
    variants["draft_id"] = [f"d{i // 3}" for i in range(len(variants))]
    variants["variant_id"] = ["a", "b", "c"] * (len(variants) // 3)
    variants["checks_passed"] = [i % 7 != 0 for i in range(len(variants))]
    variants.loc[::5, "subject"] = "NEW ARRIVALS, ONLY TODAY!"  # past the capitals training saw: clipped
    variants.loc[::4, "n_products"] = 60
    variants.loc[::6, "churn_risk"] = 0.4  # a column the model did not learn from
    for model in (fitted_engagement, BlendedEngagement(PublicPrior.default(), fitted_engagement, prior_sends=500)):
        whole = score_drafts(variants, model)
        pieces = [
            score_drafts(variants.iloc[start : start + size], model) for start, size in ((0, 3), (3, 24), (27, 33))
        ]
        pd.testing.assert_frame_equal(pd.concat([piece.variants for piece in pieces]), whole.variants, check_exact=True)
        pd.testing.assert_frame_equal(pd.concat([piece.drafts for piece in pieces]), whole.drafts, check_exact=True)
        assert whole.drafts["flagged"].any() and whole.variants["reasons"].map(len).min() >= 3
