"""The plain data that goes into and comes out of copy generation (pydantic models)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CAMPAIGN_TYPES = ("welcome", "cross_sell", "win_back", "replenishment", "vip")
LOCALES = ("en", "de", "pl", "ru", "bg", "fr", "es", "it", "pt", "nl")
NOTE_MAX = 300  # characters of a copywriter's note to the model (generation.suggestion): a wish, not a brief


class ProductFact(BaseModel):
    product_id: str
    name: str
    category: str = ""
    price: float
    currency: str = "EUR"
    url: str = ""
    description: str = ""


class Offer(BaseModel):
    """A discount or perk; `value` is the percentage for `percent_off`, the amount for `amount_off`."""

    kind: Literal["percent_off", "amount_off", "free_shipping", "gift"] | str
    value: float = 0.0
    code: str | None = None


class CustomerFacts(BaseModel):
    customer_id: str
    first_name: str = ""
    locale: str = "en"  # the locale the email is written in
    segment: str = ""
    # The customer's own locale when the email is written in another, for want of templates (generation.locales):
    # a copywriter may translate the copy into it.
    own_locale: str = ""


class DraftRequest(BaseModel):
    customer: CustomerFacts
    campaign_type: str
    products: list[ProductFact] = Field(default_factory=list)
    offer: Offer | None = None
    reason: str = ""

    @property
    def currency(self) -> str:
        """The currency an amount off is stated in: its products' (the first one's), EUR for an email without any."""
        return self.products[0].currency if self.products else "EUR"


class CheckResult(BaseModel):
    name: str
    passed: bool
    reason: str = ""
    # Why this check turned down the model's copy on a variant that shows the template's copy instead (its words:
    # "the subject reads as English, expected German"); left out when it did not, so stored checks stay as they were.
    turned_down: str = Field("", exclude_if=lambda reason: not reason)


class Variant(BaseModel):
    variant_id: str
    subject: str
    preheader: str
    intro: str
    product_lines: list[str]
    html: str
    text: str
    checks: list[CheckResult] = Field(default_factory=list)
    used_fallback: bool = False

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


class Draft(BaseModel):
    customer_id: str
    campaign_type: str
    locale: str  # the locale it is written in
    variants: list[Variant]
    notes: list[str] = Field(default_factory=list)  # for the reviewer, e.g. written in another language


class GenerationStats(BaseModel):
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    fallbacks: int = 0
    cache_hits: int = 0
    groups: int = 0
    invalid_answers: int = 0
    timeouts: int = 0
    schema_valid_first: int = 0  # groups whose first answer parsed into at least one complete variant
    rejected_by_check: dict[str, int] = {}  # how often each check turned down a version of the model's copy
    # how often each check turned down a product line of the model's (the template's line took its place), or
    # "not_about_its_product" (generation.copywriter.NOT_ITS_OWN)
    lines_rejected_by_check: dict[str, int] = {}
    template_only_groups: int = 0  # groups in a locale the model is not asked to write (no call)
    unavailable_groups: int = (
        0  # groups in template copy: the provider failed or did not answer in time (after it had answered others)
    )


class GenerationResult(BaseModel):
    drafts: list[Draft]
    stats: GenerationStats
