"""The `tailor` command line. Heavy imports happen inside commands so that `tailor --help` stays fast."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from service.cli_bounds import (
    COUNT,
    DEMO_CUSTOMERS,
    HORIZON_DAYS,
    ROW_ID,
    TUNING_TRIALS,
    CampaignOption,
    IdArgumentCommand,
)
from service.cli_customers import customers_erase, customers_lift_erasure
from service.cli_date_orders import DATE_ORDERS, date_orders_forget, date_orders_list
from service.cli_drafts import (
    BULK_APPROVAL_OPTIONS,
    drafts_approve,
    drafts_list,
    drafts_reject,
    drafts_show,
    drafts_suggest,
    told_by_option,
)
from service.cli_jobs import jobs_cancel, jobs_list, jobs_show

# Help is written in markdown and shown as written: typer's default ("rich") kept each docstring's line breaks in
# the commands' list, cutting sentences mid-line, and showed `code` with its backticks.
HELP_MARKUP = "markdown"


def _commands(**settings) -> typer.Typer:
    """A group of commands whose help is shown as ``HELP_MARKUP``."""
    return typer.Typer(rich_markup_mode=HELP_MARKUP, **settings)


app = _commands(help="Tailor: personalized marketing email.", no_args_is_help=True, add_completion=False)
keys_app = _commands(help="Create, list and revoke API keys.", no_args_is_help=True)
scoring_app = _commands(help="Copy-scoring models trained on headline tests.", no_args_is_help=True)
models_app = _commands(help="The trained models' kept versions, and which one is in use.", no_args_is_help=True)
audience_app = _commands()
campaigns_app = _commands(help="The campaigns and their ids, for the commands that take one.", no_args_is_help=True)
customers_app = _commands(help="What Tailor holds about one customer.", no_args_is_help=True)
history_app = _commands(help="The email history kept (TAILOR_HISTORY_KEEP_DAYS).", no_args_is_help=True)
drafts_app = _commands(help="Review a campaign's drafts, one by one or in bulk.", no_args_is_help=True)
db_app = _commands(help="The database's schema: moving it back for an older version.", no_args_is_help=True)
jobs_app = _commands(help="The jobs run by the server and the commands: list, show, cancel.", no_args_is_help=True)
date_orders_app = _commands(help="The order of numeric dates each kind's imports settled.", no_args_is_help=True)
date_orders_app.command("list")(date_orders_list)
date_orders_app.command("forget")(date_orders_forget)
customers_app.command("erase")(customers_erase)
customers_app.command("lift-erasure")(customers_lift_erasure)
drafts_app.command("list")(drafts_list)
drafts_app.command("show", cls=IdArgumentCommand)(drafts_show)
drafts_app.command("approve", cls=IdArgumentCommand)(drafts_approve)
drafts_app.command("reject", cls=IdArgumentCommand)(drafts_reject)
drafts_app.command("suggest", cls=IdArgumentCommand)(drafts_suggest)
jobs_app.command("list")(jobs_list)
jobs_app.command("show")(jobs_show)
jobs_app.command("cancel")(jobs_cancel)
app.add_typer(audience_app, name="audience")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(customers_app, name="customers")
app.add_typer(date_orders_app, name="date-orders")
app.add_typer(db_app, name="db")
app.add_typer(drafts_app, name="drafts")
app.add_typer(history_app, name="history")
app.add_typer(jobs_app, name="jobs")
app.add_typer(keys_app, name="keys")
app.add_typer(scoring_app, name="scoring")
app.add_typer(models_app, name="models")

# The campaign a command acts on, as `tailor campaigns list` shows its id.
CampaignId = Annotated[
    int, typer.Argument(metavar="CAMPAIGN", **ROW_ID, help="the campaign's id (`tailor campaigns list`)")
]

USER_ERROR_MODULES = (
    "service.errors",
    "recommenders.errors",
    "audience.errors",
    "generation.errors",
    "scoring.errors",
)


def _one_of(value: str, choices: tuple[str, ...], hint: str) -> None:
    """A usage error naming the choices when ``value`` is not one of them."""
    if value not in choices:
        raise typer.BadParameter(f"'{value}' is not one of: {', '.join(choices)}", param_hint=hint)


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def progress_bar(description: str, counts: bool = True):
    """A rich progress bar fed by a job's progress callback (done, total, message): with ``counts``, "done/total"
    (rows, drafts), else a percentage (training's stages); a failed step leaves no bar behind, only its error. It is
    drawn on standard error, and only on a terminal: a command's output on standard output stays what it says (a
    pipe or cron's mail read "sending the due drafts 0/? 0:00:00" above "nothing is due")."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    amount = MofNCompleteColumn() if counts else TaskProgressColumn()
    columns = (TextColumn("{task.description}"), BarColumn(), amount, TimeElapsedColumn())
    console = Console(stderr=True)
    with Progress(*columns, transient=False, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=None)
        update = _BarUpdate(bar, task, description)
        try:
            yield update
        except BaseException:
            bar.remove_task(task)
            bar.live.transient = True  # nor an empty line where it was
            bar.live.stop()
            bar.disable = True  # whose stop printed an empty line on a file or pipe, above the error
            raise


class _BarUpdate:
    """A job's progress callback (done, total, message) drawing a rich bar: a total of 0 is one not known yet."""

    def __init__(self, bar, task, description: str) -> None:
        self.bar, self.task, self.description = bar, task, description

    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.bar.update(self.task, completed=done, total=total or None, description=message or self.description)

    def finished(self, count: int, message: str) -> None:
        """The step done, all ``count`` of it: a file of no rows reads 0/0 (its bar said 0/1)."""
        self.bar.update(self.task, completed=count, total=count, description=message)


def _output_path(path: Path | None) -> Path | None:
    """An output file's path, checked before any work: not a folder, and under a folder that exists or can be
    made (not under a file), so that a campaign is not generated, nor a model fitted, to fail at the end."""
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; give the path of a file in it")
    existing = next(parent for parent in path.absolute().parents if parent.exists())
    if not existing.is_dir():
        raise typer.BadParameter(f"{existing} is a file, so {path} cannot be made under it")
    if not os.access(existing, os.W_OK):
        raise typer.BadParameter(f"{existing} cannot be written to")
    return path


def _not_an_input(out: Path | None, option: str, *inputs: Path | None) -> None:
    """Refuse an output path that names one of the command's input files, before anything is read: it was written
    over (`tailor import customers c.csv --problems c.csv` left the shop's customers file a header alone)."""
    if out is None or not out.is_file():
        return
    for given in inputs:
        if given is not None and given.is_file() and out.samefile(given):
            raise typer.BadParameter(
                f"{out} is the file read ({given}): give another path, not to write over it", param_hint=option
            )


# What `tailor recommend --out` and `tailor audience --out` write: CSV, under a name that says so or has no suffix.
CSV_OUT = (".csv", ".txt")
# What `tailor generate --out` and `tailor export --out` write: JSON lines (drafts.csv got them, which no sheet opens).
JSONL_OUT = (".jsonl", ".ndjson")


def _written_as(out: Path | None, suffixes: tuple[str, ...]) -> None:
    """Refuse, before any work, an --out name whose suffix says a format the command does not write: `--out x.xlsx`
    got CSV under that name, which the spreadsheet then refused to open. A name without a suffix gets the format."""
    if out is not None and out.suffix and out.suffix.lower() not in suffixes:
        raise typer.BadParameter(
            f"{out.name}: this command writes {', '.join(suffixes)} files, not {out.suffix}", param_hint="--out"
        )


def command_engine():
    """The database, migrated: an upgrade of its schema is told on stderr, with the revision to go back to."""
    from service.db.migrate import upgrades_told_to
    from service.db.session import default_engine

    with upgrades_told_to(_tell_upgrade):
        return default_engine()


def _tell_upgrade(from_revision: str, to_revision: str) -> None:
    _echo(f"Upgraded the database schema from {from_revision} to {to_revision}.")


def _engine_after_crashes():
    """The database, once the jobs of commands killed on this host are failed, with the campaigns they were
    generating, as the server's sweep fails them (``sweep_jobs``, which leaves alone a campaign another process is
    about to generate) and announced: without a server, a campaign a killed `tailor generate` left "generating"
    stayed so, and its export, sending, deletion and generating it again were refused for good."""
    from service.jobs.runner import sweep_jobs
    from service.jobs.webhooks import announce_briefly

    engine = command_engine()
    failed = sweep_jobs(engine)  # this process runs no job yet: only those no process will finish
    announce_briefly(engine, [(job_id, None) for job_id in failed])
    return engine


@app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="customers, products, orders or sends")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV or Parquet file", exists=False)],
    problems: Annotated[
        Path | None,
        typer.Option(
            help="write a rejected file's problems (up to 1,000, then their count) to this CSV file; for a file "
            "imported, the rows it left out as of erased customers (none: only the header)",
            callback=_output_path,
        ),
    ] = None,
    dates: Annotated[
        str | None,
        typer.Option(
            metavar="[day-first|month-first]",
            help="the order of the file's numeric dates (03/04/2011), over its own and the one settled for the kind "
            "(`tailor date-orders list`)",
        ),
    ] = None,
) -> None:
    """Import a file; a bad file is rejected whole with the row and column of every problem (the first 20 and
    their count on the screen, all of them with --problems). The rows of erased customers are left out, not
    refused (a warning names the first 20, --problems lists them all). A file whose numeric dates are all ambiguous
    (03/04/2011) is read in the order an earlier file of the kind settled. After orders, the audience (segments,
    churn risk, CLV) is recomputed, unless the file changed nothing."""
    from service.db.session import session_scope
    from service.errors import SHOWN_PROBLEMS, InvalidInput
    from service.importing import import_file
    from service.importing.background import NOTHING_CHANGED, audience_refreshed
    from service.importing.date_orders import day_first_of
    from service.jobs import InlineJobRunner
    from service.pipeline.training import AUDIENCE_JOB, recompute_audience
    from service.wording import counted

    if dates is not None:  # the CLI's choices are named alike (the option parser's read "Value error, ...")
        _one_of(dates, DATE_ORDERS, "--dates")
    if not file.exists():  # told before the database is opened: it made (or migrated) one where the path was wrong
        _echo(f"error: file not found: {file.absolute()} (check the path; nothing was imported)")
        raise typer.Exit(2)
    _not_an_input(problems, "--problems", file)
    engine = command_engine()
    try:
        with progress_bar(f"importing {kind}") as update, session_scope(engine) as session:
            summary = import_file(session, kind, file, progress=update, day_first=day_first_of(dates))
            update.finished(summary.rows, f"imported {kind}")
    except InvalidInput as error:
        if len(error.problems) > 1:  # one to a line: twenty problems on one line were a wall of text
            _echo(f"error: {error.headline}")
            for problem in error.problems[:SHOWN_PROBLEMS]:
                _echo(f"  {problem}")
        else:
            _echo(f"error: {error}")
        if problems is not None:
            _write_problems(problems, error.problems, error.file or file.name)
            _echo(f"every problem listed is in {problems}")
        elif len(error.problems) > SHOWN_PROBLEMS:
            _echo(f"to see them all: tailor import {kind} {file} --problems problems.csv")
        raise typer.Exit(2) from error
    rows = counted(summary.rows, "row", "rows", grouped=False)
    erased = counted(summary.left_out, "row of an erased customer", "rows of erased customers", grouped=False)
    left_out = f", {erased} left out" if summary.left_out else ""
    unchanged = f", {summary.unchanged} unchanged" if summary.unchanged else ""
    typer.echo(f"{summary.kind}: {rows}, {summary.inserted} new, {summary.updated} updated{unchanged}{left_out}")
    for read_as in summary.date_orders:
        typer.echo(read_as)
    if summary.drafts_moved:
        waiting = counted(summary.drafts_moved, "waiting draft", "waiting drafts", grouped=False)
        typer.echo(f"{waiting} moved to the same time of day in their customers' new time zones")
    for warning in summary.warnings:
        _echo(f"warning: {warning}")
    if problems is not None:
        _write_problems(problems, summary.left_out_rows, file.name)
        if summary.left_out:
            _echo(f"every row left out is listed in {problems}")
    if kind == "orders" and not audience_refreshed(summary):
        typer.echo(f"the audience was not recomputed: {NOTHING_CHANGED}")
    elif kind == "orders":
        with progress_bar("recomputing the audience", counts=False) as update:
            runner = InlineJobRunner(engine, update)
            runner.submit(AUDIENCE_JOB, recompute_audience, engine=engine)
        result = runner.last_result
        typer.echo(f"audience recomputed as of {result['as_of']}: {_in_segments(result['segments'])}")
        _echo_fallbacks(result)


