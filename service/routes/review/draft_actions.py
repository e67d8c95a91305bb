"""A draft's forms: approve, reject, reopen, refresh with the catalog's facts, ask the model for another version
of a variant, and save an edit. Each carries the draft's revision its page showed: one based on a draft that
someone changed since is refused, showing the draft as it is now beside what the person typed.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service import drafts as draft_ops
from service import refreshed_facts
from service.bounds import COUNT_MAX
from service.db.models import Customer, Draft
from service.deps import ApiKeyDep, PageReviewerDep, SessionDep, StateDep
from service.errors import Conflict, InvalidInput, NotFound, Problem, TailorError, as_told
from service.review import PREFIX
from service.routes.review.campaign_pages import list_of, listed_query
from service.routes.review.draft_pages import show_draft
from service.routes.review.redirects import to_page
from service.schemas import DatabaseId

router = APIRouter(prefix=PREFIX)
# The draft's revision the page showed, sent back with each of its forms (service.drafts refuses a stale one).
RevisionForm = Annotated[int | None, Form(ge=0, le=COUNT_MAX)]


def _back_to(request: Request, draft_id: int, done: str, listed: str, preview: int | None = None) -> RedirectResponse:
    """The draft's page after an action done, saying so, in the list it was opened from (``listed``)."""
    query = f"?done={done}" + (f"&preview={preview}" if preview else "") + (f"&{listed}" if listed else "")
    return to_page(request, f"/review/drafts/{draft_id}{query}")


def _listed(listed: Annotated[str, Form()] = "") -> str:
    """The list of the campaign's drafts the draft's page was opened from, as its forms send it back (``listed``, the
    page's query of it), read again as the page reads it: what no list has is left out."""
    return listed_query(*list_of(listed))


ListedForm = Annotated[str, Depends(_listed)]


@dataclass(frozen=True)
class Whose:
    """The campaign and customer a draft's form was for, which outlive the draft when its campaign is generated
    again."""

    campaign_id: int
    customer_id: str


def _whose(
    campaign_id: Annotated[int | None, Form()] = None, customer_id: Annotated[str | None, Form()] = None
) -> Whose | None:
    return Whose(campaign_id, customer_id) if campaign_id is not None and customer_id else None


WhoseForm = Annotated[Whose | None, Depends(_whose)]


def _replacement(session: Session, draft_id: int, whose: Whose) -> int | None:
    """The customer's draft in the campaign now, when draft ``draft_id`` is gone (None when it was not replaced)."""
    if session.get(Draft, draft_id) is not None:
        return None
    return session.scalar(
        select(Draft.id).join(Customer, Customer.id == Draft.customer_id)
        .where(Draft.campaign_id == whose.campaign_id, Customer.external_id == whose.customer_id)
    )  # fmt: skip


def _refused(
    request: Request, session: Session, draft_id: int, error: Exception, comments: dict[str, str] | None = None,
    approval: dict[str, Any] | None = None, whose: Whose | None = None, listed: str = "", **edit: Any,
) -> HTMLResponse:  # fmt: skip
    """The draft's page again after an action that was not done: the action's own refusal, or a database too busy
    to write it (an import holding SQLite's lock), with what the person typed and chose still in the form. A
    draft replaced meanwhile (its campaign generated again) leads to the customer's new draft (``whose``: the
    campaign and customer the form named), what they typed in its forms."""
    error = as_told(error)
    if not isinstance(error, TailorError):
        raise error
    session.rollback()  # nothing of the refused action is kept
    if isinstance(error, NotFound) and whose is not None and (now := _replacement(session, draft_id, whose)):
        said = Conflict(
            f"Draft {draft_id} was replaced when campaign {whose.campaign_id} was generated again, and nothing was "
            f"done: this is the customer's draft now, written afresh. Read it, then try again."
        )
        return show_draft(request, session, now, said, None, None, comments, approval, listed=listed)
    page = show_draft(
        request, session, draft_id, error, edit or None, edit.get("variant_id"), comments, approval, listed=listed
    )
    if error.retry_after_seconds:
        page.headers["Retry-After"] = str(error.retry_after_seconds)
    return page


