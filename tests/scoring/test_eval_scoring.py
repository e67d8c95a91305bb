"""The quick scoring evals on real data meet the thresholds in evals/thresholds.yaml."""

from __future__ import annotations

import copy
import json
from functools import cache

import pytest

from evals.datasets import available
from evals.scoring.run import threshold_failures
from scoring.embeddings import installed as embeddings_installed


def _need(relative: str) -> None:
    if not available(relative):
        pytest.skip(f"the public data set {relative} is not in the shared data folder")


@cache
def _upworthy_quick(embeddings: bool) -> dict:
    """The quick Upworthy eval's figures, measured once per process: the test of its thresholds and the run that
    writes them (without embeddings) read one report, where each ran the eval again. A copy for each reader."""
    from evals.scoring.upworthy import evaluate

    return evaluate(quick=True, embeddings=embeddings)


@pytest.mark.eval
@pytest.mark.slow
@pytest.mark.parametrize(
    "embeddings",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.skipif(not embeddings_installed(), reason="the 'embeddings' extra is not installed"),
        ),
    ],
)
def test_upworthy_quick_meets_thresholds(embeddings):
    _need("upworthy/upworthy_packages_train.parquet")
    metrics = copy.deepcopy(_upworthy_quick(embeddings))
    assert metrics["embeddings"] is embeddings
    assert threshold_failures("upworthy", metrics) == []


@pytest.mark.eval
@pytest.mark.slow
def test_sme_quick_meets_thresholds():
    _need("email-campaign-sme/data_email_campaign.csv")
    from evals.scoring.sme import evaluate

    assert threshold_failures("sme", evaluate(quick=True)) == []


@pytest.mark.eval
@pytest.mark.slow
def test_hillstrom_quick_meets_thresholds():
    _need("hillstrom/hillstrom_email_data.csv")
    from evals.scoring.hillstrom import evaluate

    assert threshold_failures("hillstrom", evaluate(quick=True)) == []


def test_a_headline_tested_again_in_a_held_out_test_is_not_trained_on():
    """164 of 1,862 held-out Upworthy headlines were also in a training test: the model had seen their clicks."""
    import pandas as pd

    from evals.scoring.upworthy import split_tests

    rows = pd.DataFrame({"test_id": [f"t{i // 2}" for i in range(40)], "text": [f"h{i}" for i in range(40)]})
    rows.loc[0:1, "text"] = ["again", "once"]
    rows.loc[38:39, "text"] = ["again", "twice"]  # test t19 repeats t0's first headline
    train, held_out = split_tests(rows, share=0.5, seed=0)  # holds out t19, not t0
    assert "again" in set(held_out["text"]) and not set(train["text"]) & set(held_out["text"])
    assert set(train["test_id"]).isdisjoint(held_out["test_id"]) and len(held_out) == 20
    assert sorted(train.loc[train["test_id"] == "t0", "text"]) == ["once"]  # the rest of t0 is kept
    everything, _ = split_tests(rows, share=0.5, seed=0, unseen=False)
    assert len(everything) == 20 and "again" in set(everything["text"])


def test_run_writes_json_and_markdown(tmp_path, monkeypatch):
    _need("upworthy/upworthy_packages_train.parquet")
    from evals.scoring import run

    def upworthy(**options) -> dict:
        assert options == {"quick": True, "seed": 42, "embeddings": False}  # what the eval measured once was asked
        return copy.deepcopy(_upworthy_quick(embeddings=False))

    monkeypatch.setitem(run.EVALS, "upworthy", upworthy)
    assert run.main(["--quick", "--only", "upworthy", "--no-embeddings", "--out", str(tmp_path)]) == 0
    # a quick run of one eval is a report of its own: it overwrote the full run's scoring.json
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == ["scoring_quick_upworthy_no_embeddings.json", "scoring_quick_upworthy_no_embeddings.md"]
    assert json.loads((tmp_path / "scoring_quick_upworthy_no_embeddings.json").read_text())["embeddings"] is False
    assert "pairwise_accuracy" in (tmp_path / "scoring_quick_upworthy_no_embeddings.md").read_text()


@pytest.mark.eval
def test_demo_engagement_quick_meets_thresholds():
    from evals.scoring.demo import evaluate

    assert threshold_failures("demo", evaluate(quick=True)) == []


