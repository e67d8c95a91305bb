"""The `tailor` command line: the app, its groups, where each command of service/cli_*.py is registered, and the
helpers those commands share (the database, a progress bar, one line for an error). Heavy imports happen inside
commands so that `tailor --help` stays fast."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import typer

from service.cli_audience import audience, audience_refresh
from service.cli_bounds import IdArgumentCommand
from service.cli_campaigns import campaigns_generate, campaigns_list, export, generate
from service.cli_customers import customers_erase, customers_export, customers_lift_erasure
from service.cli_date_orders import date_orders_forget, date_orders_list
from service.cli_db import db_downgrade, db_status
from service.cli_drafts import drafts_approve, drafts_list, drafts_reject, drafts_show, drafts_suggest
from service.cli_drafts_in_bulk import drafts_approve_pending, drafts_reapprove_late
from service.cli_eval import eval
from service.cli_history import history_prune
from service.cli_importing import import_file
from service.cli_jobs import jobs_cancel, jobs_list, jobs_show
from service.cli_keys import keys_create, keys_list, keys_revoke
from service.cli_models import models_list, models_use
from service.cli_scoring import fit_copy, predict_copy
from service.cli_sending import send, send_due
from service.cli_serving import demo, serve
from service.cli_training import ListsRecommenders, recommend, train

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
db_app = _commands(
    help="The database's schema: where it stands, and moving it back for an older version.", no_args_is_help=True
)
jobs_app = _commands(help="The jobs run by the server and the commands: list, show, cancel.", no_args_is_help=True)
date_orders_app = _commands(help="The order of numeric dates each kind's imports settled.", no_args_is_help=True)
app.command("import")(import_file)
app.command()(train)
app.command(cls=ListsRecommenders)(recommend)
app.command()(generate)
app.command()(export)
app.command()(send)
app.command("send-due")(send_due)
app.command()(serve)
app.command()(demo)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)(eval)
audience_app.callback(invoke_without_command=True)(audience)
audience_app.command("refresh")(audience_refresh)
campaigns_app.command("list")(campaigns_list)
campaigns_app.command("generate", cls=IdArgumentCommand)(campaigns_generate)
customers_app.command("erase")(customers_erase)
customers_app.command("lift-erasure")(customers_lift_erasure)
customers_app.command("export")(customers_export)
date_orders_app.command("list")(date_orders_list)
date_orders_app.command("forget")(date_orders_forget)
db_app.command("status")(db_status)
db_app.command("downgrade")(db_downgrade)
drafts_app.command("list")(drafts_list)
drafts_app.command("show", cls=IdArgumentCommand)(drafts_show)
drafts_app.command("approve", cls=IdArgumentCommand)(drafts_approve)
drafts_app.command("reject", cls=IdArgumentCommand)(drafts_reject)
drafts_app.command("suggest", cls=IdArgumentCommand)(drafts_suggest)
drafts_app.command("approve-pending", cls=IdArgumentCommand)(drafts_approve_pending)
drafts_app.command("reapprove-late", cls=IdArgumentCommand)(drafts_reapprove_late)
history_app.command("prune")(history_prune)
jobs_app.command("list")(jobs_list)
jobs_app.command("show")(jobs_show)
jobs_app.command("cancel")(jobs_cancel)
keys_app.command("create")(keys_create)
keys_app.command("revoke")(keys_revoke)
keys_app.command("list")(keys_list)
scoring_app.command("fit-copy")(fit_copy)
scoring_app.command("predict-copy")(predict_copy)
models_app.command("list")(models_list)
models_app.command("use")(models_use)
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


def _at_a_terminal() -> bool:
    """Whether a person can be asked: standard input is a terminal (not cron, a pipe or a file)."""
    return sys.stdin.isatty()


def _ask_first(question: str, yes: bool, act: str) -> None:
    """Ask ``question`` before an act that cannot be undone, unless --yes; a no ends the command ("Aborted.",
    exit 1). Without a terminal, an answer piped in (``echo y | tailor ...``) is read as one typed; with none to read
    (cron, /dev/null) nothing is done: it says --yes is needed to ``act`` and exits 2, as a refused command does (it
    read an empty answer and ended "Aborted." with exit 1, unexplained)."""
    if yes:
        return
    if _at_a_terminal():
        typer.confirm(question, abort=True)
        return
    answer = sys.stdin.readline()
    if not answer:
        _echo(
            "error: not run at a terminal and no answer on standard input, so not asked and nothing done: give --yes "
            f"to {act} without asking"
        )
        raise typer.Exit(2)
    typer.echo(f"{question} [y/N]: {answer.strip()}")
    if answer.strip().lower() not in ("y", "yes"):
        _echo("Aborted.")
        raise typer.Exit(1)


@contextmanager
def progress_bar(description: str, counts: bool = True):
    """A rich progress bar fed by a job's progress callback (done, total, message): with ``counts``, "done/total"
    (rows, drafts), else a percentage (training's stages; a generation's whole job, whose bar follows its progress:
    see `_BarUpdate.job_progress`); a failed step leaves no bar behind, only its error. It is
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
        self.follows_job = False  # once the job reports its whole progress: the bar draws that, not a step's figures

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.follows_job:
            self.bar.update(self.task, description=message or self.description)
            return
        self.bar.update(self.task, completed=done, total=total or None, description=message or self.description)

    def job_progress(self, fraction: float) -> None:
        """The whole job's progress from 0 to 1, where the job reports one (a generation: see Progress): the bar
        follows it from then on, rather than going back to 0 at each of its steps; each step's count is in the
        message."""
        self.follows_job = True
        self.bar.update(self.task, completed=fraction, total=1)

    def finished(self, count: int, message: str) -> None:
        """The step done, all ``count`` of it: a file of no rows reads 0/0 (its bar said 0/1)."""
        self.bar.update(self.task, completed=count, total=count, description=message)


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
