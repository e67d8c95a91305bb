"""The review page: campaigns, their drafts, and approve / reject / edit forms for copywriters.

A refused action (an edit over the limits, an approval of a variant that failed checks, a draft reviewed in
another tab meanwhile) shows the draft again with what went wrong; the rest of the errors become a page with a
way back (service.app). Every form carries the draft's revision its page showed: a save or a review based on a
draft that someone changed since is refused, showing the draft as it is now beside what the person typed.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service import campaigns as campaign_ops
from service import drafts as draft_ops
from service import late_drafts, refreshed_facts, send_times
from service.auth import SESSION_HOURS, close_session, open_session, verify_key
from service.bounds import COUNT_MAX, DATABASE_INT_MAX
from service.clock import as_utc
from service.db.models import UNFINISHED_JOB, Customer, Draft, Job
from service.deps import REVIEW_COOKIE, ApiKeyDep, ReviewerDep, SessionDep, StateDep
from service.errors import (
    ChecksFailed,
    Conflict,
    InvalidInput,
    NotFound,
    NotReady,
    Problem,
    TailorError,
    Unauthorized,
    as_told,
)
from service.experiments import experiment_results
from service.pipeline.mail import sender_of
from service.review import SESSION_ENDED, address, after_login, templates
from service.review.resend import CARRIED_MAX, CarriedForm, read_carried
from service.schemas import DatabaseId, DraftStatus
from service.settings import PublicSettings, SmtpSettings

router = APIRouter(prefix="/review", tags=["review page"], include_in_schema=False)
DRAFTS_PER_PAGE = 100
CAMPAIGNS_PER_PAGE = 50
REVIEWER_MAX = 100  # characters of a reviewer's name (the reviews table holds 200)
# The draft's revision the page showed, sent back with each of its forms (service.drafts refuses a stale one).
RevisionForm = Annotated[int | None, Form(ge=0, le=COUNT_MAX)]
# Why the login page was shown, by the `why` its address gives (service.review.login_address).
LOGIN_NOTES = {
    SESSION_ENDED: "Your review session had ended (signed out in another tab, over "
    f"{SESSION_HOURS} hours old, or its API key revoked), so what you just sent was not done: an edit you typed "
    "was not saved, an approval or rejection not recorded. Log in to go back to the page you were on.",
}
CARRIED_NOTE = (
    f"Your review session had ended (signed out in another tab, over {SESSION_HOURS} hours old, or its API key "
    "revoked), so what you just sent was not done yet: nothing was saved or recorded. Log in and it is shown to "
    "you again as you wrote it, to send again or leave."
)


# What the draft's page says, as a status message, after an action was done (``?done=``): it reloaded with no word.
DONE = {
    "saved": "Your edit of variant {edited} is saved; the preview shows it.",
    "approved": "Approved, with variant {chosen} chosen.",
    "rejected": "Rejected.",
    "reopened": "Reopened for review.",
    "refreshed": "Its email now shows the catalog's facts, its copy kept and checked again.",
    "suggested": "The model suggests another version of variant {edited}, beside its copy: put it into the edit form "
    "and save it to keep it; the draft is unchanged until then.",
}


def _to(request: Request, path: str) -> RedirectResponse:
    """On to the review page ``path`` (as the app names it), under the proxy's root path."""
    return RedirectResponse(address(request, path), status_code=303)


def _back_to(request: Request, draft_id: int, done: str, preview: int | None = None) -> RedirectResponse:
    query = f"?done={done}" + (f"&preview={preview}" if preview else "")
    return _to(request, f"/review/drafts/{draft_id}{query}")


FIELD_LABELS = {
    "subject": "Subject", "preheader": "Preheader", "intro": "Intro", "comment": "Comment",
    "note": "Note for the model", "product_lines": "Product lines",
}  # fmt: skip
PRODUCT_LINE = re.compile(r"product_lines\[(\d+)\]")


