"""Which order (day or month first) an import reads numeric dates in, and the order each kind's files settled.

A file's own dates decide its order when one of them can be read one way only (25/04/2011 puts the day first); a
shop's export of a month's first twelve days (03/04/2011, 12/04/2011) has none that can. The first file of a kind
whose order was known, by its own dates or by the order given with it (``tailor import --dates``, the API's
``dates``), settles that kind's order (``SettledDateOrder``): a later file of the kind is read in it, and refused by
the row of a date only the other order reads. An order given with a file wins for that file and settles nothing
that is settled already; ``forget`` lets the shop settle a kind again (a new shop system's exports, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.consent import ImportSource
from service.db.models import SettledDateOrder
from tabular import DateOrder, DateOrderProblem

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
# How a refused file is told to give its order, on the command line and through the API.
GIVE_THE_ORDER = "tailor import --dates day-first|month-first, the API's dates=day-first|month-first"
# Where the settled orders are listed, and a kind's forgotten, on the command line and through the API alike: a
# marketing tool that imports through the API was told of the command alone.
LIST_THE_ORDERS = "`tailor date-orders list`, the API's GET /imports/date-orders"


def forget_the_order(kind: str) -> str:
    """How a kind's settled order is forgotten, on the command line and through the API alike."""
    return f"`tailor date-orders forget {kind}`, the API's DELETE /imports/date-orders/{kind}"


def order_name(day_first: bool) -> str:
    return DAY_FIRST if day_first else MONTH_FIRST


def day_first_of(order: str | None) -> bool | None:
    """The order a person gave (``day-first``, ``month-first``) as whether the day comes first; None: not given."""
    return None if order is None else order == DAY_FIRST


def settled_by(settled: SettledDateOrder) -> str:
    """The import that settled an order, as a person finds it again: the file, when, and its job (a background one)."""
    job = f", job {settled.import_job_id}" if settled.import_job_id else ""
    return f"the {settled.kind} file {settled.import_file} of {settled.settled_at:%Y-%m-%d %H:%M} UTC{job}"


@dataclass(frozen=True)
class ColumnOrder:
    """How a date column of a file is read: whether the day comes first, the problem that refuses the file (its
    0-based position, and what to say there), what the import's result says of it, and whether the import, once
    written, settles its kind's order."""

    day_first: bool
    problem: tuple[int, str] | None = None
    read_as: str | None = None
    settles: bool = False


def column_order(
    kind: str, order: DateOrder, given: bool | None, settled: SettledDateOrder | None, where: Callable[[int], str]
) -> ColumnOrder:
    """How the column whose numeric dates ``order`` gathered is read: in the order ``given`` with the file, else in
    the order ``settled`` for its kind, else in its own; ``where`` names a 0-based position (a file's row)."""
    if order.first_numeric_at is None:  # no numeric dates (ISO ones, or none): nothing to read in an order
        return ColumnOrder(True if given is None else given)
    later = f"; later {kind} files are read so too ({LIST_THE_ORDERS})"
    if given is not None:
        if other := order.against(given):
            said = f"the file's dates were given as {order_name(given)}"
            return ColumnOrder(given, (other[0], _only_the_other_order(other[1], given, said)))
        beside = later if settled is None else ""
        if settled is not None and settled.day_first != given:
            beside = f" ({kind} files are otherwise read {order_name(settled.day_first)}, as settled by " \
                f"{settled_by(settled)})"  # fmt: skip
        return ColumnOrder(given, None, f"dates read {order_name(given)}, as given{beside}", settles=settled is None)
    if settled is not None:
        as_settled = f"{order_name(settled.day_first)}, as settled by {settled_by(settled)}"
        if other := order.against(settled.day_first):
            said = f"{kind} files are read {as_settled} (to settle it again: {forget_the_order(kind)}); " \
                f"or give this file's order ({GIVE_THE_ORDER})"  # fmt: skip
            return ColumnOrder(settled.day_first, (other[0], _only_the_other_order(other[1], settled.day_first, said)))
        return ColumnOrder(settled.day_first, None, f"dates read {as_settled}")
    day_first, problem = order.decide()
    if problem:
        return ColumnOrder(True, (problem.position, _refusal(problem, where)))
    position, value = order.day_first_at if day_first else order.month_first_at
    return ColumnOrder(day_first, None, f"dates read {order_name(day_first)}, as '{value}' ({where(position)}) "
                       f"shows{later}", settles=True)  # fmt: skip


def _only_the_other_order(value: str, day_first: bool, said: str) -> str:
    return f"'{value}' puts the {'month' if day_first else 'day'} first, but {said}"


def _refusal(problem: DateOrderProblem, where) -> str:
    if problem.other_position is None:  # only ambiguous dates: the person may know the order
        return f"{problem.describe(where)}, or give the file's order ({GIVE_THE_ORDER})"
    return problem.describe(where)


def settled_orders(session: Session, kind: str) -> dict[str, SettledDateOrder]:
    """The orders settled for ``kind``'s date columns, by column."""
    rows = session.scalars(select(SettledDateOrder).where(SettledDateOrder.kind == kind))
    return {row.column_name: row for row in rows}


def every_settled_order(session: Session) -> list[SettledDateOrder]:
    return list(session.scalars(select(SettledDateOrder).order_by(SettledDateOrder.kind, SettledDateOrder.column_name)))


def settle(session: Session, kind: str, column: str, day_first: bool, source: ImportSource) -> SettledDateOrder:
    """Settle ``kind``'s order for ``column`` as the import of ``source`` read it, unless an import beside it settled
    it meanwhile; what is settled now (the caller refuses its file when it is the other order)."""
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    values = {"kind": kind, "column_name": column, "day_first": day_first, "import_file": source.file,
              "import_job_id": source.job_id, "settled_at": utcnow()}  # fmt: skip
    session.execute(insert(SettledDateOrder).values(**values).on_conflict_do_nothing())
    return session.scalars(
        select(SettledDateOrder)
        .where(SettledDateOrder.kind == kind, SettledDateOrder.column_name == column)
        .execution_options(populate_existing=True)
    ).one()


def forget(session: Session, kind: str) -> int:
    """Forget the orders settled for ``kind``: its next file whose order is known settles it again; how many."""
    return session.execute(delete(SettledDateOrder).where(SettledDateOrder.kind == kind)).rowcount
