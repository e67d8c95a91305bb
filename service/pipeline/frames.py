"""Reads the database into the plain DataFrames the model packages take (shapes in ARCHITECTURE.md)."""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import date, datetime, time

import numpy as np
import pandas as pd
from sqlalchemy import String, and_, case, exists, extract, func, or_, select, true, type_coerce
from sqlalchemy.orm import Session, aliased

from audience.orders import RETURNED_WHOLE
from audience.returns import net_of_returns
from recommenders.reorder import BUYER_COUNT_COLUMNS, buyer_counts
from service.clock import utc_today, utcnow
from service.db.batches import IN_BATCH, batches
from service.db.models import PROFILE_COLUMNS, Customer, Event, Interaction, Product, Send
from service.performance import SHOWN_BY
from tabular.returns import uncancelled

# Rows fetched and put in a frame at a time by `_frame_in_parts`: a fetched row's Python objects take several
# times its place in a frame (1,038,642 purchase lines: 88 MB as a frame, a peak of about 900 MB fetched whole).
READ_ROWS = 100_000


def _core_result(session: Session, statement):
    """``statement``'s rows through Core, as the session would see them (pending changes flushed first where
    the session autoflushes). The ORM's per-row processing, and pandas probing each ORM Row's attributes, took
    half of the time to read the 100k demo shop's 1.65M order lines (13.3 s before, 7.0 s after)."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement)


def _frame(session: Session, statement, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in _core_result(session, statement)], columns=columns)


def _frame_in_parts(session: Session, statement, dtypes: dict[str, str]) -> pd.DataFrame:
    """The rows of a big table's ``statement`` as a frame whose columns (named by ``dtypes``) have the given
    dtypes, fetched ``READ_ROWS`` at a time; every part gets the dtypes, so the parts join whatever their values."""
    result = _core_result(session, statement.execution_options(yield_per=READ_ROWS))
    parts = [
        pd.DataFrame([tuple(row) for row in rows], columns=list(dtypes)).astype(dtypes) for rows in result.partitions()
    ]
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})
    return pd.concat(parts, ignore_index=True)


def interactions_frame(session: Session, email_clicks: bool = False) -> pd.DataFrame:
    """Every order line, cart addition and view imported; with ``email_clicks``, also each product of an email that
    its reader clicked (``Event.product_id``), as one view of it at the first click's moment: the click led to its
    page."""
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
    dtypes = {
        "customer_id": "str", "product_id": "str", "timestamp": "datetime64[us]", "quantity": "float64",
        "amount": "float64", "kind": "str", "order_id": "str",
    }  # fmt: skip
    lines = _frame_in_parts(session, statement, dtypes)
    if not email_clicks:
        return lines
    clicks = _frame_in_parts(
        session,
        select(Customer.external_id, Product.sku, Event.occurred_at, Event.send_id)
        .join(Send, Send.id == Event.send_id)
        .join(Customer, Customer.id == Send.customer_id)
        .join(Product, Product.id == Event.product_id)
        .where(Event.kind == "click"),
        {"customer_id": "str", "product_id": "str", "timestamp": "datetime64[us]", "send_id": "int64"},
    )
    if clicks.empty:
        return lines
    # One view of a product an email's reader clicked, at the first click: clicked again, or reported by the email
    # service beside Tailor's link, it was one visit's view, which the recommender would have weighed twice.
    clicks = clicks.sort_values("timestamp", kind="stable").drop_duplicates(["send_id", "product_id"])
    views = clicks.assign(
        quantity=1.0, amount=0.0, kind="view", order_id=EMAIL_CLICK_ORDER + clicks["send_id"].astype(str)
    )[list(dtypes)]
    return pd.concat([lines, views.astype(dtypes)], ignore_index=True)


# The order id of an email click read as a view: one per email, as a visit's views share one.
EMAIL_CLICK_ORDER = "email-click:"


def orders_frame(session: Session, before: date | None = None) -> pd.DataFrame:
    """Purchase lines, as the audience models take them, with the product's category and the line's discount (0
    where none was given) for the clusters, less what the returns cancel (``audience.returns.net_of_returns``):
    every line, or those (and the returns) from before the day ``before``, so that an audience as of a past day
    reads nothing it could not have known then. ``attrs[RETURNED_WHOLE]`` names the customers who bought but whose
    returns cancel all of it."""
    frame = _purchase_lines_read(session, before)
    frame["category"] = frame["category"].fillna("")
    frame["discount"] = frame["discount"].fillna(0.0)
    frame["quantity"] = frame["quantity"].fillna(1.0)
    netted = net_of_returns(frame, _returns(session, *_before(before))).drop(columns="quantity")
    # unique ids compared, as audience.orders.orders_before does: who bought, but has no line left
    bought = pd.Index(frame["customer_id"].unique())
    netted.attrs[RETURNED_WHOLE] = sorted(bought.difference(netted["customer_id"].unique()))
    return netted


def _purchase_lines_read(session: Session, before: date | None) -> pd.DataFrame:
    """The purchase lines (before the day ``before``, when given) in the order they were stored, as stored: whose,
    which order, of which product and category, when, for how much, with what discount and quantity (None where
    the line gave none)."""
    statement = (
        select(
            Interaction.customer_id,
            Interaction.order_id,
            Interaction.product_id,
            type_coerce(Interaction.timestamp, String),  # as stored: parsed below at once (no cache: nearly all differ)
            Interaction.amount,
            Interaction.discount,
            Interaction.quantity,
        )
        .where(Interaction.kind == "purchase", *_before(before))
        .order_by(Interaction.id)
    )
    dtypes = {
        "customer_pk": "int64", "order_id": "str", "product_pk": "int64", "timestamp": "object",
        "amount": "float64", "discount": "float64", "quantity": "float64",
    }  # fmt: skip
    lines = _frame_in_parts(session, statement, dtypes)
    # The customers' and products' ids and categories are read once each and put on the lines by their keys, not
    # joined to every line: the joins and their text took most of the time to read the 100k demo shop's 1.65M order
    # lines. A line whose customer or product is not there is left out, as the joins left it.
    customers = _frame(session, select(Customer.id, Customer.external_id), ["pk", "id"]).astype({"id": "str"})
    products = _frame(session, select(Product.id, Product.sku, Product.category), ["pk", "sku", "category"])
    products = products.astype({"sku": "str", "category": "str"})
    customer_row = _rows_by_key(customers["pk"], lines["customer_pk"])
    product_row = _rows_by_key(products["pk"], lines["product_pk"])
    joined = (customer_row >= 0) & (product_row >= 0)
    if not joined.all():
        lines = lines[joined].reset_index(drop=True)
        customer_row, product_row = customer_row[joined], product_row[joined]
    return pd.DataFrame(
        {
            "customer_id": pd.Series(customers["id"].array.take(customer_row)),
            "order_id": lines["order_id"],
            "product_id": pd.Series(products["sku"].array.take(product_row)),
            "category": pd.Series(products["category"].array.take(product_row)),
            "timestamp": pd.to_datetime(lines["timestamp"], format="ISO8601", cache=False).astype("datetime64[us]"),
            "amount": lines["amount"],
            "discount": lines["discount"],
            "quantity": lines["quantity"],
        }
    )


def _rows_by_key(keys: pd.Series, wanted: pd.Series) -> np.ndarray:
    """For each of ``wanted``'s keys, the position of that key among ``keys`` (a table's integer primary keys), -1
    where it is not among them: an array indexed by key, not a hash lookup per line."""
    if keys.empty:
        return np.full(len(wanted), -1)
    position = np.full(int(keys.max()) + 1, -1)
    position[keys.to_numpy()] = np.arange(len(keys))
    wanted = wanted.to_numpy()
    inside = (wanted >= 0) & (wanted < len(position))
    return np.where(inside, position[np.where(inside, wanted, 0)], -1)


def _before(day: date | None) -> tuple:
    """The condition that a line was made before ``day`` (none when no day is given)."""
    return () if day is None else (Interaction.timestamp < datetime.combine(day, time()),)


def _returns(session: Session, *conditions) -> pd.DataFrame:
    """Return lines (those meeting ``conditions``, when given): whose, of which product, when, how many and for how
    much (a return's amount and quantity may be stored negative or not)."""
    statement = (
        select(Customer.external_id, Product.sku, Interaction.timestamp, Interaction.quantity, Interaction.amount)
        .join(Customer, Interaction.customer_id == Customer.id)
        .join(Product, Interaction.product_id == Product.id)
        .where(Interaction.kind == "return", *conditions)
    )
    returns = _frame(session, statement, ["customer_id", "product_id", "timestamp", "quantity", "amount"])
    returns["timestamp"] = pd.to_datetime(returns["timestamp"])
    return returns.fillna({"quantity": 1.0, "amount": 0.0})


def _kept_purchases(session: Session, *conditions) -> pd.DataFrame:
    """Each (customer_id, product_id) bought in the purchase lines meeting ``conditions``, less those whose every
    line the returns meeting them cancel whole (``tabular.returns.uncancelled``, the rule the models are trained
    by): a jar bought and sent back is not bought; one returned in part still is."""
    bought = _frame(
        session,
        select(Customer.external_id, Product.sku)
        .distinct()
        .join(Interaction, Interaction.customer_id == Customer.id)
        .join(Product, Interaction.product_id == Product.id)
        .where(Interaction.kind == "purchase", *conditions),
        ["customer_id", "product_id"],
    )
    returns = _returns(session, *conditions)
    if returns.empty or bought.empty:
        return bought
    # Only the lines of customers who returned something are matched: the others' (most of them) all stand.
    cancelled: set[tuple[str, str]] = set()
    for batch in batches(sorted(returns["customer_id"].unique()), size=IN_BATCH):
        lines = _purchase_lines(session, *conditions, Customer.external_id.in_(batch))
        kept = uncancelled(lines, returns)
        cancelled |= set(zip(lines["customer_id"], lines["product_id"], strict=True)) - set(
            zip(lines.loc[kept, "customer_id"], lines.loc[kept, "product_id"], strict=True)
        )
    pairs = pd.MultiIndex.from_frame(bought)
    return bought[~pairs.isin(list(cancelled))] if cancelled else bought


def _purchase_lines(session: Session, *conditions) -> pd.DataFrame:
    """The purchase lines meeting ``conditions``: whose, of which product, when, how many and for how much."""
    statement = (
        select(Customer.external_id, Product.sku, Interaction.timestamp, Interaction.quantity, Interaction.amount)
        .join(Customer, Interaction.customer_id == Customer.id)
        .join(Product, Interaction.product_id == Product.id)
        .where(Interaction.kind == "purchase", *conditions)
    )
    dtypes = {
        "customer_id": "str", "product_id": "str", "timestamp": "datetime64[us]", "quantity": "float64",
        "amount": "float64",
    }  # fmt: skip
    return _frame_in_parts(session, statement, dtypes).fillna({"quantity": 1.0, "amount": 0.0})


def product_buyer_counts(session: Session) -> pd.DataFrame:
    """``recommenders.reorder.buyer_counts`` of the purchases net of whole returns (the rule of ``_kept_purchases``):
    per product, its buyers and those who bought it at two or more different times, a line returned whole counting
    for neither (a product bought by many and sent back by most is not re-ordered). The database counts every
    line; the lines of a customer's products they returned some of are matched here, and their count set right."""
    spans = (
        select(
            Interaction.product_id,
            case((func.max(Interaction.timestamp) > func.min(Interaction.timestamp), 1), else_=0).label("repeated"),
        )
        .where(Interaction.kind == "purchase")
        .group_by(Interaction.product_id, Interaction.customer_id)
        .subquery()
    )
    statement = (
        select(Product.sku, func.count(), func.sum(spans.c.repeated))
        .join(spans, spans.c.product_id == Product.id)
        .group_by(Product.sku)
    )
    counts = _frame(session, statement, BUYER_COUNT_COLUMNS).astype(
        {"product_id": str, "buyers": int, "repeat_buyers": int}
    )
    returns = _returns(session)
    if returns.empty:
        return counts
    lines = _returned_pairs_lines(session)
    counted_whole = buyer_counts(lines).set_index("product_id")
    netted = buyer_counts(lines[uncancelled(lines, returns)]).set_index("product_id")
    counts = counts.set_index("product_id").sub(counted_whole, fill_value=0).add(netted, fill_value=0)
    counts = counts[counts["buyers"] > 0].astype(int).reset_index()
    return counts[BUYER_COUNT_COLUMNS]


def _returned_pairs_lines(session: Session) -> pd.DataFrame:
    """The purchase lines of each customer's products they returned any of (``_purchase_lines``' columns), read from
    the returns: asked of each purchase line, whether its product was returned took 4.4 s on Online Retail's 400k
    lines, against 0.4 s."""
    pairs = select(Interaction.customer_id, Interaction.product_id).where(Interaction.kind == "return").distinct()
    pairs = pairs.subquery()
    bought = aliased(Interaction)
    statement = (
        select(Customer.external_id, Product.sku, bought.timestamp, bought.quantity, bought.amount)
        .select_from(pairs)
        .join(bought, and_(bought.customer_id == pairs.c.customer_id, bought.product_id == pairs.c.product_id))
        .join(Customer, bought.customer_id == Customer.id)
        .join(Product, bought.product_id == Product.id)
        .where(bought.kind == "purchase")
    )
    dtypes = {
        "customer_id": "str", "product_id": "str", "timestamp": "datetime64[us]", "quantity": "float64",
        "amount": "float64",
    }  # fmt: skip
    return _frame_in_parts(session, statement, dtypes).fillna({"quantity": 1.0, "amount": 0.0})


def purchases_of(session: Session, customer_ids: Collection[str]) -> dict[str, set[str]]:
    """The products (SKUs) each of these customers bought, as the database holds them now: orders imported since
    the recommender was trained too, less the purchases their returns cancel whole (``_kept_purchases``). Asked
    IN_BATCH customers at a time."""
    bought: dict[str, set[str]] = {}
    for batch in batches(sorted(customer_ids), size=IN_BATCH):
        kept = _kept_purchases(session, Customer.external_id.in_(batch))
        for customer_id, sku in zip(kept["customer_id"], kept["product_id"], strict=True):
            bought.setdefault(customer_id, set()).add(sku)
    return bought


def latest_purchases(session: Session) -> pd.DataFrame:
    """Each (customer_id, product_id) bought, at its latest purchase (``timestamp``), less those the returns cancel
    whole (``_kept_purchases``): what ``recommenders.fallback.recent_popularity`` ranks a shop's products by."""
    statement = (
        select(Customer.external_id, Product.sku, func.max(Interaction.timestamp))
        .join(Customer, Interaction.customer_id == Customer.id)
        .join(Product, Interaction.product_id == Product.id)
        .where(Interaction.kind == "purchase")
        .group_by(Customer.external_id, Product.sku)
    )
    latest = _frame(session, statement, ["customer_id", "product_id", "timestamp"])
    latest["timestamp"] = pd.to_datetime(latest["timestamp"])
    if latest.empty or _returns(session).empty:
        return latest
    return latest.merge(_kept_purchases(session), on=["customer_id", "product_id"])


def buyers_of(session: Session, skus: Collection[str]) -> set[str]:
    """The customer ids of everyone who bought any of the products ``skus`` and did not return it whole
    (``_kept_purchases``), asked IN_BATCH products at a time."""
    buyers: set[str] = set()
    for batch in batches(sorted(skus), size=IN_BATCH):
        buyers.update(_kept_purchases(session, Product.sku.in_(batch))["customer_id"])
    return buyers


NEW_ARRIVAL_DAYS = 30


def boost_weights(margin: float = 0.0, new: float = 0.0) -> dict[str, float]:
    """Rules.boosts over the columns products_frame provides: the margin, and being a new arrival."""
    return {column: weight for column, weight in (("margin", margin), ("is_new", new)) if weight}


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
        Product.recommendable,
        Product.margin,
        Product.arrived_at,
    )
    columns = [
        "product_id", "name", "category", "price", "currency", "description", "url", "in_stock", "recommendable",
        "margin", "arrived_at",
    ]  # fmt: skip
    products = _frame(session, statement, columns)
    # The new-arrivals boost reads `is_new`: 1 for a product that arrived within the last NEW_ARRIVAL_DAYS days.
    arrived = pd.to_datetime(products["arrived_at"])
    products["is_new"] = (arrived >= pd.Timestamp(utcnow()) - pd.Timedelta(days=NEW_ARRIVAL_DAYS)).astype(float)
    return products


