"""Groups customers whose email can share one piece of copy, so LLM work scales with segments, not customers.

A group is (campaign type, locale, segment, product theme, offer); the theme is the category of the
customer's top recommendation. Themes with fewer than MIN_THEME_GROUP customers are pooled into one group
per (campaign type, locale, segment, offer), so groups stay under customers / MIN_THEME_GROUP + segments.
Each customer is personalized afterwards through the template's slots (greeting, product names, prices,
links, offer), all filled from data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from generation.schemas import DraftRequest, ProductFact

MAX_PRODUCTS_PER_PROMPT = 3
MIN_THEME_GROUP = 30


@dataclass
class Group:
    key: tuple[str, ...]
    requests: list[DraftRequest] = field(default_factory=list)

    @property
    def campaign_type(self) -> str:
        return self.key[0]

    @property
    def locale(self) -> str:
        return self.key[1]

    @property
    def segment(self) -> str:
        return self.key[2]

    @property
    def theme(self) -> str:
        return self.key[3]

    def products(self) -> list[ProductFact]:
        """The products most often recommended in the group; the model writes a line for each of these."""
        counts = Counter(p.product_id for r in self.requests for p in r.products)
        facts = {p.product_id: p for r in self.requests for p in r.products}
        return [facts[pid] for pid, _ in counts.most_common(MAX_PRODUCTS_PER_PROMPT)]


def group_key(request: DraftRequest) -> tuple[str, ...]:
    theme = request.products[0].category if request.products else ""
    offer = request.offer
    offer_key = f"{offer.kind}:{offer.value:g}" if offer else ""
    return (request.campaign_type, request.customer.locale, request.customer.segment, theme, offer_key)


def group_requests(requests: list[DraftRequest], min_theme_group: int = MIN_THEME_GROUP) -> list[Group]:
    by_key: dict[tuple[str, ...], list[DraftRequest]] = {}
    for request in requests:
        by_key.setdefault(group_key(request), []).append(request)
    groups: dict[tuple[str, ...], Group] = {}
    for key, members in by_key.items():
        if len(members) < min_theme_group:
            key = (*key[:3], "", key[4])  # a small theme joins its segment's mixed group
        groups.setdefault(key, Group(key)).requests.extend(members)
    return list(groups.values())
