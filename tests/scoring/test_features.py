"""Copy features: counted once per distinct text, they must land on every row as if counted row by row."""

from __future__ import annotations

import pandas as pd

from scoring.features import text_features


def test_text_counts_are_counted_once_per_distinct_text_and_land_on_their_rows():
    texts = pd.Series(["Hurry, 50% off now!", None, "Привет, ИВАН?", "Hurry, 50% off now!", "", "🎉 free gift"])
    texts.index = [10, 3, 7, 1, 99, 4]

    counts = text_features(texts)

    one_by_one = pd.concat([text_features(texts.iloc[[position]]) for position in range(len(texts))])
    pd.testing.assert_frame_equal(counts, one_by_one, check_exact=True)
    assert counts.loc[10, "subject_urgency"] == 2 and counts.loc[7, "subject_question"] == 1
