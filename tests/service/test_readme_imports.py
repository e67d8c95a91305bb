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
from service.importing.columns import ATTRIBUTE_COLUMNS_MAX, ATTRIBUTE_MAX, ATTRIBUTE_NAME_MAX, SPECS

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


def test_the_readme_gives_the_length_each_imported_text_keeps():
    """A 20 MB description and a 20 MB attribute were imported whole: no text column had a length, nor said one."""
    texts = [c for spec in SPECS.values() for c in spec.columns if c.kind == "text" and not c.choices]
    free = [c for c in texts if c.name != "currency"]  # three letters, checked as such
    assert all(c.max_length for c in free), [c.name for c in free if not c.max_length]
    assert all(f"`{c.name}` {c.max_length:,}" in README for c in free)
    ids = {c.name: c.max_length for spec in SPECS.values() for c in spec.columns if c.kind == "id"}
    assert set(ids.values()) == {128}
    assert f"Ids ({', '.join(f'`{name}`' for name in ids)}) take 128 characters" in README
    attributes = f"keeps {ATTRIBUTE_MAX:,} characters, and its column's name {ATTRIBUTE_NAME_MAX:,}"
    assert f"A customer's attribute (any other column of their file) {attributes}" in README
    assert f"a customers file keeps {ATTRIBUTE_COLUMNS_MAX:,} attribute columns at most" in README
