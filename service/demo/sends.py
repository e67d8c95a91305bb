"""Past campaign sends of the demo shop and their outcomes, from a hidden response process a model can learn.

Every 14 days over the history (about 50 campaigns) one campaign of a random type goes to consenting,
subscribed customers in the segments it targets (``TARGETS``), up to 12 % of the customer base. Each send
picks its subject, preheader and intro from the locale's templates (``texts.py``); independently per send,
the first name is added to the subject (40 % of customers who have one), an offer tail is added when the
send carries a discount, a long marketing tail is added (30 %), and the send hour is one of the campaign's
two A/B hours. Campaign days move by 0–6 days so that every weekday occurs. The segment is the
customer's RFM segment on the send day (``segments.py``).

Outcomes (hidden process; the scoring model should recover its direction):

- ``P(open) = sigmoid(-1.1 + 0.5 * first name in subject - 0.02 * (subject length - 35)
  + SEGMENT_OPEN[segment] + HOUR_OPEN(hour) + TYPE_OPEN[campaign_type] - 0.15 * weekend
  + 0.4 * (hour within one hour of the customer's reading hour) + customer propensity)``,
  with the customer's propensity ~ N(0, 0.5) and reading hour (8, 13 or 20) unobserved: a send-time
  model can learn each customer's hour from their past opens;
- ``P(click | open) = sigmoid(-1.5 + 0.12 * min(n_products, 6) - 0.6 * (n_products == 0)
  + 0.05 * discount% - 0.01 * (mean_price - 30) + 0.3 * replenishment)``;
- ``P(conversion | click) = sigmoid(-1.0 + 0.04 * discount% + SEGMENT_CONVERT[segment]
  - 0.008 * (mean_price - 30))``.

Conversions are outcomes only; they do not add orders to the order history.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from service.demo.catalog import CONSUMABLE_CATEGORIES
from service.demo.segments import SEGMENTS, segments_on
from service.demo.texts import COPY, GREETINGS, LONG_TAILS, OFFER_TAILS, intro_text, personalize

CAMPAIGN_EVERY_DAYS = 14
FIRST_CAMPAIGN_DAYS_BEFORE = 700
AUDIENCE_SHARE = 0.12
PERSONALIZE_SHARE = 0.4
LONG_TAIL_SHARE = 0.3
CAMPAIGN_TYPE_WEIGHTS = {"cross_sell": 0.3, "win_back": 0.2, "replenishment": 0.2, "vip": 0.15, "welcome": 0.15}
TARGETS = {
    "welcome": ("new",),
    "cross_sell": SEGMENTS,  # the newsletter-like campaign goes to everyone
    "win_back": ("at_risk", "cant_lose", "hibernating", "lost"),
    "replenishment": ("champions", "loyal", "potential_loyalists", "new", "at_risk", "cant_lose", "hibernating"),
    "vip": ("champions", "loyal", "cant_lose"),
}
DISCOUNTS = {"welcome": (10,), "cross_sell": (0, 10), "win_back": (15, 20), "replenishment": (0, 5), "vip": (0, 15)}
SEND_HOURS = (7, 8, 9, 10, 12, 14, 17, 19, 20, 21, 23)

SEGMENT_OPEN = {
    "champions": 0.8,
    "loyal": 0.5,
    "potential_loyalists": 0.3,
    "new": 0.4,
    "at_risk": -0.2,
    "cant_lose": 0.0,
    "hibernating": -0.6,
    "lost": -1.2,
}
SEGMENT_CONVERT = {"champions": 0.5, "loyal": 0.3, "new": 0.1, "at_risk": -0.2, "hibernating": -0.4, "lost": -0.5}
TYPE_OPEN = {"welcome": 0.5, "vip": 0.3, "replenishment": 0.2, "cross_sell": 0.0, "win_back": -0.2}


def hour_open(hour: np.ndarray) -> np.ndarray:
    """Morning (8–10) and evening (18–21) sends open more; late-night sends (22–6) less."""
    return np.select(
        [(hour >= 8) & (hour <= 10), (hour >= 18) & (hour <= 21), (hour >= 22) | (hour <= 6)], [0.25, 0.2, -0.5], 0.0
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def generate_sends(
    rng: np.random.Generator,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    orders: pd.DataFrame,
    as_of: date,
) -> pd.DataFrame:
    """The sends frame of ARCHITECTURE.md, one row per email sent, sorted by ``sent_at``."""
    # Work on customer positions (integers): much faster than string ids over ~50 campaigns.
    position = pd.Series(np.arange(len(customers)), index=customers["customer_id"].to_numpy(object))
    lines = orders.assign(customer_id=position.loc[orders["customer_id"].to_numpy(object)].to_numpy())
    purchases = lines[lines["kind"] == "purchase"].drop_duplicates("order_id")
    first_seen = lines.groupby("customer_id")["timestamp"].min().reindex(range(len(customers))).to_numpy()
    consumable_skus = products.loc[products["category"].isin(CONSUMABLE_CATEGORIES), "product_id"]
    consumable_lines = lines[(lines["kind"] == "purchase") & lines["product_id"].isin(consumable_skus)]
    first_consumable = consumable_lines.groupby("customer_id")["timestamp"].min()
    first_consumable = first_consumable.reindex(range(len(customers))).to_numpy()
    reachable = (customers["marketing_consent"] & ~customers["unsubscribed"]).to_numpy()
    audience_cap = max(1, int(AUDIENCE_SHARE * len(customers)))

    start = datetime.combine(as_of, datetime.min.time()) - timedelta(days=FIRST_CAMPAIGN_DAYS_BEFORE)
    campaigns = []
    for day in pd.date_range(start, as_of - timedelta(days=9), freq=f"{CAMPAIGN_EVERY_DAYS}D"):
        campaign_type = str(rng.choice(list(CAMPAIGN_TYPE_WEIGHTS), p=list(CAMPAIGN_TYPE_WEIGHTS.values())))
        day = day + pd.Timedelta(days=int(rng.integers(0, 7)))
        known = reachable & (first_seen < day)
        if campaign_type == "welcome":
            known &= first_seen >= day - timedelta(days=30)
        if campaign_type == "replenishment":
            known &= first_consumable < day
        segments = segments_on(purchases, day, pd.Index(np.flatnonzero(known)))
        eligible = segments[segments.isin(TARGETS[campaign_type])]
        if eligible.empty:
            continue
        chosen = np.sort(rng.choice(len(eligible), size=min(audience_cap, len(eligible)), replace=False))
        campaigns.append(_campaign(rng, day, campaign_type, eligible.iloc[chosen], customers, products))
    if not campaigns:  # a tiny shop where nobody was reachable: an empty frame with the same columns
        nobody = pd.Series([], index=pd.Index([], dtype=int), dtype=object)
        campaigns.append(_campaign(rng, pd.Timestamp(start), "cross_sell", nobody, customers, products))
    sends = pd.concat(campaigns, ignore_index=True).sort_values(["sent_at", "customer_id"], kind="stable")
    sends = sends.reset_index(drop=True)
    sends.insert(0, "send_id", pd.Series([f"E{n:06d}" for n in range(1, len(sends) + 1)], dtype=str))
    text = ["customer_id", "subject", "preheader", "intro", "first_name", "campaign_type", "locale", "segment"]
    sends[text] = sends[text].astype(str)
    traits = customers.set_index("customer_id").loc[sends["customer_id"], ["_propensity", "_reading_hour"]]
    return _outcomes(rng, sends, traits.reset_index(drop=True))


def _campaign(
    rng: np.random.Generator,
    day: pd.Timestamp,
    campaign_type: str,
    segments: pd.Series,
    customers: pd.DataFrame,
    products: pd.DataFrame,
) -> pd.DataFrame:
    """One campaign's sends to the customers at the positions in ``segments``' index."""
    size = len(segments)
    people = customers.iloc[segments.index.to_numpy()]
    hours = rng.choice(SEND_HOURS, size=2, replace=False)[rng.integers(0, 2, size=size)]
    discounts = np.array(DISCOUNTS[campaign_type])[rng.integers(0, len(DISCOUNTS[campaign_type]), size=size)]
    n_products = rng.integers(0 if campaign_type == "welcome" else 1, 7, size=size)
    # Featured products: the first n of a popularity-weighted draw without replacement (Gumbel top-k).
    keys = np.log(products["popularity"].to_numpy()) + rng.gumbel(size=(size, len(products)))
    top = np.argsort(-keys, axis=1)[:, :6]
    top_prices = products["price"].to_numpy()[top]
    taken = np.arange(6) < n_products[:, None]
    mean_price = np.where(n_products > 0, (top_prices * taken).sum(axis=1) / np.maximum(n_products, 1), 0.0)
    personalized = rng.random(size) < PERSONALIZE_SHARE
    long_tail = rng.random(size) < LONG_TAIL_SHARE
    picks = rng.integers(0, 6, size=(size, 4))  # subject, preheader, intro, long tail
    rows = []
    for number, person in enumerate(people[["first_name", "locale"]].itertuples(index=False)):
        name, locale = person.first_name, person.locale
        subjects, preheaders, intros = COPY[locale][campaign_type]
        subject = subjects[picks[number, 0] % len(subjects)]
        if name and personalized[number]:
            subject = personalize(subject, name)
        if discounts[number]:
            subject += OFFER_TAILS[locale].format(discount=discounts[number])
        if long_tail[number]:
            subject += LONG_TAILS[locale][picks[number, 3] % len(LONG_TAILS[locale])]
        greeting = GREETINGS[locale][0].format(name=name) if name else GREETINGS[locale][1]
        rows.append(
            (
                subject,
                preheaders[picks[number, 1] % len(preheaders)],
                intro_text(intros[picks[number, 2] % len(intros)], greeting),
            )
        )
    texts = pd.DataFrame(rows, columns=["subject", "preheader", "intro"])
    minutes = rng.integers(0, 50, size=size)
    return pd.DataFrame(
        {
            "customer_id": people["customer_id"].to_numpy(),
            "subject": texts["subject"].to_numpy(),
            "preheader": texts["preheader"].to_numpy(),
            "intro": texts["intro"].to_numpy(),
            "first_name": people["first_name"].to_numpy(),
            "campaign_type": campaign_type,
            "locale": people["locale"].to_numpy(),
            "segment": segments.to_numpy(),
            "sent_at": day + pd.to_timedelta(hours * 60 + minutes, unit="min"),
            "n_products": n_products,
            "mean_price": mean_price.round(2),
            "_personalized": personalized & (people["first_name"] != "").to_numpy(),
            "_discount": discounts,
        }
    )


def _outcomes(rng: np.random.Generator, sends: pd.DataFrame, traits: pd.DataFrame) -> pd.DataFrame:
    hour = sends["sent_at"].dt.hour.to_numpy()
    weekend = sends["sent_at"].dt.day_of_week.to_numpy() >= 5
    at_reading_hour = np.abs(hour - traits["_reading_hour"].to_numpy()) <= 1
    segment = sends["segment"]
    n_products = sends["n_products"].to_numpy()
    discount = sends["_discount"].to_numpy()
    price_gap = np.where(n_products > 0, sends["mean_price"].to_numpy() - 30, 0.0)
    open_logit = (
        -1.1
        + 0.5 * sends["_personalized"].to_numpy()
        - 0.02 * (sends["subject"].str.len().to_numpy() - 35)
        + segment.map(SEGMENT_OPEN).to_numpy()
        + hour_open(hour)
        + sends["campaign_type"].map(TYPE_OPEN).to_numpy()
        - 0.15 * weekend
        + 0.4 * at_reading_hour
        + traits["_propensity"].to_numpy()
    )
    click_logit = (
        -1.5
        + 0.12 * np.minimum(n_products, 6)
        - 0.6 * (n_products == 0)
        + 0.05 * discount
        - 0.01 * price_gap
        + 0.3 * (sends["campaign_type"] == "replenishment").to_numpy()
    )
    convert_logit = -1.0 + 0.04 * discount + segment.map(SEGMENT_CONVERT).fillna(0.0).to_numpy() - 0.008 * price_gap
    opened = rng.random(len(sends)) < _sigmoid(open_logit)
    clicked = opened & (rng.random(len(sends)) < _sigmoid(click_logit))
    converted = clicked & (rng.random(len(sends)) < _sigmoid(convert_logit))
    sends = sends.drop(columns=["_personalized", "_discount"])
    sends["sent_at"] = sends["sent_at"].astype("datetime64[ns]")
    sends["opened"] = opened.astype(int)
    sends["clicked"] = clicked.astype(int)
    sends["converted"] = converted.astype(int)
    return sends