def _write_problems(path: Path, problems, file: str) -> None:
    """An import's problems, or the rows it left out, as CSV (file, row, column, message), as the API's error body
    lists a refused file's problems: a list kept beside those of the shop's other files says which it is of."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)  # as the other commands' outputs
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["file", "row", "column", "message"])
        out.writerows([file, "" if p.row is None else p.row, p.column or "", p.message] for p in problems)


@app.command()
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
    from service.jobs import InlineJobRunner
    from service.pipeline.training import train_all, tuning_problem

    if model is not None:  # a typo fails now, not after the audience refresh
        from recommenders.registry import model_class

        model_class(model)
    if problem := tuning_problem(model, tune):
        raise typer.BadParameter(problem, param_hint="--tune")

    engine = command_engine()
    with progress_bar("training", counts=False) as update:
        runner = InlineJobRunner(engine, update)
        runner.submit("train", train_all, engine=engine, model=model, tune_trials=tune)
    result = runner.last_result
    typer.echo(f"audience: {_segment_words(result['audience']['segments'])}")
    recommender = result["recommender"]
    typer.echo(
        f"recommender {recommender['model']} version {recommender['version']}; last {_holdout_words(recommender)}"
    )
    typer.echo(f"engagement model version {result['engagement']['version']} on {result['engagement']['sends']} sends")


def _segment_words(segments: dict) -> str:
    """ "champions 120, loyal 80, …", largest first."""
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


@app.command(cls=ListsRecommenders)
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


@audience_app.callback(invoke_without_command=True)
def audience(
    ctx: typer.Context,
    orders: Annotated[
        Path | None,
        typer.Option(
            help="orders: customer_id, timestamp, amount[, order_id, product_id, quantity, category, discount, kind]"
        ),
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
    out: Annotated[Path | None, typer.Option(help="output CSV, one row per customer", callback=_output_path)] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", **HORIZON_DAYS)] = 90,
) -> None:
    """Segments, churn risk, expected purchases, CLV and next purchase date per customer of an orders file;
    `tailor audience refresh` recomputes the service's own customers."""
    if ctx.invoked_subcommand is not None:  # `refresh`, or its --help: nothing heavy imported
        return
    from audience.batch import audience_from_file

    missing = [name for name, value in (("--orders", orders), ("--as-of", as_of), ("--out", out)) if value is None]
    if missing:
        _echo(f"error: missing {', '.join(missing)} (or run `tailor audience refresh` for the service's customers)")
        raise typer.Exit(2)
    try:
        as_of_date = date.fromisoformat(as_of)
    except ValueError:
        raise typer.BadParameter(f"'{as_of}' is not a date (YYYY-MM-DD)", param_hint="--as-of") from None
    _written_as(out, CSV_OUT)
    _not_an_input(out, "--out", orders)
    with progress_bar(f"profiling the customers of {orders.name}", counts=False) as update:
        profiles = audience_from_file(orders, as_of=as_of_date, horizon_days=horizon_days, progress=update)
        update(100, 100, f"profiled {len(profiles):,} customers")
    out.parent.mkdir(parents=True, exist_ok=True)
    profiles.to_csv(out, index=False)
    typer.echo(f"wrote {len(profiles)} customers to {out}")
    for fallback in profiles.attrs["fallbacks"]:
        _echo(f"fallback: {fallback}")
    for warning in profiles.attrs["warnings"]:
        _echo(f"warning: {warning}")


