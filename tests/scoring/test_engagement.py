"""The engagement model recovers known effects, is calibrated, explains itself and survives a save/load."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from scoring import engagement
from scoring.engagement import (
    FUNCTION_WORDS,
    OUTCOME_WORDS,
    EngagementModel,
    _reason_words,
    _source_column,
    chain_outcomes,
)
from scoring.errors import MissingColumns, ModelFileError, NotEnoughData, NotFitted
from scoring.features import OUTCOME_COLUMNS
from tests.scoring.conftest import make_sends


def _variants(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=OUTCOME_COLUMNS)


def test_predictions_share_the_index_and_form_a_chain(fitted_engagement, sends):
    variants = _variants(sends.head(50)).set_index(pd.Index([f"v{i}" for i in range(50)]))
    predictions = fitted_engagement.predict(variants)
    assert list(predictions.columns) == ["p_open", "p_click", "p_conversion"]
    assert predictions.index.equals(variants.index)
    assert ((predictions >= 0) & (predictions <= 1)).all().all()
    assert (predictions["p_click"] <= predictions["p_open"]).all()
    assert (predictions["p_conversion"] <= predictions["p_click"]).all()


def test_first_name_and_evening_lift_opens(fitted_engagement):
    planned = _variants(make_sends(n=2, seed=1)).reset_index(drop=True)
    planned["first_name"] = "Anna"
    planned.loc[0, "subject"] = "Anna, new arrivals for you"
    planned.loc[1, "subject"] = "New arrivals for you"
    planned["sent_at"] = pd.Timestamp("2026-02-03 20:00")
    morning = planned.assign(sent_at=pd.Timestamp("2026-02-03 09:00"))
    evening_open = fitted_engagement.predict(planned)["p_open"]
    assert evening_open[0] > evening_open[1] + 0.1
    assert evening_open[1] > fitted_engagement.predict(morning)["p_open"][1]


def test_more_products_lift_clicks(fitted_engagement):
    planned = _variants(make_sends(n=2, seed=2)).reset_index(drop=True)
    planned.loc[:, ["subject", "sent_at", "mean_price"]] = planned.loc[0, ["subject", "sent_at", "mean_price"]].values
    planned["n_products"] = [0, 6]
    p_click_given_open = fitted_engagement.predict(planned).eval("p_click / p_open")
    assert p_click_given_open[1] > p_click_given_open[0]


def test_calibrated_on_fresh_sends(fitted_engagement):
    fresh = make_sends(n=3000, seed=99)
    predictions = fitted_engagement.predict(_variants(fresh))
    for column, outcome in zip(predictions.columns, OUTCOME_COLUMNS, strict=True):
        assert abs(predictions[column].mean() - fresh[outcome].mean()) < 0.03, column
    assert fitted_engagement.metadata["metrics"]["open"]["auc_held_out"] > 0.65


def test_unseen_categories_and_missing_columns_degrade_gracefully(fitted_engagement, sends):
    planned = _variants(sends.head(3)).copy()
    planned["locale"] = "bg"
    planned["segment"] = "brand_new_segment"
    planned["sent_at"] = pd.NaT
    planned = planned.drop(columns=["preheader", "n_products"])
    predictions = fitted_engagement.predict(planned)
    assert predictions.notna().all().all()


def test_reasons_name_the_first_name_in_words(fitted_engagement):
    planned = _variants(make_sends(n=2, seed=3)).reset_index(drop=True)
    planned["first_name"] = "Clara"
    planned["subject"] = ["Clara, our autumn picks", "Our autumn picks"]
    reasons = fitted_engagement.top_reasons(planned, n=3)
    assert len(reasons[0]) == 3
    assert "the customer's first name in the subject raises the chance of an open" in reasons[0]
    assert "no first name in the subject lowers the chance of an open" in reasons[1]
    assert all(isinstance(reason, str) for reason in fitted_engagement.top_reasons(planned, outcome="click")[0])


class _DensifyingRefused(sparse.csr_matrix):
    """Transformed features that fail the test if made dense: a dense row is some 2,000 floats."""

    def todense(self, *args, **kwargs):
        raise AssertionError("the features were made dense")

    toarray = todense


def test_the_send_hour_a_reason_names_is_said_to_be_utc(fitted_engagement):
    """Sends keep their times in UTC and the model learns their hours so; the review page shows times on the shop's
    clock, where "sending at 20:00" read as 20:00 there (15:00 UTC in New York)."""
    planned = _variants(make_sends(n=2, seed=1)).reset_index(drop=True)
    planned["sent_at"] = pd.Timestamp("2026-02-03 20:00")  # the evening the fixture's customers open in
    reasons = [reason for row in fitted_engagement.top_reasons(planned, n=3) for reason in row]
    assert "sending at 20:00 UTC raises the chance of an open" in reasons


def test_contributions_keep_the_features_sparse_and_sum_each_column_s_pushes(fitted_engagement, sends, monkeypatch):
    design = fitted_engagement._design(_variants(sends.head(40)))
    for link in fitted_engagement.links.values():
        columns = link.pipeline[:-1]
        features = sparse.csr_matrix(columns.transform(design)).toarray()
        pushes = pd.DataFrame((features - link.baseline) * link.pipeline[-1].coef_.ravel(), index=design.index)
        groups = [_source_column(name) for name in columns.get_feature_names_out()]
        expected = pushes.T.groupby(groups, sort=False).sum().T
        transform = engagement.transform_columns
        with monkeypatch.context() as patch:
            patch.setattr(
                engagement,
                "transform_columns",
                lambda step, frame, transform=transform: _DensifyingRefused(transform(step, frame)),
            )
            contributions = link.contributions(design)
        pd.testing.assert_frame_equal(contributions, expected, check_exact=False, rtol=1e-9, atol=1e-12)


def test_reasons_are_each_row_s_strongest_pushes_strongest_first(fitted_engagement, sends):
    variants = _variants(sends.head(30))
    design = fitted_engagement._design(variants)
    expected = [[] for _ in range(len(design))]
    for outcome, n in {"open": 3, "click": 2}.items():
        link = fitted_engagement.links[outcome]
        words = link.strongest_words(design)
        for position, (index, row) in enumerate(link.contributions(design).iterrows()):
            strongest = row[row.abs() > 1e-6].abs().sort_values(ascending=False).index[:n]
            expected[position] += [
                f"{_reason_words(column, design.at[index, column], words[position])} "
                f"{'raises' if row[column] > 0 else 'lowers'} the chance of {OUTCOME_WORDS[outcome]}"
                for column in strongest
            ]
    assert fitted_engagement.reasons(variants, {"open": 3, "click": 2}).tolist() == expected


def test_scoring_in_chunks_gives_the_same_predictions_and_reasons(fitted_engagement, sends, monkeypatch):
    variants = _variants(sends.head(50)).set_index(pd.Index([f"v{i}" for i in range(50)]))
    counts = {"open": 3, "click": 1, "conversion": 1}
    whole = fitted_engagement.predict(variants), fitted_engagement.reasons(variants, counts)
    rows_transformed = []
    open_step = fitted_engagement.links["open"].pipeline.named_steps["columns"]
    transform_columns = engagement.transform_columns

    def transform(step, frame: pd.DataFrame):
        if step is open_step:
            rows_transformed.append(len(frame))
        return transform_columns(step, frame)

    monkeypatch.setattr(engagement, "transform_columns", transform)
    monkeypatch.setattr(engagement, "CHUNK_ROWS", 7)
    pd.testing.assert_frame_equal(fitted_engagement.predict(variants), whole[0])
    pd.testing.assert_series_equal(fitted_engagement.reasons(variants, counts), whole[1])
    assert rows_transformed and max(rows_transformed) == 7


def test_save_and_load_round_trip(fitted_engagement, sends, tmp_path):
    path = fitted_engagement.save(tmp_path / "engagement.joblib")
    loaded = EngagementModel.load(path)
    variants = _variants(sends.head(20))
    pd.testing.assert_frame_equal(loaded.predict(variants), fitted_engagement.predict(variants))
    assert loaded.metadata["training_size"] == len(sends)
    assert set(loaded.metadata["metrics"]) == {"open", "click", "conversion"}


def test_named_errors(tmp_path, sends):
    with pytest.raises(NotFitted):
        EngagementModel().predict(_variants(sends.head(2)))
    with pytest.raises(MissingColumns, match="opened"):
        EngagementModel().fit(sends.drop(columns=["opened"]))
    with pytest.raises(NotEnoughData):
        EngagementModel().fit(sends.head(10))
    with pytest.raises(NotEnoughData):
        EngagementModel().fit(sends.assign(opened=0, clicked=0, converted=0))
    (tmp_path / "junk.joblib").write_text("not a model")
    with pytest.raises(ModelFileError):
        EngagementModel.load(tmp_path / "junk.joblib")


def test_thin_conversion_data_falls_back_to_a_rate(sends):
    few_conversions = sends.assign(converted=0)
    few_conversions.loc[few_conversions.index[:3], ["opened", "clicked", "converted"]] = 1
    model = EngagementModel().fit(few_conversions)
    predictions = model.predict(_variants(sends.head(5)))
    ratio = (predictions["p_conversion"] / predictions["p_click"]).to_numpy()
    assert np.allclose(ratio, ratio[0])


def test_a_conversion_counts_as_a_click_and_a_click_as_an_open():
    """A conversion recorded without its click (a link opened on another device) taught the click model nothing,
    with no test failing; a missing outcome is no event."""
    sends = pd.DataFrame({"opened": [0, 1, 0, 0, None], "clicked": [0, 0, 1, 0, None], "converted": [0, 0, 0, 1, 0]})
    opened, clicked, converted = chain_outcomes(sends)
    assert opened.tolist() == [0, 1, 1, 1, 0]
    assert clicked.tolist() == [0, 0, 1, 1, 0]
    assert converted.tolist() == [0, 0, 0, 1, 0]


@pytest.mark.parametrize(("conversions", "fitted"), [(20, True), (19, False)])
def test_a_link_is_fitted_from_twenty_positives_and_falls_back_to_its_rate_below(sends, conversions, fitted):
    """20 conversions (MIN_POSITIVES) are enough for a model of their own; only 3 were tried, so a floor read as
    <= (refusing exactly 20) passed."""
    thin = sends.assign(converted=0)
    thin.loc[thin.index[:conversions], ["opened", "clicked", "converted"]] = 1
    link = EngagementModel().fit(thin).links["conversion"]
    assert link.metrics["positives"] == conversions
    assert (link.calibrated is not None) is fitted


def test_forty_sends_of_twenty_opens_are_enough():
    """The least the model takes: 2 x 20 sends, 20 opened; 39 are refused, naming the 40 it needs."""
    least = make_sends(40).assign(opened=[1] * 20 + [0] * 20, clicked=0, converted=0)
    assert EngagementModel().fit(least).links["open"].calibrated is not None
    with pytest.raises(NotEnoughData, match="Only 39 past sends were given; the engagement model needs at least 40"):
        EngagementModel().fit(least.head(39))


def test_churn_risk_and_recommendation_score_are_learned_when_the_sends_carry_them():
    """Sends that record the customer's churn risk teach the model that risky customers open less; sends that
    never recorded it (older or imported history) leave the feature out instead of failing."""
    sends = make_sends(n=3000, seed=11)
    rng = np.random.default_rng(11)
    risk = rng.random(len(sends))
    sends["churn_risk"] = risk
    sends["rec_score"] = np.nan
    sends["opened"] = (rng.random(len(sends)) < 0.6 - 0.45 * risk).astype(int)
    sends["clicked"] = sends["opened"] & (rng.random(len(sends)) < 0.3)
    sends["converted"] = sends["clicked"] & (rng.random(len(sends)) < 0.3)
    model = EngagementModel().fit(sends)
    planned = _variants(sends.head(2)).reset_index(drop=True)
    planned["subject"] = "New arrivals for you"
    planned["churn_risk"] = [0.05, 0.95]
    p_open = model.predict(planned)["p_open"]
    assert p_open[0] > p_open[1] + 0.2
    reasons = model.top_reasons(planned.iloc[[1]], n=1).iloc[0]
    assert "churn" in reasons[0]
    assert "rec_score" not in model._design(planned).columns


def test_an_optional_column_only_a_few_sends_carry_is_left_out():
    """The first sends Tailor makes record churn risk; the shop's imported history does not. A column that
    6 sends of 3,000 carry would be nearly constant once filled in, and swing every later prediction."""
    sends = make_sends(n=3000, seed=5)
    sends["churn_risk"] = np.nan
    sends.loc[sends.index[-6:], "churn_risk"] = [0.97, 0.99, 1.0, 0.98, 0.99, 1.0]
    model = EngagementModel().fit(sends)
    planned = _variants(sends.head(4)).reset_index(drop=True)
    without = model.predict(planned.drop(columns="churn_risk", errors="ignore"))["p_open"]
    planned["churn_risk"] = [0.05, 0.3, 0.6, 0.9]
    assert np.allclose(model.predict(planned)["p_open"], without)
    assert "churn_risk" not in model._design(planned).columns


def test_optional_values_beyond_the_training_range_are_clipped():
    sends = make_sends(n=3000, seed=6)
    rng = np.random.default_rng(6)
    sends["churn_risk"] = rng.uniform(0.2, 0.6, len(sends))
    model = EngagementModel().fit(sends)
    planned = _variants(sends.head(1).loc[[0, 0]]).reset_index(drop=True)
    planned["churn_risk"] = [0.6, 40.0]
    design = model._design(planned)
    assert design["churn_risk"].max() <= 0.6
    p_open = model.predict(planned)["p_open"]
    assert p_open[0] == p_open[1]


def test_a_thin_calibration_part_is_calibrated_as_before_without_a_warning(sends):
    """20-24 positives leave under 5 in the 20 % calibration part: the default stratified 5-fold split warned."""
    import warnings

    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    from scoring.features import design_frame

    design = design_frame(sends)
    outcome = np.zeros(len(sends), dtype=int)
    outcome[np.random.default_rng(3).choice(len(sends), 22, replace=False)] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        link = engagement.Link("thin").fit(design, outcome, C=1.0, seed=0)
    old = CalibratedClassifierCV(FrozenEstimator(link.pipeline), method="sigmoid")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, calibration_part = engagement.train_test_split(
            np.arange(len(outcome)), test_size=0.2, stratify=outcome, random_state=0
        )
        old.fit(design.iloc[calibration_part], outcome[calibration_part])
    assert link.metrics["calibration"] == "sigmoid"
    assert np.allclose(link.predict(design), old.predict_proba(design)[:, 1])


def test_a_link_predicts_what_its_calibrated_classifier_does_from_one_transform(fitted_engagement, sends):
    variants = _variants(sends.head(200))
    design = fitted_engagement._design(variants)
    for link in fitted_engagement.links.values():
        assert link.calibrated is not None
        expected = link.calibrated.predict_proba(design)[:, 1]
        np.testing.assert_allclose(link.predict(design), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(link.predict(design, link.features(design)), expected, rtol=1e-12, atol=1e-15)


def test_the_strongest_word_is_the_first_present_n_gram_of_largest_weight(fitted_engagement, sends):
    """A lone function word is never the example: the reason read 'the subject's wording (e.g. "to")'."""
    variants = _variants(sends.head(300)).reset_index(drop=True)
    variants.loc[[0, 7], "subject"] = "zqxv wvkj"  # no n-gram the model knows
    variants.loc[3, "subject"] = "to the"  # only function words
    design = fitted_engagement._design(variants)
    link = fitted_engagement.links["open"]
    names = link.pipeline[:-1].get_feature_names_out()
    text = np.array([name.startswith("text__word__") and name[12:] not in FUNCTION_WORDS for name in names])
    transformed = link.features(design)[:, text].tocsr()
    weights = np.abs(link.pipeline[-1].coef_.ravel()[text])
    expected = []
    for row in range(transformed.shape[0]):
        present = transformed[row].indices
        expected.append(
            names[text][present[np.argmax(weights[present])]][len("text__word__") :] if len(present) else ""
        )
    assert "" in expected and len(set(expected)) > 2  # rows without a known n-gram, and several words
    strongest = link.strongest_words(design)
    assert strongest == expected and strongest[3] == "" and not set(strongest) & FUNCTION_WORDS


