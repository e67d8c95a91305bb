"""The recommender speed benchmark takes the sizes it is given and leaves a report like every other eval's."""

from __future__ import annotations

import json

import pytest


@pytest.mark.eval
def test_a_small_bench_writes_its_figures_table_and_provenance(tmp_path):
    """It wrote a bare JSON file (no table, no commit or versions to reproduce it by), and --quick replaced the
    sizes given with its own."""
    from evals.recommenders.bench import main

    argv = ["--quick", "--models", "als", "--customers", "200", "--products", "60", "--out", str(tmp_path)]
    assert main(argv) == 0
    report = json.loads((tmp_path / "recommenders_bench_quick-200x60.json").read_text())
    assert report["batch"]["customers"] == 200 and report["models"] == ["als"]
    assert report["batch"]["als"]["single_p99_ms"] > 0 and "commit" in report["provenance"]
    table = (tmp_path / "recommenders_bench_quick-200x60.md").read_text()
    bought = report["batch"]["products"]  # of the 60 in the catalog
    assert table.startswith(f"# Recommender speed: 200 customers x {bought} products bought (quick)")
    assert "| als |" in table and "Online Retail" not in table  # not measured by a quick run


def test_a_size_of_nothing_is_refused_before_any_work(capsys):
    from evals.recommenders.bench import parse

    with pytest.raises(SystemExit) as refused:
        parse(["--customers", "0"])
    assert refused.value.code == 2 and "--customers: 0 is not a count of 1 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(["--models", "als,nope"])
    assert "--models: no recommender called nope; choose from" in capsys.readouterr().err
    assert (parse(["--quick"]).customers, parse([]).products) == (10_000, 10_000)