@audience_app.command("refresh")
def audience_refresh() -> None:
    """Recompute every customer's segment and profile from the orders in the database, without retraining the
    recommender or the scoring model (horizon and day: TAILOR_AUDIENCE_HORIZON_DAYS, TAILOR_AUDIENCE_AS_OF)."""
    from service.pipeline.training import refresh_audience

    with progress_bar("recomputing the audience", counts=False) as update:
        result = refresh_audience(command_engine(), update)
    typer.echo(
        f"audience recomputed as of {result['as_of']} over {result['horizon_days']} days: "
        f"{result['customers']:,} customers; {_in_segments(result['segments'])}"
    )
    _echo_fallbacks(result)


def _echo_fallbacks(result: dict) -> None:
    """The figures of an audience refresh that a simpler model gave, or none could, one line each as `tailor
    audience --orders` says them (a job result from before they were kept has none)."""
    for fallback in result.get("fallbacks", []):
        _echo(f"fallback: {fallback}")


def _in_segments(counts: dict[str, int]) -> str:
    """Customers per segment, biggest first, as a person reads them: "loyal 4,565, at_risk 4,209"."""
    return ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items(), key=lambda item: -item[1]))


@app.command()
def generate(
    campaign_type: Annotated[
        str, typer.Option("--campaign-type", help="welcome, cross_sell, win_back, replenishment, vip")
    ],
    brand: Annotated[str, typer.Option(help="brand kit name (prompts/brands)")],
    out: Annotated[Path | None, typer.Option(help="write the drafts as JSON lines", callback=_output_path)] = None,
    limit: Annotated[int | None, typer.Option(**COUNT, help="at most this many customers")] = None,
    name: Annotated[str | None, typer.Option(help="campaign name")] = None,
    audience_query: Annotated[str | None, typer.Option("--audience-query", help="e.g. 'clv > 100'")] = None,
) -> None:
    """Create a campaign, generate and score its drafts, and optionally export them. A mistake in what is asked
    creates nothing; a generation that stops keeps the campaign, failed, and says its id and why."""
    from service.pipeline.campaign_runs import create_and_generate
    from service.pipeline.exporting import export_campaign

    _written_as(out, JSONL_OUT)
    engine = _engine_after_crashes()
    with progress_bar("generating") as update:
        summary = create_and_generate(
            engine, campaign_type=campaign_type, brand=brand, limit=limit, name=name,
            audience_query=audience_query, listener=update,
        )  # fmt: skip
    typer.echo(summary.table())
    if summary.warning():
        _echo(f"warning: {summary.warning()}")
    if out:
        _tell_exported(*export_campaign(engine, summary.campaign_id, out), out)