def test_assessing_gives_the_predictions_and_reasons_from_one_transform_per_link(fitted_engagement, sends, monkeypatch):
    variants = _variants(sends.head(50)).set_index(pd.Index([f"v{i}" for i in range(50)]))
    counts = {"open": 3, "click": 1, "conversion": 1}
    expected = fitted_engagement.predict(variants), fitted_engagement.reasons(variants, counts)
    transforms = []
    names = {id(link.pipeline.named_steps["columns"]): name for name, link in fitted_engagement.links.items()}
    transform_columns = engagement.transform_columns
    monkeypatch.setattr(
        engagement,
        "transform_columns",
        lambda step, frame: transforms.append(names[id(step)]) or transform_columns(step, frame),
    )
    predictions, reasons = fitted_engagement.assess(variants, counts)
    pd.testing.assert_frame_equal(predictions, expected[0])
    pd.testing.assert_series_equal(reasons, expected[1])
    assert sorted(transforms) == sorted(fitted_engagement.links)


def test_a_link_fitted_again_forgets_the_feature_names_of_its_former_pipeline(fitted_engagement, sends):
    model = copy.deepcopy(fitted_engagement)  # the session's model, fitted on these sends: its link is fitted again
    link, design = model.links["open"], model._design(_variants(sends))
    before = link.feature_names()
    fewer = design.drop(columns=["weekday"])
    link.fit(fewer, sends["opened"].to_numpy(dtype=int), C=1.0, seed=0)
    assert len(link.feature_names()) < len(before)
    assert list(link.feature_names()) == list(link.pipeline[:-1].get_feature_names_out())


