"""Product families told apart by name (`recommenders.variety`), and the rule that keeps an e-mail's picks varied
where the catalog's categories cannot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommenders.registry import create
from recommenders.rules import Rules, recommend_with_rules
from recommenders.variety import NameFamilies

# An Online Retail-like catalog: families of several prints, and products of no family.
NAMES = {
    "jumbo_red": "JUMBO BAG RED RETROSPOT",
    "jumbo_pink": "JUMBO BAG PINK POLKADOT",
    "jumbo_doily": "VINTAGE DOILY JUMBO BAG RED",
    "warmer_owl": "HAND WARMER OWL DESIGN",
    "warmer_dog": "HAND WARMER SCOTTY DOG DESIGN",
    "wicker_small": "HEART OF WICKER SMALL",
    "wicker_large": "LARGE WHITE HEART OF WICKER",
    "lunch_cars": "LUNCH BAG CARS BLUE",
    "teacup": "PINK REGENCY TEACUP AND SAUCER",
    "clock": "ALARM CLOCK BAKELIKE GREEN",
    "postage": "POSTAGE",
}


def catalog(category: object = "") -> pd.DataFrame:
    return pd.DataFrame(
        {"product_id": list(NAMES), "name": list(NAMES.values()), "category": category, "price": 1.0, "in_stock": True}
    )


def families_of(candidates: list[str], customers: list[str] | None = None) -> list[str]:
    """Each candidate's family leader, by product id."""
    owners = np.array(customers or ["c"] * len(candidates))
    leaders = NameFamilies(catalog().set_index("product_id")["name"]).leaders(owners, np.array(candidates))
    return [candidates[row] for row in leaders]


def test_names_alike_in_any_word_order_are_one_family_led_by_the_best():
    """Online Retail's e-mails showed three jumbo bags, two hearts of wicker: the prints differ, the words move."""
    ranked = ["jumbo_red", "wicker_small", "jumbo_pink", "lunch_cars", "wicker_large", "jumbo_doily", "warmer_owl"]
    assert families_of([*ranked, "warmer_dog"]) == [
        "jumbo_red", "wicker_small", "jumbo_red", "lunch_cars", "wicker_small", "jumbo_red", "warmer_owl",
        "warmer_owl",
    ]  # fmt: skip


def test_words_every_other_name_holds_make_no_family_in_any_language():
    """ "de" and the colours: no stop-word list of one language, the catalog's own word frequencies weigh them
    down, so a red teacup and a red bowl are two families and the teacup in red and in blue one."""
    items = ["Tasse de thé", "Bol de soupe", "Sac de plage", "Boîte de rangement", "Pot de fleurs", "Coussin de sol"]
    items += ["Nappe de table", "Housse de couette", "Verre de vin", "Plateau de service"]
    names = pd.Series(
        {f"{item} {colour}": f"{item} {colour}" for item in items for colour in ("rouge", "bleu", "vert")}
    )
    ranked = [
        "Tasse de thé rouge",
        "Bol de soupe rouge",
        "Tasse de thé bleu",
        "Sac de plage rouge",
        "Pot de fleurs vert",
    ]
    leaders = NameFamilies(names).leaders(np.array(["c"] * len(ranked)), np.array(ranked))
    assert [ranked[row] for row in leaders] == [ranked[0], ranked[1], ranked[0], ranked[3], ranked[4]]


