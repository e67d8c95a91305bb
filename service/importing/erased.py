"""The rows of an import file that are of erased customers (service.erasures): left out of the import, not refused,
and named in one of its warnings. The shop's own files keep the person the shop erased in Tailor, and every import
would otherwise stop at them, or bring them back to be mailed."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy.orm import Session

from service.db.batches import rows_where_in
from service.db.models import Customer
from service.erasures import Erasures, keep_erased_ids
from service.errors import Problem
from service.wording import counted, first_named

SHOWN_ERASED_ROWS = 20  # rows of erased customers a warning names; it counts them all (`--problems` lists all)
# Why a row was left out, without its customer id: Tailor keeps nothing readable of an erased customer, and an
# import's warning is kept with its job (the row number finds the id in the shop's own file).
ERASED_ID = "its customer was erased"
ERASED_ADDRESS = "its customer has the address of an erased customer"


def without_erased(
    session: Session, kind: str, rows: pd.DataFrame, erasures: Erasures
) -> tuple[pd.DataFrame, list[Problem]]:
    """``rows`` (a parsed chunk of a customers, orders or sends file, indexed by row number) less those of erased
    customers, and why each of those was left out, by row: a customer, order line or send of a customer id the
    suppression list holds, or a customer with an address it holds. A customer already stored is imported as ever:
    their id was never erased, and an address they share with an erased customer (a household's other id) is
    theirs too. A new id left out for its address joins the suppression list, so that its orders and sends are left
    out too (the shop's export names the person under it), not refused as naming an unknown customer."""
    if not erasures or "customer_id" not in rows.columns or rows.empty:
        return rows, []
    erased_id = _held(rows.customer_id, erasures.holds_id)
    erased_address = _held(rows.email, erasures.holds_address) if kind == "customers" else False
    maybe = erased_id | erased_address
    if not maybe.any():
        return rows, []
    ids = (Customer.external_id,)
    stored = {external for (external,) in rows_where_in(session, ids, Customer.external_id, rows.customer_id[maybe])}
    left_out = maybe & ~rows.customer_id.isin(stored)
    named = rows.loc[left_out, ["customer_id"]].assign(by_id=erased_id[left_out])
    if kind == "customers":
        by_address = rows.loc[left_out & ~erased_id, ["customer_id", "email"]].drop_duplicates("customer_id")
        keep_erased_ids(session, by_address.itertuples(index=False))
    what = [Problem(row, "customer_id", ERASED_ID if by_id else ERASED_ADDRESS) for row, _, by_id in named.itertuples()]
    return rows[~left_out].copy(), what  # a frame of its own: the checks add columns to it


def _held(values: pd.Series, holds: Callable[[str], bool]) -> pd.Series:
    """Per value, whether ``holds`` it, each distinct value asked once: an orders file names a customer on each of
    their lines, and a digest costs about a microsecond."""
    return values.isin([value for value in values.unique() if holds(value)])


def erased_warnings(erased_rows: list[Problem]) -> tuple[str, ...]:
    """The rows of erased customers an import left out, named: the shop should know that its file still holds
    them, and how to let back in someone who signed up again."""
    if not erased_rows:
        return ()
    named = first_named([f"row {p.row}: {p.message}" for p in erased_rows], SHOWN_ERASED_ROWS)
    return (
        f"{counted(len(erased_rows), 'row was', 'rows were')} not imported, as customers erased under the right to "
        f"erasure are not brought back, nor their orders and sends: {named}. "
        "Someone who signs up again of their own will is imported once their erasure is lifted (`tailor customers "
        "lift-erasure`, or POST /erasures/lift).",
    )
