"""Every model against every baseline on one data set and protocol; prints a table, writes JSON + markdown.

    python -m evals.recommenders.run --dataset online_retail --protocol time [--quick] [--tune 20]
    tailor eval recommenders --dataset movielens --protocol recbole

Baselines are implicit's ALS and BM25 item-item with their default settings, popularity and repeat
purchase. With `--tune N`, each tunable Tailor model also runs with the parameters Optuna found in N trials
on a validation split cut from the training data (the test part is never used for choosing).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime

from evals.datasets import exit_status
from evals.recommenders import data, protocols
from evals.recommenders.evaluate import evaluate
from evals.recommenders.metrics import KS
from evals.report import add_out_option, finish, number_of, say
from evals.thresholds import broken, limits

BASELINES = {
    "popularity": ("popularity", {}),
    "repeat_purchase": ("repeat_purchase", {}),
    "implicit_als_default": ("als", {}),
    "implicit_bm25_default": ("bm25", {}),
}
TAILOR = {
    "segment_popularity": ("segment_popularity", {}),
    "item_knn": ("item_knn", {}),
    "bpr": ("bpr", {}),
    "ease": ("ease", {}),
    "ease_hybrid": ("ease_hybrid", {}),
    "content": ("content", {}),
    "blend": ("blend", {}),
    "auto": ("auto", {}),
}
QUICK_TAILOR = {"ease": ("ease", {}), "blend": ("blend", {"training_windows": 1})}
TARGETS = {
    ("online_retail", "time"): {"relative_recall@10_gain": 0.10},
    ("movielens", "recbole"): {"ndcg@10": 0.37},
}
# The model each target is measured on, named before the run (the first of these in the lineup): the best of the
# lineup on the test part would be a pick made on the test part. Online Retail's is the service's default.
PRIMARY = {
    ("online_retail", "time"): ("blend",),
    ("movielens", "recbole"): ("ease_hybrid", "ease"),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tailor eval recommenders", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=data.DATASETS, default="online_retail", help="the data set (default: online_retail)"
    )
    parser.add_argument(
        "--protocol", choices=sorted(protocols.PROTOCOLS), default=None,
        help="how the test interactions are held out: time (the last 30 days), last_basket (each customer's last "
        "order) or recbole (a random 80/10/10 per customer); default: recbole for movielens and groceries, else time",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="the small configuration CI runs")
    parser.add_argument("--models", default=None, help="comma-separated labels to run (default: all)")
    parser.add_argument(
        "--tune", type=number_of("trials"), default=0, metavar="TRIALS", help="Optuna trials per tunable model"
    )
    add_out_option(parser)
    args = parser.parse_args(argv)
    try:
        lineup(args.dataset, args.quick, args.models)
    except ValueError as error:
        parser.error(str(error))
    return args


def default_protocol(dataset: str) -> str:
    return "recbole" if dataset in ("movielens", "groceries") else "time"


def lineup(dataset: str, quick: bool, only: str | None) -> dict[str, tuple[str, dict]]:
    """Label -> (model name, params) to run; `only` (comma-separated labels or model names) keeps some of
    them, and raises ValueError naming any that is not in the lineup and listing the valid ones."""
    models = {**BASELINES, **(QUICK_TAILOR if quick else TAILOR)}
    if dataset == "movielens":
        models["implicit_bpr_default"] = models.pop("bpr", ("bpr", {}))
        models.pop("repeat_purchase")
        models.pop("segment_popularity", None)
    if only:
        wanted = [label.strip() for label in only.split(",") if label.strip()]
        known = set(models) | {name for name, _ in models.values()}
        unknown = [label for label in wanted if label not in known]
        if not wanted:  # `--models ,` loaded the data, ran nothing and wrote an empty report to fail the gate
            raise ValueError(f"--models names no model; choose from: {', '.join(sorted(known))}")
        if unknown:
            raise ValueError(
                f"--models: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in the {dataset}"
                f"{' quick' if quick else ''} lineup; choose from: {', '.join(sorted(known))}"
            )
        models = {label: spec for label, spec in models.items() if label in wanted or spec[0] in wanted}
    return models


def run(dataset: str, protocol: str, quick: bool = False, only: str | None = None, trials: int = 0) -> dict:
    """Evaluate the lineup and return the report (a plain, JSON-ready dict)."""
    models = lineup(dataset, quick, only)
    interactions, products = data.load(dataset, quick=quick)  # a missing file: the one line exit_status prints
    # the model the other quick evals (new arrivals, exposure) fit again on the same split: its fit is shared with
    # them. Imported after the data is read: the campaigns' rules bring scikit-learn, ~2 CPU-s a `python -m` run
    # without its data paid before its one line
    from evals.recommenders.exposure import MODEL as CAMPAIGN_MODEL

    split = protocols.PROTOCOLS[protocol](interactions)
    sizes = f"{len(split.train):,} training rows, {len(split.relevant):,} test customers"
    say(f"{dataset}{' (quick)' if quick else ''}: {sizes}")
    results: dict[str, dict] = {}
    for number, (label, (name, params)) in enumerate(models.items(), start=1):
        at = f"model {number} of {len(models)}: {label}"
        say(at)
        results[label] = evaluate(name, params, split, products, shared=quick and name == CAMPAIGN_MODEL)
        results[label]["model"] = name
        results[label]["baseline"] = label in BASELINES or label.startswith("implicit_")
        measured = results[label]
        say(f"{at} done: R@10 new {measured['new']['recall@10']:.4f}, fit {measured['fit_seconds']:.1f} s")
    if trials:  # Optuna is imported only by a run that tunes
        from evals.recommenders.tuning import TUNABLE, tune
    for name in sorted({spec[0] for spec in models.values()} & set(TUNABLE)) if trials else []:
        started = time.perf_counter()
        # the lineup's own parameters for the model (the quick run's) hold while the rest are searched
        fixed = next(params for model, params in models.values() if model == name)
        # implicit's ALS and BPR tuned are still baselines: not a Tailor model, nor one a target is measured on
        tuned_baseline = all(results[label]["baseline"] for label, (model, _) in models.items() if model == name)
        say(f"tuning {name}: {trials} trials")
        best, validation_score = tune(name, split, products, trials=trials, fixed=fixed)
        label = f"{name}_tuned"
        results[label] = evaluate(name, best, split, products) | {
            "model": name,
            "baseline": tuned_baseline,
            "validation_objective": validation_score,
            "tuning_seconds": round(time.perf_counter() - started, 1),
        }
    return {
        "dataset": dataset,
        "protocol": protocol,
        "quick": quick,
        "models_option": only,
        "tune_trials": trials,
        "created_at": datetime.now(UTC).isoformat(),
        "split": {
            **split.settings,
            "interactions": len(interactions),
            "products": len(products),
            "train_rows": len(split.train),
            "customers": len(split.relevant),
            "customers_with_new_products": len(split.relevant_new),
        },
        "models": results,
        "targets": check_targets(dataset, protocol, results),
    }


def check_targets(dataset: str, protocol: str, results: dict) -> dict:
    """The issue's targets for this data set and protocol, with the figures reached by the model named for them
    (PRIMARY; a lineup of one Tailor model, that one); {} where none is in the lineup."""
    tailor = [label for label, r in results.items() if not r["baseline"]]
    baselines = {label: r for label, r in results.items() if r["baseline"]}
    named = [label for label in PRIMARY.get((dataset, protocol), ()) if label in tailor]
    primary = named[0] if named else (tailor[0] if len(tailor) == 1 else None)
    if primary is None:
        return {}
    measured = results[primary]
    report: dict = {}
    if (dataset, protocol) == ("online_retail", "time"):
        goal = TARGETS[(dataset, protocol)]["relative_recall@10_gain"]
        for part in ("all", "new"):
            reached = measured[part]["recall@10"]
            gains = {
                label: reached / r[part]["recall@10"] - 1 if r[part]["recall@10"] else float("inf")
                for label, r in baselines.items()
            }
            report[f"recall@10_{part}"] = {
                "model": primary, "reached": reached, "gain_over": gains,
                "met": all(gain >= goal for gain in gains.values()),
            }  # fmt: skip
    if (dataset, protocol) == ("movielens", "recbole"):
        reached = measured["new"]["ndcg@10"]
        goal = TARGETS[(dataset, protocol)]["ndcg@10"]
        report["ndcg@10"] = {"model": primary, "reached": reached, "goal": goal, "met": reached >= goal}
    return report


COLUMNS = [
    ("R@10 all", "all", "recall@10"),
    ("R@10 new", "new", "recall@10"),
    ("NDCG@10 new", "new", "ndcg@10"),
    ("MAP@10 new", "new", "map@10"),
    ("Hit@10 new", "new", "hit@10"),
    ("R@20 new", "new", "recall@20"),
]
# Beyond accuracy, over the lists of products new to each customer: one column per measure and k.
BEYOND_COLUMNS = [
    (f"{title}@{k}", "beyond", f"{metric}@{k}")
    for title, metric in (("cover", "coverage"), ("novelty", "novelty"), ("ILD", "diversity"))
    for k in KS
]


def markdown(report: dict) -> str:
    lines = [
        f"# Recommenders: {report['dataset']} / {report['protocol']}{' (quick)' if report['quick'] else ''}",
        "",
        f"{report['split']['customers']} test customers "
        f"({report['split']['customers_with_new_products']} with products new to them), "
        f"{report['split']['train_rows']} training rows.",
        "",
        *_table(report["models"], COLUMNS, timings=True),
        "",
        "Beyond accuracy (catalog coverage, novelty in bits, intra-list diversity) of the lists of new products:",
        "",
        *_table(report["models"], BEYOND_COLUMNS),
    ]
    if report["targets"]:
        lines += ["", "Targets:", "", "```", json.dumps(report["targets"], indent=2), "```"]
    return "\n".join(lines) + "\n"


def _table(results: dict, columns: list[tuple[str, str, str]], timings: bool = False) -> list[str]:
    header = ["model", *(title for title, _, _ in columns), *(("fit s", "rec s") if timings else ())]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, result in results.items():
        cells = [label + (" (baseline)" if result["baseline"] else "")]
        for _, part, metric in columns:
            value = result.get(part, {}).get(metric)
            cells.append("–" if value is None else f"{value:.4f}")
        if timings:
            cells += [f"{result['fit_seconds']:.1f}", f"{result['recommend_seconds']:.1f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def report_stem(report: dict) -> str:
    """The report's file name: a quick, partial or tuned run never overwrites the whole lineup's full one."""
    stem = f"recommenders_{report['dataset']}_{report['protocol']}{'_quick' if report['quick'] else ''}"
    # a run of part of the lineup, or a tuned one, is a report of its own: it never overwrites the whole lineup's
    if report.get("models_option"):
        stem += "_" + "-".join(sorted(label.strip() for label in report["models_option"].split(",") if label.strip()))
    if report.get("tune_trials"):
        stem += f"_tune{report['tune_trials']}"
    return stem


def threshold_failures(report: dict) -> list[str]:
    """What a quick run breaks of its data set's and protocol's section of `thresholds.yaml` (none for a full run,
    or where the section does not exist)."""
    bounds = limits("recommenders", f"{report['dataset']}_{report['protocol']}_quick")
    if not report["quick"] or not bounds:
        return []
    targets = report["targets"]
    measured: dict = {name: target["reached"] for name, target in targets.items()}
    gains = [gain for target in targets.values() for gain in target.get("gain_over", {}).values()]
    measured["beats_every_baseline"] = min(gains) > 0 if gains else None
    return broken(measured, bounds)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    protocol = args.protocol or default_protocol(args.dataset)
    report = run(args.dataset, protocol, quick=args.quick, only=args.models, trials=args.tune)
    report["threshold_failures"] = threshold_failures(report)
    return finish(report, markdown(report), args.out, report_stem(report))


if __name__ == "__main__":
    sys.exit(exit_status(main))
