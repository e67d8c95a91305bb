"""The campaigns' pages: the list of campaigns, a campaign with a page of its drafts (filtered, searched), what a
bulk action just did, and its experiment's results.
"""

from collections.abc import Callable
from typing import Any, get_args
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from service import campaigns as campaign_ops
from service import drafts as draft_ops
from service import late_drafts, refreshed_facts, send_times
from service.bounds import COUNT_MAX, DATABASE_INT_MAX
from service.db.models import UNFINISHED_JOB, Job
from service.deps import ApiKeyDep, SessionDep
from service.draft_sorts import DEFAULT_SORT, SORT_LABELS, DraftSort
from service.errors import NotReady
from service.experiments import experiment_results
from service.review import PREFIX, address, error_page, templates
from service.review.resend import CarriedForm
from service.routes.review.redirects import to_page
from service.schemas import COMMENT_MAX, CampaignOut, DatabaseId, DraftStatus
from service.schemas.common import CUSTOMER_SEARCH_MAX
from service.unseen_copy import unseen_holders_said

router = APIRouter(prefix=PREFIX)
DRAFTS_PER_PAGE = 100
CAMPAIGNS_PER_PAGE = 50


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
    page: int = Query(1, ge=1, le=DATABASE_INT_MAX // DRAFTS_PER_PAGE),
    customer: str | None = Query(None, max_length=CUSTOMER_SEARCH_MAX),
    approved: int | None = Query(None, ge=0, le=COUNT_MAX), changed: int = Query(0, ge=0, le=COUNT_MAX),
    out_of_date: int = Query(0, ge=0, le=COUNT_MAX), reapproved: int | None = Query(None, ge=0, le=COUNT_MAX),
    edited: int = Query(0, ge=0, le=COUNT_MAX), fails_checks: int = Query(0, ge=0, le=COUNT_MAX),
    not_late: int = Query(0, ge=0, le=COUNT_MAX), unseen: int = Query(0, ge=0, le=COUNT_MAX),
    unseen_copy: int = Query(0, ge=0, le=COUNT_MAX), unseen_address: int = Query(0, ge=0, le=COUNT_MAX),
    unseen_link: int = Query(0, ge=0, le=COUNT_MAX),
    refresh_job: str | None = Query(None, max_length=36, description="the refresh job the page started"),
    sort: str = Query(DEFAULT_SORT, max_length=100),
) -> HTMLResponse:  # fmt: skip
    """A page of the campaign's drafts in the order ``sort`` names (flagged first unless asked), all or those of
    one ``status``, or one customer's draft (found by id or email: a customer who wrote in). A bulk form of the page
    sent after the review session had ended (NOT_DONE_COOKIE, set by the login) is said not done, once, and offered
    again with the comment typed in it if the campaign still has drafts it would act on."""
    if sort not in SORT_LABELS:
        return _unknown_order(request, campaign_id, sort, status, customer)
    # where the campaign stood, read before its drafts: a change committed between the two reads is then taken as
    # made after the page was read (and left by a bulk approval from it), not as shown on a page that never had it
    customer = (customer or "").strip()  # a search of only spaces lists every draft, as an empty one does
    read_at = draft_ops.page_read(session, campaign_id)
    campaign = campaign_ops.campaign_out(session, campaign_ops.get_campaign(session, campaign_id))
    rows = draft_ops.list_drafts(
        session, campaign_id, status, limit=DRAFTS_PER_PAGE + 1, offset=(page - 1) * DRAFTS_PER_PAGE,
        customer=customer, sort=sort,
    )  # fmt: skip
    drafts = [draft_ops.draft_out(d) for d in rows[:DRAFTS_PER_PAGE]]
    # a search within a status that finds none: whether the customer has drafts of other statuses (it read as none)
    elsewhere = bool(
        customer and status and page == 1 and not drafts
        and draft_ops.list_drafts(session, campaign_id, limit=1, customer=customer)
    )  # fmt: skip
    refresh = _refresh_note(refreshed_facts.refresh_job(session, campaign_id, refresh_job))
    late = late_drafts.count_held_back_late(session, campaign_id) if campaign.drafts.get("flagged") else 0
    offers = _bulk_forms(campaign, refresh, late, lambda: refreshed_facts.may_be_out_of_date(session, campaign_id))
    not_done, comment = _not_done(request)
    context = {
        "campaign": campaign, "drafts": drafts, "status": status, "page": page, "customer": customer,
        "customer_search_max": CUSTOMER_SEARCH_MAX, "comment_max": COMMENT_MAX,  # told by each bulk comment's field
        "listed": listed_query(status, customer, page, sort),  # passed on to each draft's page, for its way back
        "elsewhere": elsewhere, "sort": sort, "sorts": SORT_LABELS, "default_sort": DEFAULT_SORT,
        "has_next": len(rows) > DRAFTS_PER_PAGE, "per_page": DRAFTS_PER_PAGE, "statuses": list(get_args(DraftStatus)),
        "read_at": read_at, "done": _bulk_done(approved, changed, out_of_date, unseen, {
            "copy": unseen_copy, "address": unseen_address, "link": unseen_link}) or _late_done(
            reapproved, {"not_late": not_late, "edited_since": edited, "changed_since_read": changed,
                         "out_of_date": out_of_date, "fails_checks": fails_checks, "unseen_characters": unseen},
        ),
        "refresh": refresh, "late": late, "offers": offers,
        "not_done": _not_done_note(not_done, offers, campaign, refresh, bool(comment)),
        "again": not_done if offers.get(not_done or "") else None, "comment": comment,
        # a scheduled campaign's customers' zones: one moment is not one time of day for all of them
        "zones": send_times.campaign_zones(session, campaign_id) if campaign.scheduled_at else [],
    }  # fmt: skip
    response = templates.TemplateResponse(request, "campaign.html", context)
    if NOT_DONE_COOKIE in request.cookies:  # said once: a reload shows the page as it is
        page = address(request, f"{PREFIX}/campaigns/{campaign_id}")
        response.delete_cookie(NOT_DONE_COOKIE, path=page, httponly=True, samesite="strict")
    return response


