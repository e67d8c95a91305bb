"""Fixtures for generation tests: small draft requests with known facts, brand kits, fake-model settings."""

from __future__ import annotations

import pytest

from generation.brands import load_brand
from generation.schemas import CustomerFacts, DraftRequest, Offer, ProductFact
from generation.settings import LLMSettings

TEA = ProductFact(
    product_id="TEA-001", name="Sencha Green 100 g", category="Tea", price=7.9, currency="EUR",
    url="https://shop.example/p/TEA-001", description="Sencha green tea, loose leaf, grassy and bright.",
)  # fmt: skip
POT = ProductFact(
    product_id="KIT-002", name="Cast Iron Teapot", category="Kitchen", price=39.0, currency="EUR",
    url="https://shop.example/p/KIT-002", description="A heavy cast iron teapot that keeps tea warm.",
)  # fmt: skip


def make_request(
    customer_id: str = "c1",
    *,
    locale: str = "en",
    first_name: str = "Anna",
    segment: str = "at_risk",
    campaign_type: str = "win_back",
    products: list[ProductFact] | None = None,
    offer: Offer | None = None,
) -> DraftRequest:
    return DraftRequest(
        customer=CustomerFacts(customer_id=customer_id, first_name=first_name, locale=locale, segment=segment),
        campaign_type=campaign_type,
        products=[TEA, POT] if products is None else products,
        offer=offer,
    )


@pytest.fixture
def request_en() -> DraftRequest:
    return make_request(offer=Offer(kind="percent_off", value=10, code="BACK10"))


@pytest.fixture(params=["hearth", "atelier"])
def brand(request):
    return load_brand(request.param)


@pytest.fixture
def fake_settings() -> LLMSettings:
    return LLMSettings(model="fake", cache=False)
