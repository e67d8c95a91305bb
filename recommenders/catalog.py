"""The product catalog that content-aware models learn from (`fit(interactions, products)`): its validation.

A catalog has one row per product: `product_id` (or `sku`, as `tailor import products` names it) and at least
one of the text columns the models read (name, category, description); any other column (price, currency,
url, in_stock ...) is kept for the business rules.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from recommenders.content import TEXT_COLUMNS
from recommenders.errors import InvalidProducts
from tabular import (
    FALSE_WORDS,
    TRUE_WORDS,
    RowName,
    data_row,
    examples,
    first_inexact_id,
    first_position,
    id_strings,
    separator_hint,
)

# A product line named as a charge or an adjustment, not merchandise: Online Retail's POSTAGE, DOTCOM POSTAGE,
# CARRIAGE, Next Day Carriage, Bank Charges, Manual, Discount, SAMPLES, AMAZON FEE, CRUK Commission, "Adjustment by
# john on ...".
FEE_NAME = re.compile(
    r"(?:dotcom |amazon |next day |express |standard )?"
    r"(?:postage|carriage|shipping|delivery(?: charges?)?|bank charges?|fees?|manual|discount|"
    r"samples?|cruk commission|commission|adjust(?:ment)?(?: bad debt| by .*)?|this is a test product\.?)",
    re.IGNORECASE,
)


def named_as_charges(names: pd.Series) -> np.ndarray:
    """Per product name, whether the whole of it is a charge's (``FEE_NAME``): `tailor import products` and
    `tailor recommend --products` warn of such products in a catalog that does not say they are no merchandise."""
    return names.astype(str).str.strip().str.fullmatch(FEE_NAME.pattern, case=False).to_numpy(dtype=bool)


def charges_warning(product_ids: list[str]) -> str:
    """The warning naming the products that look like charges and are still recommendable (a few, then "…")."""
    count = f"{len(product_ids):,} {'product is' if len(product_ids) == 1 else 'products are'}"
    return (
        f"{count} named as a charge, not merchandise ({examples(product_ids)}), and recommended like any product: "
        "give the file a `recommendable` column, false for them, so that no email offers postage."
    )


def charges_in(catalog: pd.DataFrame) -> list[str]:
    """The ids of a validated catalog's products named as charges, when it does not say which are merchandise (no
    `recommendable` column: a catalog that has it has decided)."""
    if "recommendable" in catalog.columns or "name" not in catalog.columns:
        return []
    return list(catalog["product_id"][named_as_charges(catalog["name"])])


def validate_products(frame: pd.DataFrame, row_name: RowName = data_row) -> pd.DataFrame:
    """Return a clean copy with string `product_id`s, or raise `InvalidProducts` naming the column and row.

    Row numbers in messages are 1-based data rows (the header is not counted).
    """
    if "product_id" not in frame.columns and "sku" in frame.columns:
        frame = frame.rename(columns={"sku": "product_id"})
    found = separator_hint(frame.columns) or f"found: {', '.join(map(str, frame.columns)) or 'none'}"
    if "product_id" not in frame.columns:
        raise InvalidProducts(f"the catalog has no 'product_id' (or 'sku') column ({found})", column="product_id")
    if not any(column in frame.columns for column in TEXT_COLUMNS):
        raise InvalidProducts(
            f"the catalog has none of the columns the models read: {', '.join(TEXT_COLUMNS)} ({found})"
        )
    clean = frame.reset_index(drop=True).copy()
    blank = clean["product_id"].isna() | (clean["product_id"].astype(str).str.strip() == "")
    if blank.any():
        raise InvalidProducts(
            "is empty; every product needs an id", column="product_id", where=row_name(first_position(blank))
        )
    if lost := first_inexact_id(clean["product_id"]):
        raise InvalidProducts(lost[1], column="product_id", where=row_name(lost[0]))
    clean["product_id"] = id_strings(clean["product_id"])
    repeated = clean["product_id"].duplicated()
    if repeated.any():
        position = first_position(repeated)
        value = clean["product_id"].iloc[position]
        raise InvalidProducts(
            f"'{value}' is listed twice; each product once", column="product_id", where=row_name(position)
        )
    if "price" in clean.columns:
        prices = pd.to_numeric(clean["price"], errors="coerce")
        bad = (prices.isna() & clean["price"].notna()) | (prices < 0) | np.isinf(prices)
        if bad.any():
            position = first_position(bad)
            value = clean["price"].iloc[position]
            raise InvalidProducts(
                f"'{value}' is not a price (a finite number, 0 or more)", column="price", where=row_name(position)
            )
        clean["price"] = prices
    # as `tailor import products` reads them: empty is true (a product stays recommendable; empty says nothing of
    # the stock, so the product stays, as in a catalog without the column)
    for flag in ("recommendable", "in_stock"):
        if flag in clean.columns:
            clean[flag] = _true_or_false(clean[flag], flag, row_name)
    return clean


def _true_or_false(values: pd.Series, column: str, row_name: RowName) -> pd.Series:
    """A catalog's yes/no column as booleans, an empty cell true; raises naming the first cell that is neither."""
    words = values.fillna("").astype(str).str.strip().str.lower()
    unknown = ~(words.isin(TRUE_WORDS) | words.isin(FALSE_WORDS))
    if unknown.any():
        position = first_position(unknown)
        raise InvalidProducts(
            f"'{values.iloc[position]}' is not true or false", column=column, where=row_name(position)
        )
    return words.isin(TRUE_WORDS) | (words == "")
