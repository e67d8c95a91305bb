"""The copy model's optional sentence embeddings: offline vectors, a model that keeps the option, a clear error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring import embeddings
from scoring.copy_model import EMBEDDINGS_C, CopyModel, fit_copy_file, predict_copy_file
from scoring.errors import ExtraNotInstalled
from tests.scoring.test_copy_model import _tests

needs_extra = pytest.mark.skipif(
    not embeddings.installed(), reason="the optional 'embeddings' extra (sentence-transformers) is not installed"
)


@needs_extra
def test_embeddings_are_normalized_and_put_similar_headlines_closer():
    vectors = embeddings.embed(["A dog saves a child", "A puppy rescues a little boy", "Interest rates rise again"])
    assert vectors.shape == (3, embeddings.DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert np.array_equal(embeddings.embed(["A dog saves a child"])[0], vectors[0])


@needs_extra
def test_model_with_embeddings_prefers_the_winning_wording_and_keeps_the_option(tmp_path):
    train = tmp_path / "train.csv"
    _tests().to_csv(train, index=False)
    summary = fit_copy_file(train, tmp_path / "copy.joblib")  # with the extra installed, embeddings are the default
    assert summary["embeddings"] is True and summary["C"] == EMBEDDINGS_C
    assert summary["features"] > embeddings.DIMENSIONS
    candidates = tmp_path / "candidates.csv"
    pd.DataFrame({"text": ["Look at this garden, amazing", "Look at this garden"]}).to_csv(candidates, index=False)
    predict_copy_file(tmp_path / "copy.joblib", candidates, tmp_path / "scored.csv")
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert scored["predicted_ctr"].iloc[0] > scored["predicted_ctr"].iloc[1]
    assert CopyModel.load(tmp_path / "copy.joblib").embeddings


def test_asking_for_embeddings_without_the_extra_names_it(monkeypatch):
    monkeypatch.setattr(embeddings, "installed", lambda: False)
    with pytest.raises(ExtraNotInstalled, match=r"pip install -e '\.\[embeddings\]'"):
        CopyModel(embeddings=True)


def test_models_saved_before_the_option_read_as_without_embeddings():
    tests = _tests(n_tests=20)
    model = CopyModel(char_ngrams=False).fit(tests["text"], tests["impressions"], tests["clicks"], tests["test_id"])
    del model.__dict__["embeddings"]
    assert model.embeddings is False and model.score(["What happened to a cat"]).shape == (1,)


@needs_extra
def test_fit_copy_command_embeds_by_default_and_can_be_told_not_to(tmp_path):
    train = tmp_path / "train.csv"
    _tests(n_tests=40).to_csv(train, index=False)
    from tests.service.test_cli import run_on_a_terminal

    for flags, expected in (([], "'embeddings': True"), (["--no-embeddings"], "'embeddings': False")):
        command = ["scoring", "fit-copy", "--train", str(train), "--out", str(tmp_path / "m.joblib"), *flags]
        result, shown = run_on_a_terminal(command, tmp_path, timeout=300, forked=True)
        assert result.returncode == 0, shown
        assert expected in result.stdout and "3/3" in shown  # its steps on a bar, at a terminal
        assert CopyModel.load(tmp_path / "m.joblib").embeddings is (not flags)
