"""Fixtures for generation tests: small draft requests with known facts, brand kits, fake-model settings, and a
model that answers as the local one often does (`PARROT`)."""

from __future__ import annotations

import json

import pytest

from generation.brands import load_brand
from generation.llm import Endpoint, register
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


def _registered_answering(name: str, variants: list[dict[str, str]]) -> LLMSettings:
    """Settings of a model registered as ``name`` that answers as the fake one does, with these copy ``variants``."""
    from generation.llm.fake import answer

    @register(name)
    def _endpoint(model, settings):
        def respond(messages, schema):
            return json.dumps(json.loads(answer(messages, schema)) | {"variants": variants})

        return Endpoint(model=f"openai/{name}", api_key="x", mock=respond)

    return LLMSettings(model=name, cache=False, max_retries=0)


# Answers like the local model often does: each version's preheader copies its subject; the second version's intro
# also promises a discount nobody offered.
PARROT = _registered_answering("parrot", [
    {"subject": "We miss your visits", "preheader": "We miss your visits",
     "intro": "It has been some weeks since your last order. Take a look at a few things we chose for you."},
    {"subject": "Good to see you again", "preheader": "Good to see you again!",
     "intro": "Everything is 70% off now, so come back and treat yourself."},
])  # fmt: skip
# Answers like the local model did on the quick eval: the first version's intro only repeats its preheader (with a
# full stop), the second's only repeats its subject.
ECHO = _registered_answering("echo", [
    {"subject": "We miss your visits", "preheader": "Take a look at what is new in the shop",
     "intro": "Take a look at what is new in the shop."},
    {"subject": "Your favourites are waiting for you", "preheader": "Back in the kitchen with us?",
     "intro": "Your favourites are waiting for you."},
])  # fmt: skip
