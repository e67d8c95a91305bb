"""The scale benchmark runs every stage end to end and reports each one's time and memory."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
@pytest.mark.eval
def test_the_scale_benchmark_measures_every_stage(tailor_home, tmp_path, monkeypatch):
    from evals.scale.run import main

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")  # the benchmark sets both: restored after the test
    assert main(["--customers", "300", "--products", "60", "--campaign-limit", "20", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "scale-300.json").read_text())
    assert report["rows"]["customers"] == 300 and report["drafts"] == 20
    expected = {"import orders", "audience refresh", "recommender training", "scoring training", "campaign (fake LLM)",
                "GET /segments", "audience preview"}  # fmt: skip
    assert expected <= set(report["stages"])
    assert all(stage["seconds"] >= 0 and stage["peak_mb"] > 0 for stage in report["stages"].values())
    assert "| campaign (fake LLM) |" in (tmp_path / "scale-300.md").read_text()
