"""Memory benchmark of a recommender's training: the blend (by default) fitted on Online Retail 2010–11's order lines
of N customers, for several N, with the fit's wall time and its peak memory above what the process held before it.

    python -m evals.scale.recommender_fit [--quick] [--customers 1000,2000,4338] [--model blend] [--out reports/]

The customers are a random sample (seed 7) of the year's; each count is fitted in a process of its own, so that one
fit's freed memory (kept by the allocator) is no other fit's baseline, after a fit on 100 customers that brings in
what a fit imports (each forked from one process that has imported the fit's libraries and run nothing else). Peak
memory as in `evals.scale.run`: the resident set size sampled every 50 ms. The growth per customer and per order line
between the smallest and the largest count is what a shop of millions of customers would scale by. Writes
``recommender-fit-<model>.json`` and ``.md`` (``-quick`` added for --quick) to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import multiprocessing
import sys
import tracemalloc
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from evals import datasets
from evals.datasets import exit_status
from evals.report import add_out_option, count_of_at_least_one, write_report
from recommenders import registry

QUICK = (150, 300)  # a small test's counts: seconds each
FULL = (1_000, 2_000, 4_338)  # 4,338: every customer of the year
WARM_UP = 100
YEAR = "2010-2011"
SAMPLE_SEED = 7  # the customers' sample's


def sample(customers: int, seed: int = SAMPLE_SEED):
    """(order lines of ``customers`` customers of Online Retail 2010–11, its catalog), as a model is fitted on them."""
    from evals.recommenders.data import online_retail, without_line_catalog

    interactions, products = online_retail(years=YEAR)
    everyone = np.sort(interactions["customer_id"].unique())
    chosen = np.random.default_rng(seed).permutation(everyone)[:customers]
    lines = without_line_catalog(interactions[interactions["customer_id"].isin(chosen)]).reset_index(drop=True)
    return lines, products


def _released() -> None:
    """Hand the memory freed so far back to the system: the whole year's frame, read and let go, left hundreds of
    MB free in the process, which a small fit reused without its resident size growing at all (+0 MB at 150
    customers)."""
    import ctypes
    import gc

    import pyarrow

    datasets._online_retail.cache_clear()
    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc's; elsewhere the baseline keeps what is free
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(model: str, customers: int, traced: bool = False) -> dict:
    """One fit of ``model`` on ``customers`` customers' lines, with the memory the process held before it; with
    ``traced``, also the peak of what the fit allocated through Python and NumPy (`tracemalloc`)."""
    from evals.scale.run import MemoryWatch, _resident_mb
    from recommenders.registry import create

    # A small fit first, so that the libraries the fit imports as it goes (LightGBM, implicit) and their thread pools
    # are in the baseline, not in the first count's growth.
    create(model).fit(*sample(WARM_UP))
    _released()
    started_mb = _resident_mb()
    lines, products = sample(customers)
    _released()
    loaded_mb = _resident_mb()
    recommender = create(model)
    if traced:
        tracemalloc.start()
    with MemoryWatch() as watch, watch.stage(f"fit {model} on {customers:,} customers"):
        recommender.fit(lines, products)
    figures = next(iter(watch.stages.values()))
    traced_mb = {"traced_mb": round(tracemalloc.get_traced_memory()[1] / 2**20)} if traced else {}
    tracemalloc.stop()
    return {
        "customers": int(lines["customer_id"].nunique()), "lines": len(lines), "seconds": figures["seconds"],
        "baseline_mb": round(figures["peak_mb"] - figures["added_mb"]), "data_mb": round(loaded_mb - started_mb),
        "peak_mb": figures["peak_mb"], "added_mb": figures["added_mb"], **traced_mb,
    }  # fmt: skip


# What a fit imports as it goes, besides its model's module: the blend's parts' models, LightGBM and implicit.
FIT_IMPORTS = ("recommenders.ease", "recommenders.item_knn", "recommenders.content", "implicit.nearest_neighbours",
               "lightgbm")  # fmt: skip


def fit_in_forks(model: str, sizes: tuple[int, ...], traced: bool) -> list[dict]:
    """``measure`` of each count, each in a process forked from this one once it has imported what a fit imports
    (``FIT_IMPORTS``, ``model``'s module), having run nothing else: so no fit's freed memory is another's baseline,
    and the fits' processes do not each import the libraries again (a process of its own started as a new
    interpreter spent some 3 CPU-s a count on it)."""
    for name in (registry.model_class(model).__module__, *FIT_IMPORTS):
        importlib.import_module(name)
    fits = []
    for customers in sizes:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as process:
            fits.append(process.submit(measure, model, customers, traced).result())
    return fits


def growth(fits: list[dict], figure: str = "added_mb") -> dict | None:
    """``figure``'s growth per customer and per order line, from the smallest count to the largest (None for one
    count)."""
    smallest, largest = min(fits, key=lambda fit: fit["lines"]), max(fits, key=lambda fit: fit["lines"])
    if largest["lines"] == smallest["lines"]:
        return None
    added = (largest[figure] - smallest[figure]) * 2**20
    return {
        "kb_per_customer": round(added / (largest["customers"] - smallest["customers"]) / 1024, 1),
        "bytes_per_line": round(added / (largest["lines"] - smallest["lines"])),
    }


def seeds(model: str, **params) -> dict:
    """The seeds a fit of ``model`` (with ``params``, its defaults otherwise) draws with, for its report: the customers'
    sample's, the model's own (``random_state``; None for one that draws nothing) and those of the ALS and BPR it
    fits, itself or as the blend's collaborative part (None where it fits none)."""
    own = registry.create(model, **params).get_params()
    fitted = {model: own}
    if own.get("collaborative") in ("als", "bpr"):
        fitted[own["collaborative"]] = registry.create(own["collaborative"], **own["collaborative_params"]).get_params()
    return {
        "customer_sample": SAMPLE_SEED,
        "model": own.get("random_state"),
        **{kind: fitted[kind]["random_state"] if kind in fitted else None for kind in ("als", "bpr")},
    }