class CatalogCache:
    """The products frame, read again only when the catalog changed (a product added or re-imported) or the day
    turned (``is_new`` depends on it): serving one customer's recommendations need not read every product."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fingerprint: tuple | None = None
        self._products: pd.DataFrame | None = None

    def get(self, session: Session) -> pd.DataFrame:
        rows, updated = session.execute(select(func.count(Product.id), func.max(Product.updated_at))).one()
        fingerprint = (rows, updated, utc_today())
        with self._lock:
            if fingerprint != self._fingerprint:
                self._products, self._fingerprint = products_frame(session), fingerprint
            return self._products


CUSTOMER_FIELDS = ("email", "first_name", "locale", "marketing_consent", "unsubscribed", "segment")
MAILABLE = (  # as Customer.mailable tells it of one customer
    Customer.marketing_consent, ~Customer.unsubscribed, Customer.email != "",
    or_(Customer.bounced_email.is_(None), Customer.bounced_email != Customer.email),
)  # fmt: skip


def mailable_profiles(session: Session, query_fields: Collection[str] = ()) -> pd.DataFrame:
    """The customers who may be mailed (consent given, not unsubscribed, an address that did not bounce), in the
    order they were added, indexed by customer_id: their details (CUSTOMER_FIELDS), their RFM segment (as `rfm_segment`
    and in `segment`) and their profile's fields, for choosing an audience. Those who may not be mailed are left
    out by the database, unread.

    The profile fields are read from their columns (PROFILE_COLUMNS), without parsing a profile. A query that
    names another field (`query_fields`, as ``audience.query.query_fields`` gives them) gets every field of the
    mailable customers' JSON profiles instead, so that it reads what it did before the columns, and a field
    no profile has is named with all the known ones. A query that names a field no profile has (or names an
    attribute, as ``attributes.NAME``) also gets the customers' attributes (the extra columns of their import),
    as ``attributes.NAME`` columns."""
    from audience.query import ATTRIBUTE, field_column

    profiles = _profile_columns(session)
    unread = [field for field in query_fields if not field_column(field, profiles.columns)]
    if any(not field.lower().startswith(ATTRIBUTE) for field in unread):
        profiles = _json_profiles(session)
    if all(field_column(field, profiles.columns) for field in query_fields):
        return profiles
    return profiles.join(_attributes(session))


def _attributes(session: Session) -> pd.DataFrame:
    """The mailable customers' attributes, one ``attributes.NAME`` column each, indexed by customer_id."""
    from audience.query import ATTRIBUTE

    statement = select(Customer.external_id, Customer.attributes).where(*MAILABLE).order_by(Customer.id)
    rows = session.execute(statement).all()
    return pd.DataFrame(
        [{ATTRIBUTE + name: value for name, value in (row[1] or {}).items()} for row in rows],
        index=pd.Index([row[0] for row in rows], name="customer_id"),
    )


