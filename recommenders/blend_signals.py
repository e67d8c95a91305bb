"""The per-(customer, product) signals the blend combines, computed from one slice of interactions.

Each signal is produced on demand for a chunk of customers, one at a time so that scoring never holds all of
them at once, in its compact form (`Signals.parts`: a dense matrix only for the collaborative, neighbour and
content scores; per product, per customer, or sparse over the pairs the customer bought for the rest), and
read at chosen (customer, product) positions by `Signals.at`. `FEATURES` names them in order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommenders.content import TEXT_COLUMNS
from recommenders.errors import FitFailed
from recommenders.interactions import CodedLines, SharedLines

FEATURES = (
    "collaborative",
    "neighbours",
    "content",
    "popularity",
    "bought_count",
    "bought_recency",
    "bought_recently",
    "repeat_rate",
    "bought_decayed",
    "bought_share",
    "customer_breadth",
    "customer_recency",
    "season_popularity",
    "bought_last_season",
    "popularity_now",
    "season_growth",
    "due",
    "in_last_order",
    "basket_share",
    "customer_orders",
    "customer_due",
    "popularity_trend",
    "due_lateness",
    "product_due",
    "customer_basket",
    "first_bought",
)


class Signals:
    """Per-(customer, product) signals computed from one slice of interactions, on a fixed product index: the coded
    lines' products (`CodedLines`), whose codes are the columns."""

    def __init__(self, coded: CodedLines, products: pd.DataFrame | None, blend) -> None:
        lines = coded.frame
        self.product_index = coded.products
        self.now = lines["timestamp"].max()
        # the customers' codes, sorted as their ids are; ``customers`` names them
        self.customer_codes = np.unique(lines["customer_id"].to_numpy())
        self.customers = coded.customers[self.customer_codes]
        # Computed apart, so that their working frames (a few per line) are let go before the components are fitted:
        # EASE's inversion is the peak of the fit, and they were held through it.
        self._learn_history_signals(lines, blend)
        from recommenders.registry import create

        shared = SharedLines(coded)  # the blend's own prepared lines, so already valid
        self.components = {
            "collaborative": create(blend.collaborative, **blend.collaborative_params).fit_shared(shared),
            "neighbours": create("bm25", neighbours=blend.neighbours).fit_shared(shared),
        }
        has_text = products is not None and any(c in products.columns for c in TEXT_COLUMNS)
        if blend.use_content and has_text:
            content = create("content")
            content.shared_vectors = getattr(blend, "shared_vectors", None)
            with contextlib.suppress(FitFailed):
                self.components["content"] = content.fit_shared(shared, products)
            del content.shared_vectors  # the blend's, for its fit alone
        self.maps = {
            name: (
                component.vocabulary.customer_rows(self.customers),
                self.product_index.get_indexer(component.vocabulary.products),
            )
            for name, component in self.components.items()
        }

    def _learn_history_signals(self, lines: pd.DataFrame, blend) -> None:
        """The signals read from the lines themselves: per (customer, product) pair, per product, per customer. What
        is read line by line comes first (`_read_lines`), so that its per-line arrays are let go before the pair
        signals are built: held through them, with a grouping's temporaries, they were a window's peak (~200 bytes a
        line, where the signals it keeps take ~65)."""
        per_pair, newest, order_days = self._read_lines(lines, blend)
        shape = (len(self.customers), len(self.product_index))
        pair_rows, pair_columns = per_pair.rows, per_pair.columns
        age, first, days = per_pair.age, per_pair.first, per_pair.days
        # Pairs come sorted by row, then column, each once: the matrices' own layout, built without a COO pass. Each
        # matrix gets its own index arrays (copy), as it did from COO: none shares them with another.
        indptr = np.concatenate([[0], np.cumsum(np.bincount(pair_rows, minlength=shape[0]))])

        def pair_matrix(values: np.ndarray) -> sp.csr_matrix:
            return sp.csr_matrix((values.astype(np.float32), pair_columns, indptr), shape=shape, copy=True)

        # Freshness of the newest purchase of each pair, over a long and a short horizon.
        self.freshness = pair_matrix(np.exp(-age / blend.half_life_days))
        self.freshness_short = pair_matrix(np.exp(-age / 14.0))
        # Share of a product's buyers who bought it on more than one day: re-orderable products score high.
        buyers = np.bincount(pair_columns, minlength=shape[1])
        repeaters = np.bincount(pair_columns[days > 1], minlength=shape[1])
        self.repeat_rate = ((repeaters + 0.1) / (buyers + 1.0)).astype(np.float32)
        self.bought = pair_matrix(days)
        # Time-decayed count of lines (the repeat-purchase score) and its share of the customer's total.
        self.decayed = pair_matrix(per_pair.decayed)
        # Replenishment timing: how close the time since the last purchase is to the customer's usual gap
        # for this product (1 when exactly due, falling off either side; 0 for products bought once).
        repeated = days > 1
        gap = (first - age) / np.maximum(days - 1, 1)
        ratio = (age + 1.0) / (gap + 1.0)
        self.due = pair_matrix(np.where(repeated, np.exp(-np.abs(np.log(ratio))), 0.0) + 1e-6)
        # The same ratio with its sign: early (< 0) or overdue (> 0), which the symmetric `due` cannot tell apart.
        self.due_lateness = pair_matrix(np.where(repeated, np.log(ratio), 0.0) + 1e-6)
        # Each product's usual re-order gap over all its repeat buyers (a year where none re-ordered it), and the
        # time since the customer's last purchase relative to it: a product bought once can still be due.
        product_gap = _medians(pair_columns[repeated], gap[repeated], shape[1], fill=365.0)
        self.product_due = pair_matrix(np.log((age + 1.0) / (product_gap[pair_columns] + 1.0)) + 1e-6)
        self.first_bought = pair_matrix(np.log1p(first) + 1e-6)
        # In the customer's most recent order (the same day as their newest line).
        self.in_last_order = pair_matrix((age - newest[pair_rows] < 1.0).astype(float) + 1e-6)
        # Share of the customer's order days that included the product: staples sit in most baskets.
        self.basket_share = pair_matrix(days / np.maximum(order_days[pair_rows], 1))
        # Usual basket size: distinct products per order day.
        basket_lines = np.bincount(pair_rows, weights=days, minlength=shape[0])
        customer_basket = np.log1p(basket_lines / np.maximum(order_days, 1))
        self.customer_basket = pair_matrix(customer_basket[pair_rows] + 1e-6)
        totals = np.asarray(self.decayed.sum(axis=1)).ravel()
        self.decayed_share = sp.diags(1.0 / np.maximum(totals, 1e-9)).dot(self.decayed).tocsr()
        self.breadth = np.log1p(np.diff(self.bought.indptr)).astype(np.float32)

    def _read_lines(self, lines: pd.DataFrame, blend) -> tuple[_Pairs, np.ndarray, np.ndarray]:
        """The signals read line by line (popularity, season, each customer's orders and recency), and what the pair
        signals need of the lines: per (customer row, product column) pair the age of its newest and first line,
        its days and decayed count (`_Pairs`); per customer row the age of their newest line and their number of
        order days.

        Grouped with numpy on the lines' integer codes, not pandas: a build runs once per window, and on the tests'
        small shops the groupings' fixed costs were most of it. Each figure is the one pandas' grouping gave, bit for
        bit (its sums are compensated, `_compensated_sums`; tests.recommenders.test_blend_signals checks them)."""
        shape = (len(self.customers), len(self.product_index))
        rows = self.rows_of(lines["customer_id"].to_numpy())
        columns = lines["product_id"].to_numpy().astype(np.intp)
        age = ((self.now - lines["timestamp"]).dt.total_seconds().to_numpy() / 86400.0).astype(np.float32)
        timestamps = lines["timestamp"].to_numpy()
        # The day of each line (midnight, as Timestamp.normalize), as a whole number of days.
        day = timestamps.astype("datetime64[ns]").view(np.int64) // _NS_PER_DAY
        pair_codes = rows.astype(np.int64) * shape[1] + columns
        # Lines sorted by pair, in their own order within one (the order their decayed counts are summed in).
        by_pair = np.argsort(pair_codes, kind="stable")
        sorted_codes = pair_codes[by_pair]
        starts = _run_starts(sorted_codes)
        sorted_age = age[by_pair]
        del age
        decayed = np.exp(-sorted_age / blend.half_life_days)
        per_pair = _Pairs(
            rows=sorted_codes[starts] // shape[1],
            columns=sorted_codes[starts] % shape[1],
            age=np.minimum.reduceat(sorted_age, starts) if len(starts) else sorted_age[:0],
            first=np.maximum.reduceat(sorted_age, starts) if len(starts) else sorted_age[:0],
            days=_distinct_per_group(
                np.repeat(np.arange(len(starts)), np.diff(starts, append=len(lines))), day[by_pair], len(starts)
            ),
            decayed=_compensated_sums(decayed, starts),
        )
        del decayed, sorted_age, sorted_codes
        present = np.zeros(shape[0], dtype=bool)
        present[per_pair.rows] = True
        row_starts = _run_starts(per_pair.rows)
        newest = _per_row(np.minimum.reduceat, per_pair.age, row_starts, present, np.float32(np.nan))
        oldest = _per_row(np.maximum.reduceat, per_pair.first, row_starts, present, np.float32(np.nan))
        # The customer's order days: the days on which they bought anything.
        order_days = _distinct_per_group(rows, day, shape[0])
        del day
        self.customer_orders = np.log1p(order_days).astype(np.float32)
        # Days since the customer's last order relative to their usual gap between orders (1 = due now).
        span = oldest - newest
        usual_gap = np.nan_to_num(span, nan=0.0) / np.maximum(order_days - 1, 1)
        since = np.nan_to_num(newest, nan=0.0)
        self.customer_due = np.where(
            order_days > 1, np.exp(-np.abs(np.log((since + 1.0) / (usual_gap + 1.0)))), 0.0
        ).astype(np.float32)
        # The windows below work on each line's (row, column) codes, never on the id strings: deduplicating Arrow
        # strings cost a third of a second per build at 17,000 customers, and a build runs once per window.
        del columns
        self.popularity = self._buyers(
            pair_codes, timestamps, self.now - pd.Timedelta(days=blend.popularity_days), self.now
        )
        # Sold in the last two weeks at all? (Products the shop stopped selling drop out here first.)
        self.popularity_now = self._buyers(pair_codes, timestamps, self.now - pd.Timedelta(days=14), self.now)
        # What sold, and what this customer bought, in the coming window one year earlier (seasonal shops).
        season_start = self.now - pd.Timedelta(days=365)
        season_end = season_start + pd.Timedelta(days=blend.holdout_days)
        self.season_popularity = self._buyers(pair_codes, timestamps, season_start, season_end)
        before_season = self._buyers(
            pair_codes, timestamps, season_start - pd.Timedelta(days=blend.holdout_days), season_start
        )
        self.season_growth = self.season_popularity - before_season
        self.popularity_trend = self.popularity_now - self.popularity
        season_pairs = np.unique(pair_codes[(timestamps >= season_start) & (timestamps < season_end)])
        del pair_codes
        self.last_season = sp.csr_matrix(
            (np.ones(len(season_pairs), dtype=np.float32), (season_pairs // shape[1], season_pairs % shape[1])),
            shape=shape,
        )
        last_seen = _per_row(
            np.maximum.reduceat, timestamps[by_pair].view(np.int64), _run_starts(rows[by_pair]), present, _NAT
        ).view(timestamps.dtype)
        days = (self.now.to_datetime64() - last_seen) / np.timedelta64(1, "D")
        self.customer_recency = np.exp(-days / blend.half_life_days).astype(np.float32)
        return per_pair, newest, order_days

    def rows_of(self, customer_codes: np.ndarray) -> np.ndarray:
        """The row of each of these customers' codes (every one among the lines')."""
        return np.searchsorted(self.customer_codes, customer_codes)

    def _buyers(self, pair_codes: np.ndarray, timestamps: np.ndarray, start: pd.Timestamp, end: pd.Timestamp):
        """log(1 + number of customers) who bought each product in [start, end), from each line's
        ``row * n_products + column`` code and time."""
        in_window = (timestamps >= start) & (timestamps < end)
        buyers = np.bincount(
            np.unique(pair_codes[in_window]) % len(self.product_index), minlength=len(self.product_index)
        )
        return np.log1p(buyers).astype(np.float32)

    def _component(self, name: str, rows: np.ndarray) -> np.ndarray:
        """A component's scores for `rows` on the product index, each row scaled by its largest magnitude so that
        weights transfer between customers with long and short histories; 0 where the component has no score.

        The common case (every customer and product known to the component, in the same order) works on the
        component's own fresh array in place: at 100,000 customers x 10,000 products each extra pass over the
        scores is seconds."""
        if name not in self.components:
            return np.zeros((len(rows), len(self.product_index)), dtype=np.float32)
        component_rows, column_map = self.maps[name]
        mapped = component_rows[rows]
        known = np.flatnonzero(mapped >= 0)
        if not len(known):
            return np.zeros((len(rows), len(self.product_index)), dtype=np.float32)
        keep = column_map >= 0
        same_columns = np.array_equal(column_map, np.arange(len(self.product_index)))
        raw = np.asarray(self.components[name]._score(mapped[known]), dtype=np.float32)
        if not same_columns:
            raw = raw[:, keep]  # a copy
        elif not (raw.flags.owndata and raw.flags.writeable):
            raw = raw.copy()  # not a fresh array of the component's: leave it as it is
        largest = np.maximum(raw.max(axis=1), -raw.min(axis=1))
        if not np.isfinite(largest).all():  # a row's max and min are finite only if all of it is (NaN propagates)
            np.copyto(raw, 0.0, where=~np.isfinite(raw))
            largest = np.maximum(raw.max(axis=1), -raw.min(axis=1))
        raw /= np.maximum(largest, 1e-9)[:, None]
        if same_columns and len(known) == len(rows):
            return raw
        scores = np.zeros((len(rows), len(self.product_index)), dtype=np.float32)
        if same_columns:
            scores[known] = raw
        else:
            scores[np.ix_(known, column_map[keep])] = raw
        return scores

    def parts(self, rows: np.ndarray) -> Iterator[tuple[str, str, np.ndarray | sp.csr_matrix]]:
        """(name, kind, values) for each of FEATURES, in order, in their compact form: ``dense`` (len(rows) x
        n_products), ``column`` (one value per product), ``row`` (one value per customer) or ``pair`` (sparse,
        non-zero only where the customer bought the product, so zero wherever ``seen`` is False)."""

        def pair(matrix: sp.csr_matrix, log: bool = False) -> sp.csr_matrix:
            part = matrix[rows]
            if log:
                part.data = np.log1p(part.data)
            return part

        yield "collaborative", "dense", self._component("collaborative", rows)
        yield "neighbours", "dense", self._component("neighbours", rows)
        yield "content", "dense", self._component("content", rows)
        yield "popularity", "column", self.popularity
        yield "bought_count", "pair", pair(self.bought, log=True)
        yield "bought_recency", "pair", pair(self.freshness)
        yield "bought_recently", "pair", pair(self.freshness_short)
        yield "repeat_rate", "column", self.repeat_rate
        yield "bought_decayed", "pair", pair(self.decayed, log=True)
        yield "bought_share", "pair", pair(self.decayed_share)
        yield "customer_breadth", "row", self.breadth[rows]
        yield "customer_recency", "row", self.customer_recency[rows]
        yield "season_popularity", "column", self.season_popularity
        yield "bought_last_season", "pair", pair(self.last_season)
        yield "popularity_now", "column", self.popularity_now
        yield "season_growth", "column", self.season_growth
        yield "due", "pair", pair(self.due)
        yield "in_last_order", "pair", pair(self.in_last_order)
        yield "basket_share", "pair", pair(self.basket_share)
        yield "customer_orders", "row", self.customer_orders[rows]
        yield "customer_due", "row", self.customer_due[rows]
        yield "popularity_trend", "column", self.popularity_trend
        yield "due_lateness", "pair", pair(self.due_lateness)
        yield "product_due", "pair", pair(self.product_due)
        yield "customer_basket", "pair", pair(self.customer_basket)
        yield "first_bought", "pair", pair(self.first_bought)

    @staticmethod
    def at(
        kind: str, values, row_positions: np.ndarray, column_positions: np.ndarray, unseen: bool = False
    ) -> np.ndarray:
        """A part's values at the given (row, product) positions, without densifying sparse or broadcast parts.

        A ``pair`` part is read without a lookup where it can be: at positions none of whose products the customer
        interacted with (``unseen``: the blend's new candidates), where it is 0, and at exactly the pairs it holds,
        in its order (``seen_positions``), where its values are its data. Looked up one by one, the blend's training
        windows and its scoring spent more time picking them than building them."""
        if kind == "dense":
            return values[row_positions, column_positions]
        if kind == "column":
            return values[column_positions]
        if kind == "row":
            return values[row_positions]
        if unseen or not len(row_positions):  # scipy answers an empty pick with a sparse matrix, not an empty array
            return np.zeros(len(row_positions), dtype=np.float32)
        if _holds_exactly(values, row_positions, column_positions):
            return values.data.astype(np.float32)
        return np.asarray(values[row_positions, column_positions], dtype=np.float32).ravel()

    def seen(self, rows: np.ndarray) -> np.ndarray:
        return self.bought[rows].toarray() > 0

    def seen_positions(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``np.nonzero(self.seen(rows))`` without the dense matrix: (row position, product) of each bought pair,
        row by row, products in order."""
        bought = self.bought[rows]
        bought.sort_indices()
        positions = np.repeat(np.arange(len(rows)), np.diff(bought.indptr))
        kept = bought.data > 0
        return positions[kept], bought.indices[kept].astype(np.intp)


def _holds_exactly(matrix: sp.csr_matrix, row_positions: np.ndarray, column_positions: np.ndarray) -> bool:
    """Whether ``matrix`` stores one entry at each of the (row, column) positions, which are in row-major order and
    distinct, and none elsewhere: its data are then its values there, in their order."""
    if matrix.nnz != len(row_positions) or not np.array_equal(matrix.indices, column_positions):
        return False
    if not np.array_equal(np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)), row_positions):
        return False
    cells = row_positions.astype(np.int64) * matrix.shape[1] + column_positions
    return bool((np.diff(cells) > 0).all())


_NS_PER_DAY = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min  # NaT's integer


class _Pairs(NamedTuple):
    """Per (customer row, product column) pair of a slice's lines, sorted by row then column: the age (days before
    the newest line) of its newest and first line, its number of distinct days and its decayed count of lines."""

    rows: np.ndarray
    columns: np.ndarray
    age: np.ndarray
    first: np.ndarray
    days: np.ndarray
    decayed: np.ndarray


def _run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Where each run of equal neighbours of ``sorted_keys`` starts."""
    if not len(sorted_keys):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))