def test_numbers_past_what_training_saw_score_as_the_edge_of_it(fitted_engagement, sends):
    """The model is linear in each number: a subject in capitals took a 47 % open rate to 85 % on the demo shop,
    and more products or a higher price than any send had moved the scores without end."""
    planned = _variants(sends.head(1)).reset_index(drop=True)
    planned["subject"] = "New arrivals for you"
    shouted = planned.assign(subject="NEW ARRIVALS FOR YOU")
    most_caps = max(sends["subject"].map(lambda text: sum(c.isupper() for c in text) / len(text.replace(" ", ""))))
    assert most_caps < 0.2  # training never shouted
    edge = fitted_engagement.predict(planned.assign(n_products=sends["n_products"].max(), mean_price=80.0))
    beyond = fitted_engagement.predict(planned.assign(n_products=60, mean_price=8000.0))
    pd.testing.assert_frame_equal(edge, beyond)
    training_opens = fitted_engagement.predict(_variants(sends))["p_open"]
    p_shouted = fitted_engagement.predict(shouted)["p_open"].iloc[0]
    assert training_opens.min() <= p_shouted <= training_opens.max()
    assert abs(p_shouted - fitted_engagement.predict(planned)["p_open"].iloc[0]) < 0.1


def test_a_reason_quoting_the_subject_shows_the_name_placeholder_as_words():
    """A Bulgarian draft's reason read 'the subject's wording (e.g. "ни firstname")': the model's stand-in for the
    customer's name, shown to the copywriter as if it were copy."""
    assert _reason_words("subject_text", "", "ни firstname") == 'the subject\'s wording (e.g. "ни [first name]")'
    assert _reason_words("subject_text", "", "firstnames") == 'the subject\'s wording (e.g. "firstnames")'


