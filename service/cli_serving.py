"""`tailor serve` (the REST API and the review page) and `tailor demo` (a demo store trained, a campaign generated,
then served). Registered on the app by service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli_bounds import COUNT, DEMO_CUSTOMERS


def serve(
    host: Annotated[str | None, typer.Option(help="default TAILOR_API_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default TAILOR_API_PORT or 8000")] = None,
) -> None:
    """Serve the REST API (docs at /docs) and the review page (/review). Behind a proxy that serves Tailor under a
    path prefix, set TAILOR_API_ROOT_PATH (e.g. /mail)."""
    from service.server import run_server

    run_server(host, port)


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
