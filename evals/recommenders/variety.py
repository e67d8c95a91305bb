"""What the family cap (`Rules.max_per_family`, the campaign setting `TAILOR_CAMPAIGN_MAX_PRODUCTS_PER_FAMILY`)
costs in accuracy and gives in variety, on a catalog without categories (Online Retail's).

As `evals.recommenders.exposure` does: the campaign recommender is fitted once on the time protocol's training
part, every customer with history before the cutoff gets a campaign's list (k products they have not bought, at
most two of a category, one product in at most a fifth of the e-mails) under each family cap, and each list is
measured against the products new to the customer that they bought in the test month. Variety: the share of
e-mails showing two products of one family (and of those all of whose products are of one), told apart by name
as the cap tells them (`recommenders.variety`), and by a plainer judge that shares none of its weights: two names
sharing two words of three letters or more.

    python -m evals.recommenders.variety [--dataset online_retail] [--quick] [--k 3] [--out reports/]
"""

from __future__ import annotations

import argparse
import re
import sys
import time

import numpy as np
import pandas as pd

from evals.datasets import exit_status
from evals.recommenders.exposure import campaign_fit
from evals.recommenders.metrics import accuracy, ranked_lists
from evals.report import add_out_option, count_of_at_least_one, write_report
from recommenders.rules import Rules, recommend_with_rules
from recommenders.variety import NameFamilies

CAPS = (None, 2, 1)
_WORD = re.compile(r"[^\W\d_]{3,}")


def repeated_families(lists: dict[str, list[str]], names: pd.Series) -> dict[str, float]:
    """The share of e-mails with two products of one family, by `NameFamilies` and by shared words, and of those
    whose products are all of one family (three hand warmers)."""
    owners = np.array([customer for customer, products in lists.items() for _ in products])
    picks = np.array([product for products in lists.values() for product in products])
    leaders = NameFamilies(names).leaders(owners, picks) if len(picks) else np.array([], dtype=int)
    families_per_email = pd.Series(leaders).groupby(owners).nunique()
    picks_per_email = pd.Series(picks).groupby(owners).size()
    words = {product: set(_WORD.findall(str(name).casefold())) for product, name in names.items()}
    by_words = sum(
        any(len(words[a] & words[b]) >= 2 for i, a in enumerate(products) for b in products[i + 1 :])
        for products in lists.values()
    )
    n = max(len(lists), 1)
    return {
        "repeated_family_share": float((families_per_email < picks_per_email).sum()) / n,
        "one_family_share": float(((families_per_email == 1) & (picks_per_email > 1)).sum()) / n,
        "shared_words_share": by_words / n,
    }


def run(dataset: str, quick: bool, k: int) -> dict:
    """Fit once, then one campaign's lists per family cap, each measured (see the module docstring)."""
    fitted = campaign_fit(dataset, quick)
    model, split, catalog, customers = fitted.model, fitted.split, fitted.catalog, fitted.customers
    names = catalog.drop_duplicates("product_id").set_index("product_id")["name"]
    results = {}
    for cap in CAPS:
        started = time.perf_counter()
        rules = Rules(exclude_bought=True, max_per_category=2, max_share_per_product=0.2, max_per_family=cap)
        lists = ranked_lists(recommend_with_rules(model, customers, catalog, k=k, rules=rules))
        seconds = time.perf_counter() - started
        measured = accuracy(lists, split.relevant_new, ks=(k,)) | repeated_families(lists, names)
        results["none" if cap is None else str(cap)] = measured | {"seconds": round(seconds, 2)}
        print(f"family cap {cap}: ndcg@{k} {measured[f'ndcg@{k}']:.4f}, recall@{k} {measured[f'recall@{k}']:.4f}, "
              f"hit@{k} {measured[f'hit@{k}']:.4f}, two of a family in {measured['repeated_family_share']:.1%} "
              f"of e-mails, all of one in {measured['one_family_share']:.1%} "
              f"({measured['shared_words_share']:.1%} sharing two words), {seconds:.1f} s", flush=True)  # fmt: skip
    return fitted.report(dataset, quick, k, results)


def markdown(report: dict) -> str:
    k = report["k"]
    lines = [
        f"# Family cap: {report['dataset']}, time protocol, {report['model']}, {report['customers']} customers",
        "",
        f"| family cap | ndcg@{k} | recall@{k} | hit@{k} | two of a family | all of one | two sharing two words | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cap, m in report["caps"].items():
        lines.append(
            f"| {cap} | {m[f'ndcg@{k}']:.4f} | {m[f'recall@{k}']:.4f} | {m[f'hit@{k}']:.4f} | "
            f"{m['repeated_family_share']:.3f} | {m['one_family_share']:.3f} | {m['shared_words_share']:.3f} | "
            f"{m['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.recommenders.variety",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", choices=["online_retail", "demo"], default="online_retail")
    parser.add_argument("--quick", action="store_true", help="the small configuration CI runs")
    parser.add_argument(
        "--k", type=count_of_at_least_one, default=3, help="products per e-mail (the campaigns' default: 3)"
    )
    add_out_option(parser)
    args = parser.parse_args(argv)
    report = run(args.dataset, args.quick, args.k)
    print(markdown(report))  # before writing: figures a full disk cannot take are still on the screen
    stem = f"recommenders_variety_{args.dataset}{'_quick' if args.quick else ''}{'' if args.k == 3 else f'_k{args.k}'}"
    path = write_report(report, markdown(report), args.out, stem)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
