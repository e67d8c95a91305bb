"""The main job behind `make run`: demo store -> train -> one campaign with the local LLM -> summary -> serve."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from sqlalchemy import func, select

from service.db.models import Customer
from service.db.session import session_scope
from service.server import require_free_port, serving_address
from service.settings import home_settings

DEMO_CAMPAIGN_TYPE = "win_back"
DEMO_BRAND = "hearth"


def load_demo_store(engine, customers: int, folder: Path) -> dict[str, int]:
    """Generate the demo store as import files and load them through the same importer users call."""
    from service.demo import generate_demo_store, write_import_files
    from service.importing import import_file

    store = generate_demo_store(seed=7, n_customers=customers)
    files = write_import_files(store, folder)
    counts = {}
    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders", "sends"):
            counts[kind] = import_file(session, kind, files[kind]).rows
    return counts


def run_demo(
    customers: int = 3000, limit: int = 40, serve: bool = True, host: str | None = None, port: int | None = None
) -> None:
    """Load (when empty), train, generate and summarize; then serve. A port already taken is found before the
    minute of work, not after it."""
    from service.auth import create_key
    from service.cli import command_engine, progress_bar
    from service.jobs import InlineJobRunner
    from service.pipeline.campaign_runs import create_and_generate
    from service.pipeline.training import train_all

    started = time.perf_counter()
    host, port = serving_address(host, port)
    if serve:
        require_free_port(host, port)
    engine = command_engine()  # an upgrade of an older store told, as by every command
    with session_scope(engine) as session:
        empty = session.scalar(select(func.count()).select_from(Customer)) == 0
    if empty:
        typer.echo("Loading the demo store into the empty database…")
        counts = load_demo_store(engine, customers, home_settings().home / "demo")
        typer.echo("  " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    else:
        url = engine.url
        on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        shown = url.render_as_string(hide_password=True)
        start_over = f"delete {url.database}" if on_disk else f"point DATABASE_URL at an empty database, not {shown},"
        typer.echo(f"The database already holds a shop: keeping it ({start_over} to start over).")
    with progress_bar("training", counts=False) as update:
        InlineJobRunner(engine, update).submit("train", train_all, engine=engine, model=None)
    with progress_bar("generating") as update:
        summary = create_and_generate(
            engine, campaign_type=DEMO_CAMPAIGN_TYPE, brand=DEMO_BRAND, limit=limit,
            name="Demo win-back", audience_query=None, listener=update,
            refuse_empty=False,  # a kept shop without lapsing customers: an empty campaign, said, and the page served
        )  # fmt: skip
    typer.echo(summary.table(total_seconds=time.perf_counter() - started))
    with session_scope(engine) as session:
        key = create_key(session, "demo")
    base = f"http://{host}:{port}"
    later = "" if serve else " once `tailor serve` runs"  # --no-serve: nothing answers there yet
    typer.echo(
        f"\nReview page: {base}/review/campaigns/{summary.campaign_id}  (log in with the API key below{later})\n"
        f"API docs:    {base}/docs   (send the key as the X-API-Key header)\n"
        f"API key:     {key}\n"
    )
    if serve:
        from service.server import run_server

        run_server(host, port)
