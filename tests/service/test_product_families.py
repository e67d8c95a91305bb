"""TAILOR_CAMPAIGN_MAX_PRODUCTS_PER_FAMILY: a campaign shows at most that many products of one family (told apart by
name, `recommenders.variety`) in one email, unless the catalog's categories tell them apart: none where it has fewer
than two, and never its uncategorised products. Online Retail's emails showed three jumbo bags in three prints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from tests.service.conftest import generated_campaign, trained_shop, upload

PRINTS = ("woodland", "strawberry", "apples", "baroque", "alphabet", "toys", "paisley", "retrospot", "doily", "owls")


def _drafts(client, campaign_id: int) -> list[dict]:
    return client.get(f"/campaigns/{campaign_id}/drafts", params={"limit": 500}).json()


def _bags_shown(drafts: list[dict]) -> list[int]:
    """How many jumbo bags each of the drafts shows."""
    return [sum(pick["name"].startswith("Jumbo bag") for pick in draft["recommendations"]) for draft in drafts]


def _shop_with_bags(client, demo_files, tmp_path, monkeypatch, categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """The trained demo shop with its best sellers renamed jumbo bags in ``PRINTS`` and uncategorised, its other
    products of ``categories`` keeping theirs and the rest made uncategorised; the catalog imported."""
    trained_shop(client, demo_files)
    products = pd.read_csv(demo_files["products"], dtype=str, keep_default_na=False)
    orders = pd.read_csv(demo_files["orders"], dtype=str, keep_default_na=False)
    bought_most = orders["product_id"].value_counts().index[: len(PRINTS)]
    bags = products["sku"].isin(bought_most)
    products.loc[bags, "name"] = [f"Jumbo bag {word}" for word in PRINTS[: int(bags.sum())]]
    products.loc[~(products["category"].isin(categories) & ~bags), "category"] = ""
    path = Path(tmp_path) / "products.csv"
    products.to_csv(path, index=False)
    assert upload(client, "products", path).status_code == 200
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    return products


def test_a_campaign_shows_no_more_of_one_family_than_the_setting_allows(client, demo_files, monkeypatch, tmp_path):
    _shop_with_bags(client, demo_files, tmp_path, monkeypatch)  # no category: none tells a product from another

    shown_by_default = _bags_shown(_drafts(client, generated_campaign(client, max_customers=60)))
    monkeypatch.setenv("TAILOR_CAMPAIGN_MAX_PRODUCTS_PER_FAMILY", "1")
    shown_one_each = _bags_shown(_drafts(client, generated_campaign(client, max_customers=60)))

    assert max(shown_by_default) == 2, shown_by_default  # two of the family where the default allows two
    assert max(shown_one_each) == 1 and len(shown_one_each) == len(shown_by_default), shown_one_each


def test_a_campaign_caps_the_uncategorised_products_of_a_partly_categorised_catalog_by_family(
    client, demo_files, monkeypatch, tmp_path
):
    """A shop that categorised some of its products: its two categories switched the family cap off for the whole
    catalog, and its uncategorised products, most of them, filled an e-mail with three jumbo bags. The uncategorised
    are capped by family at the default (2); the categorised keep the category cap (2 of one)."""
    # two categories, for a few products: not the bags
    products = _shop_with_bags(client, demo_files, tmp_path, monkeypatch, categories=("Tea", "Coffee"))

    drafts = _drafts(client, generated_campaign(client, max_customers=60))  # read once: the bags and categories
    shown = _bags_shown(drafts)
    category_of = dict(zip(products["name"], products["category"], strict=True))
    per_category = [
        max(
            Counter(
                category_of[pick["name"]] for pick in draft["recommendations"] if category_of[pick["name"]]
            ).values(),
            default=0,
        )
        for draft in drafts
    ]
    assert shown and max(shown) == 2, shown
    assert max(per_category) <= 2, per_category
