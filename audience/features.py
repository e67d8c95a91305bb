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
BGNBD_FEATURES = ["bgnbd_p_alive", "bgnbd_expected"]  # BG/NBD's own outputs among the features


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
        # For the cutoffs' customers and labels, which the churn model takes at every cutoff (twice on a small
        # shop's path): each customer's first order (its day; its first line's time when orders span days, as
        # ``whole_orders_before`` then rolls up the lines) and the purchase days as arrays, compared without a
        # frame filtered each time.
        first = (
            self._lines.groupby("customer_id", sort=True)["timestamp"].min()
            if self._orders_span_days
            else (self._orders.groupby("customer_id", sort=True)["day"].min())
        )
        self._first_seen = first.to_numpy()
        self._day_codes, self._day_values = self._days["customer_id"].to_numpy(), self._days["day"].to_numpy()
        self._summaries: dict[pd.Timestamp, pd.DataFrame] = {}
        self._inputs: dict[pd.Timestamp, pd.DataFrame] = {}
        self._bgnbd: dict[pd.Timestamp, BetaGeoModel | AudienceError] = {}
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
            # the lines' columns as arrays, and a key per customer's product, for the features at each cutoff
            self._product_columns = {name: self._products[name].to_numpy() for name in self._products.columns}
            n_products = int(bought["product_id"].max()) + 1 if len(bought) else 1
            self._product_keys = self._product_columns["customer_id"] * n_products + self._product_columns["product_id"]
            self._n_products = n_products
            # The lines in the order of their keys, lines of one key in their own order: at each cutoff, the first
            # known line of each customer's product is the first of its run among the known ones, found without
            # sorting the known lines' keys again (``np.unique`` did, a fifth of Online Retail's features a cutoff).
            self._by_product_key = np.argsort(self._product_keys, kind="stable")

    def whole_orders_before(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """:func:`audience.orders.to_orders` of the lines before ``cutoff``."""
        if self._orders_span_days:
            return to_orders(self._lines[self._lines["timestamp"] < cutoff])
        return self._orders[self._orders["day"] < cutoff].drop(columns="day").reset_index(drop=True)

    def customers_before(self, cutoff: pd.Timestamp) -> pd.Index:
        """The customers with an order before ``cutoff``, in the order of ``features_at``'s rows."""
        codes = np.flatnonzero(self._first_seen < pd.Timestamp(cutoff).to_datetime64())
        return self.ids(pd.Index(codes, name="customer_id"))

    def features_at(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """One row per customer with an order before ``cutoff``, from the orders before it (no look-ahead)."""
        cutoff = _midnight(cutoff, "features are")
        horizon_days = self.horizon_days
        orders = self.whole_orders_before(cutoff)
        age_days = (cutoff - orders["timestamp"]).dt.days.to_numpy()
        grouped = orders.groupby("customer_id", sort=True)
        count = grouped.size()
        codes, customers = orders["customer_id"].to_numpy(), count.index
        # The columns are gathered as arrays, rows in the order of ``customers``, and made one frame: set on a frame
        # one at a time, and joined to it, they took a third of a small shop's features.
        features = {
            "recency_days": (cutoff - grouped["timestamp"].max()).dt.days,
            "tenure_days": (cutoff - grouped["timestamp"].min()).dt.days,
            "orders": count,
            "spend": grouped["amount"].sum(),
            "mean_order_value": grouped["amount"].mean(),
            "max_order_value": grouped["amount"].max(),
            "lines_per_order": grouped["n_lines"].mean(),
        }
        features = {name: column.to_numpy() for name, column in features.items()}
        # Each window's orders counted by code, and its spend summed by a groupby of its amounts keyed by their codes:
        # the same sums as of its orders' frame grouped, with less to make (a fifth of a small shop's features). The
        # amounts outside a window left NaN in one groupby of every window did not give the same sums to the bit.
        amounts, at = orders["amount"].to_numpy(), customers.to_numpy()

        def counted(inside: np.ndarray) -> np.ndarray:
            return np.bincount(codes[inside], minlength=len(self._customer_ids))[at]

        def summed(inside: np.ndarray) -> np.ndarray:
            sums = pd.Series(amounts[inside]).groupby(codes[inside]).sum()
            return sums.reindex(customers, fill_value=0.0).to_numpy()

        for window in WINDOWS_DAYS:
            features[f"orders_{window}d"] = counted(age_days < window)
            features[f"spend_{window}d"] = summed(age_days < window)
        last_year = (age_days >= 365 - horizon_days) & (age_days < 365) if horizon_days < 365 else age_days < 0
        features["orders_same_season_last_year"] = counted(last_year)
        features["orders_in_horizon_before_last"] = counted((age_days >= horizon_days) & (age_days < 2 * horizon_days))
        # An order's day is its purchase day, but for an order across midnights: only its first day is its order's.
        if self._orders_span_days:
            days = _order_days(orders)
            day_codes, day_values = days["customer_id"].to_numpy(), days["day"].to_numpy()
        else:
            known = self._day_values < cutoff.to_datetime64()
            day_codes, day_values = self._day_codes[known], self._day_values[known]
        features.update(_columns(_gap_features(day_codes, day_values), customers))
        features["orders_per_year"] = features["orders"] / np.maximum(features["tenure_days"], 30) * 365
        features["overdue_ratio"] = features["recency_days"] / features["mean_gap_days"]
        season = cutoff.day_of_year / 365.25 * 2 * np.pi
        features["season_sin"], features["season_cos"] = np.sin(season), np.cos(season)
        if self._products is not None:
            first_bought = self._first_bought[self._first_bought < cutoff]
            bought_before = first_bought.groupby(level="customer_id").size()
            features["distinct_products"] = bought_before.reindex(customers, fill_value=0).to_numpy()
            features.update(_columns(self._product_retention_features(cutoff), customers))
        features.update(_columns(self._bgnbd_features(cutoff), customers))
        return pd.DataFrame(
            {
                name: np.broadcast_to(np.asarray(column, dtype=float), len(customers))
                for name, column in features.items()
            },
            index=self.ids(customers),
        )

    def bgnbd_features_at(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """``features_at``'s BG/NBD columns alone (``bgnbd_p_alive``, ``bgnbd_expected``), its rows in its order:
        a small shop's churn model takes no other feature at its past day a year back, and the whole features took
        half of a 400-customer shop's churn model."""
        cutoff = _midnight(cutoff, "features are")
        features = self._bgnbd_features(cutoff)
        features.index = self.ids(features.index)
        return features.astype(float)

    def bgnbd_at(self, cutoff: pd.Timestamp) -> BetaGeoModel | AudienceError:
        """BG/NBD fitted on the purchase days before ``cutoff`` (a midnight), or the error that refused the fit,
        made once a cutoff: a profile fits it at the as-of day for its P(alive) and expected purchases and for the
        churn model's features, on the same customers (the fit depends on their histories, not on their order)."""
        if cutoff not in self._bgnbd:
            summary = self._bgnbd_inputs(cutoff)
            try:
                self._bgnbd[cutoff] = BetaGeoModel(penalizer=1e-3).fit(
                    summary["frequency"], summary["recency"], summary["T"]
                )
            except AudienceError as error:
                self._bgnbd[cutoff] = error
        return self._bgnbd[cutoff]

    def _bgnbd_features(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """BG/NBD's P(alive) and expected purchases in the horizon per customer code with purchase days before
        ``cutoff`` (NaN where BG/NBD cannot be fitted)."""
        summary, model = self._bgnbd_inputs(cutoff), self.bgnbd_at(cutoff)
        if isinstance(model, AudienceError):
            return pd.DataFrame(index=summary.index, columns=BGNBD_FEATURES, dtype=float)
        args = (summary["frequency"], summary["recency"], summary["T"])
        return pd.DataFrame(
            {
                "bgnbd_p_alive": model.p_alive(*args),
                "bgnbd_expected": model.expected_purchases(self.horizon_days, *args),
            },
            index=summary.index,
        )

    def _product_retention_features(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """What a customer's products say about coming back: for each product, the share of its buyers who bought
        again within the horizon after buying it (outcomes known before the cutoff: each customer's first line of
        the product whose horizon ended by then, their next buying day counted only before it; shrunk toward the
        shop's share with the weight of 20 buyers), averaged over the customer's last year of products and their
        last order. Counted with arrays: the shares are counts of whole outcomes, the same in any order; the means
        over each customer's lines are pandas' own, over the lines in their order."""
        columns, horizon = self._product_columns, np.timedelta64(self.horizon_days, "D")
        cut, day, next_day = cutoff.to_datetime64(), columns["day"], columns["next_day"]
        before = day < cut
        known = before & (day + horizon <= cut)
        # ``np.unique(keys[known], return_index=True)``'s first lines, in the order of their keys
        ordered = self._by_product_key[known[self._by_product_key]]
        keys = self._product_keys[ordered]
        rows = ordered[np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])] if len(keys) else ordered
        outcome_known = next_day[rows] < cut  # a buying day on or after the cutoff is not known yet (NaT: none)
        came_back = (outcome_known & (next_day[rows] - day[rows] <= horizon)).astype(float)
        shop_share = float(came_back.mean()) if len(came_back) else 0.5
        products = columns["product_id"][rows]
        buyers = np.bincount(products, minlength=self._n_products)
        returned = np.bincount(products, weights=came_back, minlength=self._n_products)
        retention = np.full(self._n_products, shop_share)
        bought = buyers > 0
        retention[bought] = (returned[bought] + 20 * shop_share) / (buyers[bought] + 20)
        recent = np.flatnonzero(before & (day >= (cutoff - pd.Timedelta(days=365)).to_datetime64()))
        lines = pd.DataFrame(
            {"customer_id": columns["customer_id"][recent], "day": day[recent],
             "rate": retention[columns["product_id"][recent]]}
        )  # fmt: skip
        last_day = lines.groupby("customer_id")["day"].transform("max")
        return pd.DataFrame(
            {
                "product_retention_mean": lines.groupby("customer_id")["rate"].mean(),
                "product_retention_last_order": lines[lines["day"] == last_day].groupby("customer_id")["rate"].mean(),
            }
        )

    def btyd_summary(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """:func:`audience.orders.btyd_summary` of the lines before ``cutoff`` (a midnight), from the purchase days."""
        cutoff = _midnight(cutoff, "the summary is")
        summary = self._btyd_summary(cutoff)
        return summary.set_axis(self.ids(summary.index))

    def _btyd_summary(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """:func:`audience.orders.btyd_summary_of_days` of the purchase days before ``cutoff`` (by customer code),
        made once a cutoff: a profile asks for it at the as-of day twice (its summary, and BG/NBD's features)."""
        if cutoff not in self._summaries:
            self._summaries[cutoff] = btyd_summary_of_days(
                self._days[self._day_values < cutoff.to_datetime64()], cutoff
            )
        return self._summaries[cutoff]

    def _bgnbd_inputs(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """``_btyd_summary``'s ``frequency``, ``recency`` and ``T`` (its index, its dtypes, its numbers to the bit),
        counted on the purchase days' arrays, made once a cutoff: BG/NBD needs no more at the churn model's past days,
        and the summary's groupby was a fifth of a 400-customer shop's features there. The days are sorted by
        customer and day, so each customer's days before the cutoff are a run, its first and last the run's ends."""
        if cutoff not in self._inputs:
            cut = cutoff.to_datetime64()
            rows = np.flatnonzero(self._day_values < cut)
            codes = self._day_codes[rows]
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else rows
            ends = np.r_[starts[1:], len(codes)] - 1 if len(codes) else rows
            first, last = self._day_values[rows[starts]], self._day_values[rows[ends]]
            day = np.timedelta64(1, "D")  # whole days, as pandas' ``.dt.days`` of days apart (all midnights)
            self._inputs[cutoff] = pd.DataFrame(
                {
                    "frequency": ends - starts,
                    "recency": ((last - first) // day) / 1.0,
                    "T": ((cut - first) // day) / 1.0,
                },
                index=pd.Index(codes[starts], name="customer_id"),
            )
        return self._inputs[cutoff]

    def ids(self, codes: pd.Index) -> pd.Index:
        """The customer ids of the codes that stand for them in this history's frames (``whole_orders_before``)."""
        return pd.Index(self._customer_ids.take(codes.to_numpy()), name="customer_id")

    def churned_within(self, customers: pd.Index, cutoff: pd.Timestamp) -> pd.Series:
        """1 for customers with no order in ``[cutoff, cutoff + horizon)``, else 0.

        Customers are matched by code: testing 15,000 ids against the strings of those who bought took 50 ms a
        cutoff (pandas' string ``isin`` makes a Python object of each), a sixth of the churn model's features."""
        start = pd.Timestamp(cutoff)
        end = (start + pd.Timedelta(days=self.horizon_days)).to_datetime64()
        future = (self._day_values >= start.to_datetime64()) & (self._day_values < end)
        bought = np.zeros(len(self._customer_ids), dtype=bool)
        bought[self._day_codes[future]] = True
        codes = self._customer_ids.get_indexer(customers)
        came_back = (codes >= 0) & bought[codes]
        return pd.Series((~came_back).astype(int), index=customers, name="churned")


def _midnight(cutoff: pd.Timestamp, what: str) -> pd.Timestamp:
    """``cutoff`` as a timestamp, refused unless it is a midnight (``what`` is taken at one)."""
    cutoff = pd.Timestamp(cutoff)
    if cutoff != cutoff.normalize():
        raise ValueError(f"{what} taken at midnights; {cutoff} is not one")
    return cutoff


def _columns(frame: pd.DataFrame, customers: pd.Index) -> dict[str, np.ndarray]:
    """``frame``'s columns as arrays, in the order of ``customers`` (by code; NaN for one not in ``frame``)."""
    frame = frame.reindex(customers)
    return {name: frame[name].to_numpy() for name in frame.columns}


def _order_days(orders: pd.DataFrame) -> pd.DataFrame:
    """The days of ``orders`` (their timestamps' days) per customer, sorted as :func:`audience.orders.purchase_days`."""
    days = orders.assign(day=orders["timestamp"].dt.normalize())[["customer_id", "day"]].drop_duplicates()
    return days.sort_values(["customer_id", "day"])


def _gap_features(codes: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Gaps in days between a customer's order days (``codes``, ``values``: the customer codes and days of rows
    once each, sorted by customer and day), by customer code in the order of ``codes``.

    The gaps are taken on the arrays (each day's gap to the day before it, where both are the same customer's) and
    grouped as a Series: a frame's groupby ``diff`` and ``dropna`` made most of this, at every training cutoff. The
    gaps, their order and so their groupby figures are those of the frame's, to the bit."""
    same_customer = codes[1:] == codes[:-1]
    gap_days = ((values[1:] - values[:-1])[same_customer] // np.timedelta64(1, "D")).astype(float)
    gaps = pd.Series(gap_days).groupby(pd.Index(codes[1:][same_customer], name="customer_id"))
    frame = pd.DataFrame(
        {
            "mean_gap_days": gaps.mean(),
            "median_gap_days": gaps.median(),
            "std_gap_days": gaps.std(),
            "last_gap_days": gaps.last(),
        }
    )
    return frame.reindex(pd.unique(codes))
