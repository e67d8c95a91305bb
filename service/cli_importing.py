"""`tailor import KIND FILE`: a shop's file of customers, products, orders or sends imported whole or refused with
the row and column of every problem (service.importing), and after orders the audience recomputed. Registered on the
app by service.cli; heavy imports happen inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli_audience import _echo_fallbacks, _in_segments
from service.cli_date_orders import DATE_ORDERS
from service.cli_outputs import _not_an_input, _output_path


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
    from service.cli import _echo, _one_of, command_engine, progress_bar
    from service.db.session import session_scope
    from service.errors import SHOWN_PROBLEMS, InvalidInput
    from service.importing import import_file
    from service.importing.background import NOTHING_CHANGED, audience_refreshed
    from service.importing.date_orders import day_first_of
    from service.importing.load import require_kind
    from service.jobs import InlineJobRunner
    from service.pipeline.training import AUDIENCE_JOB, recompute_audience
    from service.wording import counted

    if dates is not None:  # the CLI's choices are named alike (the option parser's read "Value error, ...")
        _one_of(dates, DATE_ORDERS, "--dates")
    require_kind(kind)  # told before the database is opened, as a missing file is
    if not file.exists():  # told before the database is opened: it made (or migrated) one where the path was wrong
        _echo(f"error: file not found: {file.absolute()} (check the path; nothing was imported)")
        raise typer.Exit(2)
    _not_an_input(problems, "--problems", file)
    engine = command_engine()
    committed = None  # the summary, once the import's transaction is committed (its bar then still closes)
    try:
        with progress_bar(f"importing {kind}") as update:
            with session_scope(engine) as session:
                summary = import_file(session, kind, file, progress=update, day_first=day_first_of(dates))
                update.finished(summary.rows, f"imported {kind}")
            committed = summary
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
    except KeyboardInterrupt:  # said, where typer ends the command with no word
        if committed is None:  # its transaction rolled back
            _echo(f"interrupted: nothing of {file.name} was imported")
        elif kind == "orders" and audience_refreshed(committed):  # importing it again would recompute nothing
            _echo(f"interrupted: {file.name} was imported, but the audience was not recomputed; "
                  "`tailor audience refresh` recomputes it")  # fmt: skip
        else:
            _echo(f"interrupted: {file.name} was imported")
        raise
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
        try:
            with progress_bar("recomputing the audience", counts=False) as update:
                runner = InlineJobRunner(engine, update)
                runner.submit(AUDIENCE_JOB, recompute_audience, engine=engine)
        except BaseException as stopped:  # the orders are committed: importing them again recomputes nothing
            stopped_by = "interrupted: " if isinstance(stopped, KeyboardInterrupt) else ""
            once = "" if stopped_by else "once the error below is fixed, "
            _echo(f"{stopped_by}the orders are imported, but the audience was not recomputed; {once}"
                  "`tailor audience refresh` recomputes it")  # fmt: skip
            raise
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