def counts(value: str) -> tuple[int, ...]:
    """An argparse type for ``--customers``: counts of 1 or more, separated by commas."""
    return tuple(count_of_at_least_one(part) for part in value.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale.recommender_fit", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers", type=counts, default=None, help="counts, e.g. 1000,2000 (default: 1000,2000,4338)"
    )
    # checked here: an unknown name reached the fit's own process, whose error could not be sent back (a
    # BrokenProcessPool traceback that named no option)
    parser.add_argument(
        "--model", choices=registry.names(), default="blend", metavar="MODEL",
        help=f"the registered model to fit, of {', '.join(registry.names())} (default: blend)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help=f"{', '.join(map(str, QUICK))} customers unless given")
    parser.add_argument(
        "--traced", action="store_true",
        help="also the peak of what the fit allocates through Python and NumPy (tracemalloc; slower): steadier than "
        "the resident size, which the allocator's reuse of freed memory moves by tens of MB from run to run",
    )  # fmt: skip
    add_out_option(parser)
    args = parser.parse_args(argv)
    sizes = args.customers or (QUICK if args.quick else FULL)
    datasets.data_path(datasets.ONLINE_RETAIL_FILES[YEAR])  # missing, said here once, not by each process
    # a new interpreter ("spawn", not "fork": it inherits no heap of this process) that imports what a fit imports
    # and forks a process for each count's fit
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as imported:
        fits = imported.submit(fit_in_forks, args.model, sizes, args.traced).result()
    figures = {"added_mb": "added MB", **({"traced_mb": "traced MB"} if args.traced else {})}
    # whether the run was quick or traced, and the seeds it drew with: what a reader needs to fit the same again
    report = {"model": args.model, "data": f"online_retail {YEAR}", "quick": args.quick, "traced": args.traced,
              "seeds": seeds(args.model), "fits": fits,
              "growth": {figure: growth(fits, figure) for figure in figures}}  # fmt: skip
    columns = {"customers": "customers", "lines": "order lines", "seconds": "seconds", "data_mb": "data MB",
               "baseline_mb": "baseline MB", "peak_mb": "peak MB", **figures}  # fmt: skip
    lines = ["| " + " | ".join(columns.values()) + " |", "|---" * len(columns) + "|"]
    lines += ["| " + " | ".join(str(fit[key]) for key in columns) + " |" for fit in fits]
    for figure, name in figures.items():
        if per := report["growth"][figure]:
            lines.append(f"\nGrowth of {name}: {per['kb_per_customer']} KB per customer, {per['bytes_per_line']} "
                         "bytes per order line.")  # fmt: skip
    drawn = ", ".join(f"{name} {seed}" for name, seed in report["seeds"].items() if seed is not None)
    lines.append(f"\nSeeds: {drawn}.")
    run = ", ".join(("quick",) * args.quick + ("traced",) * args.traced)
    markdown = f"Fit of {args.model} on Online Retail 2010–11{f' ({run})' if run else ''}\n\n" + "\n".join(lines)
    print(markdown)
    path = write_report(report, markdown, args.out, f"recommender-fit-{args.model}" + ("-quick" if args.quick else ""))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