@app.command()
def export(
    campaign: CampaignOption,
    out: Annotated[Path, typer.Option(help="the JSON lines file to write", callback=_output_path)],
    status: Annotated[
        str | None, typer.Option(help="only drafts in this status, e.g. approved (after review) or flagged")
    ] = None,
    selected_only: Annotated[
        bool, typer.Option("--selected-only", help="a line per draft, the variant to mail (the one chosen, by "
                           "its reviewer or generation), for a sender that mails every line; not for an experiment")
    ] = False,
) -> None:  # fmt: skip
    """Write a campaign's drafts as JSON lines, one per customer and variant (e.g. the approved ones, for an email
    service provider; with --selected-only, the variant to mail alone); the file appears whole or not at all."""
    from typing import get_args

    from service.pipeline.exporting import export_campaign
    from service.schemas import DraftStatus

    _written_as(out, JSONL_OUT)
    if status is not None:
        _one_of(status, get_args(DraftStatus), "--status")
    written = export_campaign(_engine_after_crashes(), campaign, out, status, selected_only)
    _tell_exported(*written, out, selected_only)


# `tailor send` and `tailor send-due`: mail even where the link check fails (sending.send_campaign's links_must_answer).
UncheckedLinks = Annotated[
    bool, typer.Option("--unchecked-links", help="send even though Tailor does not answer this machine where the "
                       "unsubscribe links lead (TAILOR_PUBLIC_URL), when it does answer the recipients there"),
]  # fmt: skip


@app.command()
def send(
    campaign: CampaignOption,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", **COUNT, help="send at most this many emails now, to the first "
                                 "customers in the audience's order")
    ] = None,
    unchecked_links: UncheckedLinks = False,
) -> None:  # fmt: skip
    """Send the campaign's approved drafts now through the shop's SMTP server (TAILOR_SMTP_*): customers who
    unsubscribed or bounced are skipped, drafts whose products changed go back to review, and those the contact policy
    holds back wait; run it again to send them when they fall due (the next is said on the shop's clock,
    TAILOR_SEND_TIMEZONE, and in UTC). Nothing is sent while no Tailor server (`tailor
    serve`) answers where the emails' unsubscribe links lead."""
    from service.pipeline.campaign_runs import send_now

    with progress_bar("sending") as update:
        result = send_now(
            _engine_after_crashes(), campaign, batch_size, listener=update, links_must_answer=not unchecked_links
        )
    for line in _send_words(result):
        typer.echo(line)
    for warning in result.get("warnings", []):
        _echo(f"warning: {warning}")


@app.command("send-due")
def send_due(
    unchecked_links: UncheckedLinks = False,
) -> None:  # fmt: skip
    """Send every campaign's approved drafts that are due now (each customer's best hour, the contact policy's wait
    over, a refused address's time to be tried again), as `tailor serve` does every TAILOR_SEND_DUE_CHECK_MINUTES: for
    a shop that runs Tailor from the command line alone, run it from cron (every 5 minutes, say). It says what it did
    for each campaign, or that nothing is due; while another due-check runs (a server's), it leaves the drafts to it.
    As `tailor send`, it mails nothing while no Tailor server answers where the unsubscribe links lead."""
    from service.errors import TailorError
    from service.pipeline.campaign_runs import send_due_now

    try:
        with progress_bar("sending the due drafts") as update:
            result = send_due_now(_engine_after_crashes(), listener=update, links_must_answer=not unchecked_links)
    except TailorError as failed:  # the mail server down: what the campaigns before it did, then the error
        _tell_due_sends((failed.done_before or {}).get("campaigns", {}))
        raise
    if "running" in result:
        typer.echo(f"a due-check is running already (job {result['running']}): it sends what is due")
    elif not result["campaigns"]:
        typer.echo("nothing is due")
    _tell_due_sends(result.get("campaigns", {}))


