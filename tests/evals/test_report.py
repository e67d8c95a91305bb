"""Every eval writes its JSON figures and markdown table side by side, numpy numbers and non-ASCII included."""

from __future__ import annotations

import argparse
import json

import numpy as np

from evals.report import write_report


def test_report_and_table_are_written_together(tmp_path):
    report = {"auc": np.float64(0.75), "locale": "pl", "subject": "Dawno się nie widzieliśmy"}
    path = write_report(report, "| auc |\n|---|\n| 0.75 |\n\n", tmp_path / "out", "area_quick")
    assert path == tmp_path / "out" / "area_quick.json"
    written = json.loads(path.read_text(encoding="utf-8"))
    assert {key: value for key, value in written.items() if key != "provenance"} == {**report, "auc": 0.75}
    assert {"commit", "command", "data_root", "python", "packages"} <= set(written["provenance"])
    assert (tmp_path / "out" / "area_quick.md").read_text(encoding="utf-8") == "| auc |\n|---|\n| 0.75 |\n"


def test_a_figure_not_measured_is_written_as_null_so_any_json_parser_reads_the_report(tmp_path):
    """The quick experiments run states P(best) of no arm at 0.95 or more: its NaN was written as a bare NaN, and
    JavaScript's JSON.parse refused the whole report."""

    def strict(constant: str):
        raise ValueError(f"{constant} is not JSON")

    report = {"stated": float("nan"), "lift": np.float64("inf"), "buckets": [{"ece": np.float32("nan")}]}
    path = write_report(report, "| x |", tmp_path, "area_quick")
    written = json.loads(path.read_text(encoding="utf-8"), parse_constant=strict)
    assert (written["stated"], written["lift"], written["buckets"]) == (None, None, [{"ece": None}])


def test_a_report_folder_that_cannot_be_made_is_refused_before_the_eval_runs(capsys):
    """`--out` named a folder that could not be made (here under /proc, as a read-only disk would): the eval ran
    its minutes, then failed with a traceback when writing, and its figures were lost with it."""
    import pytest

    from evals.audience.run import parse as audience
    from evals.recommenders.run import parse as recommenders

    for parse in (recommenders, audience):
        with pytest.raises(SystemExit) as stopped:
            parse(["--out", "/proc/tailor-reports"])
        assert stopped.value.code == 2
        assert "/proc/tailor-reports cannot hold the reports" in capsys.readouterr().err


def test_the_report_folder_is_made_when_it_is_checked(tmp_path):
    from evals.report import report_folder

    assert report_folder(str(tmp_path / "a" / "b")).is_dir()


def test_an_eval_ends_with_its_table_on_screen_both_files_named_and_its_thresholds_exit_code(tmp_path, capsys):
    from evals.report import finish

    passed = {"auc": 0.8, "threshold_failures": []}
    assert finish(passed, "| auc |\n|---|\n| 0.8 |", tmp_path, "area_quick") == 0
    out = capsys.readouterr().out
    assert out.index("| 0.8 |") < out.index(f"wrote {tmp_path / 'area_quick.json'} and {tmp_path / 'area_quick.md'}")
    broken = {"auc": 0.6, "threshold_failures": ["auc = 0.6, min 0.7"]}
    assert finish(broken, "| auc |\n|---|\n| 0.6 |", tmp_path, "area_quick") == 1
    assert "threshold broken: auc = 0.6, min 0.7" in capsys.readouterr().err
    assert json.loads((tmp_path / "area_quick.json").read_text(encoding="utf-8"))["auc"] == 0.6
    ceiling = {"ece": 0.05, "threshold_failures": ["ece = 0.05, max 0.03"]}  # was told "below threshold"
    assert finish(ceiling, "| ece |\n|---|\n| 0.05 |", tmp_path, "area_quick") == 1
    assert "threshold broken: ece = 0.05, max 0.03" in capsys.readouterr().err


