"""What Online Retail's cancellations change in the recommenders' figures, on one split and one protocol.

Every other recommender eval loads Online Retail without its cancellations (`evals.datasets.online_retail`'s
default), so none shows the return rules at work: a shop's import keeps them as returns, and each fit drops the
purchases they cancel whole, matched as for the audience models (``tabular.returns``, through
``recommenders.interactions.drop_returned``: same customer and product, bought at most 30 days before, the line of
the return's quantity first, never for more than it credited). Here each model of the lineup (`run.lineup`, with
`--models`) is fitted twice on the time protocol's training part: on the purchase lines alone, as every other eval
fits it, and on them with the cancellations made before the cutoff as returns, as the service would. The split is
cut once, from the purchase lines (the cutoff and the customers measured are the same both ways), and the same
catalog, built from the training part's purchase lines, is given to both fits.

Each pair of fits is measured against two sets of targets, the same for both: what each customer `bought` in the
test month (every other eval's targets), and what they `kept` of it (less the purchases that the file's
cancellations, matched by the same rule, cancel whole), over all products and over those new to the customer.

    python -m evals.recommenders.returns [--quick] [--models ease,blend] [--out reports/]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd

from evals import datasets
from evals.datasets import exit_status
from evals.recommenders import data
from evals.recommenders.evaluate import ranked_all_and_new
from evals.recommenders.metrics import accuracy
from evals.recommenders.protocols import Split, products_by_customer, time_split
from evals.recommenders.run import BASELINES, lineup
from evals.report import add_out_option, finish
from recommenders.registry import create
from tabular.returns import uncancelled

FITS = ("without_returns", "with_returns")
TARGETS = ("bought", "kept")
COLUMNS = [("R@10", "all", "recall@10"), ("R@10 new", "new", "recall@10"), ("NDCG@10 new", "new", "ndcg@10")]


def online_retail_returns(years: str) -> pd.DataFrame:
    """The file's cancellations (invoices starting with "C") of known customers, as interactions of kind
    ``return`` (quantity and amount negative, as the file has them), in the columns of `data.online_retail`."""
    lines = datasets.online_retail(years=years, include_cancellations=True)
    cancelled = lines[lines["order_id"].str.startswith("C")]
    return pd.DataFrame(
        {
            "customer_id": cancelled["customer_id"].to_numpy(),
            "product_id": cancelled["product_id"].to_numpy(),
            "timestamp": cancelled["timestamp"].to_numpy(),
            "quantity": cancelled["quantity"].to_numpy(),
            "amount": cancelled["amount"].to_numpy(),
            "order_id": cancelled["order_id"].to_numpy(),
            "segment": cancelled["country"].to_numpy(),
            "kind": "return",
        }
    )


def training_parts(split: Split, returns: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The interactions each fit learns from: the split's training part (its purchase lines), and those with the
    ``returns`` made before the cutoff (one made after it is news the model could not have had)."""
    purchases = data.without_line_catalog(split.train)
    before = returns[returns["timestamp"] < pd.Timestamp(split.settings["cutoff"])]
    with_returns = pd.concat([purchases.assign(kind="purchase"), before], ignore_index=True)
    return {"without_returns": purchases, "with_returns": with_returns}


def kept_targets(split: Split, purchases: pd.DataFrame, returns: pd.DataFrame) -> Split:
    """``split`` with its targets less the test month's purchases that ``returns`` cancel whole (a pair counts while
    any of its test lines stands), matched over every purchase line as a fit matches them (``tabular.returns``)."""
    cutoff = pd.Timestamp(split.settings["cutoff"])
    stands = uncancelled(purchases, returns)
    tested = purchases[(purchases["timestamp"] >= cutoff).to_numpy() & stands]
    kept = products_by_customer(tested).to_dict()

    def less_returned(targets: dict[str, set[str]]) -> dict[str, set[str]]:
        netted = {customer: products & kept.get(customer, set()) for customer, products in targets.items()}
        return {customer: products for customer, products in netted.items() if products}

    return replace(split, relevant=less_returned(split.relevant), relevant_new=less_returned(split.relevant_new))