def test_a_reason_about_a_segment_a_send_file_left_empty_names_it_unknown():
    """An imported send whose file named no segment gave the reason "the  segment"."""
    assert _reason_words("segment", "", "") == "the unknown segment"
    assert _reason_words("segment", "no_orders", "") == "the no orders segment"


def test_a_link_s_features_are_its_column_transformer_s_entry_for_entry(fitted_engagement, sends):
    """``Link.features`` does the column transformer's work without its checks: the same matrix, down to the order
    of each row's entries (a model sums them in that order), with unknown categories, unknown n-grams and a missing
    value among the rows."""
    variants = _variants(sends.head(300)).reset_index(drop=True)
    variants.loc[::7, "segment"] = "never seen"
    variants.loc[::5, "subject"] = "zqxv wvkj"
    variants.loc[::3, "locale"] = None
    variants.loc[::11, "n_products"] = 60
    design = fitted_engagement._design(variants)
    for link in fitted_engagement.links.values():
        expected = sparse.csr_matrix(link.pipeline[:-1].transform(design))
        features = link.features(design)
        assert features.shape == expected.shape and features.dtype == expected.dtype
        for part in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(features, part), getattr(expected, part))


def test_the_design_is_the_design_frame_with_the_history_and_the_optional_columns_filled_and_clipped():
    """``_design`` works on the numbers as arrays and builds its frame once; it must give what filling in and
    clipping the design frame column by column gives, down to the column order, the dtypes and the last bit: a
    learned optional column the variants lack comes last, one they carry stays in place with its gaps filled."""
    from scoring.features import COPY_FEATURE_WORDS, OPTIONAL_NUMERIC, design_frame
    from scoring.history import HISTORY_COLUMNS, prediction_history

    sends = make_sends(n=500, seed=21)
    rng = np.random.default_rng(21)
    sends["churn_risk"], sends["rec_score"] = rng.uniform(0.2, 0.6, len(sends)), rng.uniform(1.0, 2.0, len(sends))
    model = EngagementModel().fit(sends)
    assert set(model._optional_medians) == {"churn_risk", "rec_score"}
    planned = _variants(sends.head(6)).drop(columns="rec_score").set_index(pd.Index([4, 4, 1, 9, 9, 0]))
    planned["churn_risk"] = [0.3, np.nan, 40.0, -1.0, np.nan, 0.5]
    planned["n_products"] = [0, 60, 3, np.nan, 2, 1]
    planned["customer_id"] = ["nobody", *planned["customer_id"].iloc[1:]]

    expected = design_frame(planned)
    history = prediction_history(planned, model._customer_totals, model._open_rate)
    expected[HISTORY_COLUMNS] = history[HISTORY_COLUMNS].to_numpy()
    bounds = dict(model._numeric_ranges)
    for column in OPTIONAL_NUMERIC:
        values = expected[column] if column in expected.columns else pd.Series(np.nan, index=expected.index)
        expected[column] = values.fillna(model._optional_medians[column])
        bounds[column] = model._optional_ranges[column]
    for column, (low, high) in bounds.items():
        expected[column] = expected[column].clip(low, high)
    assert set(bounds) == {column for column in expected.columns if column in COPY_FEATURE_WORDS}

    design = model._design(planned)
    pd.testing.assert_frame_equal(design, expected, check_exact=True)
    assert list(design.columns[-3:]) == [*HISTORY_COLUMNS, "rec_score"]
    low, high = model._optional_ranges["churn_risk"]
    assert design["churn_risk"].iloc[2] == high and design["churn_risk"].iloc[3] == low


def test_a_link_s_baseline_is_the_column_transformer_s_mean_of_its_fitted_rows_to_the_bit(fitted_engagement, sends):
    """The baseline the reasons are measured from is taken from ``transform_columns``, not the column transformer
    itself: the same mean of the rows the regression was fitted on, to the last bit."""
    from sklearn.model_selection import train_test_split

    from scoring.engagement import Link

    design = fitted_engagement._design(_variants(sends)).reset_index(drop=True)
    opened = sends["opened"].to_numpy(dtype=int)
    link = Link("open").fit(design, opened, C=0.5, seed=3)
    fit_part, _ = train_test_split(np.arange(len(opened)), test_size=0.2, stratify=opened, random_state=3)
    expected = np.asarray(link.pipeline[:-1].transform(design.iloc[fit_part]).mean(axis=0)).ravel()
    np.testing.assert_array_equal(link.baseline, expected)