def _label(column: str, products: Sequence[str]) -> str:
    """A field as the page labels it: "Line for Breakfast Blend", not the API's "product_lines[0]"."""
    if line := PRODUCT_LINE.fullmatch(column):
        index = int(line.group(1))
        return f"Line for {products[index]}" if index < len(products) else f"Product line {index + 1}"
    return FIELD_LABELS.get(column, column)


def _in_words(error: TailorError, products: Sequence[str] = ()) -> str:
    """What the person should read: each field, named as the page labels it, and its problem for a form that
    broke the limits (``products``: the names of the draft's products, in the order of their lines)."""
    if isinstance(error, InvalidInput):
        return "; ".join(
            f"{_label(p.column, products)}: {p.message}" if p.column else p.message for p in error.problems
        )
    return str(error)


def _draft_page(
    request: Request, session: Session, draft_id: int, error: TailorError | None = None,
    edit: dict[str, Any] | None = None, preview: int | None = None, comments: dict[str, str] | None = None,
    approval: dict[str, Any] | None = None, done: str | None = None, suggested: dict[str, Any] | None = None,
    listed: str = "",
) -> HTMLResponse:  # fmt: skip
    """The draft's page; after a refused action, with the error (and its status code) and, for an edit, the
    values the person typed (for an approval or a rejection, the comment, in ``comments`` by form; for an
    approval also the variant and override they chose, in ``approval``), so that nothing they wrote or chose is
    lost. An edit refused for its values (over the limits, a busy database) stays in the form, still based on the
    revision it was; one refused because the draft changed or was reviewed meanwhile is shown read-only, to copy
    from, beside the draft as it is now. The preview shows variant `preview` when the draft has it, else the one
    sent, else the chosen one. ``done``, the action just done (a key of DONE), is said at the top. ``suggested``: the
    variant a version was asked for (``variant_id``), the note sent (``note``) and, once written, the version
    (``suggestion``, a SuggestionOut), shown beside the variant's copy. ``listed``: the query of the campaign's list
    of drafts the person came from (``_listed``), which its links back to the campaign keep."""
    stored = draft_ops.get_draft(session, draft_id)
    next_id, waiting = draft_ops.next_to_review(session, stored)
    draft = draft_ops.draft_out(stored)
    default = draft.sent_variant_id or draft.selected_variant_id  # a sent draft shows what went out
    shown = next((v for v in draft.variants if v.id == preview), None) or next(
        (v for v in draft.variants if v.id == default), None
    )
    editable = draft.status in draft_ops.REVIEWABLE
    products = [str(item.get("name", "")) for item in draft.recommendations or []]
    retyped = edit if edit and editable and not isinstance(error, Conflict) else None
    labels = {v.id: v.label for v in draft.variants}
    done = None if done == "suggested" and not (suggested or {}).get("suggestion") else done
    said = (
        DONE.get(done or "", "").format(
            edited=labels.get(preview, ""), chosen=labels.get(draft.selected_variant_id, "")
        )
        if _still(done, draft, preview in labels)
        else ""
    )
    from generation.locales import amounts_locale
    from service.pipeline.contact_policy import current_deferral, without_deferrals
    from service.pipeline.freshness import changes_since, shown_catalog, stale_facts
    from service.pipeline.send_outcomes import skip_note
    from service.refreshed_facts import refreshed

    written_in = _written_in(stored)
    context = {
        "draft": draft, "editable": editable, "retyped": retyped, "unsaved": edit if edit and not retyped else None,
        "out_of_date": stale_facts(session, stored) if editable else [],  # told before Approve refuses it
        # what refreshing the email with the catalog's facts would change (a price, a name, a link)
        "refreshable": refreshed(draft.recommendations or [], shown_catalog(session, [draft.recommendations]))[1]
        if editable else [],
        # what the reader of an email sent finds at the shop now, where the catalog no longer agrees with it
        "changed_since_sent": changes_since(session, stored) if draft.status == "sent" else [],
        # the contact policy's note, its moment on the customer's clock
        "deferral": current_deferral(draft.flag_reasons, draft.status, stored.send_after, draft.timezone),
        "flagged_for": without_deferrals(draft.flag_reasons),
        "not_sent": skip_note(draft.flag_reasons, draft.status, draft.flagged),  # why a skipped draft was not sent
        "error": _in_words(error, products) if error else None,
        "sender": sender_of(stored.campaign.brand.slug, SmtpSettings()),
        # prices as the email writes them: "€39.00" in an English email to a French customer of a brand without
        # French, not "39,00 €" (generation.locales.number_locale)
        "shown": shown, "written_in": written_in, "numbers_in": amounts_locale(draft.locale, written_in),
        "next_id": next_id, "waiting": waiting, "comments": comments or {}, "approval": approval or {},
        "listed": listed,
        "done": said if not error else "",
        "error_variant": labels.get((edit or suggested or {}).get("variant_id")) if edit or suggested else None,
        "suggested": suggested or {},
        # the configured model's language, else no "Suggest another version" (it would only be refused) but why not
        "unsuggested_language": _language_name(written_in) if editable and not _model_writes(written_in) else None,
        # the fields the error is about, by the API's names ("subject", "product_lines[0]"), marked on the page
        "error_fields": [p.column for p in error.problems if p.column] if isinstance(error, InvalidInput) else [],
        "checks_refused": isinstance(error, ChecksFailed),  # the override box is what the error is about
    }  # fmt: skip
    return templates.TemplateResponse(request, "draft.html", context, status_code=error.status_code if error else 200)


