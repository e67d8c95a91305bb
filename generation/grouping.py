"""Groups customers whose email can share one piece of copy, so LLM work scales with segments, not customers.

A group is (campaign type, locale, segment, product theme, offer); the theme is the category of the
customer's top recommendation. Themes with fewer than MIN_THEME_GROUP customers are pooled into one group
per (campaign type, locale, segment, offer), so groups stay under customers / MIN_THEME_GROUP + segments.
Each customer is personalized afterwards through the template's slots (greeting, product names, prices,
links, offer), all filled from data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from generation.schemas import DraftRequest, ProductFact

MAX_PRODUCTS_PER_PROMPT = 3
MIN_THEME_GROUP = 30


@dataclass
class Group:
    """The customers of one group: where their requests are in the campaign's sequence (``members``, in order),
    the first of them (it stands for the group in the prompt: its offer and segment are the group's) and how often
    each product is recommended among them. Only positions are kept per customer: a campaign's requests can be
    built again from its data whenever they are needed, so a million of them need not be held at once."""

    key: tuple[str, ...]
    first: DraftRequest
    members: list[int] = field(default_factory=list)
    product_counts: Counter[str] = field(default_factory=Counter)
    facts: dict[str, ProductFact] = field(default_factory=dict)

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

    def add(self, position: int, request: DraftRequest) -> None:
        self.members.append(position)
        self.product_counts.update(p.product_id for p in request.products)
        self.facts.update((p.product_id, p) for p in request.products)

    def join(self, other: Group) -> None:
        """Take in ``other``'s members after this group's own."""
        self.members.extend(other.members)
        self.product_counts.update(other.product_counts)
        self.facts.update(other.facts)

    def products(self) -> list[ProductFact]:
        """The products most often recommended in the group; the model writes a line for each of these."""
        return [self.facts[pid] for pid, _ in self.product_counts.most_common(MAX_PRODUCTS_PER_PROMPT)]


def group_key(request: DraftRequest) -> tuple[str, ...]:
    theme = request.products[0].category if request.products else ""
    offer = request.offer
    offer_key = f"{offer.kind}:{offer.value:g}" if offer else ""
    return (request.campaign_type, request.customer.locale, request.customer.segment, theme, offer_key)


def group_requests(requests: Iterable[DraftRequest], min_theme_group: int = MIN_THEME_GROUP) -> list[Group]:
    """The groups of ``requests``, read once in order; each group's members are the requests' positions."""
    by_key: dict[tuple[str, ...], Group] = {}
    for position, request in enumerate(requests):
        key = group_key(request)
        if (group := by_key.get(key)) is None:
            group = by_key[key] = Group(key, request)
        group.add(position, request)
    groups: dict[tuple[str, ...], Group] = {}
    for key, part in by_key.items():
        if len(part.members) < min_theme_group:
            key = (*key[:3], "", key[4])  # a small theme joins its segment's mixed group
        groups.setdefault(key, Group(key, part.first)).join(part)
    return list(groups.values())
