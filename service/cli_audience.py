"""`tailor audience`: segments, churn risk, CLV and next purchase per customer, of an orders file (`--orders`) or
of the service's own customers (`tailor audience refresh`); and the words an audience refresh is told in, which
`tailor import orders` shares. Registered on the `audience` group by service.cli; heavy imports happen inside the
commands."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from service.cli_bounds import HORIZON_DAYS
from service.cli_outputs import CSV_OUT, _not_an_input, _output_path, _written_as


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
    `tailor audience refresh` recomputes the service's own customers (the churn trees' threads:
    TAILOR_AUDIENCE_THREADS)."""
    if ctx.invoked_subcommand is not None:  # `refresh`, or its --help: nothing heavy imported
        return
    from audience.batch import audience_from_file
    from service.cli import _echo, progress_bar
    from service.settings import AudienceSettings

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
        profiles = audience_from_file(
            orders, as_of=as_of_date, horizon_days=horizon_days, progress=update, threads=AudienceSettings().threads
        )
        update(100, 100, f"profiled {len(profiles):,} customers")
    out.parent.mkdir(parents=True, exist_ok=True)
    profiles.to_csv(out, index=False)
    typer.echo(f"wrote {len(profiles)} customers to {out}")
    for fallback in profiles.attrs["fallbacks"]:
        _echo(f"fallback: {fallback}")
    for warning in profiles.attrs["warnings"]:
        _echo(f"warning: {warning}")


# What a refresh that counted a customer erased while it ran says instead of its customers per segment.
COUNTS_WITHHELD = "its customers per segment are withheld, as a customer it counted was erased while it ran"


def audience_refresh() -> None:
    """Recompute every customer's segment and profile from the orders in the database, without retraining the
    recommender or the scoring model (horizon and day: TAILOR_AUDIENCE_HORIZON_DAYS, TAILOR_AUDIENCE_AS_OF; the
    churn trees' threads: TAILOR_AUDIENCE_THREADS)."""
    from service.cli import command_engine, progress_bar
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
    from service.cli import _echo

    for fallback in result.get("fallbacks", []):
        _echo(f"fallback: {fallback}")


def _in_segments(counts: dict[str, int] | None) -> str:
    """Customers per segment, biggest first, as a person reads them: "loyal 4,565, at_risk 4,209"; none (a refresh
    that counted a customer erased while it ran withholds them) said so."""
    if counts is None:
        return COUNTS_WITHHELD
    return ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items(), key=lambda item: -item[1]))
