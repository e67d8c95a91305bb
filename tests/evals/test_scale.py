"""The scale benchmark runs every stage end to end and reports each one's time and memory."""

from __future__ import annotations

import json
import threading

import pytest


@pytest.mark.slow
@pytest.mark.eval
def test_the_scale_benchmark_measures_every_stage(tailor_home, tmp_path, monkeypatch):
    from evals.scale.run import main

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")  # the benchmark sets both: restored after the test
    threads_before = set(threading.enumerate())
    # the report's shape and wiring, whatever the size: a small shop takes every stage's path as 300 customers did
    # (the blend, the same churn model, every draft approved), for about half the CPU
    assert main(["--customers", "40", "--products", "15", "--campaign-limit", "5", "--out", str(tmp_path)]) == 0
    # its memory sampler ends with the run: it read /proc every 50 ms for as long as the process that ran it lived
    # (litellm's logging pool and tqdm's monitor, started by the process's first use, stay with the process; the
    # job beat ends a beat after the last job it held)
    left = [thread.name for thread in set(threading.enumerate()) - threads_before]
    assert [name for name in left if name not in {"tqdm_monitor", "job-beats"} and "litellm-logging" not in name] == []
    report = json.loads((tmp_path / "scale-40-15-products-campaign-of-5.json").read_text())
    assert report["rows"]["customers"] == 40 and report["drafts"] == 5
    expected = {"import orders", "audience refresh", "recommender training", "scoring training", "campaign (fake LLM)",
                "GET /segments", "audience preview", "import orders again (unchanged)",
                "unsubscribe link (one click)", "GET /campaigns/{id} (review)",
                "GET /campaigns/{id} (scheduled)"}  # fmt: skip
    assert expected <= set(report["stages"])
    assert report["orders_unchanged_on_reimport"] == report["rows"]["orders"] and report["unsubscribed"] is True
    assert 0 <= report["mailed_recently_by_then"] <= report["drafts"]
    assert all(stage["seconds"] >= 0 and stage["peak_mb"] > 0 for stage in report["stages"].values())
    assert "| campaign (fake LLM) |" in (tmp_path / "scale-40-15-products-campaign-of-5.md").read_text()


def test_the_options_the_readme_gives_are_taken_and_a_shop_of_no_one_is_refused(capsys):
    """`tailor eval scale --quick`, as the README lists it, was refused; `--customers 0` was a traceback."""
    from evals.scale.run import QUICK, main

    with pytest.raises(SystemExit) as refused:
        main(["--customers", "0"])
    assert refused.value.code == 2 and "--customers: 0 is not a count of 1 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert help_text.startswith("usage: tailor eval scale") and "--quick" in help_text
    assert QUICK["customers"] < 30_000


@pytest.mark.parametrize("given", [["--customers", "300"], ["--customers=300"]])
def test_counts_given_with_quick_hold_however_they_are_written(given, monkeypatch):
    """`python -m evals.scale.run --quick --customers 300` passes no argv to main: the count was looked for there,
    not found, and the quick shop's 1,000 customers measured instead (as for "--customers=300" always)."""
    from evals.scale.run import QUICK, parse

    monkeypatch.setattr("sys.argv", ["run.py", "--quick", *given])
    args = parse(None)
    assert (args.customers, args.products) == (300, QUICK["products"])
    assert parse([]).customers == 30_000 and parse(["--quick"]).customers == QUICK["customers"]


def test_a_run_of_another_shape_has_a_report_of_its_own():
    """Every run of 30,000 customers wrote scale-30000.json, whatever its catalog or campaign: a run of 500
    products for 100 drafts overwrote the figures of the usual one."""
    from evals.scale.run import parse, report_stem

    assert report_stem(parse([])) == "scale-30000" and report_stem(parse(["--quick"])) == "scale-1000"
    assert report_stem(parse(["--products", "500"])) == "scale-30000-500-products"
    assert report_stem(parse(["--quick", "--products", "2000"])) == "scale-1000-2000-products"
    assert report_stem(parse(["--campaign-limit", "100"])) == "scale-30000-campaign-of-100"