@pytest.mark.parametrize("only", ["", " , "])
def test_an_only_that_names_no_eval_is_refused_before_any_runs(only, monkeypatch, tmp_path, capsys):
    """`--only ""` ran every eval, the full run's sizes with it, and wrote the figures as scoring_.json."""
    from evals.scoring import run

    monkeypatch.setattr(run, "EVALS", dict.fromkeys(run.EVALS, lambda **options: pytest.fail("an eval ran")))
    assert run.main(["--quick", "--only", only, "--out", str(tmp_path)]) == 2
    assert "--only names no eval; choose from demo, upworthy, sme, hillstrom" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_only_that_names_an_unknown_eval_is_one_line_naming_the_option(monkeypatch, tmp_path, capsys):
    """`--only upworthy,foo` said "Unknown eval(s) foo", naming no option: in a CI log of many evals' options,
    which one was wrong went unsaid."""
    from evals.scoring import run

    monkeypatch.setattr(run, "EVALS", dict.fromkeys(run.EVALS, lambda **options: pytest.fail("an eval ran")))
    assert run.main(["--quick", "--only", "upworthy,foo", "--out", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err
        == "error: argument --only: foo is not an eval; choose from demo, upworthy, sme, hillstrom\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_quick_run_without_its_data_fails(monkeypatch, tmp_path, capsys):
    """A quick run whose data sets were missing printed "skipped" for each and exited 0: a CI job whose data mount
    had gone passed without measuring anything."""
    from evals.scoring.run import main

    monkeypatch.setenv("TAILOR_SHARED_DATA", str(tmp_path / "nowhere"))
    assert main(["--quick", "--only", "sme,hillstrom", "--out", str(tmp_path / "reports")]) == 1
    report = json.loads((tmp_path / "reports" / "scoring_quick_sme_hillstrom.json").read_text())
    assert [failure.split(":")[0] for failure in report["threshold_failures"]] == ["sme", "hillstrom"]
    assert "not measured" in capsys.readouterr().err
    table = (tmp_path / "reports" / "scoring_quick_sme_hillstrom.md").read_text()  # it had no title, nor the failures
    assert table.startswith("# Scoring (quick)\n") and "Thresholds broken:\n- sme: not measured" in table


def test_a_perfect_ctr_predictor_has_no_calibration_error():
    """Each headline was a click row and a miss row, binned apart at times: predictions equal to each headline's
    own CTR read 0.037 with five headlines."""
    import numpy as np
    import pandas as pd

    from evals.scoring.upworthy import _per_impression_calibration

    rows = pd.DataFrame({"impressions": [1000, 800, 1200, 900, 1100], "clicks": [10, 24, 18, 45, 22]})
    perfect = (rows["clicks"] / rows["impressions"]).to_numpy()
    assert _per_impression_calibration(rows, perfect)["ece_per_impression"] == pytest.approx(0.0, abs=1e-12)
    off = _per_impression_calibration(rows, perfect + 0.01)["ece_per_impression"]
    assert off == pytest.approx(0.01)
    assert np.isfinite(_per_impression_calibration(rows, perfect)["brier_per_impression"])


def test_each_eval_is_said_on_stderr_as_it_starts_and_ends(monkeypatch, capsys):
    """A full run of the four evals printed nothing before its table: a CI job could not tell which one it was at."""
    from evals.scoring import run

    monkeypatch.setattr(run, "EVALS", {"sme": lambda **options: {"macro_f1": 0.5}, "hillstrom": run.EVALS["hillstrom"]})
    monkeypatch.setenv("TAILOR_SHARED_DATA", "/nonexistent")
    results = run.run(quick=True, only=["sme", "hillstrom"])
    progress = capsys.readouterr().err.splitlines()
    assert progress[0] == "eval 1 of 2: sme"
    assert progress[1].startswith("eval 1 of 2: sme done in ") and progress[1].endswith(" s")
    assert progress[2:] == ["eval 2 of 2: hillstrom", "eval 2 of 2: hillstrom skipped: its data is missing"]
    assert "skipped" in results["hillstrom"]


def test_the_sme_thresholds_are_the_first_best_cascade_of_the_grid():
    """The threshold search counts every t1 of a t2 at once: it picks what scoring each cascade in turn picked."""
    import itertools

    import numpy as np

    from evals.scoring.sme import _best_thresholds, _cascade

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet([5, 2, 1], 2_000).round(2)  # rounded: equal probabilities, tied thresholds
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    status = rng.integers(0, 3, 2_000)

    def macro_f1(predicted: np.ndarray) -> float:
        confusion = np.bincount(status * 3 + predicted, minlength=9).reshape(3, 3)
        denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
        return float(np.mean(np.divide(2 * np.diag(confusion), denominator, out=np.zeros(3), where=denominator > 0)))

    engaged = probabilities[:, 1] + probabilities[:, 2]
    grid = itertools.product(
        np.quantile(engaged, np.linspace(0.5, 0.95, 46)), np.quantile(probabilities[:, 2], np.linspace(0.8, 0.995, 40))
    )
    scored = [((float(t1), float(t2)), macro_f1(_cascade(probabilities, (t1, t2)))) for t1, t2 in grid]
    best = max(score for _, score in scored)
    assert _best_thresholds(probabilities, status) == next(item for item in scored if item[1] == best)
