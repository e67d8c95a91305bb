"""The right to erasure from the command line, for a shop that runs no server: `tailor customers erase` and
`tailor customers lift-erasure`, as DELETE /customers/{id} and POST /erasures/lift; and the right of access, `tailor
customers export`. Registered on the `customers` group by service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli_outputs import JSON_OUT, _output_path, _written_as


def customers_erase(
    customer_id: Annotated[str, typer.Argument(metavar="CUSTOMER_ID", help="the shop's id of the customer")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask first")] = False,
) -> None:
    """Erase a customer (the right to erasure): their record, orders, drafts, sends and events, and the model versions
    trained before but the ones in use, which forget them at the next training. Digests of their id and address are
    kept, so that an import does not bring them back. It cannot be undone."""
    from service.cli import _ask_first, _echo, _engine_after_crashes
    from service.customers import erase_for_good
    from service.db.session import session_scope
    from service.settings import home_settings

    question = f"Erase customer {customer_id} and everything Tailor holds of them? It cannot be undone"
    _ask_first(question, yes, f"erase customer {customer_id}")
    engine = _engine_after_crashes()  # a campaign a killed `tailor generate` left generating would refuse it
    try:
        with session_scope(engine) as session:
            bought = erase_for_good(session, engine, home_settings().models_dir, customer_id)
    except KeyboardInterrupt:  # said, where typer ends the command with no word: the database tells which it was
        _echo(_erasure_interrupted(engine, customer_id))
        raise
    typer.echo(f"erased customer {customer_id}: an import leaves them out until `tailor customers lift-erasure`")
    if bought:
        typer.echo(
            "the segments' figures that counted their orders are deleted: `tailor audience refresh` recomputes them"
        )


def _erasure_interrupted(engine, customer_id: str) -> str:
    """What an erasure stopped by Ctrl-C did: nothing before its commit (one transaction, rolled back), all of the
    database after it, the model versions trained before then refused and deleted by the next training."""
    from sqlalchemy import select

    from service.db.models import Customer
    from service.db.session import session_scope

    with session_scope(engine) as session:
        kept = session.scalar(select(Customer.id).where(Customer.external_id == customer_id))
    if kept is not None:
        return (
            f"interrupted: customer {customer_id} is not erased, nothing of them changed; "
            f"`tailor customers erase {customer_id}` erases them"
        )
    return (
        f"interrupted: customer {customer_id} is erased; the model versions trained before them that are left are "
        "not used again, and the next training deletes them"
    )


def customers_lift_erasure(
    customer_id: Annotated[str | None, typer.Option(help="the customer id they were erased under")] = None,
    email: Annotated[str | None, typer.Option(help="their address")] = None,
) -> None:
    """Let back in someone erased who signed up again of their own will: the next imports bring them in, under every id
    kept with their address."""
    from service.cli import command_engine
    from service.db.session import session_scope
    from service.erasures import lift_erasures
    from service.wording import counted

    if not (customer_id or "").strip() and not (email or "").strip():  # the API's words would name its fields
        raise typer.BadParameter("give --customer-id, --email or both")
    with session_scope(command_engine()) as session:
        lifted = lift_erasures(session, customer_id, email)
    typer.echo(f"lifted {counted(lifted, 'erasure', 'erasures')}: the next import brings them in")


def customers_export(
    customer_id: Annotated[str, typer.Argument(metavar="CUSTOMER_ID", help="the shop's id of the customer")],
    out: Annotated[
        Path | None, typer.Option(help="the JSON file to write; default: the screen", callback=_output_path)
    ] = None,
) -> None:
    """Everything Tailor holds about one customer, as JSON, for the shop to hand over when the customer asks (a
    subject access request)."""
    from service.cli import _echo, command_engine
    from service.db.session import session_scope
    from service.subject_access import subject_access

    _written_as(out, JSON_OUT)
    with session_scope(command_engine()) as session:
        document = subject_access(session, customer_id).model_dump_json(indent=2)
    if out is None:
        typer.echo(document)
        return
    from generation.export import written_whole

    # everything held of a person: its owner's alone, and whole or not at all, as a campaign's export
    with written_whole(out) as handle:
        handle.write(document + "\n")
    _echo(f"wrote what Tailor holds about customer {customer_id} to {out}")