def _model_writes(locale: str) -> bool:
    """Whether the configured model is asked to write ``locale`` (TAILOR_LLM_LOCALES, or its registration): a
    suggestion in another is refused before the model is called."""
    from generation.llm import model_locales
    from generation.settings import LLMSettings

    locales = model_locales(LLMSettings())
    return locales is None or locale in locales


def _language_name(locale: str) -> str:
    from generation.templates import LANGUAGE_NAMES

    return LANGUAGE_NAMES.get(locale, locale)


def _still(done: str | None, draft, edited_shown: bool) -> bool:
    """Whether what ``?done=`` says is still so: a link kept, or opened after someone else acted, says nothing."""
    if done in ("saved", "suggested"):  # a suggestion's page is the answer to its form alone (never ?done=)
        return edited_shown
    if done in ("reopened", "refreshed"):
        return draft.status in draft_ops.REVIEWABLE
    return done in ("approved", "rejected") and draft.status == done


def _written_in(draft: Draft) -> str:
    """The locale the draft's copy is written in, for the edit fields' lang: the brand's default for a customer
    whose language it has no templates for, not the customer's (English copy spell-checked as French)."""
    from generation.brands import load_brand
    from service.pipeline.rendering import written_locale

    return written_locale(draft, load_brand(draft.campaign.brand.slug))


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
    approval: dict[str, Any] | None = None, whose: Whose | None = None, **edit: Any,
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
        return _draft_page(request, session, now, said, None, None, comments, approval)
    page = _draft_page(request, session, draft_id, error, edit or None, edit.get("variant_id"), comments, approval)
    if error.retry_after_seconds:
        page.headers["Retry-After"] = str(error.retry_after_seconds)
    return page


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, why: str | None = None) -> HTMLResponse:
    """`next`: the review page to go on to once logged in (where the person was sent here from); `why`: the reason
    they were sent here, said on the page (one of LOGIN_NOTES; anything else says nothing)."""
    context = {"error": None, "reviewer": "", "next": after_login(next), "note": LOGIN_NOTES.get(why or "")}
    return templates.TemplateResponse(request, "login.html", context)


def session_ended_login(request: Request, carried: CarriedForm) -> HTMLResponse:
    """The login page for a form sent after its session had ended, holding the form to offer it again once the
    person is back in (service.review.resend)."""
    context = {
        "error": None, "reviewer": "", "next": carried.page, "note": CARRIED_NOTE, "carried": carried.as_field(),
    }  # fmt: skip
    return templates.TemplateResponse(request, "login.html", context, status_code=401)