def _profile_columns(session: Session) -> pd.DataFrame:
    """mailable_profiles from the columns. A field no mailable customer has a value for is left out, as it is
    from JSON profiles none of which hold it: a query that names it then reads the JSON profiles, which tell
    whether the field is unknown or only empty."""
    fields = (*CUSTOMER_FIELDS, *PROFILE_COLUMNS)
    statement = select(Customer.external_id, *(getattr(Customer, field) for field in fields))
    names = ["customer_id", *fields]
    read = _columns(session, statement.where(*MAILABLE).order_by(Customer.id), names)
    profiles = pd.DataFrame(read) if read["customer_id"] else pd.DataFrame(columns=names)  # none: untyped columns
    # As the JSON profile holds it: ISO text, which a query compares as text unless given a date.
    profiles["next_purchase_date"] = [day.isoformat() if day else None for day in profiles["next_purchase_date"]]
    profiles["rfm_segment"] = profiles["segment"]  # the refresh writes a customer's RFM segment to both
    empty = [field for field in (*PROFILE_COLUMNS, "rfm_segment") if profiles[field].isna().all()]
    return profiles.drop(columns=empty).set_index("customer_id")


def _columns(session: Session, statement, names: list[str]) -> dict[str, list]:
    """The rows of ``statement`` as one list per column, named ``names``, fetched ``READ_ROWS`` at a time: the
    rows of every customer of a big shop at once took several times the memory of the frame made from them."""
    columns: dict[str, list] = {name: [] for name in names}
    for part in _core_result(session, statement.execution_options(yield_per=READ_ROWS)).partitions():
        for values, name in zip(zip(*part, strict=True), names, strict=True):
            columns[name].extend(values)
    return columns


