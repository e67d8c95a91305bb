"""Validates a whole table and writes it in one transaction: new keys are inserted, known keys updated."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from generation.schemas import LOCALES
from service.db.batches import batches
from service.db.models import Customer, Event, Interaction, Product, Send, utcnow
from service.errors import InvalidInput, Problem
from service.importing.columns import SPECS, file_row, parse_table

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2}([-_][A-Za-z]{2})?$")


@dataclass(frozen=True)
class ImportSummary:
    kind: str
    rows: int
    inserted: int
    updated: int
    warnings: tuple[str, ...] = ()  # about data that was written but will not work as the shop may expect


def read_table(path: Path, name: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without a byte-order mark) or Parquet file as text columns; the importer
    parses the values itself. Errors name the file as ``name`` (an upload's own name) or its path."""
    path = Path(path)
    shown = name or str(path)
    if not path.exists():
        raise InvalidInput(shown, [Problem(None, None, "file not found")])
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".csv", ".txt"}:
            _require_utf8(path, shown)
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except InvalidInput:
        raise
    except Exception as error:  # the reader's own message says what is wrong with the file
        raise InvalidInput(shown, [Problem(None, None, f"cannot be read: {error}")]) from error
    raise InvalidInput(shown, [Problem(None, None, "must be a .csv or .parquet file")])