def _compensated_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sum of each run of ``values`` (runs starting at ``starts``), in ``values``' dtype and order, compensated
    (Kahan) as pandas' grouped sum is: the same figures to the bit. Vectorised over the runs, one step per position
    within a run, the longest runs first so that the ones still summing are a prefix."""
    counts = np.diff(starts, append=len(values))
    sums = np.zeros(len(starts), dtype=values.dtype)
    compensation = np.zeros(len(starts), dtype=values.dtype)
    longest_first = np.argsort(-counts, kind="stable")
    descending = counts[longest_first]
    for position in range(int(descending[0]) if len(descending) else 0):
        runs = longest_first[: np.searchsorted(-descending, -position, side="left")]
        y = values[starts[runs] + position] - compensation[runs]
        before = sums[runs]
        t = before + y
        fresh = (t - before) - y
        fresh[fresh != fresh] = 0  # an infinite value: NaN compensation would turn the sum into NaN
        compensation[runs] = fresh
        sums[runs] = t
    return sums


def _distinct_per_group(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group 0 .. n_groups - 1, how many distinct ``values`` its elements hold (0 for a group with none)."""
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    new = np.ones(len(groups), dtype=bool)
    new[1:] = (groups[1:] != groups[:-1]) | (values[1:] != values[:-1])
    return np.bincount(groups[new], minlength=n_groups)


def _per_row(reduce, values: np.ndarray, starts: np.ndarray, present: np.ndarray, missing) -> np.ndarray:
    """``reduce`` (a ufunc's ``reduceat``) of each run of ``values`` starting at ``starts``, one run per row that
    ``present`` marks, in row order; ``missing`` for the other rows."""
    result = np.full(len(present), missing, dtype=values.dtype)
    if len(starts):
        result[present] = reduce(values, starts)
    return result


def _medians(keys: np.ndarray, values: np.ndarray, n_keys: int, fill: float) -> np.ndarray:
    """The median of ``values`` per key 0 .. n_keys - 1 (``fill`` for a key with none), as pandas' grouped median
    computes it: the middle value, or the mean of the two middle ones as (upper + lower) / 2."""
    result = np.full(n_keys, fill, dtype=np.float64)
    if not len(keys):
        return result
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    starts = _run_starts(keys)
    counts = np.diff(starts, append=len(keys))
    lower, upper = values[starts + (counts - 1) // 2], values[starts + counts // 2]
    result[keys[starts]] = np.where(counts % 2 == 1, upper, (upper + lower) / 2)
    return result
