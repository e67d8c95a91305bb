"""Time-windowed features per customer at a cutoff day, from order lines before it (no look-ahead).

Used by the churn model for both training (many past cutoffs, labels from the horizon after each) and
prediction (cutoff = as-of day). Besides RFM, window counts and BG/NBD's own outputs, the features hold what
BG/NBD cannot see: the customer's own rhythm (gaps between orders, how overdue they are), the season (the
cutoff's time of year, and whether they bought in the same weeks a year earlier: a gift shop's customers come
back for Christmas) and what they buy (how often buyers of their products came back).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audience.bgnbd import BetaGeoModel
from audience.errors import AudienceError
from audience.orders import btyd_summary_of_days, order_days, purchase_days, to_orders

WINDOWS_DAYS = (30, 90, 180, 365)


def customer_features(lines: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """One row per customer with an order before ``cutoff`` (a midnight); ``lines`` must be validated order lines."""
    return OrderHistory(lines, horizon_days).features_at(cutoff)


class OrderHistory:
    """Order lines rolled up once (orders per day, purchase days, the days each product was bought) for the
    features at many cutoffs: the churn model's training takes them at up to 19 midnights. Re-rolling the lines
    before each cutoff made most of a profile's time: on Online Retail's 620,000 lines before 2011-09-01,
    ``build_profiles`` took 10.7 s that way and 6.6 s this way.

    Cutoffs are midnights, so each day's lines lie wholly before or after one, and the roll-ups' rows before a
    cutoff are those of the lines before it: the features are the same, to the last bit, as from those lines
    alone. An order whose lines lie on several days is the exception: when the lines hold one, orders are rolled
    up from the lines before each cutoff.
    """

    def __init__(self, lines: pd.DataFrame, horizon_days: int):
        self.horizon_days = horizon_days
        # Customers, orders and products are grouped by integer codes (customers' in the order of their sorted ids,
        # so that rows come out in the same order); grouping by the id strings took most of each cutoff's time, and
        # rolling the orders up by their id strings a quarter of this history's time (0.4 of 1.7 s for a million
        # lines). Validated lines have every id (a line without its order's or product's is refused), so every line
        # has a code.
        codes, self._customer_ids = pd.factorize(lines["customer_id"], sort=True)
        self._lines = lines.assign(customer_id=codes)
        if "order_id" in lines.columns:
            self._lines["order_id"] = pd.factorize(lines["order_id"])[0]
        self._orders = order_days(self._lines)
        self._orders_span_days = self._orders.duplicated(["customer_id", "order_id"]).any()
        self._days = purchase_days(self._lines)
        self._products = None
        if "product_id" in lines.columns:
            bought = pd.DataFrame(
                {"customer_id": codes, "product_id": pd.factorize(lines["product_id"])[0],
                 "day": lines["timestamp"].dt.normalize().to_numpy()}
            )  # fmt: skip
            buying_days = self._days[["customer_id", "day"]].copy()
            buying_days["next_day"] = buying_days.groupby("customer_id")["day"].shift(-1)
            self._products = bought.merge(buying_days, on=["customer_id", "day"])
            self._first_bought = bought.groupby(["customer_id", "product_id"])["day"].min()

    def whole_orders_before(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """:func:`audience.orders.to_orders` of the lines before ``cutoff``."""
        if self._orders_span_days:
            return to_orders(self._lines[self._lines["timestamp"] < cutoff])
        return self._orders[self._orders["day"] < cutoff].drop(columns="day").reset_index(drop=True)

    def customers_before(self, cutoff: pd.Timestamp) -> pd.Index:
        """The customers with an order before ``cutoff``, in the order of ``features_at``'s rows."""
        orders = self.whole_orders_before(cutoff)
        return self._ids(pd.Index(np.unique(orders["customer_id"].to_numpy()), name="customer_id"))

    def features_at(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """One row per customer with an order before ``cutoff``, from the orders before it (no look-ahead)."""
        cutoff = pd.Timestamp(cutoff)
        if cutoff != cutoff.normalize():
            raise ValueError(f"features are taken at midnights; {cutoff} is not one")
        horizon_days = self.horizon_days
        orders = self.whole_orders_before(cutoff)
        age_days = (cutoff - orders["timestamp"]).dt.days.to_numpy()
        grouped = orders.groupby("customer_id", sort=True)
        features = pd.DataFrame(
            {
                "recency_days": (cutoff - grouped["timestamp"].max()).dt.days,
                "tenure_days": (cutoff - grouped["timestamp"].min()).dt.days,
                "orders": grouped.size(),
                "spend": grouped["amount"].sum(),
                "mean_order_value": grouped["amount"].mean(),
                "max_order_value": grouped["amount"].max(),
                "lines_per_order": grouped["n_lines"].mean(),
            }
        )
        for window in WINDOWS_DAYS:
            recent = orders[age_days < window].groupby("customer_id")
            features[f"orders_{window}d"] = recent.size().reindex(features.index, fill_value=0)
            features[f"spend_{window}d"] = recent["amount"].sum().reindex(features.index, fill_value=0.0)
        last_year = (age_days >= 365 - horizon_days) & (age_days < 365) if horizon_days < 365 else age_days < 0
        features["orders_same_season_last_year"] = (
            orders[last_year].groupby("customer_id").size().reindex(features.index, fill_value=0)
        )
        features["orders_in_horizon_before_last"] = (
            orders[(age_days >= horizon_days) & (age_days < 2 * horizon_days)]
            .groupby("customer_id").size().reindex(features.index, fill_value=0)
        )  # fmt: skip
        features = features.join(_gap_features(orders))
        features["orders_per_year"] = features["orders"] / np.maximum(features["tenure_days"], 30) * 365
        features["overdue_ratio"] = features["recency_days"] / features["mean_gap_days"]
        season = cutoff.day_of_year / 365.25 * 2 * np.pi
        features["season_sin"], features["season_cos"] = np.sin(season), np.cos(season)
        if self._products is not None:
            first_bought = self._first_bought[self._first_bought < cutoff]
            bought_before = first_bought.groupby(level="customer_id").size()
            features["distinct_products"] = bought_before.reindex(features.index, fill_value=0)
            products = self._products[self._products["day"] < cutoff]
            products = products.assign(next_day=products["next_day"].where(products["next_day"] < cutoff))
            features = features.join(_product_retention_features(products, cutoff, horizon_days))
        days = self._days[self._days["day"] < cutoff]
        features = features.join(_bgnbd_features(btyd_summary_of_days(days, cutoff), horizon_days))
        features.index = self._ids(features.index)
        return features.astype(float)

    def _ids(self, codes: pd.Index) -> pd.Index:
        return pd.Index(self._customer_ids.take(codes.to_numpy()), name="customer_id")

    def churned_within(self, customers: pd.Index, cutoff: pd.Timestamp) -> pd.Series:
        """1 for customers with no order in ``[cutoff, cutoff + horizon)``, else 0.

        Customers are matched by code: testing 15,000 ids against the strings of those who bought took 50 ms a
        cutoff (pandas' string ``isin`` makes a Python object of each), a sixth of the churn model's features."""
        end = cutoff + pd.Timedelta(days=self.horizon_days)
        future = self._days[(self._days["day"] >= cutoff) & (self._days["day"] < end)]
        bought = np.zeros(len(self._customer_ids), dtype=bool)
        bought[future["customer_id"].to_numpy()] = True
        codes = self._customer_ids.get_indexer(customers)
        came_back = (codes >= 0) & bought[codes]
        return pd.Series((~came_back).astype(int), index=customers, name="churned")


def _gap_features(orders: pd.DataFrame) -> pd.DataFrame:
    days = orders.assign(day=orders["timestamp"].dt.normalize())[["customer_id", "day"]].drop_duplicates()
    days = days.sort_values(["customer_id", "day"])
    days["gap"] = days.groupby("customer_id")["day"].diff().dt.days
    gaps = days.dropna(subset=["gap"]).groupby("customer_id")["gap"]
    frame = pd.DataFrame(
        {
            "mean_gap_days": gaps.mean(),
            "median_gap_days": gaps.median(),
            "std_gap_days": gaps.std(),
            "last_gap_days": gaps.last(),
        }
    )
    return frame.reindex(days["customer_id"].unique())


def _product_retention_features(products: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """What a customer's products say about coming back: for each product, the share of its buyers who bought
    again within the horizon after buying it (outcomes known before the cutoff, shrunk toward the shop's share
    with the weight of 20 buyers), averaged over the customer's last year of products and their last order.
    ``products`` has a row per line before the cutoff (``customer_id, product_id, day``) and the customer's
    ``next_day`` of buying before the cutoff (NaT for none)."""
    known = products[products["day"] + pd.Timedelta(days=horizon_days) <= cutoff].drop_duplicates(
        ["customer_id", "product_id"]
    )
    came_back = ((known["next_day"] - known["day"]).dt.days <= horizon_days).astype(float)
    shop_share = float(came_back.mean()) if len(came_back) else 0.5
    by_product = came_back.groupby(known["product_id"]).agg(["sum", "count"])
    retention = (by_product["sum"] + 20 * shop_share) / (by_product["count"] + 20)
    recent = products[products["day"] >= cutoff - pd.Timedelta(days=365)]
    recent = recent.assign(rate=recent["product_id"].map(retention).fillna(shop_share).astype(float))
    last_day = recent.groupby("customer_id")["day"].transform("max")
    return pd.DataFrame(
        {
            "product_retention_mean": recent.groupby("customer_id")["rate"].mean(),
            "product_retention_last_order": recent[recent["day"] == last_day].groupby("customer_id")["rate"].mean(),
        }
    )


def _bgnbd_features(summary: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    try:
        model = BetaGeoModel(penalizer=1e-3).fit(summary["frequency"], summary["recency"], summary["T"])
    except AudienceError:
        return pd.DataFrame(index=summary.index, columns=["bgnbd_p_alive", "bgnbd_expected"], dtype=float)
    args = (summary["frequency"], summary["recency"], summary["T"])
    return pd.DataFrame(
        {
            "bgnbd_p_alive": model.p_alive(*args),
            "bgnbd_expected": model.expected_purchases(horizon_days, *args),
        },
        index=summary.index,
    )
