"""The orders a campaign's drafts are listed in, by the name the API's and the review page's ``sort`` takes.

Every order ends with the draft's id, so that no two drafts tie: a page of a sorted list then holds exactly the
drafts its neighbours do not, however many drafts share a score, a status or a first name. A draft with no score
(its variants not scored, or none chosen) comes after those that have one, on either database.
"""

from typing import Literal, get_args

from sqlalchemy import ColumnElement, case, func, select

from service.db.models import Customer, Draft, Variant
from service.schemas import DraftStatus

# Drafts in the order their customers came in the campaign's audience (its priority: win-back by past spend, VIP
# by CLV...), whatever order they were written in; drafts from before positions were kept come by id.
AUDIENCE_ORDER = (Draft.position.asc().nulls_last(), Draft.id)
# The order a person reviews a campaign's drafts in: flagged first, then the audience's.
REVIEW_ORDER = (Draft.flagged.desc(), *AUDIENCE_ORDER)

DraftSort = Literal["flagged", "audience", "p_open", "p_click", "status", "customer"]
DEFAULT_SORT: DraftSort = "flagged"
# Each order in a few words, as the review page's control names it (a phone's width).
SORT_LABELS: dict[str, str] = {
    "flagged": "flagged first",
    "audience": "the audience's order",
    "p_open": "predicted opens, highest first",
    "p_click": "predicted clicks, highest first",
    "status": "status",
    "customer": "customer, A to Z",
}
SORT_HELP = (
    "the order of the drafts, each tie broken by the draft's id (so that pages from `offset` neither repeat nor skip "
    "a draft): `flagged`, flagged first, then the audience's order (the default); `audience`, the order the "
    "customers came in the campaign's audience (its priority), drafts from before positions were kept last; "
    "`p_open` and `p_click`: predicted opens or clicks of the chosen variant, highest first, unscored last; "
    "`status`: by status, in the order `status` lists them, flagged first within each; `customer`: by the "
    "customer's first name, else their id, in any case"
)


def _chosen_variants(score: ColumnElement) -> ColumnElement:
    """The draft's chosen variant's ``score`` (a column of Variant), or null."""
    return select(score).where(Variant.id == Draft.selected_variant_id).scalar_subquery()


def _shown_name() -> ColumnElement:
    """The customer's name as the campaign's page shows it (their first name, else their id), in lower case."""
    shown = func.coalesce(func.nullif(Customer.first_name, ""), Customer.external_id)
    return select(func.lower(shown)).where(Customer.id == Draft.customer_id).scalar_subquery()


_STATUS_PLACES = {status: place for place, status in enumerate(get_args(DraftStatus))}
# The ORDER BY of each order, by its name.
ORDERS: dict[str, tuple[ColumnElement, ...]] = {
    "flagged": REVIEW_ORDER,
    "audience": AUDIENCE_ORDER,
    "p_open": (_chosen_variants(Variant.p_open).desc().nulls_last(), Draft.id),
    "p_click": (_chosen_variants(Variant.p_click).desc().nulls_last(), Draft.id),
    "status": (case(_STATUS_PLACES, value=Draft.status, else_=len(_STATUS_PLACES)), *REVIEW_ORDER),
    "customer": (_shown_name(), Draft.id),
}
