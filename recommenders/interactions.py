"""Data preparation: validate an interactions frame and turn it into a weighted customer x product matrix.

Every step is an explicit option of `Preparation` (kept with the fitted model):

- event weights: a `purchase` counts 1, a `cart` 0.3 and a `view` 0.1 by default (`event_weights`);
- quantity: `"log"` multiplies each line by log(1 + quantity), `"linear"` by the quantity, `"ignore"` not at all;
- recency decay: with `half_life_days`, a line's weight halves every that many days before the newest line;
- returns and cancellations: lines of kind `return` and lines with a non-positive quantity or a negative amount
  are removed (`drop_returns`), and so are the purchases they cancel whole, matched as for the audience models
  (`tabular.returns`: same customer and product, bought at most 30 days before, the line of the return's quantity
  and amount first, for no more than was credited): a purchase cancelled the same day is no choice to learn from
  or to explain a recommendation with, one returned in part stays (the customer kept some) with the quantity kept
  (12 bought, 10 sent back: 2). Without a `kind` column, a line whose `order_id` starts with "C" is a
  return (the UCI cancellation convention), never where the kind is given: a shop's order ids may start with C.
  Kept (`drop_returns=False`), a return weighs as a purchase: it shows the customer chose the product;
- minimum support: customers with fewer than `min_customer_products` distinct products and products bought by
  fewer than `min_product_customers` customers are left out (they get popularity / are never recommended);
- confidence scaling of the aggregated matrix: `"none"`, `"log"` (log(1 + w)) or `"bm25"` (term-frequency
  saturation with `bm25_k1` and length normalisation `bm25_b`, times the product's inverse customer frequency).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommenders.errors import InvalidInteractions
from tabular import RowName, data_row, first_inexact_id, first_position, how_many_more, id_strings, parse_dates
from tabular.returns import match_returns

KINDS = ("purchase", "cart", "view", "return")
REQUIRED_COLUMNS = ("customer_id", "product_id")


@dataclass
class Preparation:
    """How raw interactions become matrix weights; see the module docstring for each option."""

    event_weights: dict[str, float] = field(default_factory=lambda: {"purchase": 1.0, "cart": 0.3, "view": 0.1})
    quantity: Literal["ignore", "linear", "log"] = "ignore"
    half_life_days: float | None = None
    drop_returns: bool = True
    min_customer_products: int = 1
    min_product_customers: int = 1
    confidence: Literal["none", "log", "bm25"] = "none"
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_value(cls, value: Preparation | dict | None) -> Preparation:
        if value is None:
            return cls()
        if isinstance(value, Preparation):
            return value
        return cls(**value)


def validate_interactions(frame: pd.DataFrame, row_name: RowName = data_row) -> pd.DataFrame:
    """Return a clean copy in the shared interactions shape, or raise naming the bad column and row.

    Rows are named by ``row_name``: "row 1" for the frame's first row by default (``tabular.file_line`` names
    a file's lines instead).
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInteractions(f"expected a pandas DataFrame of interactions, got {type(frame).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInteractions(
            f"the interactions have no {', '.join(repr(c) for c in missing)} column "
            f"(found: {', '.join(map(str, frame.columns)) or 'none'})",
            column=missing[0],
        )
    clean = frame.reset_index(drop=True).copy()
    for column in REQUIRED_COLUMNS:
        blank = clean[column].isna() | (clean[column].astype(str).str.strip() == "")
        if blank.any():
            raise InvalidInteractions(
                f"is empty; every line needs a value{how_many_more(blank)}",
                column=column,
                where=row_name(first_position(blank)),
            )
        if lost := first_inexact_id(clean[column]):
            raise InvalidInteractions(lost[1], column=column, where=row_name(lost[0]))
        clean[column] = id_strings(clean[column])
    if "timestamp" in clean.columns:
        parsed, order_problem = parse_dates(clean["timestamp"])
        if order_problem:
            raise InvalidInteractions(
                order_problem.describe(row_name), column="timestamp", where=row_name(order_problem.position),
            )  # fmt: skip
        bad = parsed.isna()
        if bad.any():
            position = first_position(bad)
            value = clean["timestamp"].iloc[position]
            raise InvalidInteractions(f"'{value}' is not a date or time", column="timestamp", where=row_name(position))
        clean["timestamp"] = parsed.astype("datetime64[ns]")
    else:
        clean["timestamp"] = pd.Timestamp("1970-01-01")
    for column, default in (("quantity", 1.0), ("amount", 0.0)):
        if column not in clean.columns:
            clean[column] = default
            continue
        numbers = pd.to_numeric(clean[column], errors="coerce")
        bad = (numbers.isna() & clean[column].notna()) | np.isinf(numbers)  # "inf" and 1e400 are no amounts
        if bad.any():
            position = first_position(bad)
            value = clean[column].iloc[position]
            raise InvalidInteractions(f"'{value}' is not a finite number", column=column, where=row_name(position))
        clean[column] = numbers.fillna(default).astype(float)
    if "kind" not in clean.columns:
        clean["kind"] = "purchase"
        if "order_id" in clean.columns:  # the UCI convention, for lines that say no kind: a "C" invoice cancels
            cancelled = clean["order_id"].astype(str).str.upper().str.startswith("C")
            clean.loc[cancelled, "kind"] = "return"
    else:
        kinds = clean["kind"].fillna("purchase").astype(str).str.strip().str.lower()
        bad = ~kinds.isin(KINDS)
        if bad.any():
            position = first_position(bad)
            value = clean["kind"].iloc[position]
            raise InvalidInteractions(
                f"'{value}' is not a known kind (use one of: {', '.join(KINDS)})", column="kind",
                where=row_name(position),
            )  # fmt: skip
        clean["kind"] = kinds
    return clean


