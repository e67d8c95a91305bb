"""`tailor eval AREA`: an eval of evals/ run with the options after AREA, its report written. Registered on the app
by service.cli; the evals (pandas) are imported only once an area is named, not for its help."""

from __future__ import annotations

from typing import Annotated

import typer

EVAL_AREAS = ("recommenders", "audience", "generation", "scoring", "scale", "experiments")


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
    from service.cli import _echo

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
