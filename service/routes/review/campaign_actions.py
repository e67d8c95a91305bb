"""A campaign's bulk forms: approve every pending draft, approve again those held back for lateness, update the
out-of-date drafts with the catalog's facts. Each leads back to the list of drafts it was sent from.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from service import drafts as draft_ops
from service import late_drafts, refreshed_facts
from service.bounds import DATABASE_INT_MAX
from service.clock import as_utc
from service.deps import PageReviewerDep, SessionDep, StateDep
from service.review import PREFIX
from service.routes.review.campaign_pages import list_of, listed_query
from service.routes.review.redirects import to_page
from service.schemas import DatabaseId

router = APIRouter(prefix=PREFIX)


@dataclass
class BulkApproval:
    """A campaign page's form approving drafts at once: the comment kept with each approval, and where the campaign
    stood when the page was read (``read_review``, ``read_draft`` and ``read_time``: drafts.page_read as the page
    showed), if sent."""

    comment: str
    read_at: draft_ops.PageRead | None


def _bulk_approval(
    comment: Annotated[str, Form()] = "",
    read_review: Annotated[int | None, Form(ge=0, le=DATABASE_INT_MAX)] = None,
    read_draft: Annotated[int | None, Form(ge=0, le=DATABASE_INT_MAX)] = None,
    read_time: Annotated[datetime | None, Form()] = None,
) -> BulkApproval:
    if read_review is None or read_draft is None:
        return BulkApproval(comment, None)
    at = as_utc(read_time) if read_time is not None else None
    return BulkApproval(comment, draft_ops.PageRead(read_review, read_draft, at))


BulkApprovalForm = Annotated[BulkApproval, Depends(_bulk_approval)]


def _list_kept(listed: Annotated[str, Form()] = "") -> str:
    """The list of drafts the bulk form was sent from (its status filter, search and order, as the page's query
    ``listed`` holds them), for the page to go back to: it went back to all the drafts in the usual order. From its
    first page: the drafts just approved or updated may have left the page it was on."""
    status, customer, _, sort = list_of(listed)
    kept = listed_query(status, customer, None, sort)
    return f"&{kept}" if kept else ""


ListKeptForm = Annotated[str, Depends(_list_kept)]


@router.post("/campaigns/{campaign_id}/reapprove-late", response_model=None)
def reapprove_late(
    campaign_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: PageReviewerDep,
    form: BulkApprovalForm, kept: ListKeptForm = "",
) -> RedirectResponse:  # fmt: skip
    """Approve again the campaign's drafts held back for lateness alone (see late_drafts.reapprove_late); those
    changed after the page was read stay, as for approving all pending."""
    done = late_drafts.reapprove_late(
        session, campaign_id, reviewer, form.comment, read_at=form.read_at, models=state.models
    )
    left = done["left"]
    said = (
        f"?reapproved={done['reapproved']}&not_late={left['not_late']}&edited={left['edited_since']}"
        f"&changed={left['changed_since_read']}&out_of_date={left['out_of_date']}&fails_checks={left['fails_checks']}"
        f"&unseen={left['unseen_characters']}"
    )
    return to_page(request, f"/review/campaigns/{campaign_id}{said}{kept}")


@router.post("/campaigns/{campaign_id}/refresh-facts", response_model=None)
def refresh_campaign_facts(
    campaign_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: PageReviewerDep,
    kept: ListKeptForm = "",
) -> RedirectResponse:  # fmt: skip
    """Start updating the campaign's out-of-date drafts with the catalog's facts (a job: see
    refreshed_facts.refresh_campaign); its page shows how far it got, then what it did."""
    job_id = refreshed_facts.start_refresh(session, state.jobs, state.engine, campaign_id, reviewer, state.models)
    return to_page(request, f"/review/campaigns/{campaign_id}?refresh_job={job_id}{kept}")


@router.post("/campaigns/{campaign_id}/approve-pending", response_model=None)
def approve_pending(
    campaign_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: PageReviewerDep,
    form: BulkApprovalForm, kept: ListKeptForm = "",
) -> RedirectResponse:  # fmt: skip
    """Approve the campaign's pending drafts at once (see drafts.approve_pending); the flagged ones stay, and so do
    those changed after the page was read (``BulkApproval.read_at``)."""
    done = draft_ops.approve_pending(
        session, campaign_id, reviewer, form.comment, read_at=form.read_at, models=state.models
    )
    said = (
        f"?approved={done['approved']}&changed={done['changed_since_read']}&out_of_date={done['out_of_date']}"
        f"&unseen={done['unseen_characters']}"
        + "".join(f"&unseen_{holder}={count}" for holder, count in done["unseen_in"].items() if count)
    )
    return to_page(request, f"/review/campaigns/{campaign_id}{said}{kept}")
