"""The names of the orders a campaign's drafts are listed in, and their words: what the API's ``sort``, the review
page's control and `tailor drafts list --sort` take. Kept apart from their SQL (service.draft_orders) so that the
command line's help names them without importing the database's models.
"""

from typing import Literal

DraftSort = Literal["flagged", "audience", "p_open", "p_click", "status", "customer"]
DEFAULT_SORT: DraftSort = "flagged"
# Each order in a few words, as the review page's control names it (a phone's width).
SORT_LABELS: dict[str, str] = {
    "flagged": "flagged first",  # those waiting for review: a draft keeps its flag once reviewed
    "audience": "the audience's order",
    "p_open": "predicted opens, highest first",
    "p_click": "predicted clicks, highest first",
    "status": "status",
    "customer": "customer, A to Z",
}
SORT_HELP = (
    "the order of the drafts, each tie broken by the draft's id (so that pages from `offset` neither repeat nor skip "
    "a draft): `flagged`, the flagged drafts still waiting for review first (not those approved or rejected), then "
    "the audience's order (the default); `audience`, the order the customers came in the campaign's audience (its "
    "priority), drafts from before positions were kept last; "
    "`p_open` and `p_click`: predicted opens or clicks of the chosen variant, highest first, unscored last; "
    "`status`: by status, in the order `status` lists them, flagged first within each; `customer`: by the "
    "customer's first name, else their id, A to Z in any case and with or without accents"
)
