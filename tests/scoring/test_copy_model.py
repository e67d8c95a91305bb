"""The copy model learns which wording wins within a test, predicts a CTR and works through its file functions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scoring.copy_model import CopyModel, fit_copy_file, pairs_within_tests, predict_copy_file
from scoring.errors import InvalidRows, MissingColumns, ModelFileError, NotEnoughData

TOPICS = ["a dog", "the ocean", "a teacher", "this town", "a garden", "the river", "an old song", "a kitchen"]


def _tests(n_tests: int = 120, seed: int = 0) -> pd.DataFrame:
    """Each test: the same topic, once with "amazing" (ctr 3 %) and once plain (ctr 2 %)."""
    rng = np.random.default_rng(seed)
    rows = []
    for test in range(n_tests):
        topic = TOPICS[test % len(TOPICS)]
        for text, ctr in [(f"What happened to {topic} is amazing", 0.03), (f"What happened to {topic}", 0.02)]:
            impressions = int(rng.integers(3000, 5000))
            rows.append(
                {
                    "test_id": f"t{test}",
                    "text": text,
                    "impressions": impressions,
                    "clicks": int(rng.binomial(impressions, ctr)),
                }
            )
    return pd.DataFrame(rows)


def test_pairs_within_tests_only_pairs_rows_of_one_test():
    pairs = pairs_within_tests(pd.Series(["a", "a", "b", "a"]), np.array([100.0] * 4), np.array([10.0, 5, 1, 1]))
    assert sorted(zip(pairs["i"], pairs["j"], strict=True)) == [(0, 1), (0, 3), (1, 3)]
    assert pairs.set_index(["i", "j"]).loc[(0, 1), "z"] > 0


def test_rows_without_a_test_id_are_paired_with_none(tmp_path):
    # A file whose test_id cells are empty holds no test: its headlines are not compared with each other as one.
    tests = _tests(n_tests=30)
    tests.loc[tests.index >= 20, "test_id"] = None
    train = tmp_path / "train.csv"
    tests.to_csv(train, index=False)
    summary = fit_copy_file(train, tmp_path / "copy.joblib", embeddings=False)
    assert summary["training_tests"] == 10 and summary["training_pairs"] <= 10
    tests["test_id"] = None
    tests.to_csv(train, index=False)
    assert fit_copy_file(train, tmp_path / "copy.joblib", embeddings=False)["mode"] == "pointwise"


def test_pairwise_model_prefers_the_winning_wording():
    tests = _tests()
    model = CopyModel(char_ngrams=False).fit(tests["text"], tests["impressions"], tests["clicks"], tests["test_id"])
    assert model.metadata["mode"] == "pairwise"
    scores = model.score(["What happened to a cat is amazing", "What happened to a cat"])
    assert scores[0] > scores[1]
    ctr = model.predict_ctr(["What happened to a cat is amazing", "What happened to a cat"])
    assert 0.02 < ctr[0] < 0.04 and 0.01 < ctr[1] < 0.03 and ctr[0] > ctr[1]


def test_scores_are_remembered_per_text_and_not_saved(tmp_path):
    tests = _tests()
    model = CopyModel(char_ngrams=False).fit(tests["text"], tests["impressions"], tests["clicks"], tests["test_id"])
    texts = ["What happened to a cat is amazing", "What happened to a cat", "What happened to a cat is amazing"]
    first = model.score(texts)
    # Duplicates share one score, and a second call gives the same numbers from the memo.
    assert first[0] == first[2] and len(model._score_memo) == 2
    assert np.array_equal(model.score(pd.Series(texts)), first)
    fresh = CopyModel.load(model.save(tmp_path / "copy.joblib"))
    assert "_score_memo" not in fresh.__dict__
    assert np.allclose(fresh.score(texts), first)


def test_pointwise_fallback_without_test_ids():
    tests = _tests(seed=1)
    model = CopyModel().fit(tests["text"], tests["impressions"], tests["clicks"])
    assert model.metadata["mode"] == "pointwise"
    assert (
        model.predict_ctr(["What happened to a cat is amazing"])[0] > model.predict_ctr(["What happened to a cat"])[0]
    )


def test_file_functions_round_trip(tmp_path):
    train = tmp_path / "train.csv"
    _tests().to_csv(train, index=False)
    summary = fit_copy_file(train, tmp_path / "copy.joblib", embeddings=False)
    assert summary["mode"] == "pairwise" and summary["training_tests"] == 120
    candidates = tmp_path / "candidates.csv"
    pd.DataFrame({"text": ["Look at this garden, amazing", "Look at this garden"], "owner": ["x", "y"]}).to_csv(
        candidates, index=False
    )
    written = predict_copy_file(tmp_path / "copy.joblib", candidates, tmp_path / "scored.csv")
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert written == 2 and list(scored.columns) == ["text", "owner", "predicted_ctr"]
    assert scored["predicted_ctr"].iloc[0] > scored["predicted_ctr"].iloc[1]


def test_file_errors_are_named(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"headline": ["x"], "impressions": [1], "clicks": [0]}).to_csv(bad, index=False)
    with pytest.raises(MissingColumns, match="text"):
        fit_copy_file(bad, tmp_path / "m.joblib")
    with pytest.raises(ModelFileError):
        predict_copy_file(tmp_path / "missing.joblib", bad, tmp_path / "out.csv")
    # a data file given as the model: said so, not "IndexError('pop from empty list')"
    with pytest.raises(ModelFileError, match=r"bad.csv is not a copy model file: it cannot be read as one\.$"):
        predict_copy_file(bad, bad, tmp_path / "out.csv")
    with pytest.raises(NotEnoughData):
        CopyModel().fit(pd.Series(["one"]), [10], [1])


@pytest.mark.parametrize(
    ("impressions", "clicks", "message"),
    [
        (["100", "", "80"], ["3", "1", "2"], "line 3: impressions is empty"),
        (["100", "90", "80"], ["3", "abc", "2"], "line 3: clicks is 'abc', not a count"),
        (["100", "90", "80"], ["3", "1", "-2"], "line 4: clicks is '-2', not a count"),
        (["100", "90", "80"], ["3", "1.5", "2"], "line 3: clicks is '1.5', not a count"),  # it was fitted on
        (["100.0", "90", "80.5"], ["3", "1", "2"], "line 4: impressions is '80.5', not a count"),
        (["100", "90", "8"], ["3", "1", "9"], "line 4: clicks exceed impressions"),
    ],
)
def test_bad_counts_name_the_line_and_column(tmp_path, impressions, clicks, message):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "impressions": impressions, "clicks": clicks}).to_csv(bad, index=False)
    with pytest.raises(InvalidRows, match=message):
        fit_copy_file(bad, tmp_path / "m.joblib", embeddings=False)
    with pytest.raises(InvalidRows, match="There is no file at"):
        fit_copy_file(tmp_path / "missing.csv", tmp_path / "m.joblib", embeddings=False)


def test_files_the_copy_commands_cannot_use_are_told_not_crashed_on(tmp_path):
    """Each was a traceback: an empty file, a text file named .parquet, an infinite count, texts of one-letter
    words, and a file of no rows to predict."""
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InvalidRows, match="is empty: it needs a header line"):
        fit_copy_file(empty, tmp_path / "model", embeddings=False)
    fake = tmp_path / "tests.parquet"
    fake.write_text("text,impressions,clicks\n", encoding="utf-8")
    with pytest.raises(InvalidRows, match="cannot be read as a parquet file"):
        fit_copy_file(fake, tmp_path / "model", embeddings=False)
    infinite = tmp_path / "infinite.csv"
    infinite.write_text("text,impressions,clicks\nHello there,100,3\nBig news,inf,2\n", encoding="utf-8")
    with pytest.raises(InvalidRows, match=r"line 3: impressions is 'inf', not a count"):
        fit_copy_file(infinite, tmp_path / "model", embeddings=False)
    letters = pd.DataFrame({"text": ["a b", "c d", "e f", "g h"] * 10, "impressions": 100, "clicks": range(40)})
    letters.to_csv(tmp_path / "letters.csv", index=False)
    with pytest.raises(NotEnoughData, match="hold no word of two letters or more"):
        fit_copy_file(tmp_path / "letters.csv", tmp_path / "model", embeddings=False)


def test_a_bad_row_of_a_parquet_file_is_named_as_its_row(tmp_path):
    frame = pd.DataFrame({"text": [f"Headline {i}" for i in range(8)], "impressions": 100, "clicks": 3})
    frame.loc[5, "clicks"] = -1
    frame.to_parquet(tmp_path / "tests.parquet")
    with pytest.raises(InvalidRows, match=r"row 6: clicks is '-1', not a count"):
        fit_copy_file(tmp_path / "tests.parquet", tmp_path / "model", embeddings=False)


def test_a_file_of_no_rows_gets_a_file_of_no_predictions(tmp_path):
    _tests().to_csv(tmp_path / "train.csv", index=False)
    fit_copy_file(tmp_path / "train.csv", tmp_path / "copy.joblib", embeddings=False)
    (tmp_path / "none.csv").write_text("text\n", encoding="utf-8")
    assert predict_copy_file(tmp_path / "copy.joblib", tmp_path / "none.csv", tmp_path / "out.csv") == 0
    assert list(pd.read_csv(tmp_path / "out.csv").columns) == ["text", "predicted_ctr"]


def test_predictions_keep_the_other_columns_as_the_file_wrote_them(tmp_path):
    """A shop joins the predictions back by its own ids: 00123 came back as 123.0, a JSON "00123" as 123 and a
    date as milliseconds since 1970."""
    _tests().to_csv(tmp_path / "train.csv", index=False)
    fit_copy_file(tmp_path / "train.csv", tmp_path / "copy.joblib", embeddings=False)
    (tmp_path / "rows.csv").write_text(
        "customer_id,text,sent_on\n00123,Hello there,2011-01-01\n17850.0,Big news,\n", encoding="utf-8"
    )
    predict_copy_file(tmp_path / "copy.joblib", tmp_path / "rows.csv", tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[:3] for line in lines] == [
        ["customer_id", "text", "sent_on"],
        ["00123", "Hello there", "2011-01-01"],
        ["17850.0", "Big news", ""],
    ]
    (tmp_path / "rows.jsonl").write_text(
        '{"customer_id": "00123", "text": "Hello there", "sent_on": "2011-01-01", "n": 2}\n', encoding="utf-8"
    )
    predict_copy_file(tmp_path / "copy.joblib", tmp_path / "rows.jsonl", tmp_path / "out.jsonl")
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert (row["customer_id"], row["sent_on"], row["n"]) == ("00123", "2011-01-01", 2)


def test_rows_parquet_cannot_hold_are_refused_by_their_column_and_nothing_is_written(tmp_path):
    """JSON lines whose ids are numbers on one row and text on another, scored to a .parquet file: a traceback."""
    _tests().to_csv(tmp_path / "train.csv", index=False)
    fit_copy_file(tmp_path / "train.csv", tmp_path / "copy.joblib", embeddings=False)
    (tmp_path / "rows.jsonl").write_text(
        '{"id": 1, "text": "Hello there"}\n{"id": "a7", "text": "Big news"}\n', encoding="utf-8"
    )
    with pytest.raises(InvalidRows, match="column id .* written to .jsonl or .csv"):
        predict_copy_file(tmp_path / "copy.joblib", tmp_path / "rows.jsonl", tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_a_file_in_another_encoding_is_told_what_it_is_or_where(tmp_path):
    """The reader's words were a byte offset ("can't decode byte 0xff in position 0"), for a spreadsheet's
    "Unicode text" as for a Latin-1 export."""
    _tests().to_csv(tmp_path / "train.csv", index=False)
    fit_copy_file(tmp_path / "train.csv", tmp_path / "copy.joblib", embeddings=False)
    (tmp_path / "unicode.csv").write_text("text\nHello there\n", encoding="utf-16")
    with pytest.raises(InvalidRows, match=r"unicode.csv is UTF-16 text .*save it as CSV UTF-8"):
        predict_copy_file(tmp_path / "copy.joblib", tmp_path / "unicode.csv", tmp_path / "out.csv")
    (tmp_path / "latin.csv").write_bytes("text\nHello there\nGrüße\n".encode("latin-1"))
    with pytest.raises(InvalidRows, match=r"latin.csv, line 3: is not UTF-8 \(byte 0xfc\)"):
        predict_copy_file(tmp_path / "copy.joblib", tmp_path / "latin.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_text_holding_a_comma_unquoted_is_refused_by_its_line(tmp_path):
    """A file of one text column whose line held "Sale, today only" was scored as "Sale", without a word."""
    _tests().to_csv(tmp_path / "train.csv", index=False)
    fit_copy_file(tmp_path / "train.csv", tmp_path / "copy.joblib", embeddings=False)
    texts = tmp_path / "texts.csv"
    texts.write_text("text\nHello there\nSale, today only\nMore\n", encoding="utf-8")
    with pytest.raises(InvalidRows, match=r"texts.csv, line 3: has 2 cells where the header names 1 column"):
        predict_copy_file(tmp_path / "copy.joblib", texts, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_row_without_its_headline_is_refused_naming_its_line(tmp_path):
    """An empty text was fitted on as a headline of no words, its clicks and all."""
    rows = tmp_path / "rows.csv"
    pd.DataFrame({"text": ["Big news", "  ", "Small news"], "impressions": [100, 90, 80], "clicks": [3, 1, 2]}).to_csv(
        rows, index=False
    )
    with pytest.raises(InvalidRows, match=r"line 3: text is empty"):
        fit_copy_file(rows, tmp_path / "m.joblib", embeddings=False)
    assert not (tmp_path / "m.joblib").exists()
