"""Business rules applied at serving time, each an explicit option of `Rules`.

`recommend_with_rules` asks a fitted model for a longer candidate list and then, in this order:

1. `in_stock_only`: keeps products whose catalog `in_stock` is true (the model never sees the others);
2. `exclude_bought`: drops products the customer already bought, except re-orderable ones
   (`reorderable_products`, or any product of a `reorderable_categories` category); products they only
   viewed or put in a cart stay candidates. `bought_only` does the opposite, for a re-order reminder: only
   products the customer bought, best first by the model's score (those bought since it was fitted after), and
   with `reorderable_only` only the
   re-orderable ones among them (``recommenders.reorder`` finds them in the orders);
3. `price_band`: keeps products priced within (low, high) times the customer's usual price (the median
   catalog price of what they bought); customers who bought nothing yet are not restricted;
4. `boosts`: adds weight x the catalog column scaled to 0..1 (e.g. {"margin": 0.3, "is_new": 0.2}) to a
   rank-based base score of 1 for the model's first candidate down to 0 for its last;
5. `max_per_category`: at most N products of one category, in any case, in a customer's list (a product without a
   category is in none: a catalog without categories, which the import allows, is not capped to N products a list);
   `max_per_family`: at most N products of one family, told apart by name (``recommenders.variety``: three jumbo
   bags in three prints), unless the catalog's categories tell every one of them apart. A catalog of fewer than two
   categories tells none apart; in any other, the categories tell apart the products they name, and only those
   (a shop that categorised a few products left the rest, often most, free to fill an e-mail with jumbo bags). So
   a family showing N takes no uncategorised product more, nor a categorised one once it shows an uncategorised
   one; where all it shows are categorised, a categorised product still joins, and the category cap holds it. With
   N = 2: an uncategorised jumbo bag, then a Christmas one, leave no room for a third jumbo bag of any kind; a
   Christmas jumbo bag and a lunch-bags one leave room for a third categorised one, not for an uncategorised one. A
   family's others make room for the best of the next family;
6. `max_share_per_product`: one product in at most this share of the customers' lists, so that a campaign is not
   one bestseller mailed to a third of the shop. Customers are served by the rank the product has in their list:
   all first places before any second place, and among equal places the higher score, then the earlier customer
   (the campaign's order). The category cap then counts the products chosen, so a product the cap leaves out makes
   room for the next of its category. A customer the cap would leave short of k is asked again with a longer
   candidate list, and only when the whole catalog was asked gets capped products after all: the cap thins out a
   product, never an e-mail;

and returns the top k as a recommendations frame. A product the catalog marks ``recommendable`` false (postage, a
fee: no merchandise) is never a candidate, whatever the rules. What the customer bought is what they hold bought now
when the caller knows it (``bought``: orders imported since the model was fitted included, and the purchases returned
whole left out, returned before the fit or since), else what the model saw them buy. A boosted column's first k
products are candidates for every customer, whatever the model ranks them (a new arrival it ranks 219th was out of
reach of any boost), and a customer whose list the rules leave short of k gets a list four times longer, until it is
full or the whole catalog was asked: the price band and the category cap emptied lists that products in stock could
have filled.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress
from typing import NamedTuple

import numpy as np
import pandas as pd

from recommenders.base import RECOMMENDATION_COLUMNS, Recommender
from recommenders.variety import NameFamilies


@dataclass
class Rules:
    """Serving-time rules; the defaults are what a marketing e-mail usually wants."""

    in_stock_only: bool = True
    exclude_bought: bool = True
    bought_only: bool = False
    reorderable_only: bool = False  # with bought_only: no product outside the re-orderable ones
    reorderable_products: frozenset[str] = frozenset()
    reorderable_categories: frozenset[str] = frozenset()
    price_band: tuple[float, float] | None = None
    boosts: dict[str, float] = field(default_factory=dict)
    max_per_category: int | None = None
    max_per_family: int | None = None  # unless the catalog's categories tell them all apart
    max_share_per_product: float | None = None  # of the customers asked for at once
    candidates_per_slot: int = 5


def recommend_with_rules(
    model: Recommender,
    customer_ids: Iterable[str],
    products: pd.DataFrame,
    k: int = 10,
    rules: Rules | None = None,
    bought: Mapping[str, set[str]] | None = None,
) -> pd.DataFrame:
    """Top-k recommendations per customer after the business `rules` (see the module docstring). ``bought``: what
    each customer holds bought now (one it does not name bought nothing), which the rules read instead of what the
    model saw them buy: orders since it was fitted are bought, a purchase returned whole since then is not. A
    customer whose list the rules leave short of k gets a longer candidate list, four times longer each time, until
    it is full or every allowed product was a candidate."""
    rules = rules or Rules()
    catalog = products.assign(product_id=products["product_id"].astype(str)).drop_duplicates("product_id")
    catalog = catalog.set_index("product_id")
    # postage or a fee is never a recommendation, whatever the rules
    allowed = for_sale(catalog) if rules.in_stock_only else merchandise(catalog)
    customers = [str(c) for c in customer_ids]
    reorderable = set(rules.reorderable_products)
    if rules.reorderable_categories and "category" in catalog.columns:
        reorderable |= set(catalog.index[catalog["category"].isin(rules.reorderable_categories)])
    if bought is None:
        purchases = dict(zip(customers, model.purchases_of(customers), strict=True))
    else:
        purchases = {customer: set(bought.get(customer, ())) for customer in customers}
    if rules.bought_only and rules.reorderable_only:
        allowed = allowed[allowed.isin(reorderable)]
    families = _families(catalog) if rules.max_per_family is not None else None
    n_candidates = max(k * rules.candidates_per_slot, k + 20)
    lists, todo = [], customers
    shown: Counter[str] = Counter()  # lists each product is in, across the longer candidate lists' rounds
    # at most the share (0.29 of 100 is 28.999999999999996 lists), and never no list at all
    share = rules.max_share_per_product
    cap = max(math.floor(share * len(customers) + 1e-9), 1) if share else None
    while todo:
        top = _top(
            model, todo, catalog, allowed, k, rules, n_candidates, purchases, reorderable, cap, shown, families
        )  # fmt: skip
        counts = top.groupby("customer_id").size()
        # A customer given a capped product back asks a longer list first: its products further down may be free.
        over = set(top.loc[top[_OVER_CAP], "customer_id"]) if _OVER_CAP in top.columns else set()
        short = [customer for customer in todo if counts.get(customer, 0) < k or customer in over]
        # A reminder shows only what the customer bought: a longer list brings no more of it.
        if not short or rules.bought_only or n_candidates >= len(allowed):
            lists.append(top)
            break
        is_short = top["customer_id"].isin(set(short)).to_numpy()
        lists.append(top[~is_short])
        shown.subtract(top.loc[is_short, "product_id"])  # their lists are chosen again, from longer ones
        todo, n_candidates = short, n_candidates * 4
    top = pd.concat(lists, ignore_index=True)
    order = {customer: i for i, customer in enumerate(customers)}
    top = top.sort_values(["customer_id", "rank"], key=lambda s: s.map(order) if s.name == "customer_id" else s)
    return top[RECOMMENDATION_COLUMNS].reset_index(drop=True)


def _top(
    model: Recommender, customers: list[str], catalog: pd.DataFrame, allowed: pd.Index, k: int, rules: Rules,
    n_candidates: int, purchases: dict[str, set[str]], reorderable: set[str], cap: int | None = None,
    shown: Counter[str] | None = None, families: Families | None = None,
) -> pd.DataFrame:  # fmt: skip
    """The rules applied to each customer's first ``n_candidates`` of the model, and the first k left, ranked; with
    a `cap`, no product in more than that many lists (counting those in `shown`, which counts the ones chosen here
    too) where the customer has other candidates; with `families`, no more than `Rules.max_per_family` of one
    unless the categories tell all of them apart."""
    if rules.bought_only:
        candidates = model.recommend_bought(customers, k=n_candidates, allowed_products=allowed)
        candidates = _keep(candidates, lambda customer, product: product in purchases[customer])
        candidates = _with_bought_since_fit(candidates, customers, allowed, purchases, n_candidates)
    elif rules.exclude_bought:
        candidates = _not_bought(model, customers, n_candidates, allowed, purchases, reorderable)
    else:
        candidates = model.recommend(customers, k=n_candidates, exclude_seen=False, allowed_products=allowed)
    candidates = candidates.assign(score=1.0 - (candidates.groupby("customer_id").cumcount() / n_candidates))
    if rules.boosts and not rules.bought_only:
        candidates = _with_boosted(candidates, customers, catalog, allowed, k, rules, purchases, reorderable)
    if rules.price_band is not None and "price" in catalog.columns:
        candidates = _within_price_band(candidates, purchases, catalog["price"], rules.price_band)
    for column, weight in rules.boosts.items():
        if column in catalog.columns:
            scaled = _scaled(catalog[column])
            candidates["score"] += weight * candidates["product_id"].map(scaled).fillna(0.0).to_numpy()
    candidates = candidates.sort_values(["customer_id", "score"], ascending=[True, False], kind="stable")
    per_category = rules.max_per_category if "category" in catalog.columns else None
    category = None
    if per_category is not None:
        category = candidates["product_id"].map(catalog["category"])
        uncategorised = category.isna() | (category.astype(str).str.strip() == "")
        # in any case, as the API names a category: "Tea" and "tea" (a catalog's spellings) are one, not two caps
        category = category.astype(str).str.strip().str.lower().where(~uncategorised, "")
    if per_category is not None and cap is None:
        position = candidates.assign(_category=category).groupby(["customer_id", "_category"]).cumcount()
        candidates = candidates[(category == "").to_numpy() | (position.to_numpy() < per_category)]
    per_family = rules.max_per_family if families is not None else None
    family = by_name_only = None
    if per_family is not None:
        family = families.names.leaders(candidates["customer_id"].to_numpy(), candidates["product_id"].to_numpy())
        by_name_only = candidates["product_id"].isin(families.by_name_only).to_numpy()
    if per_family is not None and cap is None:
        # A family's first N stay. Where all N are categorised (its first uncategorised one comes later, and is left
        # out), every categorised one after them stays too, the category cap holding it.
        position = pd.Series(np.arange(len(candidates))).groupby(family).cumcount().to_numpy()
        first_by_name = pd.Series(np.where(by_name_only, position, len(candidates))).groupby(family).transform("min")
        kept = np.where(first_by_name.to_numpy() < per_family, position < per_family, ~by_name_only)
        candidates = candidates[kept]
    if cap is not None:
        # The category cap counts the products chosen, not the candidates: a product the exposure cap leaves out
        # makes room for the next of its category (filtered first, two a category were all a customer could get).
        # So does the family cap.
        categories = None if category is None else category.to_numpy()
        shown = Counter() if shown is None else shown
        top = _capped(candidates, customers, k, cap, shown, categories, per_category, family, per_family, by_name_only)
    else:
        top = candidates.groupby("customer_id", sort=False).head(k).copy()
    top["rank"] = top.groupby("customer_id").cumcount() + 1
    return top


_OVER_CAP = "_over_cap"  # a row _capped gave back over the cap: its customer had no other candidate


def _with_bought_since_fit(
    candidates: pd.DataFrame, customers: list[str], allowed: pd.Index, purchases: dict[str, set[str]], n: int
) -> pd.DataFrame:
    """A reminder's candidates with what each customer bought that the model did not rank for them (bought since it
    was fitted: it knows nothing of it), after the model's, in the order of the product ids, up to ``n`` in all: a
    customer whose orders came after the training got a reminder of nothing ("your favourites", and no product)."""
    ranked = candidates.groupby("customer_id")["product_id"].agg(set).to_dict() if len(candidates) else {}
    allowed_set = set(allowed)
    extra = [
        (customer, product)
        for customer in customers
        for product in sorted((purchases[customer] & allowed_set) - ranked.get(customer, set()))
    ]
    if not extra:
        return candidates
    added = pd.DataFrame(extra, columns=["customer_id", "product_id"]).assign(score=float("-inf"))
    combined = pd.concat([candidates, added], ignore_index=True)
    return combined.groupby("customer_id", sort=False).head(n).reset_index(drop=True)


def _capped(
    candidates: pd.DataFrame, customers: list[str], k: int, cap: int, shown: Counter[str],
    categories: np.ndarray | None = None, per_category: int | None = None,
    families: np.ndarray | None = None, per_family: int | None = None, by_name_only: np.ndarray | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Each customer's first k `candidates` (sorted by customer, best first) with no product in more than `cap`
    lists, `shown` counting those already chosen, nor more than `per_category` of a category or `per_family` of a
    family (each candidate's family leader's row) unless the categories tell them all apart (none `by_name_only`);
    a customer whom the cap would leave short gets their best capped candidates back. Places are served in turn
    (see the module docstring), so a product runs out where it was ranked lowest."""
    place = candidates.groupby("customer_id", sort=False).cumcount().to_numpy()
    order = {customer: i for i, customer in enumerate(customers)}
    turn = np.lexsort((candidates["customer_id"].map(order).to_numpy(), -candidates["score"].to_numpy(), place))
    owners, products = candidates["customer_id"].to_numpy(), candidates["product_id"].to_numpy()
    taken: Counter[str] = Counter()
    chosen = np.zeros(len(candidates), dtype=bool)
    held_back: dict[str, list[int]] = {}
    in_category: Counter[tuple[str, str]] = Counter()
    in_family: Counter[int] = Counter()  # a family leader's row is its customer's alone
    shows_by_name: set[int] = set()  # families with a product chosen that only its name tells apart

    def no_room_for(row: int) -> bool:
        # a family at the cap takes a categorised product where all it shows are categorised, and no other
        full = bool(per_family) and in_family[families[row]] >= per_family
        if full and (by_name_only[row] or families[row] in shows_by_name):
            return True
        return bool(per_category and categories[row] and in_category[owners[row], categories[row]] >= per_category)

    def choose(row: int) -> None:
        chosen[row] = True
        taken[owners[row]] += 1
        shown[products[row]] += 1
        if per_category and categories[row]:
            in_category[owners[row], categories[row]] += 1
        if per_family:
            in_family[families[row]] += 1
            if by_name_only[row]:
                shows_by_name.add(families[row])

    for row in turn:
        if taken[owners[row]] >= k or no_room_for(row):
            continue
        if shown[products[row]] >= cap:
            held_back.setdefault(owners[row], []).append(row)
            continue
        choose(row)
    over = np.zeros(len(candidates), dtype=bool)
    for owner, rows in held_back.items():  # in turn order: the customer's best capped candidates first
        for row in rows:
            if taken[owner] >= k:
                break
            if not no_room_for(row):
                choose(row)
                over[row] = True
    return candidates.assign(**{_OVER_CAP: over})[chosen].copy()


