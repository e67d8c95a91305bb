"""An orders file: its checks (known customers and products, a purchase's positive amount and quantity, orders already
placed) and its writes, order lines keyed by (order_id, product, kind)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from service.db.batches import rows_where_in
from service.db.models import Customer, Interaction, Product
from service.errors import Problem
from service.importing.checks import not_yet, rows_where, unknown_references
from service.importing.writes import (
    ImportSummary,
    Report,
    known_ids,
    known_keys,
    same_as_stored,
    summary_of,
    write_frame,
)


def check_orders(session: Session, rows: pd.DataFrame) -> list[Problem]:
    """Resolve customer and product references to primary keys (kept on the frame for the writer); purchases
    need a positive amount, as the audience models do."""
    rows["customer_pk"] = rows.customer_id.map(known_keys(session, Customer.external_id, Customer.id, rows.customer_id))
    rows["product_pk"] = rows.product_id.map(known_keys(session, Product.sku, Product.id, rows.product_id))
    problems = unknown_references(rows, "customer_pk", "customer_id", "customer", "customers")
    for column in ("amount", "quantity"):
        problems += [
            Problem(r, column, f"a purchase needs a positive {column}; give a return or cancellation the kind "
                    "'return' (its quantity and amount may be negative or not; the audience models take it off "
                    "the customer's spend), and leave free items out")
            for r in rows_where((rows.kind == "purchase") & (rows[column] <= 0))
        ]  # fmt: skip
    future = [
        Problem(r, "timestamp", "has not come yet: only orders already placed are imported (is the year right?)")
        for r in rows_where(not_yet(rows.timestamp))
    ]
    return problems + future + unknown_references(rows, "product_pk", "product_id", "product sku", "products")


def import_orders(session: Session, rows: pd.DataFrame, progress: Report) -> ImportSummary:
    """Order lines keyed by (order_id, product, kind): a known line is updated, a new one inserted."""
    records = pd.DataFrame(
        {
            "order_id": rows.order_id,
            "customer_id": rows.customer_pk.astype("int64"),
            "product_id": rows.product_pk.astype("int64"),
            "quantity": rows.quantity.astype(float),
            "amount": rows.amount.astype(float),
            "discount": rows.discount.astype(float),
            "timestamp": rows.timestamp,
            "kind": rows.kind,
        }
    )
    values = ["customer_id", "quantity", "amount", "discount", "timestamp"]
    line_columns = (
        Interaction.order_id, Interaction.product_id, Interaction.kind, Interaction.id,
        *(getattr(Interaction, name) for name in values),
    )  # fmt: skip
    stored_lines = list(rows_where_in(session, line_columns, Interaction.order_id, records.order_id))
    known = {(o, p, k): i for o, p, k, i, *_ in stored_lines}
    ids = known_ids(known, zip(records.order_id, records.product_id, records.kind, strict=True), len(records))
    stored = pd.DataFrame([line[3:] for line in stored_lines], columns=["id", *values])
    same = same_as_stored(records, ids, stored)
    write_frame(session, Interaction, records[~same], ids[~same], progress, "order lines", already=int(same.sum()))
    return summary_of("orders", ids, same)