@router.post("/login", response_model=None)
def login(
    request: Request, session: SessionDep, api_key: Annotated[str, Form()],
    reviewer: Annotated[str, Form(max_length=REVIEWER_MAX)] = "", next: Annotated[str, Form()] = "",
    carried: Annotated[str, Form(max_length=CARRIED_MAX)] = "",
) -> HTMLResponse | RedirectResponse:  # fmt: skip
    """Log in with an API key and one's own name: reviews record the person, not the key they share. Then on to
    `next`, the review page the person had asked for; or, when the login page carried a form sent after the last
    session had ended, to that form again, to be checked and sent."""
    form = read_carried(carried)
    typed = {
        "reviewer": reviewer, "next": after_login(next), "note": CARRIED_NOTE if form else None,
        "carried": form.as_field() if form else "",
    }  # fmt: skip
    if not reviewer.strip():
        error = "Give your name: it is recorded with every review you make."
        context = {"error": error, "error_field": "reviewer", **typed}  # the field marked, and focused, is its own
        return templates.TemplateResponse(request, "login.html", context, status_code=422)
    try:
        key = verify_key(session, api_key.strip())
    except Unauthorized as error:
        context = {"error": str(error), "error_field": "api_key", **typed}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    # the browser's earlier session ends: its cookie is replaced, and a copy of it (another person's, at a shared
    # desk, logged in as themselves before) signed in for the rest of its 12 hours
    close_session(session, request.cookies.get(REVIEW_COOKIE))
    token = open_session(session, key, reviewer.strip())
    response: HTMLResponse | RedirectResponse = _to(request, after_login(next))
    if form is not None:
        request.state.reviewer = reviewer.strip()
        draft = session.get(Draft, form.draft_id) if form.draft_id is not None else None
        lang = _written_in(draft) if draft is not None else None  # the fields hold copy in that language
        products = [str(item.get("name", "")) for item in (draft.recommendations or [])] if draft is not None else []
        context = {"form": form, "lang": lang, "products": products}
        response = templates.TemplateResponse(request, "resend.html", context)
    secure = _over_https(request)  # the token is a bearer secret: over https it never goes out over plain http
    response.set_cookie(
        REVIEW_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict", secure=secure
    )
    return response


def _over_https(request: Request) -> bool:
    """Whether the person reached the page over https: directly, through a proxy that says so, or at an https
    TAILOR_PUBLIC_URL."""
    public = PublicSettings().url or ""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https" or public.lower().startswith("https://")