# A bulk form of the campaign's page sent after the review session had ended, by its address's last part: its
# button's words, and why it is not offered again when the campaign has no draft it would act on any more.
NOT_DONE = {
    "approve-pending": ("Approve the pending drafts", "no draft of this campaign is pending now"),
    "reapprove-late": (
        "Approve again the drafts held back for lateness",
        "no draft of this campaign is held back for lateness now",
    ),
    "refresh-facts": (
        "Update out-of-date drafts with the catalog's facts",
        "no pending or flagged draft of this campaign shows a product the catalog has changed since",
    ),
}
# The login tells the campaign's page which of its bulk forms was sent after the session had ended, and the comment
# typed in it, in a cookie for that page alone, which the page reads once: an address saying so could be a link
# from anyone, telling a copywriter that an approval they never asked for was "not done", to send again.
NOT_DONE_COOKIE = "tailor_not_done"
NOT_DONE_SECONDS = 600
NOT_DONE_MAX = 3_000  # characters of the cookie's value: a longer comment is offered on a page of its own


def offered_again(form: CarriedForm) -> str | None:
    """What the login tells the campaign's page of its bulk form ``form``, sent after the session had ended and
    carried through the login (NOT_DONE_COOKIE's value): the page then says it was not done and offers it again,
    the comment typed in it. None for a draft's form, and for a comment too long for a cookie
    (service.review.resend's page then offers it as written)."""
    if form.campaign_form not in NOT_DONE:
        return None
    told = urlencode({"not_done": form.campaign_form, "comment": form.value("comment")})
    return told if len(told) <= NOT_DONE_MAX else None


def list_page(form: CarriedForm) -> str:
    """The page a form was sent from in the list of the campaign's drafts it was opened from (its status filter,
    search, order and page: the form's ``listed``), for the login, or "Leave it" on the page offering the form again,
    to lead back to: they led to the first page of every draft in the usual order."""
    kept = listed_query(*list_of(form.value("listed")))
    return f"{form.page}?{kept}" if kept else form.page


def _not_done(request: Request) -> tuple[str | None, str]:
    """The bulk form the login said was not done (a key of NOT_DONE, else None), and the comment typed in it."""
    told = parse_qs(request.cookies.get(NOT_DONE_COOKIE, ""))
    form = (told.get("not_done") or [""])[0]
    return (form if form in NOT_DONE else None), (told.get("comment") or [""])[0]


def _bulk_forms(
    campaign: CampaignOut, refresh: dict[str, Any] | None, late: int, out_of_date: Callable[[], bool]
) -> dict[str, bool]:
    """Which bulk forms the campaign's page offers (by the keys of NOT_DONE): none while drafts are written; the
    update with the catalog's facts only when a draft may be out of date (``out_of_date``, asked last: it reads the
    catalog), not to run a job that said "Updated 0 drafts"."""
    written = campaign.status != "generating"
    pending, flagged = campaign.drafts.get("pending", 0), campaign.drafts.get("flagged", 0)
    return {
        "approve-pending": written and bool(pending),
        "refresh-facts": written
        and bool(pending or flagged)
        and not (refresh and refresh["running"])
        and out_of_date(),
        "reapprove-late": written and bool(late),
    }


