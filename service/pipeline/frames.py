"""Reads the database into the plain DataFrames the model packages take (shapes in ARCHITECTURE.md)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from service.db.models import Customer, Event, Interaction, Product, Send


def _frame(session: Session, statement, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(session.execute(statement).all(), columns=columns)


def interactions_frame(session: Session) -> pd.DataFrame:
    statement = (
        select(
            Customer.external_id,
            Product.sku,
            Interaction.timestamp,
            Interaction.quantity,
            Interaction.amount,
            Interaction.kind,
            Interaction.order_id,
        )
        .join(Customer, Interaction.customer_id == Customer.id)
        .join(Product, Interaction.product_id == Product.id)
    )
    columns = ["customer_id", "product_id", "timestamp", "quantity", "amount", "kind", "order_id"]
    frame = _frame(session, statement, columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


def orders_frame(session: Session) -> pd.DataFrame:
    """Purchase lines only, as the audience models take them."""
    interactions = interactions_frame(session)
    purchases = interactions[interactions.kind == "purchase"]
    return purchases[["customer_id", "order_id", "product_id", "timestamp", "amount"]].reset_index(drop=True)


def products_frame(session: Session) -> pd.DataFrame:
    statement = select(
        Product.sku,
        Product.name,
        Product.category,
        Product.price,
        Product.currency,
        Product.description,
        Product.url,
        Product.in_stock,
    )
    columns = ["product_id", "name", "category", "price", "currency", "description", "url", "in_stock"]
    return _frame(session, statement, columns)


def customers_frame(session: Session) -> pd.DataFrame:
    statement = select(
        Customer.external_id,
        Customer.email,
        Customer.first_name,
        Customer.locale,
        Customer.marketing_consent,
        Customer.unsubscribed,
        Customer.segment,
        Customer.profile,
    )
    columns = [
        "customer_id",
        "email",
        "first_name",
        "locale",
        "marketing_consent",
        "unsubscribed",
        "segment",
        "profile",
    ]
    return _frame(session, statement, columns)


def sends_frame(session: Session) -> pd.DataFrame:
    """Every send with its outcomes as 0/1 columns, in the shape the scoring models learn from."""

    def happened(kind: str):
        return func.max(case((Event.kind == kind, 1), else_=0))

    statement = (
        select(
            Customer.external_id,
            Send.subject,
            Send.preheader,
            Send.intro,
            Customer.first_name,
            Send.campaign_type,
            Send.locale,
            Send.segment,
            Send.sent_at,
            Send.n_products,
            Send.mean_price,
            happened("open"),
            happened("click"),
            happened("conversion"),
        )
        .join(Customer, Send.customer_id == Customer.id)
        .outerjoin(Event, Event.send_id == Send.id)
        .group_by(Send.id, Customer.external_id, Customer.first_name)
    )
    columns = [
        "customer_id", "subject", "preheader", "intro", "first_name", "campaign_type", "locale", "segment",
        "sent_at", "n_products", "mean_price", "opened", "clicked", "converted",
    ]  # fmt: skip
    frame = _frame(session, statement, columns)
    frame["sent_at"] = pd.to_datetime(frame["sent_at"])
    for outcome in ("opened", "clicked", "converted"):
        frame[outcome] = frame[outcome].fillna(0).astype(int)
    return frame


def audience_as_of(session: Session):
    """The day the audience is computed for: `TAILOR_AUDIENCE_AS_OF`, else the day after the latest purchase."""
    from service.settings import AudienceSettings

    return AudienceSettings().as_of or latest_purchase_day(session)


def latest_purchase_day(session: Session):
    """The day after the latest purchase."""
    from datetime import date, timedelta

    latest = session.scalar(select(func.max(Interaction.timestamp)).where(Interaction.kind == "purchase"))
    return (latest + timedelta(days=1)).date() if latest else date.today()