def line_weights(interactions: pd.DataFrame, prep: Preparation) -> pd.DataFrame:
    """Filter returns/cancellations and add a `weight` column per line (event, quantity, recency)."""
    lines = drop_returned(interactions) if prep.drop_returns else interactions
    event_weights = prep.event_weights
    if not prep.drop_returns and "purchase" in event_weights:  # a return kept counts as the purchase it undid
        event_weights = {"return": event_weights["purchase"], **event_weights}
    unknown = set(lines["kind"].unique()) - set(event_weights)
    if unknown:
        raise InvalidInteractions(f"no event weight for kind(s) {sorted(unknown)}", column="kind")
    kind_codes, kinds = pd.factorize(lines["kind"])
    weight = np.array([event_weights[kind] for kind in kinds], dtype=float)[kind_codes]
    quantity = lines["quantity"].clip(lower=0).to_numpy()
    if prep.quantity == "log":
        weight = weight * np.log1p(quantity)
    elif prep.quantity == "linear":
        weight = weight * quantity
    if prep.half_life_days:
        age_days = (lines["timestamp"].max() - lines["timestamp"]).dt.total_seconds().to_numpy() / 86400.0
        weight = weight * np.power(0.5, age_days / prep.half_life_days)
    lines = lines.assign(weight=weight)
    return _kept(lines, lines["weight"] > 0)