@router.post("/drafts/{draft_id}/approve", response_model=None)
def approve(
    draft_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: PageReviewerDep,
    variant_id: Annotated[DatabaseId | None, Form()] = None, comment: Annotated[str, Form()] = "",
    override_checks: Annotated[bool, Form()] = False, expected_revision: RevisionForm = None, whose: WhoseForm = None,
    listed: ListedForm = "",
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    try:
        draft_ops.approve(
            session, draft_id, variant_id, reviewer, comment, override_checks=override_checks,
            expected_revision=expected_revision, models=state.models,
        )  # fmt: skip
    except (TailorError, OperationalError) as error:
        chosen = {"variant_id": variant_id, "override_checks": override_checks}
        return _refused(request, session, draft_id, error, {"approve": comment}, chosen, whose=whose, listed=listed)
    return _back_to(request, draft_id, "approved", listed)


@router.post("/drafts/{draft_id}/reject", response_model=None)
def reject(
    draft_id: DatabaseId, request: Request, session: SessionDep, reviewer: PageReviewerDep,
    comment: Annotated[str, Form()] = "", expected_revision: RevisionForm = None, whose: WhoseForm = None,
    listed: ListedForm = "",
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    try:
        if not comment.strip():  # the page asks why: whoever reopens the draft, or rewrites the copy, reads it
            why = "say why the draft is rejected: whoever reopens it, or rewrites its copy, reads it"
            raise InvalidInput("review", [Problem(None, "comment", why, "field")])
        draft_ops.reject(session, draft_id, reviewer, comment, expected_revision)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, {"reject": comment}, whose=whose, listed=listed)
    return _back_to(request, draft_id, "rejected", listed)


@router.post("/drafts/{draft_id}/reopen", response_model=None)
def reopen(
    draft_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: PageReviewerDep,
    comment: Annotated[str, Form()] = "", expected_revision: RevisionForm = None, whose: WhoseForm = None,
    listed: ListedForm = "",
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    try:
        draft_ops.reopen(session, draft_id, reviewer, comment, expected_revision, models=state.models)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, {"reopen": comment}, whose=whose, listed=listed)
    return _back_to(request, draft_id, "reopened", listed)


@router.post("/drafts/{draft_id}/refresh-facts", response_model=None)
def refresh_facts(
    draft_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: PageReviewerDep,
    expected_revision: RevisionForm = None, whose: WhoseForm = None, listed: ListedForm = "",
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    """Render the draft's email again with the catalog's facts of now, its copy kept (refreshed_facts.refresh_facts)."""
    try:
        refreshed_facts.refresh_facts(session, draft_id, reviewer, expected_revision, state.models)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, whose=whose, listed=listed)
    return _back_to(request, draft_id, "refreshed", listed)


@router.post("/drafts/{draft_id}/variants/{variant_id}/suggest", response_model=None)
def suggest(
    draft_id: DatabaseId, variant_id: DatabaseId, request: Request, session: SessionDep, state: StateDep,
    _key: ApiKeyDep, note: Annotated[str, Form()] = "", whose: WhoseForm = None, listed: ListedForm = "",
) -> HTMLResponse:  # fmt: skip
    """Another version of the variant's copy from the model, shown beside it on the draft's page (which this answers,
    the draft unchanged); the copywriter puts it into the edit form and saves it as any edit. A refusal (a note over
    the limits, checks turning every version down, the model down or too slow) is said on the page, the note kept."""
    from service.schemas import SuggestionIn
    from service.suggestions import suggest_for_variant

    asked = {"variant_id": variant_id, "note": note}
    try:
        checked = draft_ops.form_body(SuggestionIn, "suggestion", note=note)
        suggestion = suggest_for_variant(session, draft_id, variant_id, checked.note, state.models)
    except (TailorError, OperationalError) as error:
        told = as_told(error)
        if not isinstance(told, TailorError):
            raise
        session.rollback()
        if isinstance(told, NotFound) and whose is not None and _replacement(session, draft_id, whose):
            return _refused(request, session, draft_id, told, whose=whose, listed=listed)
        return show_draft(request, session, draft_id, told, preview=variant_id, suggested=asked, listed=listed)
    page = show_draft(request, session, draft_id, preview=variant_id, done="suggested", listed=listed, suggested=asked
                      | {"suggestion": suggestion})  # fmt: skip
    page.headers["Cache-Control"] = "no-store"  # a page answering a POST: Back must not show it as the draft now
    return page


@router.post("/drafts/{draft_id}/variants/{variant_id}/edit", response_model=None)
def edit(
    draft_id: DatabaseId, variant_id: DatabaseId, request: Request, session: SessionDep, state: StateDep,
    reviewer: PageReviewerDep,
    subject: Annotated[str, Form()] = "", preheader: Annotated[str, Form()] = "", intro: Annotated[str, Form()] = "",
    product_line: Annotated[list[str] | None, Form()] = None, expected_revision: RevisionForm = None,
    whose: WhoseForm = None, listed: ListedForm = "",
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    typed = {
        "subject": subject, "preheader": preheader, "intro": intro, "product_lines": product_line,
        "expected_revision": expected_revision,
    }  # fmt: skip
    try:
        changes = draft_ops.variant_edit(reviewer, **typed)
        draft_ops.edit_variant(session, draft_id, variant_id, changes, state.models)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, whose=whose, listed=listed, variant_id=variant_id, **typed)
    return _back_to(request, draft_id, "saved", listed, preview=variant_id)  # the edited email, as it will now be sent
