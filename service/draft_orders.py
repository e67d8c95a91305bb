"""The orders a campaign's drafts are listed in, by the name the API's and the review page's ``sort`` takes.

Every order ends with the draft's id, so that no two drafts tie: a page of a sorted list then holds exactly the
drafts its neighbours do not, however many drafts share a score, a status or a first name. A draft with no score
(its variants not scored, or none chosen) comes after those that have one, on either database.
"""

from typing import NamedTuple, get_args

from sqlalchemy import ColumnElement, and_, case, select

from service.db.models import Customer, Draft, Variant
from service.draft_sorts import DraftSort
from service.schemas import DraftStatus


class SortKey(NamedTuple):
    """One key of an order: what it sorts by, highest first or not, and whether drafts with none come last (only a
    key that may be null says so; the others never are); ``while_waiting``, for a key that a review moves a draft
    at, what it was while the draft waited for review (None: the same)."""

    value: ColumnElement
    descending: bool = False
    nulls_last: bool = False
    while_waiting: ColumnElement | None = None

    @property
    def placed(self) -> ColumnElement:
        """The key of a draft at the place it had in the order while it waited for review: "next to review" walks on
        from there after the draft was approved or rejected (from among the flagged ones, to the next flagged one)."""
        return self.value if self.while_waiting is None else self.while_waiting

    def ordered(self) -> ColumnElement:
        """The key as an ORDER BY term (ascending by default, as each order was written before keys were kept)."""
        if self.descending:
            return self.value.desc().nulls_last() if self.nulls_last else self.value.desc()
        return self.value.asc().nulls_last() if self.nulls_last else self.value


# Drafts in the order their customers came in the campaign's audience (its priority: win-back by past spend, VIP
# by CLV...), whatever order they were written in; drafts from before positions were kept come by id.
AUDIENCE_KEYS = (SortKey(Draft.position, nulls_last=True), SortKey(Draft.id))
# The statuses of a draft waiting for a person, who may review it (service.drafts.REVIEWABLE).
WAITING = frozenset({"pending", "flagged"})
# The order a person reviews a campaign's drafts in: the flagged drafts still waiting for them first, then the
# audience's. A draft keeps its flag once approved or rejected: by the flag alone, the reviewed ones stayed on top,
# above flagged drafts still to review.
REVIEW_KEYS = (
    SortKey(
        case((and_(Draft.status.in_(WAITING), Draft.flagged), 0), else_=1),
        while_waiting=case((Draft.flagged, 0), else_=1),
    ),
    *AUDIENCE_KEYS,
)


def _chosen_variants(score: ColumnElement) -> ColumnElement:
    """The draft's chosen variant's ``score`` (a column of Variant), or null."""
    return select(score).where(Variant.id == Draft.selected_variant_id).scalar_subquery()


def _shown_name() -> ColumnElement:
    """The customer's name as the campaign's page shows it (their first name, else their id) as it is sorted: case
    folded and without accents, in Python, the same on every database (service.db.name_keys)."""
    return select(Customer.name_key).where(Customer.id == Draft.customer_id).scalar_subquery()


_STATUS_PLACES = {status: place for place, status in enumerate(get_args(DraftStatus))}
# The keys of each order, by its name (service.drafts.next_to_review seeks the draft after another by them).
SORT_KEYS: dict[DraftSort, tuple[SortKey, ...]] = {
    "flagged": REVIEW_KEYS,
    "audience": AUDIENCE_KEYS,
    "p_open": (SortKey(_chosen_variants(Variant.p_open), descending=True, nulls_last=True), SortKey(Draft.id)),
    "p_click": (SortKey(_chosen_variants(Variant.p_click), descending=True, nulls_last=True), SortKey(Draft.id)),
    "status": (
        SortKey(case(_STATUS_PLACES, value=Draft.status, else_=len(_STATUS_PLACES))),
        SortKey(Draft.flagged, descending=True),  # within each status, flagged first (reviewed ones too)
        *AUDIENCE_KEYS,
    ),
    "customer": (SortKey(_shown_name()), SortKey(Draft.id)),
}
# The ORDER BY of each order, by its name.
ORDERS: dict[DraftSort, tuple[ColumnElement, ...]] = {
    sort: tuple(key.ordered() for key in keys) for sort, keys in SORT_KEYS.items()
}
AUDIENCE_ORDER = ORDERS["audience"]
REVIEW_ORDER = ORDERS["flagged"]