def _kept(lines: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """``lines[keep]``, or ``lines`` itself where every line is kept: the blend prepares its already prepared lines
    again in each window, and a copy of every line per step held 2-3 copies of the shop's history at once."""
    return lines if keep.all() else lines[keep]


def drop_returned(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines less returns and cancellations (kind `return`, a non-positive quantity or a negative amount), less
    the purchases they cancel whole, and with the quantity and amount kept of those they undo in part
    (`tabular.returns.match_returns`): 12 bought and 10 sent back weigh as 2 where the quantity weighs."""
    kept = (lines["quantity"] > 0) & (lines["amount"] >= 0) & (lines["kind"] != "return")
    bought = kept & (lines["kind"] == "purchase")
    returned = ~kept & lines["kind"].isin(("purchase", "return"))
    if not bought.any() or not returned.any():  # nothing to match (the blend's prepared lines): no copy of them
        return _kept(lines, kept)
    kept_share = np.ones(len(lines))
    kept_share[bought.to_numpy()] = match_returns(lines[bought], lines[returned])[0]
    lines = lines.assign(quantity=lines["quantity"] * kept_share, amount=lines["amount"] * kept_share)
    return lines[kept & (kept_share > 0)]


def apply_min_support(lines: pd.DataFrame, prep: Preparation) -> pd.DataFrame:
    """Drop rare products, then customers with too few distinct products (one pass each, in that order)."""
    if prep.min_product_customers > 1:
        support = lines.groupby("product_id")["customer_id"].nunique()
        lines = _kept(lines, lines["product_id"].isin(support.index[support >= prep.min_product_customers]))
    if prep.min_customer_products > 1:
        support = lines.groupby("customer_id")["product_id"].nunique()
        lines = _kept(lines, lines["customer_id"].isin(support.index[support >= prep.min_customer_products]))
    return lines


class Vocabulary:
    """The id <-> index maps of a fitted model (customers are rows, products are columns)."""

    def __init__(self, customer_ids: pd.Index, product_ids: pd.Index) -> None:
        self.customers = pd.Index(customer_ids, dtype=object)
        self.products = pd.Index(product_ids, dtype=object)

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def n_products(self) -> int:
        return len(self.products)

    def customer_rows(self, customer_ids) -> np.ndarray:
        """Row of each customer id, -1 where unknown."""
        return self.customers.get_indexer(pd.Index([str(c) for c in customer_ids], dtype=object))

    def product_columns(self, product_ids) -> np.ndarray:
        """Column of each product id, -1 where unknown."""
        return self.products.get_indexer(pd.Index([str(p) for p in product_ids], dtype=object))


def positions_in(index: pd.Index, values: pd.Series) -> np.ndarray:
    """``index.get_indexer(values)`` (-1 where absent) for a long column of repeated ids: each distinct id is
    looked up once. Looking up every line converts each (Arrow) string to a Python object; on 1.6M order lines
    that took 0.3 s a column, a fifth of a blend's training time."""
    codes, distinct = pd.factorize(values)
    return np.where(codes >= 0, index.get_indexer(distinct)[codes], -1)


def build_matrix(lines: pd.DataFrame, prep: Preparation) -> tuple[sp.csr_matrix, Vocabulary]:
    """Aggregate weighted lines into a CSR customer x product matrix, then scale confidence."""
    customer_codes, customers = pd.factorize(lines["customer_id"], sort=True)
    product_codes, products = pd.factorize(lines["product_id"], sort=True)
    matrix = sp.csr_matrix(
        (lines["weight"].to_numpy(np.float32), (customer_codes, product_codes)),
        shape=(len(customers), len(products)),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return scale_confidence(matrix, prep), Vocabulary(pd.Index(customers), pd.Index(products))


def scale_confidence(matrix: sp.csr_matrix, prep: Preparation) -> sp.csr_matrix:
    """Apply `prep.confidence` to the non-zero weights of a customer x product matrix."""
    matrix = matrix.tocsr(copy=True)
    if prep.confidence == "log":
        matrix.data = np.log1p(matrix.data).astype(np.float32)
    elif prep.confidence == "bm25":
        n_customers = matrix.shape[0]
        customer_length = np.asarray(matrix.sum(axis=1)).ravel()
        average_length = customer_length.mean() if n_customers else 1.0
        product_customers = np.bincount(matrix.indices, minlength=matrix.shape[1])
        idf = np.log1p(n_customers / np.maximum(product_customers, 1)).astype(np.float32)
        rows = np.repeat(np.arange(n_customers), np.diff(matrix.indptr))
        norm = prep.bm25_k1 * (1.0 - prep.bm25_b + prep.bm25_b * customer_length[rows] / average_length)
        tf = matrix.data * (prep.bm25_k1 + 1.0) / (matrix.data + norm)
        matrix.data = (tf * idf[matrix.indices]).astype(np.float32)
    elif prep.confidence != "none":
        raise InvalidInteractions(f"unknown confidence scaling '{prep.confidence}' (use none, log or bm25)")
    return matrix


def prepare(interactions: pd.DataFrame, prep: Preparation) -> tuple[sp.csr_matrix, Vocabulary, pd.DataFrame]:
    """Validate, weight, filter and aggregate: returns the matrix, its vocabulary and the kept lines."""
    return prepare_valid(validate_interactions(interactions), prep)


def prepare_valid(lines: pd.DataFrame, prep: Preparation) -> tuple[sp.csr_matrix, Vocabulary, pd.DataFrame]:
    """`prepare` for lines that already passed `validate_interactions` (a model's prepared lines, or a slice of
    them): validating them again would give the same frame, and costs a third of the preparation."""
    lines = apply_min_support(line_weights(lines, prep), prep)
    if lines.empty:
        raise InvalidInteractions("no usable interactions are left after removing returns and rare items")
    matrix, vocabulary = build_matrix(lines, prep)
    return matrix, vocabulary, lines


def purchase_matrix(lines: pd.DataFrame, vocabulary: Vocabulary) -> sp.csr_matrix:
    """Customer x product, true where the prepared `lines` hold a purchase (not a view or a cart). The positions are
    looked up on every line and those of purchases kept: the purchases as a frame were a copy of every column of
    nearly every line (with their string ids, in `Recommender.fit`)."""
    bought = (lines["kind"] == "purchase").to_numpy()
    rows = positions_in(vocabulary.customers, lines["customer_id"])[bought]
    columns = positions_in(vocabulary.products, lines["product_id"])[bought]
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=bool), (rows, columns)), shape=(vocabulary.n_customers, vocabulary.n_products)
    )
    matrix.sum_duplicates()
    return matrix