def _tell_due_sends(campaigns: dict[str, dict]) -> None:
    """What the due-check did for each campaign, in `tailor send`'s words, under its id."""
    for campaign_id, result in campaigns.items():
        if "not_sent" in result:  # being generated, or deleted, since the check began: the next check sends it
            typer.echo(f"campaign {campaign_id}: not sent now: {result['not_sent']}")
            continue
        typer.echo(f"campaign {campaign_id}:")
        for line in _send_words({"waiting": 0, **result}):  # a send the mail server stopped counts no waiting
            typer.echo(f"  {line}")
        for warning in result.get("warnings", []):
            _echo(f"warning: campaign {campaign_id}: {warning}")


def _send_words(result: dict) -> list[str]:
    """What a send did, a line for each thing that happened: sent, skipped, held back, waiting, refused."""
    from service.wording import counted

    lines = [f"sent {counted(result['sent'], 'email', 'emails')}"]
    if result["skipped"]:
        lines.append(f"skipped {result['skipped']:,}: customers who may not be mailed (unsubscribed, bounced, an "
                     "address already mailed in this campaign; each draft says why)")  # fmt: skip
    if result.get("held_back_count"):
        why = {"late": "too late to send", "stale_facts": "products changed since written",
               "failed_checks": "copy fails a check",
               "unseen_characters": "copy, address or a link holds characters no one sees"}  # fmt: skip
        reasons = ", ".join(f"{why.get(k, k)}: {n:,}" for k, n in result.get("held_back_by_reason", {}).items())
        lines.append(f"back to review: {result['held_back_count']:,} ({reasons})")
    if result["waiting"]:
        waiting = counted(
            result["waiting"], "approved draft waits for its send time", "approved drafts wait for their send times"
        )
        policy = f" ({result['deferred']:,} held back by the contact policy)" if result["deferred"] else ""
        lines.append(f"{waiting}{policy}; the next falls due {_shop_time(result['next_send_at'])}: send again then")
    if result.get("still_due"):  # a batch's limit reached (--batch-size)
        left = counted(result["still_due"], "approved draft is due", "approved drafts are due")
        lines.append(f"{left} and left for the next batch: send again to mail them")
    if result["refused"]:
        lines.append(f"refused by the mail server: {len(result['refused']):,}")
        lines += [f"  draft {refused['draft_id']}: {refused['answer']}" for refused in result["refused"][:20]]
    return lines


def _shop_time(moment: str) -> str:
    """A moment a job's result gives (``service.clock.as_text``: UTC) as the shop's marketers read it: on the shop's
    clock (TAILOR_SEND_TIMEZONE) with its zone's name, and in UTC beside it where that clock is another
    ("2026-12-08 10:00 CET (09:00 UTC)"), as the server's logs and the API's JSON keep it. A Berlin shop read
    "2026-12-08T09:00:00Z" for an email going at 10:00 there."""
    from datetime import datetime

    from service.clock import as_utc
    from service.send_times import on_shop_clock

    in_utc = as_utc(datetime.fromisoformat(moment))
    local = on_shop_clock(in_utc, "%Y-%m-%d %H:%M")
    if local == f"{in_utc:%Y-%m-%d %H:%M} UTC":  # the shop keeps UTC
        return local
    same_day = local.startswith(f"{in_utc:%Y-%m-%d} ")
    return f"{local} ({in_utc:{'%H:%M' if same_day else '%Y-%m-%d %H:%M'}} UTC)"


def _tell_exported(drafts: int, rows: int, warning: str | None, out: Path, selected_only: bool = False) -> None:
    if selected_only:
        typer.echo(f"wrote {drafts} drafts to {out}, a line each: its variant to mail")
    else:
        typer.echo(f"wrote {drafts} drafts to {out}, a line for each of their {rows} variants")
    if warning:
        _echo(f"warning: {warning}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default TAILOR_API_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default TAILOR_API_PORT or 8000")] = None,
) -> None:
    """Serve the REST API (docs at /docs) and the review page (/review). Behind a proxy that serves Tailor under a
    path prefix, set TAILOR_API_ROOT_PATH (e.g. /mail)."""
    from service.server import run_server

    run_server(host, port)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(**DEMO_CUSTOMERS, help="customers in the demo store")] = 3000,
    limit: Annotated[int, typer.Option(**COUNT, help="customers in the demo campaign")] = 40,
    do_serve: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API afterwards")] = True,
    host: Annotated[str | None, typer.Option(help="default TAILOR_API_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default TAILOR_API_PORT or 8000")] = None,
) -> None:
    """The main job: demo store -> train -> generate a campaign with the local LLM -> score -> serve."""
    from service.demo_job import run_demo
    from service.logs import configure_logging

    if do_serve:  # a server's log, read by collectors as JSON, from its first line
        configure_logging(default="WARNING")

    run_demo(customers=customers, limit=limit, serve=do_serve, host=host, port=port)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="who or what uses the key")] = "default",
) -> None:
    """Create an API key; it is shown once."""
    from service.auth import create_key
    from service.db.session import session_scope

    with session_scope(command_engine()) as session:
        key = create_key(session, name)
    typer.echo(key)


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(metavar="PREFIX", help="the key, or its first 10 characters")],
) -> None:
    """Revoke the keys starting with PREFIX (as `tailor keys list` shows it)."""
    from service.auth import revoke_key
    from service.db.session import session_scope

    with session_scope(command_engine()) as session:
        count = revoke_key(session, prefix)
    typer.echo(f"revoked {count} key(s)")