def _json_profiles(session: Session) -> pd.DataFrame:
    """mailable_profiles with every field of the customers' JSON profiles."""
    columns = [getattr(Customer, field) for field in CUSTOMER_FIELDS]
    statement = select(Customer.external_id, *columns, Customer.profile)
    rows = session.execute(statement.where(*MAILABLE).order_by(Customer.id)).all()
    details = pd.DataFrame([tuple(row[:-1]) for row in rows], columns=["customer_id", *CUSTOMER_FIELDS])
    if details.empty:
        return details.set_index("customer_id")
    profiles = pd.DataFrame([{**(row[-1] or {}), "customer_id": row[0]} for row in rows])
    profiles = profiles.merge(details, on="customer_id", how="left", suffixes=("", "_db"))
    profiles["segment"] = profiles["rfm_segment"] if "rfm_segment" in profiles else profiles["segment"]
    return profiles.set_index("customer_id")


def _happened(*kinds: str):
    """1 when one of the send's events is of one of ``kinds``, else 0 (grouped by send)."""
    return func.max(case((Event.kind.in_(kinds), 1), else_=0))


def send_hour(session: Session, timezone: str = "UTC", own_zones: bool = True):
    """The hour of a send on the clock of ``timezone`` as the database computes it; with ``own_zones``, on its
    customer's clock where they have a zone (``Customer.timezone``: the statement joins their row)."""
    shop_hour = _hour_in(session, timezone)
    if not own_zones:
        return shop_hour
    return case((Customer.timezone.is_not(None), _hour_in(session, Customer.timezone)), else_=shop_hour)


