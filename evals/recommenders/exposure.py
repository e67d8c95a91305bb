"""What a cap on how many of a campaign's e-mails one product may be in (`Rules.max_share_per_product`, the
campaign setting `TAILOR_CAMPAIGN_MAX_PRODUCT_SHARE`) costs in accuracy and gives in spread.

The campaign recommender is fitted once on the time protocol's training part; every test customer then gets a
campaign's list (k products they have not bought, at most two of a category, as a campaign picks them) under each
cap, and each list is measured against the products new to the customer that they bought in the test month: what
a cross-sell e-mail could have shown them. Spread: the share of e-mails holding the most shown product, how many
distinct products the campaign shows, and the share of e-mails holding one of the ten most shown.

    python -m evals.recommenders.exposure [--dataset online_retail] [--quick] [--shares none,0.2] [--out reports/]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from evals.datasets import exit_status
from evals.recommenders import data, protocols
from evals.recommenders.evaluate import fit
from evals.recommenders.metrics import accuracy, ranked_lists
from evals.recommenders.run import lineup
from evals.report import add_out_option, count_of_at_least_one, write_report
from recommenders.base import Recommender
from recommenders.rules import Rules, recommend_with_rules

MODEL = "blend"  # the campaigns' recommender (service.settings.CampaignSettings.recommender)


def shares(value: str) -> list[float | None]:
    """An argparse type: comma-separated shares in (0, 1], "none" for no cap."""
    parsed: list[float | None] = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if part.lower() == "none":
            parsed.append(None)
            continue
        try:
            share = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is no share: give numbers in (0, 1] or none") from None
        if not 0 < share <= 1:
            raise argparse.ArgumentTypeError(f"{part} is outside (0, 1]")
        parsed.append(share)
    if not parsed:
        raise argparse.ArgumentTypeError("give at least one share")
    return parsed


def spread(lists: dict[str, list[str]]) -> dict[str, float]:
    """How a campaign's e-mails share their products (see the module docstring)."""
    shown = Counter(product for products in lists.values() for product in set(products))
    n = max(len(lists), 1)
    top_ten = {product for product, _ in shown.most_common(10)}
    return {
        "emails": float(len(lists)),
        "top_product_share": shown.most_common(1)[0][1] / n if shown else 0.0,
        "distinct_products": float(len(shown)),
        "emails_with_a_top_ten_product": sum(bool(top_ten & set(p)) for p in lists.values()) / n,
    }


@dataclass(frozen=True)
class CampaignFit:
    """The campaigns' recommender fitted once on the time protocol's training part, the catalog as of its cutoff,
    and the customers a campaign goes to (see ``campaign_fit``)."""

    model: Recommender
    fit_seconds: float
    split: protocols.Split
    catalog: pd.DataFrame
    customers: list[str]

    def report(self, dataset: str, quick: bool, k: int, caps: dict[str, dict]) -> dict:
        """The report of one sweep of a rule's caps over this fit (``caps``: each cap's figures, by its name)."""
        return {
            "dataset": dataset, "protocol": "time", "quick": quick, "model": MODEL, "k": k,
            "created_at": datetime.now(UTC).isoformat(), "fit_seconds": round(self.fit_seconds, 1),
            "customers": len(self.customers), "measured_customers": len(self.split.relevant_new), "caps": caps,
        }  # fmt: skip


def campaign_fit(dataset: str, quick: bool) -> CampaignFit:
    """The campaigns' recommender fitted on ``dataset``'s time split, with the customers a campaign goes to: every
    one with history before the cutoff, as a real one would; only the accuracy is measured over those who then
    bought something new. Picking the recipients by what they bought in the test month fed the test part into the
    cap (a share of the e-mails) and into the spread figures."""
    interactions, products = data.load(dataset, quick=quick)
    split = protocols.time_split(interactions)
    _name, params = lineup(dataset, quick, MODEL)[MODEL]
    model, fit_seconds = fit(MODEL, params, split, products, shared=quick)
    catalog = data.catalog_as_of(split.train, products) if products.attrs.get(data.FROM_INTERACTIONS) else products
    return CampaignFit(model, fit_seconds, split, catalog, sorted(split.train["customer_id"].unique()))


def run(dataset: str, quick: bool, caps: list[float | None], k: int) -> dict:
    """Fit once, then one campaign's lists per cap, each measured (see the module docstring)."""
    fitted = campaign_fit(dataset, quick)
    model, split, catalog, customers = fitted.model, fitted.split, fitted.catalog, fitted.customers
    results = {}
    for cap in caps:
        started = time.perf_counter()
        rules = Rules(exclude_bought=True, max_per_category=2, max_share_per_product=cap)
        lists = ranked_lists(recommend_with_rules(model, customers, catalog, k=k, rules=rules))
        seconds = time.perf_counter() - started
        measured = accuracy(lists, split.relevant_new, ks=(k,)) | spread(lists)
        results["none" if cap is None else f"{cap:g}"] = measured | {"seconds": round(seconds, 2)}
        print(f"cap {cap}: recall@{k} {measured[f'recall@{k}']:.4f}, hit@{k} {measured[f'hit@{k}']:.4f}, "
              f"top product in {measured['top_product_share']:.1%} of e-mails, "
              f"{measured['distinct_products']:.0f} products, {seconds:.1f} s", flush=True)  # fmt: skip
    return fitted.report(dataset, quick, k, results)


def markdown(report: dict) -> str:
    k = report["k"]
    lines = [
        f"# Exposure cap: {report['dataset']}, time protocol, {report['model']}, {report['customers']} customers",
        "",
        f"| cap | recall@{k} | hit@{k} | ndcg@{k} | top product's share | distinct products | top ten's share |",
        "|---|---|---|---|---|---|---|",
    ]
    for cap, m in report["caps"].items():
        lines.append(
            f"| {cap} | {m[f'recall@{k}']:.4f} | {m[f'hit@{k}']:.4f} | {m[f'ndcg@{k}']:.4f} | "
            f"{m['top_product_share']:.3f} | {m['distinct_products']:.0f} | {m['emails_with_a_top_ten_product']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.recommenders.exposure",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", choices=["online_retail", "demo"], default="online_retail")
    parser.add_argument("--quick", action="store_true", help="the small configuration CI runs")
    parser.add_argument("--shares", type=shares, default=shares("none,0.3,0.2,0.1"), metavar="LIST")
    parser.add_argument(
        "--k", type=count_of_at_least_one, default=3, help="products per e-mail (the campaigns' default: 3)"
    )
    add_out_option(parser)
    args = parser.parse_args(argv)
    report = run(args.dataset, args.quick, args.shares, args.k)
    print(markdown(report))  # before writing: figures a full disk cannot take are still on the screen
    # the quick run and another k are reports of their own: they never overwrite the full run's
    stem = f"recommenders_exposure_{args.dataset}{'_quick' if args.quick else ''}{'' if args.k == 3 else f'_k{args.k}'}"
    path = write_report(report, markdown(report), args.out, stem)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