def test_only_a_customer_s_own_candidates_are_one_family_and_unknown_products_are_their_own():
    assert families_of(["jumbo_red", "jumbo_pink", "unknown", "unknown"], ["a", "b", "b", "b"]) == [
        "jumbo_red", "jumbo_pink", "unknown", "unknown",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def bags_first():
    """A popularity model ranking the jumbo bags first, then the hand warmers, then the rest."""
    order = ["jumbo_red", "jumbo_pink", "jumbo_doily", "warmer_owl", "warmer_dog", "lunch_cars", "clock", "teacup"]
    rows = [
        {"customer_id": f"fan{j}", "product_id": product, "timestamp": pd.Timestamp("2024-01-01"), "quantity": 1.0}
        for i, product in enumerate(order)
        for j in range(2 * (len(order) - i))
    ]
    return create("popularity").fit(pd.DataFrame(rows), catalog())


def lists(recs: pd.DataFrame) -> dict[str, list[str]]:
    return recs.groupby("customer_id", sort=False)["product_id"].apply(list).to_dict()


@pytest.mark.parametrize("share", [None, 0.5])
def test_max_per_family_keeps_an_uncategorised_shop_s_email_varied(bags_first, share):
    """Online Retail has no categories: an e-mail showed three jumbo bags, and `max_per_category` had nothing to
    count. One a family, each pick is the best of the next family; with the exposure cap too."""
    customers = ["new0", "new1"]
    plain = recommend_with_rules(bags_first, customers, catalog(), k=3, rules=Rules(max_share_per_product=share))
    assert lists(plain)["new0"] == ["jumbo_red", "jumbo_pink", "jumbo_doily"] or share
    varied = recommend_with_rules(
        bags_first, customers, catalog(), k=3, rules=Rules(max_per_family=1, max_share_per_product=share)
    )
    picks = lists(varied)
    assert all(len(products) == 3 for products in picks.values())
    if share is None:
        assert picks["new0"] == ["jumbo_red", "warmer_owl", "lunch_cars"]
    for products in picks.values():
        leaders = families_of(products)
        assert leaders == products, products


def test_max_per_family_allows_that_many_of_a_family(bags_first):
    recs = recommend_with_rules(bags_first, ["new0"], catalog(), k=3, rules=Rules(max_per_family=2))
    assert lists(recs)["new0"] == ["jumbo_red", "jumbo_pink", "warmer_owl"]


def test_max_per_family_leaves_a_shop_whose_categories_tell_products_apart_as_it_is(bags_first):
    """Categories are the shop's own word on what is alike: where it gives two or more, the family cap stays out."""
    categorised = catalog(category=["bags", "bags", "bags", "warmers", "warmers", *["home"] * (len(NAMES) - 5)])
    plain = recommend_with_rules(bags_first, ["new0"], categorised, k=3)
    varied = recommend_with_rules(bags_first, ["new0"], categorised, k=3, rules=Rules(max_per_family=1))
    assert lists(varied) == lists(plain) == {"new0": ["jumbo_red", "jumbo_pink", "jumbo_doily"]}
    one_category = recommend_with_rules(
        bags_first, ["new0"], catalog(category="Gifts"), k=3, rules=Rules(max_per_family=1)
    )
    assert lists(one_category)["new0"] == ["jumbo_red", "warmer_owl", "lunch_cars"]


@pytest.mark.parametrize("share", [None, 1.0])
def test_a_partly_categorised_catalog_caps_a_family_unless_its_categories_tell_all_of_it_apart(bags_first, share):
    """Two categories for two products switched the family cap off for the whole catalog: its uncategorised
    products filled an e-mail with three jumbo bags. The categories tell apart the products they name, and only
    those: a family at the cap takes no more, but a categorised product where all it shows are categorised."""
    rules = Rules(max_per_family=1, max_share_per_product=share)

    def picks(categories: dict[str, str]) -> list[str]:
        shop = catalog(category=[categories.get(product, "") for product in NAMES])
        return lists(recommend_with_rules(bags_first, ["new0"], shop, k=3, rules=rules))["new0"]

    assert picks({"jumbo_red": "bags", "jumbo_pink": "gifts", "teacup": "home"}) == [
        "jumbo_red", "jumbo_pink", "warmer_owl",
    ]  # fmt: skip
    assert picks({"jumbo_pink": "bags", "teacup": "home"}) == ["jumbo_red", "warmer_owl", "lunch_cars"]


def test_a_product_listed_twice_is_told_apart_by_its_first_name():
    names = pd.Series(["JUMBO BAG RED", "HAND WARMER OWL", "JUMBO BAG PINK"], index=["a", "a", "b"])
    leaders = NameFamilies(names).leaders(np.array(["c", "c"]), np.array(["a", "b"]))
    assert leaders.tolist() == [0, 0]


def test_a_catalog_s_families_are_built_once_until_a_name_changes():
    """A campaign of 100,000 customers asks the rules 2,000 at a time: the catalog's words were read 50 times."""
    names = catalog().set_index("product_id")["name"]
    first = NameFamilies.of(names)
    assert NameFamilies.of(names.copy()) is first
    renamed = names.copy()
    renamed["clock"] = "JUMBO BAG APPLES"
    assert NameFamilies.of(renamed) is not first