def test_every_area_s_markdown_ends_with_the_thresholds_it_broke(tmp_path, capsys):
    """A recommenders quick run whose gate failed (`--models popularity`: ndcg@10 not measured) exited 1 with a
    markdown table that said nothing of it: only scoring and experiments listed what they broke, each itself."""
    from evals.report import finish

    report = {"targets": {}, "threshold_failures": ["ndcg@10 was not measured"]}
    assert finish(report, "| model | NDCG@10 |\n|---|---|\n| popularity | 0.1441 |\n", tmp_path, "area_quick") == 1
    table = (tmp_path / "area_quick.md").read_text(encoding="utf-8")
    assert table.endswith("| 0.1441 |\n\nThresholds broken:\n- ndcg@10 was not measured\n")
    assert "Thresholds broken:\n- ndcg@10 was not measured" in capsys.readouterr().out
    finish({"threshold_failures": []}, "| auc |\n|---|\n| 0.8 |", tmp_path, "area_quick")
    assert "Thresholds broken" not in (tmp_path / "area_quick.md").read_text(encoding="utf-8")


def test_a_run_not_judged_by_the_thresholds_says_why_in_its_report_and_its_table(tmp_path, capsys):
    """The experiments and audience evals each wrote their own note, in their own layout, when a quick run of
    another configuration was not judged by thresholds.yaml: `finish` writes it for every area alike."""
    from evals.report import finish

    report = {"auc": 0.6, "threshold_failures": []}
    why = "thresholds.yaml's quick limits are for 300 campaigns"
    assert finish(report, "| auc |\n|---|\n| 0.6 |\n", tmp_path, "area_quick_20", thresholds_not_applied=why) == 0
    written = json.loads((tmp_path / "area_quick_20.json").read_text(encoding="utf-8"))
    assert written["thresholds"] == f"not applied: {why}"
    table = (tmp_path / "area_quick_20.md").read_text(encoding="utf-8")
    assert table.endswith(f"| 0.6 |\n\nThresholds not applied: {why}.\n")
    assert f"Thresholds not applied: {why}." in capsys.readouterr().out
    finish({"threshold_failures": []}, "| auc |\n|---|\n| 0.8 |", tmp_path, "area_quick")
    assert "thresholds" not in json.loads((tmp_path / "area_quick.json").read_text(encoding="utf-8"))
    assert "not applied" not in (tmp_path / "area_quick.md").read_text(encoding="utf-8")


def test_a_table_is_on_screen_even_when_the_report_cannot_be_written(tmp_path, capsys):
    """The figures of a run of minutes are seen before the disk is asked to take them."""
    import pytest

    from evals.report import finish

    (tmp_path / "taken").write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(OSError):
        finish({"auc": 0.8, "threshold_failures": []}, "| auc |\n|---|\n| 0.8 |", tmp_path / "taken", "area")
    assert "| 0.8 |" in capsys.readouterr().out


def test_a_report_names_the_commit_its_run_started_from(tmp_path, monkeypatch):
    """A generation eval ran 17 minutes; a commit made meanwhile was named in its report as the code of its figures."""
    import subprocess

    import evals.datasets
    from evals import report

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "file.txt").write_text("one\n")
    git("add", "file.txt")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    started = git("rev-parse", "HEAD")
    monkeypatch.setattr(evals.datasets, "PROJECT_ROOT", tmp_path)
    report.code_at_start.cache_clear()
    try:
        report.add_out_option(argparse.ArgumentParser())  # as an eval starts
        (tmp_path / "file.txt").write_text("two\n")
        git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "two")
        written = json.loads(write_report({"auc": 0.7}, "| auc |", tmp_path / "out", "run").read_text())
    finally:
        report.code_at_start.cache_clear()
    assert written["provenance"]["commit"] == started
    assert written["provenance"]["uncommitted_changes"] is False


def test_a_report_the_disk_cannot_take_whole_leaves_the_last_one_whole(tmp_path):
    """The JSON was written over the last run's in place: a write cut short (a full disk, a file-size limit, a
    CI job killed) left neither report, but the first bytes of the new one, which no harness could parse."""
    import subprocess
    import sys

    last = {"auc": 0.7}
    write_report(last, "| auc |\n|---|\n| 0.7 |", tmp_path, "area_quick")
    before = {name: (tmp_path / name).read_text(encoding="utf-8") for name in ("area_quick.json", "area_quick.md")}
    # a child that may write files of at most 4 KiB (a full disk, as the process sees it) writes a larger report
    child = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from evals.report import write_report\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n"
        "    write_report({'figures': list(range(5000))}, '| x |\\n' * 2000, Path(sys.argv[1]), 'area_quick')\n"
        "except OSError:\n"
        "    sys.exit(3)\n"
    )
    finished = subprocess.run([sys.executable, "-c", child, str(tmp_path)], capture_output=True, text=True)
    assert finished.returncode == 3, finished.stderr
    after = {name: (tmp_path / name).read_text(encoding="utf-8") for name in ("area_quick.json", "area_quick.md")}
    assert after == before
    assert json.loads(after["area_quick.json"])["auc"] == 0.7
    assert sorted(path.name for path in tmp_path.iterdir()) == ["area_quick.json", "area_quick.md"]