@router.post("/logout", response_model=None)
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    """Sign out: the session ends (its token no longer signs anyone in, even from a copy of the cookie) and the
    browser forgets it."""
    close_session(session, request.cookies.get(REVIEW_COOKIE))
    response = _to(request, "/review/login")
    response.delete_cookie(REVIEW_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/logout", include_in_schema=False)
def logout_address(request: Request) -> RedirectResponse:
    """Sign out's address opened as a page (typed, bookmarked, Back to it): the campaigns, whose header holds Sign
    out (or the login page, signed out already); it was a 405 page. Opening an address signs nobody out: a link on
    any page could do it."""
    return _to(request, "/review")


@router.get("", response_class=HTMLResponse)
def campaigns_page(
    request: Request, session: SessionDep, _key: ApiKeyDep,
    page: int = Query(1, ge=1, le=DATABASE_INT_MAX // CAMPAIGNS_PER_PAGE),
) -> HTMLResponse:  # fmt: skip
    """The campaigns, newest first, a page at a time (each is shown with its counts and forecast)."""
    rows = campaign_ops.list_campaigns(session, limit=CAMPAIGNS_PER_PAGE + 1, offset=(page - 1) * CAMPAIGNS_PER_PAGE)
    campaigns = [campaign_ops.campaign_out(session, c) for c in rows[:CAMPAIGNS_PER_PAGE]]
    context = {"campaigns": campaigns, "page": page, "has_next": len(rows) > CAMPAIGNS_PER_PAGE}
    return templates.TemplateResponse(request, "campaigns.html", context)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    campaign_id: DatabaseId, request: Request, session: SessionDep, _key: ApiKeyDep,
    status: DraftStatus | None = None,
    page: int = Query(1, ge=1, le=DATABASE_INT_MAX // DRAFTS_PER_PAGE), customer: str | None = None,
    approved: int | None = Query(None, ge=0, le=COUNT_MAX), changed: int = Query(0, ge=0, le=COUNT_MAX),
    out_of_date: int = Query(0, ge=0, le=COUNT_MAX), reapproved: int | None = Query(None, ge=0, le=COUNT_MAX),
    edited: int = Query(0, ge=0, le=COUNT_MAX), fails_checks: int = Query(0, ge=0, le=COUNT_MAX),
    not_late: int = Query(0, ge=0, le=COUNT_MAX), unseen: int = Query(0, ge=0, le=COUNT_MAX),
    refresh_job: str | None = Query(None, max_length=36, description="the refresh job the page started"),
) -> HTMLResponse:  # fmt: skip
    """A page of the campaign's drafts (flagged first), all or those of one ``status``, or one customer's draft
    (found by id or email: a customer who wrote in)."""
    # where the campaign stood, read before its drafts: a change committed between the two reads is then taken as
    # made after the page was read (and left by a bulk approval from it), not as shown on a page that never had it
    customer = (customer or "").strip()  # a search of only spaces lists every draft, as an empty one does
    read_at = draft_ops.page_read(session, campaign_id)
    campaign = campaign_ops.campaign_out(session, campaign_ops.get_campaign(session, campaign_id))
    rows = draft_ops.list_drafts(
        session, campaign_id, status, limit=DRAFTS_PER_PAGE + 1, offset=(page - 1) * DRAFTS_PER_PAGE,
        customer=customer,
    )  # fmt: skip
    drafts = [draft_ops.draft_out(d) for d in rows[:DRAFTS_PER_PAGE]]
    # a search within a status that finds none: whether the customer has drafts of other statuses (it read as none)
    elsewhere = bool(
        customer and status and page == 1 and not drafts
        and draft_ops.list_drafts(session, campaign_id, limit=1, customer=customer)
    )  # fmt: skip
    context = {
        "campaign": campaign, "drafts": drafts, "status": status, "page": page, "customer": customer,
        "listed": _listed(status, customer, page),  # passed on to each draft's page, for its way back to this list
        "elsewhere": elsewhere,
        "has_next": len(rows) > DRAFTS_PER_PAGE, "per_page": DRAFTS_PER_PAGE, "statuses": list(get_args(DraftStatus)),
        "read_at": read_at, "done": _bulk_done(approved, changed, out_of_date, unseen) or _late_done(
            reapproved, {"not_late": not_late, "edited_since": edited, "changed_since_read": changed,
                         "out_of_date": out_of_date, "fails_checks": fails_checks, "unseen_characters": unseen},
        ),
        "refresh": _refresh_note(refreshed_facts.refresh_job(session, campaign_id, refresh_job)),
        "late": late_drafts.count_held_back_late(session, campaign_id) if campaign.drafts.get("flagged") else 0,
        # a scheduled campaign's customers' zones: one moment is not one time of day for all of them
        "zones": send_times.campaign_zones(session, campaign_id) if campaign.scheduled_at else [],
    }  # fmt: skip
    return templates.TemplateResponse(request, "campaign.html", context)


def _listed(status: str | None, customer: str | None, page: int | None) -> str:
    """The query of a list of a campaign's drafts (its status filter, search and page), as a draft's page passes it on
    back to the list: a copywriter who opened a draft from page 3 of the flagged ones went back to page 1 of all."""
    wanted = {"status": status if status in get_args(DraftStatus) else None, "customer": (customer or "").strip()}
    return urlencode({**{k: v for k, v in wanted.items() if v}, **({"page": page} if page and page > 1 else {})})


def _bulk_done(approved: int | None, changed: int, out_of_date: int = 0, unseen: int = 0) -> str:
    """What a bulk approval did, said once at the top of the campaign's page (it reloaded with no word)."""
    if approved is None:
        return ""
    said = f"Approved {approved} pending draft{'s' if approved != 1 else ''}."
    if changed:
        said += (
            f" {changed} pending draft{'s were' if changed != 1 else ' was'} left for review: reopened, edited or "
            "written after you read this page, so not among those you confirmed."
        )
    if out_of_date:
        said += (
            f" {out_of_date} {'were' if out_of_date != 1 else 'was'} flagged instead: the catalog no longer agrees "
            "with their email (a price, the stock)."
        )
    if unseen:
        said += (
            f" {unseen} {'were' if unseen != 1 else 'was'} flagged instead: their email holds a character its reader "
            "does not see."
        )
    return said


def _refresh_note(job: Job | None) -> dict[str, Any] | None:
    """Where the campaign's update with the catalog's facts stands (``said``), and whether it is still going
    (``running``): its progress, then what it did."""
    if job is None:
        return None
    if job.status in UNFINISHED_JOB:
        at = f"{job.done:,} of {job.total:,} done" if job.total else "about to start"
        return {"said": f"Updating the out-of-date drafts with the catalog's facts: {at}.", "running": True}
    result = job.result or {}
    refreshed, still_flagged, changed = (result.get(k, 0) for k in ("refreshed", "flagged", "changed_meanwhile"))
    said = f"Updated {refreshed} draft{'s' if refreshed != 1 else ''} with the catalog's facts."
    if job.status != "succeeded":
        said = f"The update with the catalog's facts stopped ({job.error}). {said} Start it again for the others."
    if still_flagged:
        said += (
            f" {still_flagged} still {'wait' if still_flagged != 1 else 'waits'} for a person, flagged: copy stating "
            "an old price, or a product no longer for sale."
        )
    if changed:
        said += f" {changed} changed by someone else meanwhile {'were' if changed != 1 else 'was'} left as they are."
    return {"said": said, "running": False}


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


def _late_done(reapproved: int | None, left: dict[str, int]) -> str:
    """What approving again the drafts held back for lateness did, said once at the top of the campaign's page."""
    if reapproved is None:
        return ""
    said = f"Approved again {reapproved} draft{'s' if reapproved != 1 else ''} held back for lateness."
    kept = [f"{count} {late_drafts.LEFT[why]}" for why, count in left.items() if count]
    return said + (f" Left for review: {'; '.join(kept)}." if kept else "")


@router.post("/campaigns/{campaign_id}/reapprove-late", response_model=None)
def reapprove_late(
    campaign_id: DatabaseId, request: Request, session: SessionDep, reviewer: ReviewerDep, form: BulkApprovalForm
) -> RedirectResponse:
    """Approve again the campaign's drafts held back for lateness alone (see late_drafts.reapprove_late); those
    changed after the page was read stay, as for approving all pending."""
    done = late_drafts.reapprove_late(session, campaign_id, reviewer, form.comment, read_at=form.read_at)
    left = done["left"]
    said = (
        f"?reapproved={done['reapproved']}&not_late={left['not_late']}&edited={left['edited_since']}"
        f"&changed={left['changed_since_read']}&out_of_date={left['out_of_date']}&fails_checks={left['fails_checks']}"
        f"&unseen={left['unseen_characters']}"
    )
    return _to(request, f"/review/campaigns/{campaign_id}{said}")


@router.post("/campaigns/{campaign_id}/refresh-facts", response_model=None)
def refresh_campaign_facts(
    campaign_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: ReviewerDep
) -> RedirectResponse:
    """Start updating the campaign's out-of-date drafts with the catalog's facts (a job: see
    refreshed_facts.refresh_campaign); its page shows how far it got, then what it did."""
    job_id = refreshed_facts.start_refresh(session, state.jobs, state.engine, campaign_id, reviewer, state.models)
    return _to(request, f"/review/campaigns/{campaign_id}?refresh_job={job_id}")


@router.post("/campaigns/{campaign_id}/approve-pending", response_model=None)
def approve_pending(
    campaign_id: DatabaseId, request: Request, session: SessionDep, reviewer: ReviewerDep, form: BulkApprovalForm
) -> RedirectResponse:
    """Approve the campaign's pending drafts at once (see drafts.approve_pending); the flagged ones stay, and so do
    those changed after the page was read (``BulkApproval.read_at``)."""
    done = draft_ops.approve_pending(session, campaign_id, reviewer, form.comment, read_at=form.read_at)
    said = (
        f"?approved={done['approved']}&changed={done['changed_since_read']}&out_of_date={done['out_of_date']}"
        f"&unseen={done['unseen_characters']}"
    )
    return _to(request, f"/review/campaigns/{campaign_id}{said}")


@router.get("/campaigns/{campaign_id}/experiment", response_class=HTMLResponse)
def experiment_page(campaign_id: DatabaseId, request: Request, session: SessionDep, _key: ApiKeyDep) -> HTMLResponse:
    campaign = campaign_ops.get_campaign(session, campaign_id)
    try:
        results, message = experiment_results(session, campaign), ""
    except NotReady as error:
        results, message = None, str(error)
    context = {"campaign": campaign_ops.campaign_out(session, campaign), "results": results, "message": message}
    return templates.TemplateResponse(request, "experiment.html", context)


@router.get("/campaigns/{campaign_id}/{action:path}", include_in_schema=False)
def campaign_action_address(campaign_id: DatabaseId, action: str, request: Request) -> RedirectResponse:
    """A campaign form's address opened as a page (a refused bulk approval's page stands at it, and its address is
    entered again once the server is no longer busy, bookmarked or sent on): the campaign, where the form is; it
    was a 405 page."""
    return _to(request, f"/review/campaigns/{campaign_id}")


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(
    draft_id: DatabaseId, request: Request, session: SessionDep, _key: ApiKeyDep, preview: DatabaseId | None = None,
    done: str | None = None, status: str | None = None, customer: str | None = None,
    page: int | None = Query(None, ge=1, le=DATABASE_INT_MAX // DRAFTS_PER_PAGE),
) -> HTMLResponse:  # fmt: skip
    """The draft; `preview` names the variant whose email the preview shows (else the one sent, else the chosen
    one); `done`, the action just done (saved, approved, rejected, reopened), said at the top; `status`, `customer`
    and `page`, the campaign's list of drafts it was opened from, which "← campaign" goes back to."""
    listed = _listed(status, customer, page)
    return _draft_page(request, session, draft_id, preview=preview, done=done, listed=listed)


@router.get("/drafts/{draft_id}/{action:path}", include_in_schema=False)
def action_address(draft_id: DatabaseId, action: str, request: Request) -> RedirectResponse:
    """A form's address opened as a page (a bookmark, Back to a refused action's page, a link sent on): the draft,
    where the form is; it was a 405 page."""
    return _to(request, f"/review/drafts/{draft_id}")


@router.post("/drafts/{draft_id}/approve", response_model=None)
def approve(
    draft_id: DatabaseId, request: Request, session: SessionDep, reviewer: ReviewerDep,
    variant_id: Annotated[DatabaseId | None, Form()] = None, comment: Annotated[str, Form()] = "",
    override_checks: Annotated[bool, Form()] = False, expected_revision: RevisionForm = None, whose: WhoseForm = None,
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    try:
        draft_ops.approve(
            session, draft_id, variant_id, reviewer, comment, override_checks=override_checks,
            expected_revision=expected_revision,
        )  # fmt: skip
    except (TailorError, OperationalError) as error:
        chosen = {"variant_id": variant_id, "override_checks": override_checks}
        return _refused(request, session, draft_id, error, {"approve": comment}, chosen, whose=whose)
    return _back_to(request, draft_id, "approved")


@router.post("/drafts/{draft_id}/reject", response_model=None)
def reject(
    draft_id: DatabaseId, request: Request, session: SessionDep, reviewer: ReviewerDep,
    comment: Annotated[str, Form()] = "", expected_revision: RevisionForm = None, whose: WhoseForm = None,
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    try:
        if not comment.strip():  # the page asks why: whoever reopens the draft, or rewrites the copy, reads it
            why = "say why the draft is rejected: whoever reopens it, or rewrites its copy, reads it"
            raise InvalidInput("review", [Problem(None, "comment", why, "field")])
        draft_ops.reject(session, draft_id, reviewer, comment, expected_revision)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, {"reject": comment}, whose=whose)
    return _back_to(request, draft_id, "rejected")


@router.post("/drafts/{draft_id}/reopen", response_model=None)
def reopen(
    draft_id: DatabaseId, request: Request, session: SessionDep, reviewer: ReviewerDep,
    comment: Annotated[str, Form()] = "", expected_revision: RevisionForm = None, whose: WhoseForm = None,
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    try:
        draft_ops.reopen(session, draft_id, reviewer, comment, expected_revision)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, {"reopen": comment}, whose=whose)
    return _back_to(request, draft_id, "reopened")


@router.post("/drafts/{draft_id}/refresh-facts", response_model=None)
def refresh_facts(
    draft_id: DatabaseId, request: Request, session: SessionDep, state: StateDep, reviewer: ReviewerDep,
    expected_revision: RevisionForm = None, whose: WhoseForm = None,
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    """Render the draft's email again with the catalog's facts of now, its copy kept (refreshed_facts.refresh_facts)."""
    try:
        refreshed_facts.refresh_facts(session, draft_id, reviewer, expected_revision, state.models)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, whose=whose)
    return _back_to(request, draft_id, "refreshed")


@router.post("/drafts/{draft_id}/variants/{variant_id}/suggest", response_model=None)
def suggest(
    draft_id: DatabaseId, variant_id: DatabaseId, request: Request, session: SessionDep, state: StateDep,
    _key: ApiKeyDep, note: Annotated[str, Form()] = "", whose: WhoseForm = None,
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
            return _refused(request, session, draft_id, told, whose=whose)
        return _draft_page(request, session, draft_id, told, preview=variant_id, suggested=asked)
    page = _draft_page(request, session, draft_id, preview=variant_id, done="suggested", suggested=asked | {
        "suggestion": suggestion})  # fmt: skip
    page.headers["Cache-Control"] = "no-store"  # a page answering a POST: Back must not show it as the draft now
    return page


@router.post("/drafts/{draft_id}/variants/{variant_id}/edit", response_model=None)
def edit(
    draft_id: DatabaseId, variant_id: DatabaseId, request: Request, session: SessionDep, state: StateDep,
    reviewer: ReviewerDep,
    subject: Annotated[str, Form()] = "", preheader: Annotated[str, Form()] = "", intro: Annotated[str, Form()] = "",
    product_line: Annotated[list[str] | None, Form()] = None, expected_revision: RevisionForm = None,
    whose: WhoseForm = None,
) -> RedirectResponse | HTMLResponse:  # fmt: skip
    typed = {
        "subject": subject, "preheader": preheader, "intro": intro, "product_lines": product_line,
        "expected_revision": expected_revision,
    }  # fmt: skip
    try:
        changes = draft_ops.variant_edit(reviewer, **typed)
        draft_ops.edit_variant(session, draft_id, variant_id, changes, state.models)
    except (TailorError, OperationalError) as error:
        return _refused(request, session, draft_id, error, whose=whose, variant_id=variant_id, **typed)
    return _back_to(request, draft_id, "saved", preview=variant_id)  # the edited email, as it will now be sent