def test_a_quick_catalog_of_the_full_run_s_customers_does_not_take_its_report():
    """--quick with 30,000 customers measured 200 products and wrote scale-30000, the full run's (2,000) report;
    a full run of 1,000 customers likewise took --quick's scale-1000."""
    from evals.scale.run import parse, report_stem

    assert report_stem(parse(["--quick", "--customers", "30000"])) == "scale-30000-200-products"
    assert report_stem(parse(["--customers", "1000"])) == "scale-1000-2000-products"
    assert report_stem(parse(["--quick", "--customers", "1000"])) == "scale-1000"


@pytest.mark.eval
def test_the_sending_benchmark_sends_every_email_and_times_the_writes_made_meanwhile(
    tmp_path, tailor_home, monkeypatch, capsys
):
    from evals.scale.sending import main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--emails", "30", "--relay-ms", "5", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "sending-30-1.json").read_text())
    assert report["database"] == "sqlite" and report["sent"] == 30 and report["emails_per_second"] > 0
    writes = report["other_writes"]
    assert writes["count"] > 0 and writes["failed"] == 0 and writes["median_ms"] <= writes["longest_ms"]
    assert "| emails/s |" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.eval
def test_the_customer_import_benchmark_reports_the_writes_beside_its_second_import(tmp_path, tailor_home):
    """`--writer`: another connection writes while a file changing every customer is imported, and the report
    says how long the import held SQLite's write lock, how long those writes waited and how many gave up."""
    from evals.scale.customer_import import main

    assert main(["--customers", "500", "--writer", "--out", str(tmp_path / "out")]) == 0  # TAILOR_HOME: its own
    report = json.loads((tmp_path / "out" / "customer-import-500.json").read_text())
    assert report["summaries"]["import again (updates)"]["updated"] == 500
    beside = report["writes_beside"]
    assert beside["lock_held_seconds"] > 0 and beside["writes"] >= 1 and beside["refused"] == 0
    assert beside["longest_wait_seconds"] < 10
    assert "| write lock held s |" in (tmp_path / "out" / "customer-import-500.md").read_text()


@pytest.mark.slow
@pytest.mark.eval
@pytest.mark.postgres
def test_the_customer_import_benchmark_on_postgres_splits_the_imports_time_at_their_row_locks(
    tmp_path, tailor_home, monkeypatch, capsys
):
    """`--postgres --writer`: on a throwaway cluster, each import's time is split into the phases before its first
    chunk (its advisory lock, the look-up of the file's stored ids, their row locks) and the rest, and the writes of
    a customer the file names wait for the second import's row lock."""
    from evals import postgres
    from evals.scale.customer_import import PHASES, main

    if reason := postgres.missing():
        pytest.skip(reason)
    monkeypatch.setenv("DATABASE_URL", "")  # restored after the test, as TAILOR_HOME is: the benchmark sets its own
    assert main(["--customers", "400", "--postgres", "--writer", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "customer-import-400-postgresql.json").read_text())
    assert report["database"] == "postgresql" and report["summaries"]["import again (updates)"]["updated"] == 400
    new, again = report["lock_phases"]["import (new customers)"], report["lock_phases"]["import again (updates)"]
    # the file's stored ids, then everyone at their addresses and the file's (its households)
    assert (new["look_up_queries"], new["row_lock_queries"], new["rows_locked"]) == (2, 0, 0)
    assert (again["look_up_queries"], again["row_lock_queries"], again["rows_locked"]) == (2, 1, 400)
    for stage, phases in report["lock_phases"].items():
        seconds = sum(phases[name] for name in ("before_lock", "import_wait", "look_up", "row_locks", "rest"))
        assert min(phases.values()) >= 0 and seconds == pytest.approx(report["stages"][stage]["seconds"], abs=0.2)
        assert phases["look_up_db"] <= phases["look_up"]
    beside = report["writes_beside"]
    assert beside["lock_held_seconds"] > 0 and beside["writes"] >= 1 and beside["refused"] == 0
    table = (tmp_path / "out" / "customer-import-400-postgresql.md").read_text()
    assert "| stage | " + " | ".join(PHASES) + " |" in table and "on postgresql" in table
    assert "lock phases:" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.eval
