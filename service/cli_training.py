"""`tailor train` (the audience, the recommender and the scoring model, from the database) and `tailor recommend`
(a recommender trained on a file of interactions, its picks written to a CSV file). Registered on the app by
service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from service.cli_audience import COUNTS_WITHHELD
from service.cli_bounds import TUNING_TRIALS
from service.cli_outputs import CSV_OUT, _not_an_input, _output_path, _written_as


def train(
    model: Annotated[str | None, typer.Option(help="recommender name (see `tailor recommend --help`)")] = None,
    tune: Annotated[
        int,
        typer.Option(
            **TUNING_TRIALS,
            help="first search the recommender's hyperparameters with this many Optuna trials (kept with it)",
        ),
    ] = 0,
) -> None:
    """Recompute audiences and train the recommender and the scoring model."""
    from service.cli import command_engine, progress_bar
    from service.jobs import InlineJobRunner
    from service.pipeline.training import train_all, tuning_problem

    if model is not None:  # a typo fails now, not after the audience refresh
        from recommenders.registry import model_class

        model_class(model)
    if problem := tuning_problem(model, tune):
        raise typer.BadParameter(problem, param_hint="--tune")

    engine = command_engine()
    try:
        with progress_bar("training", counts=False) as update:
            runner = InlineJobRunner(engine, update)
            runner.submit("train", train_all, engine=engine, model=model, tune_trials=tune)
    except KeyboardInterrupt as interrupted:  # the steps done are kept (train_all): said, else typer says nothing
        if (done := getattr(interrupted, "done_before", None)) is not None:
            _tell_trained(done)
            typer.echo(f"interrupted: {', '.join(done['not_done'])} not trained; their versions in use, if any, "
                       "stay: `tailor train` trains them")  # fmt: skip
        raise
    _tell_trained(runner.last_result)


def _tell_trained(result: dict) -> None:
    """What each step of a training did, a line for each step done."""
    if "audience" in result:
        typer.echo(f"audience: {_segment_words(result['audience']['segments'])}")
    if recommender := result.get("recommender"):
        typer.echo(
            f"recommender {recommender['model']} version {recommender['version']}; last {_holdout_words(recommender)}"
        )
    if engagement := result.get("engagement"):
        typer.echo(f"engagement model version {engagement['version']} on {engagement['sends']} sends")


def _segment_words(segments: dict | None) -> str:
    """ "champions 120, loyal 80, …", largest first; none, withheld (a customer counted was erased meanwhile), said
    so."""
    if segments is None:
        return COUNTS_WITHHELD
    counts = sorted(segments.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {count:,}" for name, count in counts) or "no customers"


def _holdout_words(recommender: dict) -> str:
    holdout = recommender["holdout"]
    if "skipped" in holdout:
        return f"{holdout['days']} days not measured: {holdout['skipped']}"
    recall, recall_new = holdout["all_recall@10"], holdout["new_recall@10"]
    return f"{holdout['days']} days held out: Recall@10 {recall:.3f}, new products {recall_new:.3f}"


class ListsRecommenders(TyperCommand):
    """A command whose help ends with the registered recommenders; the registry (which imports every model) is
    read only when that help is shown, so the rest of the command line stays fast."""

    def format_help(self, ctx, formatter) -> None:
        from recommenders.registry import names

        self.epilog = f"Models: {', '.join(names())}."
        super().format_help(ctx, formatter)


def recommend(
    train_file: Annotated[
        Path,
        typer.Option(
            "--train",
            help="interactions: customer_id, product_id, timestamp[, quantity, amount, kind (purchase, the "
            "default, cart, view, or return: left out, as cancellations are, with the purchases they cancel whole)]",
        ),
    ],
    out: Annotated[Path, typer.Option(help="output CSV: customer_id, rank, product_id, score", callback=_output_path)],
    k: Annotated[int, typer.Option(min=1, help="products per customer")] = 10,
    model: Annotated[str, typer.Option(help="a recommender (see Models below); auto picks one for the data")] = "auto",
    include_seen: Annotated[
        bool, typer.Option("--include-seen", help="allow products the customer already has")
    ] = False,
    products: Annotated[
        Path | None,
        typer.Option(
            help="product catalog (CSV or Parquet): product_id (or sku) and name, category, description[, price, "
            "in_stock, ...], as `tailor import products` takes it; only its products in stock are recommended; "
            "the content model needs it, blend, ease_hybrid and auto use it"
        ),
    ] = None,
) -> None:
    """Train on the --train file (and the --products catalog) and write top-k recommendations for every customer in
    it."""
    from recommenders.batch import recommend_file
    from service.cli import _echo, progress_bar

    _written_as(out, CSV_OUT)
    _not_an_input(out, "--out", train_file, products)
    with progress_bar("recommending") as update:
        recommendations = recommend_file(
            train_file, k=k, model=model, include_seen=include_seen, products=products, progress=update
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    recommendations.to_csv(out, index=False)
    customers, fitted = recommendations.customer_id.nunique(), recommendations.attrs["model"]
    which = f"auto chose {fitted}" if model == "auto" else f"model {fitted}"
    from service.wording import counted

    written = f"{counted(len(recommendations), 'row', 'rows')} for {counted(customers, 'customer', 'customers')}"
    typer.echo(f"wrote {written} to {out}; {which}")  # "1 rows for 1 customers" once
    for warning in recommendations.attrs["warnings"]:
        _echo(f"warning: {warning}")
