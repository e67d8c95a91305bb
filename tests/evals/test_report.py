"""Every eval writes its JSON figures and markdown table side by side, numpy numbers and non-ASCII included."""

from __future__ import annotations

import json

import numpy as np

from evals.report import write_report


def test_report_and_table_are_written_together(tmp_path):
    report = {"auc": np.float64(0.75), "locale": "pl", "subject": "Dawno się nie widzieliśmy"}
    path = write_report(report, "| auc |\n|---|\n| 0.75 |\n\n", tmp_path / "out", "area_quick")
    assert path == tmp_path / "out" / "area_quick.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {**report, "auc": 0.75}
    assert (tmp_path / "out" / "area_quick.md").read_text(encoding="utf-8") == "| auc |\n|---|\n| 0.75 |\n"
