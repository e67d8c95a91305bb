"""`tailor scoring predict-copy` given a file that is no copy model: one line saying what --model takes and how to
make it (it ended in "... cannot be read as one (IndexError)")."""

from __future__ import annotations

import joblib
import pandas as pd

from tests.service.test_cli import run

MADE_BY = "--model takes the file that `tailor scoring fit-copy --train TESTS --out MODEL` saves"


def test_a_file_that_is_no_copy_model_says_which_file_to_give_and_how_to_make_it(tmp_path):
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["Winter boots are back"]}).to_csv(texts, index=False)
    other_model = tmp_path / "other.joblib"
    joblib.dump({"kind": "engagement", "version": 1, "model": None}, other_model)
    for given, said in (
        (texts, f"{texts} is not a copy model file: it cannot be read as one. "),
        (other_model, f"{other_model} does not hold a copy model. "),
        (tmp_path, f"{tmp_path} is a folder, not a copy model file. "),
        (tmp_path / "missing.joblib", f"There is no model file at {tmp_path / 'missing.joblib'}; "),
    ):
        refused = run(
            ["scoring", "predict-copy", "--model", str(given), "--input", str(texts), "--out", str(tmp_path / "o.csv")],
            tmp_path,
        )
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert refused.stderr.startswith(f"error: {said}") and MADE_BY in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "o.csv").exists()


def test_headline_tests_the_copy_model_cannot_learn_from_are_refused_in_one_line_naming_the_line(tmp_path):
    """`tailor scoring fit-copy` on a file with more clicks than impressions: the scoring package's errors are the
    person's to mend, told in one line and exit code 2; taken for a bug, they were a traceback, and no test said
    so (only predict-copy's own catch was tried)."""
    tests = tmp_path / "tests.csv"
    tests.write_text("text,impressions,clicks\nWinter boots are back,100,3\nBoots for less,8,9\n", encoding="utf-8")
    refused = run(["scoring", "fit-copy", "--train", str(tests), "--out", str(tmp_path / "m.joblib")], tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.strip().splitlines() == [f"error: {tests}, line 3: clicks exceed impressions."]
    assert not (tmp_path / "m.joblib").exists()