def test_the_fit_memory_benchmark_reports_each_customer_count_and_the_growth_between(tmp_path, capsys):
    from evals import datasets
    from evals.scale.recommender_fit import QUICK, YEAR, main

    if not datasets.available(datasets.ONLINE_RETAIL_FILES[YEAR]):
        pytest.skip(f"no Online Retail {YEAR} under {datasets.data_root()}")
    assert main(["--quick", "--traced", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "recommender-fit-blend-quick.json").read_text())
    assert (report["quick"], report["traced"], report["seeds"]["customer_sample"]) == (True, True, 7)
    fits = report["fits"]
    assert [fit["customers"] for fit in fits] == list(QUICK) and fits[0]["lines"] < fits[1]["lines"]
    assert all(fit["seconds"] > 0 and fit["added_mb"] > 0 and fit["traced_mb"] > 0 for fit in fits)
    assert report["growth"]["added_mb"]["bytes_per_line"] == round(
        (fits[1]["added_mb"] - fits[0]["added_mb"]) * 2**20 / (fits[1]["lines"] - fits[0]["lines"])
    )
    assert "| 300 |" in capsys.readouterr().out and report["provenance"]["command"]


class _InThisProcess:
    """A stand-in for the benchmark's one-process pool: the fit (a stub) runs here, so that the report is read fast."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def submit(self, function, *args):
        from concurrent.futures import Future

        done = Future()
        done.set_result(function(*args))
        return done


@pytest.mark.parametrize(
    ("model", "quick", "traced", "seeds"),
    [
        ("bpr", True, False, {"customer_sample": 7, "model": 42, "als": None, "bpr": 42}),
        ("als", False, True, {"customer_sample": 7, "model": 42, "als": 42, "bpr": None}),
        ("blend", True, True, {"customer_sample": 7, "model": 42, "als": None, "bpr": None}),  # its collaborative: EASE
        ("ease", False, False, {"customer_sample": 7, "model": None, "als": None, "bpr": None}),
    ],
)
def test_the_fit_memory_benchmark_s_report_says_its_configuration_and_seeds(
    model, quick, traced, seeds, tmp_path, monkeypatch
):
    """The report named the model and the figures, not whether the run was quick or traced nor the seeds it drew
    with: a reader could not tell which configuration gave the figures, nor fit the same model again."""
    from evals import datasets
    from evals.scale import recommender_fit

    fitted = []

    def fit(name, customers, with_tracing):
        fitted.append((name, customers, with_tracing))
        traced_mb = {"traced_mb": 40} if with_tracing else {}
        return {"customers": customers, "lines": customers * 10, "seconds": 1.0, "baseline_mb": 100, "data_mb": 5,
                "peak_mb": 150 + customers, "added_mb": 50 + customers, **traced_mb}  # fmt: skip

    monkeypatch.setattr(recommender_fit, "ProcessPoolExecutor", _InThisProcess)
    monkeypatch.setattr(recommender_fit, "measure", fit)
    monkeypatch.setattr(datasets, "data_path", lambda name: name)
    arguments = ["--model", model, "--customers", "150,300", *(["--quick"] * quick), *(["--traced"] * traced)]
    assert recommender_fit.main([*arguments, "--out", str(tmp_path)]) == 0
    stem = f"recommender-fit-{model}{'-quick' if quick else ''}"
    report = json.loads((tmp_path / f"{stem}.json").read_text())
    assert fitted == [(model, 150, traced), (model, 300, traced)]
    assert (report["quick"], report["traced"], report["seeds"]) == (quick, traced, seeds)
    shown = ", ".join(f"{name} {seed}" for name, seed in seeds.items() if seed is not None)
    assert f"Seeds: {shown}." in (tmp_path / f"{stem}.md").read_text()


def test_the_fit_memory_benchmark_s_seeds_are_those_of_the_als_or_bpr_the_blend_fits():
    from evals.scale.recommender_fit import seeds

    assert seeds("blend", collaborative="bpr", collaborative_params={"random_state": 3}) == {
        "customer_sample": 7, "model": 42, "als": None, "bpr": 3,
    }  # fmt: skip
    assert seeds("blend", collaborative="als", random_state=5)["als"] == 42  # the ALS's own default


def test_the_fit_memory_benchmark_takes_a_list_of_counts_and_refuses_a_shop_of_no_one(capsys):
    from evals.scale.recommender_fit import counts, main

    assert counts("1000,2000") == (1000, 2000)
    with pytest.raises(SystemExit) as refused:
        main(["--customers", "1000,0"])
    assert refused.value.code == 2 and "0 is not a count of 1 or more" in capsys.readouterr().err


def test_the_fit_memory_benchmark_refuses_a_model_not_registered_before_it_starts_a_fit(capsys):
    """`--model foo` reached the fit's own process, whose error could not be sent back: a BrokenProcessPool
    traceback that named no option."""
    from evals.scale.recommender_fit import main

    with pytest.raises(SystemExit) as refused:
        main(["--model", "foo", "--customers", "100"])
    error = capsys.readouterr().err
    assert refused.value.code == 2 and "argument --model: invalid choice: 'foo'" in error and "blend" in error
    assert "Traceback" not in error


@pytest.mark.eval
def test_the_bounce_benchmark_marks_every_customer_each_way_with_an_update_per_batch(
    tmp_path, tailor_home, monkeypatch, capsys
):
    from evals.scale.bounces import HOUSEHOLD, main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--customers", "40", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bounces-40.json").read_text())
    ways = report["ways"]
    assert set(ways) == {"bounce events (one a customer)", "one bounce at an address all share",
                         "households after an import"}  # fmt: skip
    households = -(-40 // (HOUSEHOLD - 1))  # each with its one bounced before
    assert [way["bounced"] for way in ways.values()] == [40, 40, 40 + households]
    assert all(way["customer_updates"] == 1 and way["seconds"] >= 0 for way in ways.values())
    assert "| UPDATEs of customers |" in capsys.readouterr().out


@pytest.mark.eval
def test_the_experiment_batch_benchmark_times_each_batch_and_its_reads_of_the_outcomes(
    tmp_path, tailor_home, monkeypatch
):
    from evals.scale.experiment_batch import main

    monkeypatch.setenv("TAILOR_TRACK_CLICKS", "false")  # set by the benchmark: restored after the test
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--sent", "60", "--batch", "10", "--out", str(tmp_path)]) == 0
    batches = json.loads((tmp_path / "experiment-batch-60-10.json").read_text())["batches"]
    unread, read = batches["no reader's click recorded"], batches["readers' clicks recorded"]
    assert unread["sent"] == 10 and read["sent"] > 0  # the holdout takes some of the drafts left
    assert any("No reader's click is recorded" in warning for warning in unread["warnings"])
    assert not any("No reader's" in warning for warning in read["warnings"])
    assert (unread["outcome_reads"], read["outcome_reads"]) == (2, 1)  # the allocation's, and the warning's


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--emails", "0"], "argument --emails: 0 is not a count of 1 or more"),
        (["--connections", "51"], "argument --connections: 51 is not from 1 to 50"),
        (["--relay-ms", "-5"], "argument --relay-ms: -5 is not a number of milliseconds of 0 or more"),
        (["--relay-ms", "nan"], "argument --relay-ms: nan is not a number of milliseconds of 0 or more"),
        (["--relay-ms", "inf"], "argument --relay-ms: inf is not a number of milliseconds of 0 or more"),
    ],
)
def test_the_sending_benchmark_names_the_option_it_refuses(arguments, message, capsys):
    """One message listed all three options' bounds whichever was wrong, and --relay-ms nan or inf passed (a send
    that never ended, or a traceback from time.sleep)."""
    from evals.scale.sending import main

    with pytest.raises(SystemExit) as refused:
        main(arguments)
    assert refused.value.code == 2 and message in capsys.readouterr().err