@keys_app.command("list")
def keys_list() -> None:
    """Every key's prefix, name, and when it was created and revoked (keys are kept only as hashes)."""
    from service.auth import list_keys
    from service.db.session import session_scope

    with session_scope(command_engine()) as session:
        for key in list_keys(session):
            revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            typer.echo(f"{key.prefix}  {key.name}  created {key.created_at:%Y-%m-%d %H:%M}  {revoked}")


@campaigns_app.command("list")
def campaigns_list(
    status: Annotated[str | None, typer.Option(help="only campaigns in this status, e.g. ready or failed")] = None,
) -> None:
    """Every campaign, newest first: its id (for `tailor export --campaign`, `tailor drafts ...`), name, type, status,
    when it was created and its drafts by status."""
    from typing import get_args

    from service.campaigns import draft_counts_of, list_campaigns
    from service.db.session import session_scope
    from service.schemas import CampaignStatus

    if status is not None:
        _one_of(status, get_args(CampaignStatus), "--status")
    with session_scope(_engine_after_crashes()) as session:
        campaigns = list_campaigns(session, status)
        counts = draft_counts_of(session, [campaign.id for campaign in campaigns])
        for campaign in campaigns:
            created = f"created {campaign.created_at:%Y-%m-%d %H:%M} UTC"
            drafts = _drafts_by_status(counts[campaign.id])
            typer.echo(
                f"{campaign.id}  {campaign.name}  {campaign.campaign_type}  {campaign.status}  {created}  {drafts}"
            )
    if not campaigns:
        _echo(f"no campaigns{f' with the status {status}' if status else ''}; `tailor generate` makes one")


@campaigns_app.command("generate", cls=IdArgumentCommand)
def campaigns_generate(campaign: CampaignId) -> None:
    """Generate a campaign again, one whose generation failed say: drafts a person edited, approved or rejected are
    kept, the untouched ones written again. Refused once it has sent email."""
    from service.pipeline.campaign_runs import generate_again

    engine = _engine_after_crashes()
    with progress_bar("generating") as update:
        summary = generate_again(engine, campaign, listener=update)
    typer.echo(summary.table())
    if summary.warning():
        _echo(f"warning: {summary.warning()}")


def _drafts_by_status(counts: dict[str, int]) -> str:
    """ "drafts: 40 pending, 2 flagged", the statuses that have drafts, or "no drafts"."""
    held = [f"{count:,} {status}" for status, count in counts.items() if count and status != "total"]
    return f"drafts: {', '.join(held)}" if held else "no drafts"


@customers_app.command("export")
def customers_export(
    customer_id: Annotated[str, typer.Argument(metavar="CUSTOMER_ID", help="the shop's id of the customer")],
    out: Annotated[
        Path | None, typer.Option(help="the JSON file to write; default: the screen", callback=_output_path)
    ] = None,
) -> None:
    """Everything Tailor holds about one customer, as JSON, for the shop to hand over when the customer asks (a
    subject access request)."""
    from service.db.session import session_scope
    from service.subject_access import subject_access

    with session_scope(command_engine()) as session:
        document = subject_access(session, customer_id).model_dump_json(indent=2)
    if out is None:
        typer.echo(document)
        return
    from generation.export import private_opener

    out.parent.mkdir(parents=True, exist_ok=True)
    # everything held of a person: its owner's alone, as a campaign's export (the umask left it for every user)
    with open(out, "w", encoding="utf-8", opener=private_opener) as handle:
        os.chmod(handle.fileno(), 0o600)  # a file that was there keeps its mode otherwise
        handle.write(document + "\n")
    _echo(f"wrote what Tailor holds about customer {customer_id} to {out}")


@drafts_app.command("approve-pending", cls=IdArgumentCommand)
def drafts_approve_pending(
    campaign: CampaignId,
    reviewer: Annotated[str, typer.Option(help="who approves them, kept with each approval")] = "",
    comment: Annotated[str, typer.Option(help="kept with each approval")] = "",
) -> None:
    """Approve every pending draft of the campaign with its chosen variant, as the review page's "approve all pending"
    does: the drafts that passed every guardrail check and review floor. Flagged drafts stay for a person; it says how
    many."""
    from service.db.session import session_scope
    from service.drafts import approve_pending
    from service.wording import counted

    by_option = told_by_option(f"campaign {campaign}'s drafts", BULK_APPROVAL_OPTIONS, "were not approved")
    with session_scope(_engine_after_crashes()) as session, by_option:
        done = approve_pending(session, campaign, reviewer, comment)
    typer.echo(f"approved {counted(done['approved'], 'pending draft', 'pending drafts')}, each with its chosen variant")
    if done["out_of_date"]:
        typer.echo(
            f"flagged {counted(done['out_of_date'], 'draft', 'drafts')} whose email the catalog no longer agrees "
            "with (a price, the stock)"
        )
    if done["unseen_characters"]:
        typer.echo(
            f"flagged {counted(done['unseen_characters'], 'draft', 'drafts')} whose email holds a character its "
            "reader does not see"
        )
    if done["left_for_review"]:
        waiting = counted(done["left_for_review"], "flagged draft waits", "flagged drafts wait")
        listed = f"`tailor drafts list --campaign {campaign} --status flagged`"
        typer.echo(f"{waiting} for a person: {listed} lists them, or review them at /review (`tailor serve`)")


