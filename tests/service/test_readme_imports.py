"""What README.md tells a shop onboarding its own data agrees with the code: each import's key, and the discount
codes win-back emails promise (which the shop must create itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from audience.campaigns import win_back_ladder, win_back_offer
from recommenders.catalog import validate_products
from recommenders.errors import InvalidProducts
from recommenders.rules import in_stock, merchandise
from service.importing.columns import SPECS

README_LINES = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8").splitlines()
README = " ".join(" ".join(README_LINES).split())


def test_the_readme_names_each_imports_key_as_the_importer_uses_it():
    """An order with one product on two lines was refused as a repeated key; the README never said what the key is."""
    keys = {kind: f"`{', '.join(spec.key)}`" for kind, spec in SPECS.items()}
    said = (
        f"Customers are keyed by {keys['customers']}, products by {keys['products']}, sends by {keys['sends']}, "
        f"and order lines by {keys['orders']}"
    )
    assert said in README


def test_the_readme_names_the_discount_codes_win_back_emails_promise():
    """The emails promised codes the shop had never been told to create."""
    codes = {win_back_offer(rung["min_percentile"])["code"] for rung in win_back_ladder()}
    assert codes == {"COMEBACK10", "COMEBACK15", "COMEBACK20"}
    assert all(f"`{code}`" in README for code in codes) and "audience/win_back_ladder.yaml" in README


def test_the_readme_names_each_catalog_column_tailor_recommend_reads():
    """It said only name, category, description and price were read, and the other columns not checked: a catalog
    was refused for its `recommendable` column, which also keeps postage out of the recommendations."""
    catalog = pd.DataFrame({"product_id": ["p1", "POST"], "name": ["Mug", "POSTAGE"], "recommendable": ["", "false"]})
    assert merchandise(validate_products(catalog).set_index("product_id")).tolist() == ["p1"]
    with pytest.raises(InvalidProducts, match="'maybe' is not true or false"):
        validate_products(catalog.assign(recommendable=["maybe", "false"]))
    stocked = catalog.assign(in_stock=["false", ""])  # sold out: never recommended, as the service shows none
    assert in_stock(validate_products(stocked).set_index("product_id")).tolist() == ["POST"]
    said = "only `name`, `category`, `description`, `price`, `recommendable` and `in_stock` are read"
    assert said in README


def test_the_readme_s_import_columns_table_names_each_column_the_importer_reads():
    """A customers file could say when the shop collected each consent (`consent_at`), and the table did not say so:
    a column it leaves out is kept as an attribute, so a shop would never know it is read."""
    rows = {line.split("|")[1].strip(): line for line in README_LINES if line.startswith("| ")}
    for kind, spec in SPECS.items():
        unnamed = [c.name for c in spec.columns if not re.search(rf"\b{c.name}\b", rows[kind])]
        assert not unnamed, f"the README's {kind} row does not name {unnamed}"
