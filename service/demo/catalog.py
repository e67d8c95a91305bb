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
    price_range: tuple[float, float]
    reorder_days: int | None  # typical days between re-orders of one product; None for durables
    items: tuple[str, ...]
    variants: tuple[str, ...]
    blurb: str  # a description template with {item} and {variant}


CATEGORIES: tuple[Category, ...] = (
    Category(
        "Coffee",
        "COF",
        0.13,
        (7.5, 24.0),
        28,
        (
            "Ethiopia Yirgacheffe",
            "Colombia Huila",
            "Brazil Cerrado",
            "Guatemala Antigua",
            "Kenya AA",
            "Sumatra Mandheling",
            "House Espresso Blend",
            "Decaf Swiss Water",
            "Costa Rica Tarrazú",
            "Breakfast Blend",
        ),
        ("Light Roast 250 g", "Medium Roast 250 g", "Dark Roast 500 g", "Whole Beans 1 kg", "Ground 250 g"),
        "{item} coffee, {variant}, roasted in small batches and sealed within a day of roasting.",
    ),
    Category(
        "Tea",
        "TEA",
        0.14,
        (5.0, 19.0),
        35,
        (
            "Assam Breakfast",
            "Darjeeling First Flush",
            "Earl Grey",
            "Sencha",
            "Jasmine Pearls",
            "Rooibos Vanilla",
            "Chamomile Blossom",
            "Oolong Milk",
            "Genmaicha",
            "Peppermint Leaf",
            "Lapsang Souchong",
            "Chai Spice",
        ),
        ("Loose Leaf 100 g", "Loose Leaf 250 g", "20 Pyramid Bags", "Tin 125 g"),
        "{item} tea ({variant}) from a single garden, packed in a resealable pouch.",
    ),
    Category(
        "Filters & Refills",
        "FIL",
        0.07,
        (3.5, 14.0),
        60,
        (
            "Paper Coffee Filters",
            "Water Filter Cartridge",
            "Descaling Tablets",
            "Tea Filter Bags",
            "Espresso Machine Cleaner",
            "Cold Brew Filter Socks",
        ),
        ("Size 2, 100 pcs", "Size 4, 100 pcs", "3-pack", "6-pack", "Starter Set"),
        "{item}, {variant}: the everyday refill that keeps your brewing tasting clean.",
    ),
    Category(
        "Pantry",
        "PAN",
        0.09,
        (3.9, 15.0),
        45,
        (
            "Wildflower Honey",
            "Oat Biscuits",
            "Dark Chocolate 70%",
            "Cane Sugar Cubes",
            "Almond Cantuccini",
            "Ginger Syrup",
            "Lemon Curd",
        ),
        ("250 g", "400 g", "Gift Jar", "Family Pack"),
        "{item} ({variant}), made by a small producer and lovely with a cup of tea or coffee.",
    ),
    Category(
        "Brewing Gear",
        "BRW",
        0.11,
        (14.0, 160.0),
        None,
        (
            "Glass Teapot",
            "French Press",
            "Pour-Over Dripper",
            "Burr Coffee Grinder",
            "Gooseneck Kettle",
            "Moka Pot",
            "Tea Infuser",
            "Cold Brew Jar",
        ),
        ("0.6 L", "1 L", "Matte Black", "Brushed Steel", "Copper"),
        "{item} in {variant}, built to last and easy to clean.",
    ),
    Category(
        "Tableware",
        "TAB",
        0.13,
        (8.0, 65.0),
        None,
        (
            "Stoneware Mug",
            "Porcelain Cup & Saucer",
            "Dinner Plate",
            "Serving Bowl",
            "Espresso Cup Set",
            "Milk Jug",
            "Cake Stand",
        ),
        ("Sage", "Oat", "Ink Blue", "Terracotta", "Snow White"),
        "{item} in {variant}, glazed by hand; dishwasher and microwave safe.",
    ),
    Category(
        "Cookware",
        "CKW",
        0.09,
        (24.0, 220.0),
        None,
        ("Cast Iron Skillet", "Dutch Oven", "Saucepan", "Stockpot", "Carbon Steel Wok", "Baking Dish"),
        ("20 cm", "24 cm", "28 cm", "Enamelled Red", "Enamelled Cream"),
        "{item}, {variant}, for every hob including induction.",
    ),
    Category(
        "Kitchen Tools",
        "KIT",
        0.09,
        (5.0, 120.0),
        None,
        (
            "Chef's Knife",
            "Olive Wood Board",
            "Silicone Spatula",
            "Digital Kitchen Scale",
            "Whisk",
            "Pepper Mill",
            "Milk Frother",
        ),
        ("Small", "Large", "Walnut", "Steel", "Set of 3"),
        "{item} ({variant}): a well-made tool you will reach for every day.",
    ),
    Category(
        "Linens",
        "LIN",
        0.08,
        (9.0, 70.0),
        None,
        ("Linen Tea Towel", "Apron", "Tablecloth", "Napkin Set", "Oven Glove", "Table Runner"),
        ("Natural", "Charcoal", "Striped", "Rust", "Olive"),
        "{item} in {variant} stonewashed linen that gets softer with every wash.",
    ),
    Category(
        "Candles & Home",
        "CAN",
        0.07,
        (9.0, 45.0),
        90,
        ("Soy Candle", "Reed Diffuser", "Beeswax Tealights", "Incense Sticks", "Room Spray"),
        ("Fig & Cedar", "Black Tea & Bergamot", "Fresh Linen", "Amber", "Orange Blossom"),
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
        low, high = category.price_range
        ranks = rng.permutation(int(count))
        for number in range(int(count)):
            item, variant = combos[chosen[number % len(combos)]]
            edition = number // len(combos)
            name = f"{item} {variant}" + (f" No. {edition + 1}" if edition else "")
            price = _round_price(float(np.exp(rng.uniform(np.log(low), np.log(high)))))
            sku = f"{category.prefix}-{number + 1:03d}"
            rows.append(
                {
                    "product_id": sku,
                    "name": name,
                    "category": category.name,
                    "price": price,
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