def _require_utf8(path: Path, shown: str) -> None:
    """A file in another encoding is refused at the line where it stops being UTF-8."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        raise InvalidInput(
            shown, [Problem(line, None, f"is not UTF-8 (byte 0x{byte}); save the file as UTF-8 and upload it again")]
        ) from error


def import_frame(session: Session, kind: str, frame: pd.DataFrame) -> ImportSummary:
    """Validate `frame` as an import of `kind` and write it; raises InvalidInput and writes nothing on errors."""
    if kind not in IMPORTERS:
        raise InvalidInput("import", [Problem(None, None, f"unknown kind '{kind}', use one of {', '.join(IMPORTERS)}")])
    parsed, problems = parse_table(frame, SPECS[kind])
    if set(SPECS[kind].required) <= set(parsed.columns):
        problems += CHECKS[kind](session, parsed)
    if problems:
        raise InvalidInput(f"{kind} file", sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    return IMPORTERS[kind](session, parsed)


def _rows_where(mask: pd.Series) -> list[int]:
    return [file_row(i) for i in mask.index[mask]]


def _check_customers(_session: Session, rows: pd.DataFrame) -> list[Problem]:
    problems = [
        Problem(r, "email", "is not an email address") for r in _rows_where(~rows.email.str.match(EMAIL_PATTERN))
    ]
    return problems + [
        Problem(r, "locale", "must be a language code such as en, de or pt-BR")
        for r in _rows_where(~rows.locale.str.match(LOCALE_PATTERN))
    ]


def _import_customers(session: Session, rows: pd.DataFrame) -> ImportSummary:
    """An import may unsubscribe a customer, never subscribe one again: an unsubscribe (a file's or an
    unsubscribe event's) stays, whatever a later file says or leaves out."""
    unsubscribed = set(session.scalars(select(Customer.external_id).where(Customer.unsubscribed)))
    records = [
        {
            "external_id": r.customer_id,
            "email": r.email,
            "first_name": r.first_name,
            "locale": r.locale.replace("_", "-").split("-")[0].lower(),
            "marketing_consent": bool(r.marketing_consent),
            "unsubscribed": bool(r.unsubscribed) or r.customer_id in unsubscribed,
            "attributes": r.attributes,
        }
        for r in rows.itertuples(index=False)
    ]
    summary = _upsert(session, Customer, "external_id", records, "customers")
    return replace(summary, warnings=_locale_warnings([r["locale"] for r in records]))


def _locale_warnings(locales: list[str]) -> tuple[str, ...]:
    """A language without email templates is accepted (a campaign writes to those customers in the brand's
    default language and flags their drafts), but the shop should know before it plans a campaign."""
    counts = pd.Series([locale for locale in locales if locale not in LOCALES], dtype=object).value_counts()
    if counts.empty:
        return ()
    listed = ", ".join(f"{locale} ({count})" for locale, count in counts.items())
    return (
        f"{int(counts.sum())} customers have a language without email templates: {listed}. Campaigns write to them "
        f"in the brand's default language and flag their drafts for review; templates exist for {', '.join(LOCALES)}.",
    )


def _check_products(_session: Session, rows: pd.DataFrame) -> list[Problem]:
    bad_currency = ~rows.currency.str.fullmatch(r"[A-Za-z]{3}")
    return [Problem(r, "currency", "must be a 3-letter code such as EUR") for r in _rows_where(bad_currency)]


def _import_products(session: Session, rows: pd.DataFrame) -> ImportSummary:
    now = utcnow()
    records = [
        {
            "sku": r.sku,
            "name": r.name,
            "category": r.category,
            "price": float(r.price),
            "currency": r.currency.upper(),
            "description": r.description,
            "url": r.url,
            "in_stock": bool(r.in_stock),
            "margin": _optional_number(r.margin),
            "arrived_at": None if pd.isna(r.arrived_at) else r.arrived_at.to_pydatetime(),
            "updated_at": now,  # bulk updates set it explicitly: the served catalog cache watches it
        }
        for r in rows.itertuples(index=False)
    ]
    return _upsert(session, Product, "sku", records, "products")


def _check_orders(session: Session, rows: pd.DataFrame) -> list[Problem]:
    """Resolve customer and product references to primary keys (kept on the frame for the writer); purchases
    need a positive amount, as the audience models do."""
    rows["customer_pk"] = rows.customer_id.map(_id_map(session, Customer.external_id, Customer.id))
    rows["product_pk"] = rows.product_id.map(_id_map(session, Product.sku, Product.id))
    problems = [
        Problem(r, "customer_id", "unknown customer; import customers first")
        for r in _rows_where(rows.customer_pk.isna())
    ]
    for column in ("amount", "quantity"):
        problems += [
            Problem(r, column, f"a purchase needs a positive {column}; give a return or cancellation the kind "
                    "'return' (the models leave returns out)")
            for r in _rows_where((rows.kind == "purchase") & (rows[column] <= 0))
        ]  # fmt: skip
    return problems + [
        Problem(r, "product_id", "unknown product sku; import products first")
        for r in _rows_where(rows.product_pk.isna())
    ]


def _import_orders(session: Session, rows: pd.DataFrame) -> ImportSummary:
    existing = {
        (o, p, k): i
        for i, o, p, k in session.execute(
            select(Interaction.id, Interaction.order_id, Interaction.product_id, Interaction.kind)
        )
    }
    new, changed = [], []
    for r in rows.itertuples(index=False):
        cid, pid = r.customer_pk, r.product_pk
        record = {
            "order_id": r.order_id,
            "customer_id": int(cid),
            "product_id": int(pid),
            "quantity": float(r.quantity),
            "amount": float(r.amount),
            "discount": _optional_number(r.discount),
            "timestamp": r.timestamp.to_pydatetime(),
            "kind": r.kind,
        }
        key = (r.order_id, int(pid), r.kind)
        if key in existing:
            changed.append({"id": existing[key], **record})
        else:
            new.append(record)
    _write(session, Interaction, new, changed)
    return ImportSummary("orders", len(rows), len(new), len(changed))


def _check_sends(session: Session, rows: pd.DataFrame) -> list[Problem]:
    known = rows.customer_id.isin(_id_map(session, Customer.external_id, Customer.id).keys())
    return [Problem(r, "customer_id", "unknown customer; import customers first") for r in _rows_where(~known)]


def _import_sends(session: Session, rows: pd.DataFrame) -> ImportSummary:
    """Sends and their outcomes as events (delivered, open, click, conversion), written in bulk."""
    customers = {
        external: (cid, locale)
        for external, cid, locale in session.execute(select(Customer.external_id, Customer.id, Customer.locale))
    }
    existing = dict(session.execute(select(Send.external_id, Send.id)).all())
    new, changed = [], []
    for r in rows.itertuples(index=False):
        customer_id, locale = customers[r.customer_id]
        values = {
            "external_id": r.send_id,
            "customer_id": customer_id,
            "subject": r.subject,
            "preheader": r.preheader,
            "intro": r.intro,
            "campaign_type": r.campaign_type,
            "locale": locale,
            "segment": r.segment,
            "n_products": int(r.n_products),
            "mean_price": float(r.mean_price),
            "churn_risk": _optional_number(r.churn_risk),
            "rec_score": _optional_number(r.rec_score),
            "sent_at": r.sent_at.to_pydatetime(),
        }
        if r.send_id in existing:
            changed.append({"id": existing[r.send_id], **values})
        else:
            new.append(values)
    _write(session, Send, new, changed)
    for batch in batches(c["id"] for c in changed):
        session.execute(delete(Event).where(Event.send_id.in_(batch)))
    send_ids = {
        external: send_id
        for batch in batches(rows.send_id.tolist())
        for external, send_id in session.execute(select(Send.external_id, Send.id).where(Send.external_id.in_(batch)))
    }
    events = []
    for r in rows.itertuples(index=False):
        at = r.sent_at.to_pydatetime()
        outcomes = ((True, "delivered"), (r.opened, "open"), (r.clicked, "click"), (r.converted, "conversion"))
        for happened, kind in outcomes:
            if happened:
                events.append({"send_id": send_ids[r.send_id], "kind": kind, "occurred_at": at})
    if events:
        session.execute(insert(Event), events)
    session.flush()
    return ImportSummary("sends", len(rows), len(new), len(changed))


def _optional_number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def _id_map(session: Session, key_column, id_column) -> dict[str, int]:
    return dict(session.execute(select(key_column, id_column)).all())


def _upsert(session: Session, model, key: str, records: list[dict], kind: str) -> ImportSummary:
    existing = _id_map(session, getattr(model, key), model.id)
    new = [r for r in records if r[key] not in existing]
    changed = [{"id": existing[r[key]], **r} for r in records if r[key] in existing]
    _write(session, model, new, changed)
    return ImportSummary(kind, len(records), len(new), len(changed))


def _write(session: Session, model, new: list[dict], changed: list[dict]) -> None:
    if new:
        session.execute(insert(model), new)
    if changed:
        session.execute(update(model), changed)
    session.flush()


CHECKS: dict[str, Callable[[Session, pd.DataFrame], list[Problem]]] = {
    "customers": _check_customers,
    "products": _check_products,
    "orders": _check_orders,
    "sends": _check_sends,
}
IMPORTERS: dict[str, Callable[[Session, pd.DataFrame], ImportSummary]] = {
    "customers": _import_customers,
    "products": _import_products,
    "orders": _import_orders,
    "sends": _import_sends,
}
