"""The orders a campaign's drafts are listed in, by the name the API's and the review page's ``sort`` takes.

Every order ends with the draft's id, so that no two drafts tie: a page of a sorted list then holds exactly the
drafts its neighbours do not, however many drafts share a score, a status or a first name. A draft with no score
(its variants not scored, or none chosen) comes after those that have one, on either database.
"""

from typing import get_args

from sqlalchemy import ColumnElement, case, func, select

from service.db.models import Customer, Draft, Variant
from service.draft_sorts import DraftSort
from service.schemas import DraftStatus

# Drafts in the order their customers came in the campaign's audience (its priority: win-back by past spend, VIP
# by CLV...), whatever order they were written in; drafts from before positions were kept come by id.
AUDIENCE_ORDER = (Draft.position.asc().nulls_last(), Draft.id)
# The order a person reviews a campaign's drafts in: flagged first, then the audience's.
REVIEW_ORDER = (Draft.flagged.desc(), *AUDIENCE_ORDER)


def _chosen_variants(score: ColumnElement) -> ColumnElement:
    """The draft's chosen variant's ``score`` (a column of Variant), or null."""
    return select(score).where(Variant.id == Draft.selected_variant_id).scalar_subquery()


def _shown_name() -> ColumnElement:
    """The customer's name as the campaign's page shows it (their first name, else their id), in lower case."""
    shown = func.coalesce(func.nullif(Customer.first_name, ""), Customer.external_id)
    return select(func.lower(shown)).where(Customer.id == Draft.customer_id).scalar_subquery()


_STATUS_PLACES = {status: place for place, status in enumerate(get_args(DraftStatus))}
# The ORDER BY of each order, by its name.
ORDERS: dict[DraftSort, tuple[ColumnElement, ...]] = {
    "flagged": REVIEW_ORDER,
    "audience": AUDIENCE_ORDER,
    "p_open": (_chosen_variants(Variant.p_open).desc().nulls_last(), Draft.id),
    "p_click": (_chosen_variants(Variant.p_click).desc().nulls_last(), Draft.id),
    "status": (case(_STATUS_PLACES, value=Draft.status, else_=len(_STATUS_PLACES)), *REVIEW_ORDER),
    "customer": (_shown_name(), Draft.id),
}
