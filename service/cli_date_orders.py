"""The orders of dates that imports settled, from the command line: `tailor date-orders list` and `tailor
date-orders forget KIND`, as GET /imports/date-orders and DELETE /imports/date-orders/{kind}. Registered on the
`date-orders` group by service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from typing import Annotated

import typer

KINDS = ("customers", "products", "orders", "sends")


# The orders `tailor import --dates` takes, as service.importing.date_orders names them.
DATE_ORDERS = ("day-first", "month-first")


def date_orders_list() -> None:
    """The order (day or month first) each kind's numeric dates are read in when a file's own dates do not say it
    (03/04/2011), and the file that settled it."""
    from service.cli import command_engine
    from service.db.session import session_scope
    from service.importing.date_orders import every_settled_order, order_name, settled_by

    with session_scope(command_engine()) as session:
        settled = every_settled_order(session)
        lines = [
            f"{row.kind} {row.column_name}: {order_name(row.day_first)}, settled by {settled_by(row)}"
            for row in settled
        ]
    typer.echo("\n".join(lines) if lines else "no order of dates is settled: each file's own dates decide")


def date_orders_forget(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="customers, products, orders or sends")],
) -> None:
    """Forget the order settled for a kind's dates (a new shop system's exports, say): its next file whose order is
    known, by a date such as 25/04/2011 or by `tailor import --dates`, settles it again."""
    from service.cli import _one_of, command_engine
    from service.db.session import session_scope
    from service.importing.date_orders import forget

    _one_of(kind, KINDS, "KIND")
    with session_scope(command_engine()) as session:
        forgotten = forget(session, kind)
    typer.echo(f"forgot the order of {kind} dates" if forgotten else f"no order of {kind} dates was settled")