@drafts_app.command("reapprove-late", cls=IdArgumentCommand)
def drafts_reapprove_late(
    campaign: CampaignId,
    reviewer: Annotated[str, typer.Option(help="who approves them, kept with each approval")] = "",
    comment: Annotated[str, typer.Option(help="kept with each approval")] = "",
) -> None:
    """Approve again the campaign's drafts the send's due-check held back for lateness alone (after an outage, more
    than TAILOR_SEND_LATE_LIMIT_HOURS past their moment): a fresh approval each, so they go at the next send. Drafts
    flagged for anything else stay for a person; it says how many, and why."""
    from service.db.session import session_scope
    from service.late_drafts import LEFT, reapprove_late
    from service.wording import counted

    by_option = told_by_option(f"campaign {campaign}'s drafts", BULK_APPROVAL_OPTIONS, "were not approved")
    with session_scope(_engine_after_crashes()) as session, by_option:
        done = reapprove_late(session, campaign, reviewer, comment)
    typer.echo(f"approved again {counted(done['reapproved'], 'draft', 'drafts')} held back for lateness")
    if done["goes"]:
        typer.echo(f"they go {done['goes']}")
    for why, count in done["left"].items():
        if count:
            typer.echo(f"left for review: {count:,} {LEFT[why]}")
    typer.echo(f"{counted(done['left_for_review'], 'draft waits', 'drafts wait')} for a person in all")


@history_app.command("prune")
def history_prune() -> None:
    """Delete now the history older than TAILOR_HISTORY_KEEP_DAYS, as `tailor serve` does every 10 minutes: for a
    shop that runs Tailor from the command line alone, run it from cron (daily, say)."""
    from service.retention import prune_history
    from service.settings import HistorySettings
    from service.wording import counted

    if HistorySettings().keep_days is None:
        _echo("error: TAILOR_HISTORY_KEEP_DAYS is not set, so the history is kept for ever: nothing was deleted")
        raise typer.Exit(2)
    counts = prune_history(_engine_after_crashes())
    deleted = ", ".join(
        counted(counts.get(name, 0), name[:-1], name) for name in ("sends", "events", "campaigns", "drafts")
    )
    typer.echo(f"history older than {HistorySettings().keep_days} days deleted: {deleted}")


EVAL_AREAS = ("recommenders", "audience", "generation", "scoring", "scale", "experiments")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False
)  # fmt: skip
def eval(
    ctx: typer.Context,
    area: Annotated[
        str,
        typer.Argument(metavar="AREA", help=f"{', '.join(EVAL_AREAS)}; `tailor eval AREA --help` lists its options"),
    ],
) -> None:
    """Run an eval (`tailor eval recommenders --dataset online_retail --protocol time`); the options after AREA
    go to it, and it writes its JSON report and markdown table to --out (default: ./reports)."""
    import importlib

    if area in ("--help", "-h"):  # before the evals' imports (pandas): help stays as fast as `tailor --help`
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from evals.datasets import DatasetMissing

    if area not in EVAL_AREAS:
        raise typer.BadParameter(f"no eval named '{area}'; choose from {', '.join(EVAL_AREAS)}", param_hint="AREA")
    try:
        module = importlib.import_module(f"evals.{area}.run")
    except ImportError as missing:  # a dependency of the eval, not the area's name
        _echo(f"error: the {area} eval cannot start: {missing} (is the project installed? `make .venv/.installed`)")
        raise typer.Exit(2) from None
    try:
        code = module.main(list(ctx.args))
    except DatasetMissing as missing:
        _echo(f"error: {missing}")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


@models_app.command("list")
def models_list() -> None:
    """Each kind's kept versions, newest first, with what training recorded; `*` marks the one in use, and `!` one in
    use that this version of Tailor cannot serve (saved by an older one), with why and what to do."""
    from service.pipeline.model_store import MODEL_KINDS, describe
    from service.settings import home_settings
    from service.state import model_store

    models = model_store(home_settings().models_dir)
    for kind in MODEL_KINDS:
        listing = describe(home_settings().models_dir, kind)
        trained = listing["versions"] or listing["current"]
        typer.echo(f"{kind}: {len(listing['versions'])} kept" if trained else f"{kind}: none trained")
        unservable = models.unservable(kind) if listing["current"] else None
        for version in listing["versions"]:
            mark = ("!" if unservable else "*") if version["current"] else " "
            typer.echo(f"  {mark} {version['version']}  {_model_summary(kind, version['metadata'])}")
            if version["current"] and unservable:
                typer.echo(f"      in use, but cannot be served: {unservable}")
        if listing["current"] and not any(version["current"] for version in listing["versions"]):
            # its folder or model file gone (deleted, a restore without models/): the kept ones were listed as if
            # none was in use, while the server refused every recommendation
            typer.echo(f"  ! {listing['current']}  in use, but its files are gone")
            typer.echo(f"      cannot be served: {unservable}")


def _model_summary(kind: str, metadata: dict) -> str:
    """One line of what a version is: the recommender's name and holdout NDCG@10, the engagement model's data."""
    if kind == "recommender":
        holdout = metadata.get("holdout") or {}
        quality = (
            f"holdout NDCG@10 {holdout['all_ndcg@10']:.4f} (new products {holdout['new_ndcg@10']:.4f})"
            if "all_ndcg@10" in holdout
            else f"holdout not measured: {holdout.get('skipped', 'unknown')}"
        )
        return f"{metadata.get('model')}  {metadata.get('data', {}).get('rows', '?')} rows  {quality}"
    sends, open_rate, shop = metadata.get("sends", "?"), metadata.get("open_rate"), metadata.get("shop_model")
    rate = f"open rate {open_rate:.1%}" if isinstance(open_rate, int | float) else "open rate not measured"
    return f"{sends} sends  {rate}  shop model {shop or 'none'}"


