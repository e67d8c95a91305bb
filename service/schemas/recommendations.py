"""The shop's products as the API gives them, and a customer's recommendations of them."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, Field

from service.schemas.common import PRODUCT_ID, SCORE, Score, UtcMoment, replaced_by

# Why a pick is there, in a word: a closed set (``service.pipeline.picks`` gives these and no other), each value
# explained in PICK_REASON, which a customer's recommendations and a draft's picks both document.
PickReason = Literal["because_you_bought", "new_arrival", "fallback", "bought_before", "popular", "activity"]
PICK_REASON = (
    "why the product is there, one of: `because_you_bought`, the customer's purchases most like it, named in "
    "`because_you_bought`; `new_arrival`, a product imported since the model's training, ranked by its likeness to "
    "the products the model knows (as `new_arrival` says); `fallback`, a product the model cannot rank, filling a "
    "list it could fill no further, by its recent popularity in the shop's orders (as `fallback` says); "
    "`bought_before`, the customer's own purchase again (a re-order), with no other purchase like it; `popular`, a "
    "product new to the customer that none of their purchases explains, which the model ranked by the shop's "
    "popularity: every pick of the `popularity` and `segment_popularity` models (their `because_you_bought` is "
    "always empty) and of `repeat_purchase` but their re-orders; the `blend`'s, which weighs recent and last "
    "season's popularity among its signals; any model's for a customer it was trained without; `activity`, a product "
    "new to the customer that none of their purchases explains, which the model ranked by the customer's own "
    "interactions: `ease`'s, `als`'s, `bpr`'s and the other collaborative or content models' for a customer they "
    "know, ranked by their views and carts (never named) or by purchases linked to it too faintly to name"
)


class ProductOut(BaseModel):
    product_id: str = Field(validation_alias=AliasChoices("product_id", "sku"), description=PRODUCT_ID)
    sku: str = Field(deprecated=True, description=replaced_by("product_id"))
    name: str
    category: str
    price: float
    currency: str
    description: str
    url: str
    in_stock: bool
    recommendable: bool = Field(True, description="false for a line that is no merchandise: never recommended")
    margin: float | None = None
    arrived_at: UtcMoment | None = None


class Recommendation(BaseModel):
    rank: int
    product_id: str = Field(description=PRODUCT_ID)
    sku: str = Field(deprecated=True, description=replaced_by("product_id"))
    name: str
    price: float
    currency: str
    url: str
    score: Score = Field(description=SCORE)
    because_you_bought: list[str] = []
    new_arrival: bool = Field(
        False,
        description="a product imported since the model in use was trained, so unknown to it, which the customer "
        "has not bought: ranked by its likeness to the products the model knows (`because_you_bought` names the "
        "customer's purchases most like it). Not the catalog's `arrived_at`, which `boost_recently_arrived` reads: "
        "a product that arrived last week and was in the training is false here, and one imported since the "
        "training without an `arrived_at` is true here and not boosted",
    )
    fallback: bool = Field(
        False,
        description="a fallback: the model could rank no more products for the customer (a catalog, or part of one, "
        "imported since its training and reading like none it knows), so the list is filled with the products it "
        "cannot rank by their recent popularity in the shop's orders (their buyers, the latest weighing most), after "
        "the same business rules; `because_you_bought` is empty",
    )
    reason: PickReason = Field(description=PICK_REASON)
