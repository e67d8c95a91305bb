"""The demo shop's catalogue: ten categories of a home, tea and kitchen shop, with names, prices and stock.

Four categories are consumables that customers re-order on a cycle (``reorder_days``), which is what the
replenishment campaign and the repeat-purchase recommender look for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CURRENCY = "EUR"
URL_TEMPLATE = "https://shop.example/p/{sku}"
OUT_OF_STOCK_SHARE = 0.06


@dataclass(frozen=True)
class Category:
    name: str
    prefix: str
    share: float  # share of the catalogue
    reorder_days: int | None  # typical days between re-orders of one product; None for durables
    items: tuple[tuple[str, float], ...]  # (item, price of its plain variant in EUR)
    variants: tuple[tuple[str, float], ...]  # (variant, price multiplier)
    blurb: str  # a description template with {item} and {variant}


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Coffee",
        "COF",
        0.13,
        28,
        (
            ("Ethiopia Yirgacheffe", 11.5),
            ("Colombia Huila", 9.9),
            ("Brazil Cerrado", 8.5),
            ("Guatemala Antigua", 10.5),
            ("Kenya AA", 12.9),
            ("Sumatra Mandheling", 10.9),
            ("House Espresso Blend", 8.9),
            ("Decaf Swiss Water", 10.5),
            ("Costa Rica Tarrazú", 11.0),
            ("Breakfast Blend", 7.9),
        ),
        (
            ("Light Roast 250 g", 1.0),
            ("Medium Roast 250 g", 1.0),
            ("Ground 250 g", 1.0),
            ("Dark Roast 500 g", 1.85),
            ("Whole Beans 1 kg", 3.4),
        ),
        "{item} coffee, {variant}, roasted in small batches and sealed within a day of roasting.",
    ),
    Category(
        "Tea",
        "TEA",
        0.14,
        35,
        (
            ("Assam Breakfast", 6.5),
            ("Darjeeling First Flush", 11.9),
            ("Earl Grey", 6.9),
            ("Sencha", 8.5),
            ("Jasmine Pearls", 12.5),
            ("Rooibos Vanilla", 5.9),
            ("Chamomile Blossom", 5.5),
            ("Oolong Milk", 10.9),
            ("Genmaicha", 7.5),
            ("Peppermint Leaf", 4.9),
            ("Lapsang Souchong", 8.9),
            ("Chai Spice", 6.9),
        ),
        (("Loose Leaf 100 g", 1.0), ("20 Pyramid Bags", 1.1), ("Tin 125 g", 1.5), ("Loose Leaf 250 g", 2.2)),
        "{item} tea ({variant}) from a single garden, packed in a resealable pouch.",
    ),
    Category(
        "Filters & Refills",
        "FIL",
        0.07,
        60,
        (
            ("Paper Coffee Filters", 3.9),
            ("Water Filter Cartridge", 8.9),
            ("Descaling Tablets", 6.5),
            ("Tea Filter Bags", 3.5),
            ("Espresso Machine Cleaner", 7.9),
            ("Cold Brew Filter Socks", 5.9),
        ),
        (("Single Pack", 1.0), ("Twin Pack", 1.8), ("3-Pack", 2.5), ("6-Pack", 4.4), ("Starter Set", 2.0)),
        "{item}, {variant}: the everyday refill that keeps your brewing tasting clean.",
    ),
    Category(
        "Pantry",
        "PAN",
        0.09,
        45,
        (
            ("Wildflower Honey", 7.5),
            ("Oat Biscuits", 3.9),
            ("Dark Chocolate 70%", 3.5),
            ("Cane Sugar Cubes", 3.2),
            ("Almond Cantuccini", 4.9),
            ("Ginger Syrup", 6.9),
            ("Lemon Curd", 5.5),
        ),
        (("250 g", 1.0), ("400 g", 1.5), ("Gift Jar", 1.9), ("Family Pack", 2.4)),
        "{item} ({variant}), made by a small producer and lovely with a cup of tea or coffee.",
    ),
    Category(
        "Brewing Gear",
        "BRW",
        0.11,
        None,
        (
            ("Glass Teapot", 29.0),
            ("French Press", 35.0),
            ("Pour-Over Dripper", 22.0),
            ("Burr Coffee Grinder", 89.0),
            ("Gooseneck Kettle", 59.0),
            ("Moka Pot", 32.0),
            ("Tea Infuser", 12.9),
            ("Cold Brew Jar", 24.0),
        ),
        (("Classic", 1.0), ("Matte Black", 1.15), ("Brushed Steel", 1.25), ("Copper", 1.6), ("Travel Size", 0.8)),
        "{item}, {variant}: built to last, easy to clean and a pleasure to use every morning.",
    ),
    Category(
        "Tableware",
        "TAB",
        0.13,
        None,
        (
            ("Stoneware Mug", 14.0),
            ("Porcelain Cup & Saucer", 18.0),
            ("Dinner Plate", 16.0),
            ("Serving Bowl", 29.0),
            ("Espresso Cup Set", 32.0),
            ("Milk Jug", 15.0),
            ("Cake Stand", 45.0),
        ),
        (("Sage", 1.0), ("Oat", 1.0), ("Ink Blue", 1.05), ("Terracotta", 1.05), ("Snow White", 0.95)),
        "{item} in {variant}, glazed by hand; dishwasher and microwave safe.",
    ),
    Category(
        "Cookware",
        "CKW",
        0.09,
        None,
        (
            ("Cast Iron Skillet", 59.0),
            ("Dutch Oven", 129.0),
            ("Saucepan", 45.0),
            ("Stockpot", 69.0),
            ("Carbon Steel Wok", 49.0),
            ("Baking Dish", 35.0),
        ),
        (
            ("20 cm", 0.85),
            ("24 cm", 1.0),
            ("28 cm", 1.2),
            ("Enamelled Red, 24 cm", 1.35),
            ("Enamelled Cream, 24 cm", 1.35),
        ),
        "{item}, {variant}, for every hob including induction.",
    ),
    Category(
        "Kitchen Tools",
        "KIT",
        0.09,
        None,
        (
            ("Chef's Knife", 69.0),
            ("Olive Wood Board", 34.0),
            ("Silicone Spatula", 8.9),
            ("Digital Kitchen Scale", 24.0),
            ("Balloon Whisk", 11.9),
            ("Pepper Mill", 29.0),
            ("Milk Frother", 19.0),
        ),
        (("Classic", 1.0), ("Compact", 0.8), ("Large", 1.3), ("Professional", 1.7)),
        "{item} ({variant}): a well-made tool you will reach for every day.",
    ),
    Category(
        "Linens",
        "LIN",
        0.08,
        None,
        (
            ("Linen Tea Towel", 12.0),
            ("Apron", 32.0),
            ("Tablecloth", 59.0),
            ("Napkin Set of 4", 29.0),
            ("Oven Glove", 14.0),
            ("Table Runner", 26.0),
        ),
        (("Natural", 1.0), ("Charcoal", 1.0), ("Striped", 1.05), ("Rust", 1.05), ("Olive", 1.05)),
        "{item} in {variant} stonewashed linen that gets softer with every wash.",
    ),
    Category(
        "Candles & Home",
        "CAN",
        0.07,
        90,
        (
            ("Soy Candle", 19.0),
            ("Reed Diffuser", 24.0),
            ("Beeswax Tealights", 9.9),
            ("Incense Sticks", 7.5),
            ("Room Spray", 14.0),
        ),
        (
            ("Fig & Cedar", 1.0),
            ("Black Tea & Bergamot", 1.0),
            ("Fresh Linen", 1.0),
            ("Amber", 1.05),
            ("Orange Blossom", 1.05),
        ),
        "{item}, {variant}: a calm scent for slow mornings and long evenings.",
    ),
)
CATEGORY_NAMES = tuple(category.name for category in CATEGORIES)
CONSUMABLE_CATEGORIES = tuple(category.name for category in CATEGORIES if category.reorder_days)


def _round_price(value: float) -> float:
    """Shop-like prices: x.50 or x.90 under 20, whole euros minus 1 cent above."""
    if value < 20:
        return float(np.floor(value)) + (0.5 if value % 1 < 0.5 else 0.9)
    return float(np.round(value)) - 0.01


def generate_products(rng: np.random.Generator, n_products: int) -> pd.DataFrame:
    """``n_products`` products spread over the categories by their share, with unique names and SKUs.

    Besides the ARCHITECTURE columns the frame carries ``popularity`` (a Zipf-like weight within the
    category) and ``style`` (a small latent vector used to give customers product-level tastes); the store
    drops these before handing the frame out.
    """
    shares = np.array([category.share for category in CATEGORIES])
    counts = np.floor(shares / shares.sum() * n_products).astype(int)
    counts = np.maximum(counts, 1)
    for index in np.argsort(-shares)[: max(0, n_products - counts.sum())]:
        counts[index] += 1
    rows = []
    for category, count in zip(CATEGORIES, counts, strict=True):
        combos = [(item, variant) for item in category.items for variant in category.variants]
        chosen = rng.permutation(len(combos))
        ranks = rng.permutation(int(count))
        for number in range(int(count)):
            (item, base_price), (variant, multiplier) = combos[chosen[number % len(combos)]]
            edition = number // len(combos)
            name = f"{item} {variant}" + (f" No. {edition + 1}" if edition else "")
            sku = f"{category.prefix}-{number + 1:03d}"
            rows.append(
                {
                    "product_id": sku,
                    "name": name,
                    "category": category.name,
                    "price": _round_price(base_price * multiplier * float(np.exp(rng.normal(0, 0.06)))),
                    "currency": CURRENCY,
                    "description": category.blurb.format(item=item, variant=variant.lower()),
                    "url": URL_TEMPLATE.format(sku=sku),
                    "in_stock": bool(rng.random() >= OUT_OF_STOCK_SHARE),
                    "popularity": float(1.0 / (1 + ranks[number]) ** 0.8) + 0.02,
                }
            )
    products = pd.DataFrame(rows)
    products["style"] = list(rng.normal(size=(len(products), 3)))
    return products