class Families(NamedTuple):
    """The catalog's families by name, and the products that only their names tell apart."""

    names: NameFamilies
    by_name_only: pd.Index  # product ids


def _families(catalog: pd.DataFrame) -> Families | None:
    """The catalog's families by name, where its categories do not tell every product apart: in a catalog of fewer
    than two categories (in any case, blanks aside) no product is told apart by them, in any other the uncategorised
    ones are not. A shop's own categories are its word on what is alike, and the category cap counts them."""
    if "name" not in catalog.columns:
        return None
    by_name_only = catalog.index
    if "category" in catalog.columns:
        categories = catalog["category"].fillna("").astype(str).str.strip().str.lower()
        if categories[categories != ""].nunique() >= 2:
            by_name_only = catalog.index[(categories == "").to_numpy()]
    if not len(by_name_only):
        return None
    return Families(NameFamilies.of(catalog["name"]), by_name_only)


def _scaled(values: pd.Series) -> pd.Series:
    """A catalog column scaled to 0..1 (all 0 when it does not vary)."""
    values = pd.to_numeric(values, errors="coerce").astype(float).fillna(0.0)
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else values * 0.0


def _with_boosted(
    candidates: pd.DataFrame, customers: list[str], catalog: pd.DataFrame, allowed: pd.Index, k: int, rules: Rules,
    purchases: dict[str, set[str]], reorderable: set[str],
) -> pd.DataFrame:  # fmt: skip
    """The candidates with each boosted column's first k allowed products added for every customer (a score of 0
    before the boost): a new arrival the model ranks low was never a candidate, and no boost could lift it."""
    boosted: list[str] = []
    for column, weight in rules.boosts.items():
        if weight > 0 and column in catalog.columns:
            scaled = _scaled(catalog[column]).reindex(allowed)
            boosted += scaled[scaled > 0].sort_values(ascending=False, kind="stable").index[:k].tolist()
    if not boosted:
        return candidates
    extra = pd.DataFrame(
        [(customer, product) for customer in customers for product in dict.fromkeys(boosted)],
        columns=["customer_id", "product_id"],
    )
    if rules.exclude_bought:
        extra = _keep(extra, lambda customer, product: product not in purchases[customer] or product in reorderable)
    extra = extra.assign(score=0.0)
    combined = pd.concat([candidates, extra], ignore_index=True)
    return combined.drop_duplicates(["customer_id", "product_id"], keep="first")