def test_a_report_is_readable_as_an_ordinary_file_is(tmp_path):
    """Put in place whole, a report keeps the permissions an ordinary write gives it (the umask's), not 0600."""
    import os

    umask = os.umask(0o022)
    try:
        path = write_report({"auc": 0.7}, "| auc |", tmp_path, "area_quick")
    finally:
        os.umask(umask)
    assert [(p.stat().st_mode & 0o777) for p in (path, path.with_suffix(".md"))] == [0o644, 0o644]


def test_a_seed_the_random_generators_cannot_take_is_refused_naming_the_option(capsys):
    """`--seed -1` passed argparse's int and ended in a traceback from NumPy (experiments) or scikit-learn (scoring,
    after the demo store was generated)."""
    import pytest

    from evals.experiments.run import parse as experiments
    from evals.scoring.run import parse as scoring

    for parse in (experiments, scoring):
        for seed in ("-1", str(2**32), "x"):
            with pytest.raises(SystemExit) as stopped:
                parse(["--seed", seed])
            assert stopped.value.code == 2
            assert f"argument --seed: {seed} is not a seed: give a whole number from 0 to 4294967295" in (
                capsys.readouterr().err
            )
        assert parse(["--seed", str(2**32 - 1)]).seed == 2**32 - 1


def test_a_report_names_the_module_it_was_run_as(tmp_path):
    """`python -m evals.experiments.run` was written as the command `run.py --quick ...`, the name every area's
    script shares: the report did not say which eval to run again."""
    import subprocess
    import sys

    ran = subprocess.run(
        [sys.executable, "-m", "evals.experiments.run", "--quick", "--campaigns", "3", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    written = json.loads((tmp_path / "experiments_quick_3_campaigns.json").read_text(encoding="utf-8"))
    assert written["provenance"]["command"] == [
        "python", "-m", "evals.experiments.run", "--quick", "--campaigns", "3", "--out", str(tmp_path)
    ]  # fmt: skip


def test_every_eval_s_usage_names_the_command_that_runs_it(capsys):
    """Four recommender evals' usage and errors began `new_arrivals.py: error:`, a file no one runs as such
    (`python -m evals.recommenders.new_arrivals` is), and the import benchmark's `customer_import.py`."""
    import importlib

    import pytest

    for module in ("evals.recommenders.exposure", "evals.recommenders.new_arrivals", "evals.recommenders.returns",
                   "evals.recommenders.variety", "evals.scale.customer_import"):  # fmt: skip
        with pytest.raises(SystemExit) as stopped:
            importlib.import_module(module).main(["--no-such-option"])
        assert stopped.value.code == 2
        assert capsys.readouterr().err.startswith(f"usage: python -m {module} ")


def test_a_step_of_many_parts_is_said_each_tenth_of_the_way_and_at_its_end(capsys):
    """A line a draft or a campaign buried an eval's steps under thousands of lines in a CI log; none at all left a
    slow step and a hung one looking alike."""
    from evals.report import counted

    heard = counted("step 2 of 3: cost", "drafts")
    for done in (0, 1, 2, 2, 3, 10, 24, 25, 49, 50, 99, 100, 100):
        heard(done, 100)
    assert capsys.readouterr().err.splitlines() == [
        f"step 2 of 3: cost: {done} of 100 drafts" for done in (10, 24, 49, 50, 99, 100)
    ]
    few = counted("simulating", "campaigns")
    for done in range(4):
        few(done, 3)
    few(0, 0)  # a step of nothing says nothing
    assert capsys.readouterr().err.splitlines() == [f"simulating: {done} of 3 campaigns" for done in (1, 2, 3)]