def run(quick: bool, only: str | None = None) -> dict:
    """Each model fitted without and with the returns, each fit measured against both targets (module docstring)."""
    years = "2010-2011" if quick else "both"
    purchases, products = data.online_retail(years=years)
    returns = online_retail_returns(years)
    split = time_split(purchases)
    cutoff = pd.Timestamp(split.settings["cutoff"])
    trains = training_parts(split, returns)
    catalog = data.catalog_as_of(split.train, products)
    kept = kept_targets(split, purchases, returns)
    targets = {"bought": split, "kept": kept}
    results: dict[str, dict] = {}
    for label, (name, params) in lineup("online_retail", quick, only).items():
        results[label] = {"model": name, "baseline": label in BASELINES or label.startswith("implicit_")}
        for fit_name, train in trains.items():
            started = time.perf_counter()
            model = create(name, **params).fit(train, catalog)
            fit_seconds = time.perf_counter() - started
            everything, new = ranked_all_and_new(model, split)
            results[label][fit_name] = {
                target: {"all": accuracy(everything, part.relevant), "new": accuracy(new, part.relevant_new)}
                for target, part in targets.items()
            } | {"fit_seconds": round(fit_seconds, 1)}
            print(f"{label} {fit_name}: fitted in {fit_seconds:.1f} s", flush=True)
    return {
        "dataset": "online_retail",
        "years": years,
        "protocol": "time",
        "quick": quick,
        "models_option": only,
        "created_at": datetime.now(UTC).isoformat(),
        "split": {
            **split.settings,
            "purchase_lines": len(purchases),
            "return_lines": len(returns),
            "return_lines_before_cutoff": int((returns["timestamp"] < cutoff).sum()),
            # what the returns undo: the training part's purchase lines its returns cancel whole, as a fit drops them
            "train_lines_cancelled_whole": int(
                (~uncancelled(split.train, trains["with_returns"].query("kind == 'return'"))).sum()
            ),
            "test_pairs_returned_whole": sum(map(len, split.relevant.values())) - sum(map(len, kept.relevant.values())),
            "train_rows": {fit_name: len(train) for fit_name, train in trains.items()},
            "customers": {target: len(part.relevant) for target, part in targets.items()},
            "customers_with_new_products": {target: len(part.relevant_new) for target, part in targets.items()},
        },
        "models": results,
        "threshold_failures": [],
    }


def _pairs(targets: dict[str, set[str]]) -> int:
    return sum(len(products) for products in targets.values())


def markdown(report: dict) -> str:
    split = report["split"]
    lines = [
        f"# Recommenders with and without returns: Online Retail {report['years']} / time"
        f"{' (quick)' if report['quick'] else ''}",
        "",
        f"Cutoff {split['cutoff']}; {split['purchase_lines']:,} purchase lines, {split['return_lines']:,} "
        f"cancellations ({split['return_lines_before_cutoff']:,} before the cutoff, fitted as returns: they cancel "
        f"{split['train_lines_cancelled_whole']:,} training lines whole). Test customers: "
        f"{split['customers']['bought']:,} bought, {split['customers']['kept']:,} kept something "
        f"({split['test_pairs_returned_whole']:,} of the products bought in the test month were returned whole).",
        "",
    ]
    for target in TARGETS:
        lines += [f"Targets: what was {target} in the test month.", ""]
        header = ["model", *(f"{title} {fit.split('_')[0]}" for title, _, _ in COLUMNS for fit in FITS)]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for label, result in report["models"].items():
            cells = [f"{result[fit][target][part][metric]:.4f}" for _, part, metric in COLUMNS for fit in FITS]
            lines.append("| " + " | ".join([label + (" (baseline)" if result["baseline"] else ""), *cells]) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.recommenders.returns",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="the small configuration CI runs (2010-2011 only)")
    parser.add_argument("--models", default=None, help="comma-separated labels to run (default: run's lineup)")
    add_out_option(parser)
    args = parser.parse_args(argv)
    try:
        lineup("online_retail", args.quick, args.models)
    except ValueError as error:
        parser.error(str(error))
    report = run(args.quick, args.models)
    stem = f"recommenders_returns_online_retail{'_quick' if args.quick else ''}"
    if args.models:
        stem += "_" + "-".join(sorted(label.strip() for label in args.models.split(",") if label.strip()))
    return finish(report, markdown(report), args.out, stem)


if __name__ == "__main__":
    sys.exit(exit_status(main))