@models_app.command("use")
def models_use(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="recommender or engagement")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="a kept version, as `tailor models list` shows it")],
) -> None:
    """Serve a kept version from now on (a rollback); a running server switches to it without a restart."""
    from service.pipeline.model_store import MODEL_KINDS, use_version
    from service.settings import home_settings
    from service.state import check_servable

    _one_of(kind, MODEL_KINDS, "KIND")
    check_servable(home_settings().models_dir, kind, version)
    use_version(home_settings().models_dir, kind, version)
    typer.echo(f"{kind} {version} is in use")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(
        metavar="REVISION", help="the revision to go back to: the server's `database migrated` line names it as "
        "from_revision, a command's `Upgraded the database schema from REVISION to ...` as the first",
    )],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask first")] = False,
) -> None:  # fmt: skip
    """Move the database back to REVISION before starting an older version of Tailor, with the care of an upgrade:
    one process at a time, and a SQLite file put back as it was if it stops half way. What later migrations added
    is dropped; stop the server and every command first, and back up the database and TAILOR_HOME."""
    from service.db.migrate import downgrade, downgrade_problem
    from service.db.session import configured_engine

    def checked_downgrade(engine) -> None:
        if problem := downgrade_problem(engine, revision):
            _echo(f"error: {problem}")
            raise typer.Exit(2)
        if not yes:
            typer.confirm(
                f"Move the database back to revision {revision}, dropping what later migrations added?", abort=True
            )
        downgrade(engine, revision)

    configured_engine(checked_downgrade)
    typer.echo(f"the database is at revision {revision}: start the version of Tailor that migrated it there")


COPY_MODEL_HINT = (
    "--model takes the file that `tailor scoring fit-copy --train TESTS --out MODEL` saves, fitted on headline "
    "tests (TESTS: text, impressions, clicks[, test_id])."
)


@scoring_app.command("fit-copy")
def fit_copy(
    train_file: Annotated[Path, typer.Option("--train", help="text, impressions, clicks[, test_id]")],
    out: Annotated[Path, typer.Option(help="where to save the model", callback=_output_path)],
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="sentence-embedding features (the 'embeddings' extra); default: on when the extra is installed",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train the copy-only CTR model on headline tests."""
    from scoring.copy_model import fit_copy_file

    _not_an_input(out, "--out", train_file)
    with progress_bar("fitting the copy model") as update:
        metrics = fit_copy_file(train_file, out, embeddings=embeddings, progress=update)
    typer.echo(f"saved copy model to {out}: {metrics}")


@scoring_app.command("predict-copy")
def predict_copy(
    model: Annotated[Path, typer.Option(help="a model file saved by `tailor scoring fit-copy`")],
    input_file: Annotated[Path, typer.Option("--input", help="rows with a text column")],
    out: Annotated[
        Path,
        typer.Option(
            help="output file with predicted_ctr added: CSV, or .parquet or .jsonl by its name", callback=_output_path
        ),
    ],
) -> None:
    """Predict the click-through rate of each row's text."""
    from scoring.copy_model import WRITTEN_SUFFIXES, predict_copy_file
    from scoring.errors import ModelFileError

    _written_as(out, WRITTEN_SUFFIXES)
    _not_an_input(out, "--out", model, input_file)
    try:
        rows = predict_copy_file(model, input_file, out)
    except ModelFileError as error:  # the model package knows no command: the hint is the command line's
        _echo(f"error: {error} {COPY_MODEL_HINT}")
        raise typer.Exit(2) from error
    typer.echo(f"wrote {rows} rows to {out}")


def main() -> None:
    """Entry point: user errors become one clear line and exit code 2, never a traceback."""
    from pydantic import ValidationError

    from service.errors import TailorError, as_told, storage_unavailable
    from service.logs import configure_logging
    from service.settings import environment_problem

    try:
        # a command's own output says what it did; the server logs at INFO, as JSON wherever it runs (run_server)
        configure_logging(default="WARNING", command=True)
        app(prog_name="tailor")  # so named in its usage lines however it is started (python -m service.cli)
    except Exception as raised:
        error = as_told(raised)  # a database busy, or a write another made meanwhile: the person's to retry
        if type(error).__module__ in USER_ERROR_MODULES or any(
            base.__module__ in USER_ERROR_MODULES for base in type(error).__mro__
        ):
            told = error.on_command_line() if isinstance(error, TailorError) else str(error)  # a command, not a route
            _echo(f"error: {told}{_where_to_look(error)}")
            sys.exit(2)
        if isinstance(error, ValidationError) and (problem := environment_problem(error)):
            _echo(f"error: {problem}")
            sys.exit(2)
        if isinstance(error, OSError) and (full := storage_unavailable(error)):  # a full disk: no traceback
            _echo(f"error: {full}")
            sys.exit(2)
        if isinstance(error, OSError) and error.filename is not None:  # a path given that cannot be read or written
            _echo(f"error: {error.filename}: {(error.strerror or str(error)).lower()}")
            sys.exit(2)
        raise


def _where_to_look(error: Exception) -> str:
    """What the command line adds to an error of the service: a campaign id that names none points at the command
    that lists them (the API's answer, the same words, has GET /campaigns beside it), and a generation a later one
    took over at where that one's campaign and drafts are seen."""
    from service.errors import CampaignNotFound, GeneratedAgain

    if isinstance(error, CampaignNotFound):
        return " `tailor campaigns list` shows the campaigns and their ids."
    if isinstance(error, GeneratedAgain):
        drafts = f"`tailor drafts list --campaign {error.campaign_id}`"
        return f" `tailor campaigns list` shows its status, {drafts} its drafts."
    return ""


if __name__ == "__main__":  # python -m service.cli, as `tailor`
    main()