def _not_done_note(
    not_done: str | None, offers: dict[str, bool], campaign: CampaignOut, refresh: dict[str, Any] | None,
    commented: bool,
) -> str:  # fmt: skip
    """What the page says of a bulk form sent after the session had ended (``not_done``, a key of NOT_DONE): that it
    was not done, and that it is offered again below, or why not ("" for anything else)."""
    if not_done not in NOT_DONE:
        return ""
    button, none_left = NOT_DONE[not_done]
    said = f"Your review session had ended, so “{button}” was not done"
    if offers[not_done]:
        kept = ", with the comment you typed" if commented else ""
        again = f"It is offered again below{kept}, as the campaign stands now: check it and send it, or leave it."
        return f"{said}: nothing was changed. {again}"
    if campaign.status == "generating":
        why = "drafts are being written; it is offered once they are"
    elif not_done == "refresh-facts" and refresh and refresh["running"]:
        why = "an update of the drafts with the catalog's facts is running"
    else:
        why = f"{none_left} (someone may have done it meanwhile)"
    return f"{said}, and is not offered again: {why}."


def _unknown_order(
    request: Request, campaign_id: int, sort: str, status: str | None, customer: str | None
) -> HTMLResponse:
    """The page for a list asked for in an order it has not (an address edited by hand, or kept from elsewhere):
    the orders there are, and a link to the same list in the usual one."""
    orders = "; ".join(f"{name} ({words})" for name, words in SORT_LABELS.items())
    message = f"sort: the drafts have no order named “{sort}”. The orders are: {orders}."
    usual = listed_query(status, customer, None)
    onward = (f"{PREFIX}/campaigns/{campaign_id}{'?' + usual if usual else ''}", "the list in the usual order")
    return error_page(request, 422, message, onward)


def listed_query(status: str | None, customer: str | None, page: int | None, sort: str | None = None) -> str:
    """The query of a list of a campaign's drafts (its status filter, search, order and page), as a draft's page
    passes it on back to the list: a copywriter who opened a draft from page 3 of the flagged ones went back to page 1
    of all. An unknown status or order is left out (the list's own default then)."""
    wanted = {
        "status": status if status in get_args(DraftStatus) else None, "customer": (customer or "").strip(),
        "sort": sort if sort in get_args(DraftSort) and sort != DEFAULT_SORT else None,
    }  # fmt: skip
    return urlencode({**{k: v for k, v in wanted.items() if v}, **({"page": page} if page and page > 1 else {})})


def list_of(listed: str) -> tuple[str | None, str | None, int | None, str | None]:
    """The status, search, page and order of a list of a campaign's drafts, read from its query (``listed_query``'s,
    as a draft's page passes it on and its forms send it back), each None when the query has none; a page no list
    has is None."""
    came_from = parse_qs(listed)
    status, customer, page, sort = ((came_from.get(key) or [None])[0] for key in ("status", "customer", "page", "sort"))
    in_bounds = page is not None and page.isdecimal() and 0 < int(page) <= DATABASE_INT_MAX // DRAFTS_PER_PAGE
    return status, customer, int(page) if in_bounds else None, sort


def _bulk_done(
    approved: int | None, changed: int, out_of_date: int = 0, unseen: int = 0, unseen_in: dict[str, int] | None = None
) -> str:
    """What a bulk approval did, said once at the top of the campaign's page (it reloaded with no word); ``unseen_in``,
    how many of the ``unseen`` drafts hold the character in their copy, address or a product's link."""
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
        said += f" {unseen} {'were' if unseen != 1 else 'was'} flagged instead{unseen_holders_said(unseen_in or {})}."
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
    if job.status == "succeeded" and not (refreshed or changed):  # the catalog was written, but not their facts
        said = (
            "No pending or flagged draft was out of date: the catalog changed no fact of their products. Nothing to "
            "update."
        )
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


def _late_done(reapproved: int | None, left: dict[str, int]) -> str:
    """What approving again the drafts held back for lateness did, said once at the top of the campaign's page."""
    if reapproved is None:
        return ""
    said = f"Approved again {reapproved} draft{'s' if reapproved != 1 else ''} held back for lateness."
    kept = [f"{count} {late_drafts.LEFT[why]}" for why, count in left.items() if count]
    return said + (f" Left for review: {'; '.join(kept)}." if kept else "")


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
    return to_page(request, f"/review/campaigns/{campaign_id}")
