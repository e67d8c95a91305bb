"""DistinctTfidf against the TfidfVectorizer it stands for: fitted on every row, it must learn and give the same."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from scoring.engagement import EngagementModel
from scoring.ngrams import DistinctTfidf, term_counts

# Repeated unevenly, so that which terms pass min_df, and which are the most frequent, depends on the rows and
# not on the distinct texts: "sale" is in one distinct text repeated 5 times, "gift" in three texts once each,
# and several terms tie on frequency at the max_features cut.
TEXTS = pd.Series(
    ["big sale now"] * 5
    + ["a gift for you", "gift ideas", "the gift shop", "new in: boots", "new in: coats", "last chance, boots!"]
    + ["Über Größe", "", "boots boots boots"] * 2
)
UNSEEN = pd.Series(["sale on boots", "gift gift", "nothing known here", "", "big sale now"])
SETTINGS = [
    {"analyzer": "word", "ngram_range": (1, 2), "min_df": 3, "max_features": None},
    {"analyzer": "word", "ngram_range": (1, 2), "min_df": 1, "max_features": 6},
    {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 2, "max_features": 25},
    {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 4, "max_features": None},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda settings: f"{settings['analyzer']}-{settings['min_df']}")
def test_learns_and_gives_what_tfidf_fitted_on_every_row_does(settings):
    per_row = TfidfVectorizer(sublinear_tf=True, **settings)
    rows = per_row.fit_transform(TEXTS)
    distinct = DistinctTfidf(sublinear_tf=True, **settings)
    distinct_rows = distinct.fit_transform(TEXTS)

    assert list(distinct.get_feature_names_out()) == list(per_row.get_feature_names_out())
    np.testing.assert_allclose(distinct.tfidf_.idf_, per_row.idf_, rtol=1e-12)
    for texts in (TEXTS, UNSEEN):
        _assert_same_storage(distinct.transform(texts), per_row.transform(texts))
    # Stored alike, down to the order of the terms within a row: a solver fitted on them sums in that order.
    _assert_same_storage(distinct_rows, rows)


def _assert_same_storage(matrix, expected) -> None:
    assert matrix.shape == expected.shape
    np.testing.assert_array_equal(matrix.indptr, expected.indptr)
    np.testing.assert_array_equal(matrix.indices, expected.indices)
    np.testing.assert_allclose(matrix.data, expected.data, rtol=1e-12)


def test_min_df_counts_rows_not_distinct_texts():
    """The word "sale" is in one distinct text on five rows: kept at min_df 3, as the per-row vectorizer keeps it."""
    assert "sale" in DistinctTfidf(min_df=3).fit(TEXTS).get_feature_names_out()


def test_no_term_left_is_an_error_as_for_tfidf():
    with pytest.raises(ValueError, match="no terms remain"):
        TfidfVectorizer(min_df=10).fit(TEXTS)
    with pytest.raises(ValueError, match="no terms remain"):
        DistinctTfidf(min_df=10).fit(TEXTS)


def _per_row_ngrams(**kwargs) -> FeatureUnion:
    """The engagement model's n-grams as TfidfVectorizers on every row, with the same parameters."""
    from scoring.features import subject_ngrams

    union = subject_ngrams(**kwargs)
    return FeatureUnion([(name, TfidfVectorizer(**part.get_params())) for name, part in union.transformer_list])


def test_engagement_model_is_the_one_fitted_with_per_row_tfidf(fitted_engagement, sends, monkeypatch):
    monkeypatch.setattr("scoring.engagement.subject_ngrams", _per_row_ngrams)
    per_row = EngagementModel().fit(sends)
    variants = sends.drop(columns=["opened", "clicked", "converted"]).iloc[:300]

    for name, link in fitted_engagement.links.items():
        np.testing.assert_array_equal(link.pipeline[-1].coef_, per_row.links[name].pipeline[-1].coef_)
        assert link.metrics == per_row.links[name].metrics
    pd.testing.assert_frame_equal(fitted_engagement.predict(variants), per_row.predict(variants), rtol=1e-12)
    assert list(fitted_engagement.reasons(variants.iloc[:20], {"open": 3, "click": 1})) == list(
        per_row.reasons(variants.iloc[:20], {"open": 3, "click": 1})
    )


@pytest.mark.parametrize("sublinear_tf", [True, False])
def test_transforming_gives_what_the_fitted_parts_give_to_the_bit(sublinear_tf):
    """``transform`` weighs the counts itself, without the tf-idf transformer's checks: the same matrix as the
    fitted counter and tf-idf transformer give, stored alike and equal to the last bit."""
    distinct = DistinctTfidf(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=sublinear_tf).fit(TEXTS)
    for texts in (TEXTS, UNSEEN, UNSEEN.iloc[[2]]):
        unique = list(dict.fromkeys(texts))
        expected = distinct.tfidf_.transform(distinct.counter_.transform(unique))[[unique.index(t) for t in texts]]
        matrix = distinct.transform(texts)
        assert matrix.shape == expected.shape and matrix.dtype == expected.dtype
        for part in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(matrix, part), getattr(expected, part))


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda settings: f"{settings['analyzer']}-{settings['min_df']}")
def test_remembered_counts_give_what_tokenizing_gives_to_the_bit(settings):
    """A text's n-gram counts are remembered across fits and transforms: fitted and transformed with none
    remembered, then with all of them, the matrices, terms and idf are those of the per-row vectorizer, bit for bit."""
    per_row = TfidfVectorizer(sublinear_tf=True, **settings)
    expected_rows = per_row.fit_transform(TEXTS)
    results = []
    for _ in ("none remembered", "all remembered"):
        term_counts.cache_clear()
        for _ in range(2 if results else 1):  # the second pass reads every text's counts remembered
            distinct = DistinctTfidf(sublinear_tf=True, **settings)
            rows = distinct.fit_transform(TEXTS)
        results.append((distinct, rows))
    assert term_counts.cache_info().hits > 0
    for distinct, rows in results:
        assert list(distinct.get_feature_names_out()) == list(per_row.get_feature_names_out())
        np.testing.assert_array_equal(distinct.tfidf_.idf_, per_row.idf_)
        _assert_equal_to_the_bit(rows, expected_rows)
        for texts in (TEXTS, UNSEEN):
            _assert_equal_to_the_bit(distinct.transform(texts), per_row.transform(texts))


def _assert_equal_to_the_bit(matrix, expected) -> None:
    assert matrix.shape == expected.shape and matrix.dtype == expected.dtype
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(matrix, part), getattr(expected, part))