def _keep(candidates: pd.DataFrame, wanted) -> pd.DataFrame:
    kept = [wanted(c, p) for c, p in zip(*_ids(candidates), strict=True)]
    return candidates[np.asarray(kept, dtype=bool)] if len(candidates) else candidates


def _ids(candidates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' customer and product ids as arrays of Python strings, to be read one by one: a text column
    read a value at a time costs three times as much (a campaign's candidates are hundreds of thousands)."""
    return candidates["customer_id"].to_numpy(dtype=object), candidates["product_id"].to_numpy(dtype=object)


def merchandise(catalog: pd.DataFrame) -> pd.Index:
    """The product ids (the catalog's index) that may be recommended: all but the lines the catalog marks
    ``recommendable`` false, which are no merchandise (postage, carriage, a fee), however often they are bought."""
    if "recommendable" not in catalog.columns:
        return catalog.index
    return catalog.index[catalog["recommendable"].fillna(True).astype(bool)]


def in_stock(catalog: pd.DataFrame) -> pd.Index:
    """The product ids (the catalog's index) in stock: every one when the catalog says nothing of stock."""
    if "in_stock" not in catalog.columns:
        return catalog.index
    return catalog.index[catalog["in_stock"].fillna(False).astype(bool)]


def for_sale(catalog: pd.DataFrame) -> pd.Index:
    """The product ids (the catalog's index) that may be shown for sale: merchandise and in stock, in the catalog's
    order. The rules, `tailor recommend --products` and a re-order reminder's products each read it here."""
    stocked = in_stock(catalog)
    return stocked[stocked.isin(merchandise(catalog))]


def _not_bought(
    model: Recommender, customers: list[str], n_candidates: int, allowed: pd.Index,
    purchases: dict[str, set[str]], reorderable: set[str],
) -> pd.DataFrame:  # fmt: skip
    """Each customer's best products, by the model's score, that they have not bought or may buy again: at least
    half of `n_candidates`, or all there are.

    The model's top over every product keeps what only the customer's own history brings (products they viewed
    but did not buy, re-orderable ones), but less what was bought it runs dry for a customer who bought much of
    it (a shop's best customers, whose emails went out empty). Those customers' lists are topped up with the
    model's top over the products they never interacted with: one more scoring, for them alone."""
    candidates = model.recommend(customers, k=n_candidates, exclude_seen=False, allowed_products=allowed)
    candidate_customers, candidate_products = _ids(candidates)
    kept = [
        product not in purchases[customer] or product in reorderable
        for customer, product in zip(candidate_customers, candidate_products, strict=True)
    ]
    remaining = Counter(compress(candidate_customers, kept))
    candidates = candidates[np.asarray(kept, dtype=bool)]
    short = [customer for customer in customers if remaining.get(customer, 0) < n_candidates // 2]
    if not short:
        return candidates
    new = model.recommend(short, k=n_candidates, exclude_seen=True, allowed_products=allowed)
    new = _keep(new, lambda customer, product: product not in purchases[customer])  # bought since the fit
    is_short = candidates["customer_id"].isin(set(short)).to_numpy()
    topped = pd.concat([candidates[is_short], new], ignore_index=True).drop_duplicates(["customer_id", "product_id"])
    topped = topped.sort_values(["customer_id", "score"], ascending=[True, False], kind="stable")
    return pd.concat([candidates[~is_short], topped.groupby("customer_id", sort=False).head(n_candidates)])


def _within_price_band(
    candidates: pd.DataFrame, purchases: dict[str, set[str]], prices: pd.Series, band: tuple[float, float]
) -> pd.DataFrame:
    prices = pd.to_numeric(prices, errors="coerce")
    usual = {
        customer: float(np.nanmedian(prices.reindex(list(bought)).to_numpy()))
        for customer, bought in purchases.items()
        if bought and prices.reindex(list(bought)).notna().any()
    }
    reference = candidates["customer_id"].map(usual)
    price = candidates["product_id"].map(prices)
    inside = reference.isna() | price.isna() | price.between(band[0] * reference, band[1] * reference)
    return candidates[inside.to_numpy()]
