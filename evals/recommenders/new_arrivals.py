"""What cold start for new arrivals (`recommenders.cold_start`) gives a shop that retrains less often than it adds
products, on Online Retail.

The campaigns' recommender is fitted on the time protocol's training part; the products first sold in the test month
are its *new arrivals*: in the catalog (the whole period's, as a shop holds the products it added since the
training), unknown to the model. Every customer with history who bought something new to them in the test month gets
a top-k of products they have not bought, through the rules a campaign's and the API's lists go through
(`recommenders.rules`, their defaults), three ways:

- without cold start: the model's list, which can hold no new arrival (0 by construction);
- with cold start: the new arrivals ranked among the known products by their likeness in text to them;
- popularity of new arrivals: the cold-start list with its new arrivals replaced by the new arrivals most bought in
  the test month itself, as many as it showed (an optimistic baseline: it reads the month it is measured on).

New-arrival figures are over the customers who bought a new arrival in the test month (hit@k: one of them is in their
list); known-product figures over those who bought a known product new to them, which cold start must not hurt (its
new arrivals take places from known products). The quick run at k = 10 is checked against `thresholds.yaml`
(recommenders, `<dataset>_new_arrivals_quick`) on the cold-start lists' figures, and exits with 1 when one is broken.

`--discount` measures another weight of a new arrival's unlikeness (`recommenders.cold_start.DISCOUNT`; a shop's
TAILOR_CAMPAIGN_NEW_ARRIVALS_DISCOUNT); the thresholds judge the default alone.

    python -m evals.recommenders.new_arrivals [--dataset online_retail] [--quick] [--k 10] [--discount 1]
        [--out reports/]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import UTC, datetime

import pandas as pd

from evals.datasets import exit_status
from evals.recommenders import data, protocols
from evals.recommenders.evaluate import fit
from evals.recommenders.exposure import MODEL
from evals.recommenders.metrics import accuracy, ranked_lists
from evals.recommenders.run import lineup
from evals.report import add_out_option, count_of_at_least_one, finish
from evals.thresholds import broken, limits
from recommenders.cold_start import DISCOUNT, unknown_products, with_new_arrivals
from recommenders.rules import recommend_with_rules


def with_popular_new(lists: dict[str, list[str]], new: set[str], popular_new: list[str]) -> dict[str, list[str]]:
    """Each list with its new arrivals replaced, in their places, by as many of the most popular new arrivals
    (``popular_new``, most bought first)."""
    replaced = {}
    for customer, products in lists.items():
        spare = iter(popular_new)
        replaced[customer] = [next(spare, product) if product in new else product for product in products]
    return replaced


def run(dataset: str, quick: bool, k: int, discount: float = DISCOUNT) -> dict:
    """Fit once, then the three lists of every measured customer (see the module docstring)."""
    interactions, products = data.load(dataset, quick=quick)
    split = protocols.time_split(interactions)
    _name, params = lineup(dataset, quick, MODEL)[MODEL]
    model, fit_seconds = fit(MODEL, params, split, products, shared=quick)
    cutoff = pd.Timestamp(split.settings["cutoff"])
    test = interactions[interactions["timestamp"] >= cutoff]
    # every product sold by the end (isin of the distinct ids: a text column's isin makes an object of each value)
    catalog = products[products["product_id"].isin(interactions["product_id"].unique())]
    new = set(unknown_products(model, catalog))
    relevant_new = {c: bought & new for c, bought in split.relevant_new.items() if bought & new}
    relevant_known = {c: bought - new for c, bought in split.relevant_new.items() if bought - new}
    customers = sorted(split.relevant_new)

    started = time.perf_counter()
    without = ranked_lists(recommend_with_rules(model, customers, catalog, k))
    without_seconds = time.perf_counter() - started
    started = time.perf_counter()
    served = with_new_arrivals(model, catalog, discount)
    built_seconds = time.perf_counter() - started
    cold = ranked_lists(recommend_with_rules(served, customers, catalog, k))
    cold_seconds = time.perf_counter() - started
    buyers = test[test["product_id"].isin(new)].groupby("product_id")["customer_id"].nunique()
    popular = with_popular_new(cold, new, buyers.sort_values(ascending=False, kind="stable").index.tolist())

    results = {}
    for name, lists in (("without", without), ("cold_start", cold), ("popular_new", popular)):
        new_figures = accuracy(lists, relevant_new, ks=(k,))
        known_figures = accuracy(lists, relevant_known, ks=(k,))
        results[name] = {
            "new_arrival_customers": new_figures["customers"],
            f"new_arrival_hit@{k}": new_figures[f"hit@{k}"],
            f"new_arrival_recall@{k}": new_figures[f"recall@{k}"],
            "known_customers": known_figures["customers"],
            f"known_ndcg@{k}": known_figures[f"ndcg@{k}"],
            f"known_recall@{k}": known_figures[f"recall@{k}"],
            f"all_ndcg@{k}": accuracy(lists, split.relevant_new, ks=(k,))[f"ndcg@{k}"],
            "lists_with_a_new_arrival": sum(bool(new & set(p)) for p in lists.values()) / max(len(lists), 1),
        }
        print(f"{name}: new-arrival hit@{k} {results[name][f'new_arrival_hit@{k}']:.4f}, known ndcg@{k} "
              f"{results[name][f'known_ndcg@{k}']:.4f}, all ndcg@{k} {results[name][f'all_ndcg@{k}']:.4f}",
              flush=True)  # fmt: skip
    return {
        "dataset": dataset, "protocol": "time", "quick": quick, "model": MODEL, "k": k, "discount": discount,
        "created_at": datetime.now(UTC).isoformat(), "cutoff": str(cutoff), "fit_seconds": round(fit_seconds, 1),
        "known_products": int(model.vocabulary.n_products), "new_arrivals": len(new),
        "new_arrivals_bought": int(len(buyers)), "customers": len(customers),
        "seconds": {"without": round(without_seconds, 2), "cold_start": round(cold_seconds, 2),
                    "cold_start_build": round(built_seconds, 2)},
        "lists": results,
    }  # fmt: skip


def discount_of(text: str) -> float:
    """A discount as the command line gives it: a number of 0 or more."""
    try:
        discount = float(text)
    except ValueError:
        discount = math.nan
    if not discount >= 0 or math.isinf(discount):
        raise argparse.ArgumentTypeError(f"the discount must be a number of 0 or more, not '{text}'")
    return discount


def threshold_failures(report: dict) -> list[str]:
    """What a quick run at k = 10 and the default discount breaks of its data set's section of `thresholds.yaml`, on
    the cold-start lists (none for a full run, another k or discount, or a data set without a section)."""
    bounds = limits("recommenders", f"{report['dataset']}_new_arrivals_quick")
    if not report["quick"] or report["k"] != 10 or report["discount"] != DISCOUNT or not bounds:
        return []
    return broken(report["lists"]["cold_start"], bounds)


def markdown(report: dict) -> str:
    k = report["k"]
    lines = [
        f"# New arrivals: {report['dataset']}, time protocol (cutoff {report['cutoff']}), {report['model']}, "
        f"{report['new_arrivals']} new arrivals ({report['new_arrivals_bought']} bought in the test month)",
        "",
        f"| lists | new-arrival hit@{k} | new-arrival recall@{k} | known ndcg@{k} | known recall@{k} | all ndcg@{k} | "
        "lists with a new arrival |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in report["lists"].items():
        lines.append(
            f"| {name} | {m[f'new_arrival_hit@{k}']:.4f} | {m[f'new_arrival_recall@{k}']:.4f} | "
            f"{m[f'known_ndcg@{k}']:.4f} | {m[f'known_recall@{k}']:.4f} | {m[f'all_ndcg@{k}']:.4f} | "
            f"{m['lists_with_a_new_arrival']:.3f} |"
        )
    first = next(iter(report["lists"].values()))
    lines += [
        "",
        f"{first['new_arrival_customers']:.0f} customers bought a new arrival, {first['known_customers']:.0f} a known "
        f"product new to them; seconds: {report['seconds']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.recommenders.new_arrivals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", choices=["online_retail", "demo"], default="online_retail")
    parser.add_argument("--quick", action="store_true", help="the small configuration CI runs")
    parser.add_argument("--k", type=count_of_at_least_one, default=10, help="products per list")
    parser.add_argument(
        "--discount", type=discount_of, default=DISCOUNT, help="times a new arrival's unlikeness x the score spread"
    )
    add_out_option(parser)
    args = parser.parse_args(argv)
    report = run(args.dataset, args.quick, args.k, args.discount)
    report["threshold_failures"] = threshold_failures(report)
    stem = f"recommenders_new_arrivals_{args.dataset}{'_quick' if args.quick else ''}"
    stem += "" if args.k == 10 else f"_k{args.k}"
    stem += "" if args.discount == DISCOUNT else f"_discount{args.discount:g}"
    not_applied = None
    if args.quick and (args.k != 10 or args.discount != DISCOUNT):
        not_applied = f"thresholds are set for k = 10 and the discount {DISCOUNT:g}"
    return finish(report, markdown(report), args.out, stem, thresholds_not_applied=not_applied)


if __name__ == "__main__":
    sys.exit(exit_status(main))