def _hour_in(session: Session, zone):
    """The hour of ``Send.sent_at`` on the clock of ``zone``, a name or a column of names."""
    if isinstance(zone, str) and zone == "UTC":
        return extract("hour", Send.sent_at)
    if session.get_bind().dialect.name == "sqlite":
        return func.tailor_local_hour(Send.sent_at, zone)  # service.db.session registers it
    return extract("hour", func.timezone(zone, func.timezone("UTC", Send.sent_at)))


def send_open_counts(
    session: Session,
    customer_ids: Collection[str],
    sent_before: datetime | None = None,
    timezone: str = "UTC",
    own_zones: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What send times are learned from, counted by the database (``scoring.send_time.open_counts``' shape):
    sends and opens per send hour (on the customer's clock, their zone or else ``timezone``; on the clock of
    ``timezone`` alone without ``own_zones``) over every send (made at or before ``sent_before``, when given), and
    per customer and hour for ``customer_ids``; a send perhaps sent (``Send.perhaps_sent``) is left out, as it may
    never have been there to open."""
    hour = send_hour(session, timezone, own_zones)
    # A click or a conversion shows the email was opened (SHOWN_BY), recorded or not: a customer who clicks but never
    # loads images was never opening.
    shown_opened = Event.kind.in_(SHOWN_BY["opened"])
    opened = case((exists().where(Event.send_id == Send.id, shown_opened), 1), else_=0)
    counts = (func.count(Send.id), func.sum(opened))
    old_enough = and_(~Send.perhaps_sent, Send.sent_at <= sent_before if sent_before is not None else true())
    over_shop = select(hour, *counts).where(old_enough).group_by(hour)
    if own_zones:
        over_shop = over_shop.join(Customer, Send.customer_id == Customer.id)
    population = _frame(session, over_shop, ["hour", "sends", "opens"])
    per_customer = [
        row
        for batch in batches(list(dict.fromkeys(customer_ids)), size=IN_BATCH)
        for row in session.execute(
            select(Customer.external_id, hour, *counts)
            .join(Customer, Send.customer_id == Customer.id)
            .where(Customer.external_id.in_(batch), old_enough)
            .group_by(Customer.external_id, hour)
        )
    ]
    customers = pd.DataFrame(per_customer, columns=["customer_id", "hour", "sends", "opens"])
    return population.astype({"hour": int}), customers.astype({"hour": int})


def count_sends(session: Session, outcomes_due: datetime) -> tuple[int, int]:
    """How many sends known to have gone out were made at or before ``outcomes_due`` and how many after it, in one
    query."""
    later = func.coalesce(func.sum(case((Send.sent_at > outcomes_due, 1), else_=0)), 0)
    total, waiting = session.execute(select(func.count(Send.id), later).where(~Send.perhaps_sent)).one()
    return int(total) - int(waiting), int(waiting)


def sends_frame(session: Session, *, sent_before: datetime | None = None, latest: int | None = None) -> pd.DataFrame:
    """Sends with their outcomes as 0/1 columns, in the shape the scoring models learn from, in the order they
    were recorded: every send, or those made at or before ``sent_before``, and of those the ``latest`` by
    send time (ties: the later recorded) when given, so that what training reads stays bounded however many
    sends a shop has made. A send perhaps sent (``Send.perhaps_sent``) is left out: its customer may never have had
    the email, and the model learnt "not opened" from it. The outcomes make a chain (``SHOWN_BY``): a click with no
    open recorded (images blocked, or clicks tracked and opens not) is an open, as the models and every report count
    it; training's own report said open_rate 0 beside a click_rate of 0.25."""
    chosen = select(Send.id).where(~Send.perhaps_sent)
    if sent_before is not None:
        chosen = chosen.where(Send.sent_at <= sent_before)
    if latest is not None:
        chosen = chosen.order_by(Send.sent_at.desc(), Send.id.desc()).limit(latest)
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
            Send.churn_risk,
            Send.rec_score,
            *(_happened(*SHOWN_BY[outcome]) for outcome in ("opened", "clicked", "converted")),
        )
        .join(Customer, Send.customer_id == Customer.id)
        .outerjoin(Event, Event.send_id == Send.id)
        .where(~Send.perhaps_sent)
        .group_by(Send.id, Customer.external_id, Customer.first_name)
        .order_by(Send.id)
    )
    if sent_before is not None or latest is not None:
        statement = statement.where(Send.id.in_(chosen.scalar_subquery()))
    columns = [
        "customer_id", "subject", "preheader", "intro", "first_name", "campaign_type", "locale", "segment",
        "sent_at", "n_products", "mean_price", "churn_risk", "rec_score", "opened", "clicked", "converted",
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
    from datetime import timedelta

    latest = session.scalar(select(func.max(Interaction.timestamp)).where(Interaction.kind == "purchase"))
    return (latest + timedelta(days=1)).date() if latest else utc_today()