class CodedLines:
    """Prepared lines kept small for the many passes the blend makes over them: the columns a preparation reads
    (`CODED_COLUMNS`), the customer and product ids as int32 codes, their positions in ``customers`` and
    ``products``, and the kind as a category. With the ids as strings, each of the blend's copies (one per time
    window, two windows at a time) held ~110 bytes an Online Retail line; coded, 33.

    The ids must be in sorted order (those of a prepared ``Vocabulary``; products no line names may follow), so that
    the codes sort as the ids do: every sort, grouping and factorisation of the codes gives the order the ids would.
    """

    def __init__(self, frame: pd.DataFrame, customers: pd.Index, products: pd.Index) -> None:
        self.frame, self.customers, self.products = frame, customers, products

    @classmethod
    def of(cls, lines: pd.DataFrame, vocabulary: Vocabulary) -> CodedLines:
        """The prepared ``lines`` coded on ``vocabulary``, which names every id they hold."""
        coded = {
            "customer_id": positions_in(vocabulary.customers, lines["customer_id"]).astype(np.int32),
            "product_id": positions_in(vocabulary.products, lines["product_id"]).astype(np.int32),
            **{column: lines[column] for column in CODED_COLUMNS[2:]},
        }
        coded["kind"] = coded["kind"].astype("category")
        return cls(pd.DataFrame(coded), vocabulary.customers, vocabulary.products)

    def __len__(self) -> int:
        return len(self.frame)

    def where(self, keep: np.ndarray | pd.Series) -> CodedLines:
        """The lines that ``keep`` marks, on the same codes."""
        return CodedLines(self.frame[keep], self.customers, self.products)

    def named(self, vocabulary: Vocabulary) -> Vocabulary:
        """A vocabulary of codes (prepared from these lines) with the ids they stand for."""
        return Vocabulary(
            self.customers[np.asarray(vocabulary.customers, dtype=np.intp)],
            self.products[np.asarray(vocabulary.products, dtype=np.intp)],
        )


CODED_COLUMNS = ("customer_id", "product_id", "timestamp", "quantity", "amount", "kind")


class SharedLines:
    """Coded lines (`CodedLines`) that several models are fitted on (the blend's signals): each distinct `Preparation`
    among them is applied once and its result handed to every model that asks for it: the matrix, its vocabulary of
    ids, the prepared lines (still coded) and the purchase matrix. Models only read it."""

    def __init__(self, coded: CodedLines) -> None:
        self.coded = coded
        self._prepared: list[tuple[Preparation, tuple[sp.csr_matrix, Vocabulary, pd.DataFrame, sp.csr_matrix]]] = []

    def prepared(self, prep: Preparation) -> tuple[sp.csr_matrix, Vocabulary, pd.DataFrame, sp.csr_matrix]:
        for done, result in self._prepared:
            if done == prep:
                return result
        matrix, codes, lines = prepare_valid(self.coded.frame, prep)
        result = (matrix, self.coded.named(codes), lines, purchase_matrix(lines, codes))
        self._prepared.append((prep, result))
        return result
