"""A draft's page: its variants, preview, checks and history, what an action just did, and the errors of an
action refused, with what the person typed kept beside the draft as it is now.
"""

import re
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from generation.schemas import NOTE_MAX
from service import drafts as draft_ops
from service.bounds import DATABASE_INT_MAX
from service.db.models import Draft
from service.deps import ApiKeyDep, SessionDep
from service.draft_sorts import DEFAULT_SORT
from service.errors import ChecksFailed, Conflict, InvalidInput, TailorError
from service.pipeline.mail import sender_of
from service.review import PREFIX, isolated, templates
from service.routes.review.campaign_pages import DRAFTS_PER_PAGE, list_of, listed_query
from service.routes.review.redirects import to_page
from service.schemas import COMMENT_MAX, DatabaseId, VariantOut
from service.schemas.common import CUSTOMER_SEARCH_MAX
from service.settings import SmtpSettings

router = APIRouter(prefix=PREFIX)
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


FIELD_LABELS = {
    "subject": "Subject", "preheader": "Preheader", "intro": "Intro", "comment": "Comment",
    "note": "Note for the model", "product_lines": "Product lines",
}  # fmt: skip
# The comment field of each of the draft's review forms (the keys of show_draft's ``comments``) as its form labels it:
# a rejection's blank reason was told as "Comment: say why", of a field labelled "Why reject?".
COMMENT_LABELS = {"approve": "Comment", "reject": "“Why reject?”", "reopen": "“Why?”"}
PRODUCT_LINE = re.compile(r"product_lines\[(\d+)\]")


def _label(column: str, products: Sequence[str], labels: dict[str, str]) -> str:
    """A field as the page labels it: "Line for Breakfast Blend", not the API's "product_lines[0]"."""
    if line := PRODUCT_LINE.fullmatch(column):
        index = int(line.group(1))
        return f"Line for {isolated(products[index])}" if index < len(products) else f"Product line {index + 1}"
    return labels.get(column, column)


def _in_words(error: TailorError, products: Sequence[str] = (), form: str | None = None) -> str:
    """What the person should read: each field, named as the page labels it, and its problem for a form that
    broke the limits (``products``: the names of the draft's products, in the order of their lines; ``form``: the
    review form sent, a key of COMMENT_LABELS, whose label its comment is named by); for a
    suggestion the checks turned down, that it was the model's version that failed them, each check named in words
    (it read "grounding: ..." above a variant whose own checks all passed), and what to do."""
    from generation.guardrails import check_label

    if isinstance(error, InvalidInput) and (checks := [p for p in error.problems if p.field_kind == "check"]):
        failed = "; ".join(f"{check_label(p.column or '')}: {p.message}" for p in checks)
        return (
            f"every version the model wrote of this copy failed the checks (the last: {failed}). Nothing was "
            "changed: ask again, perhaps with another note, or edit the copy yourself."
        )
    if isinstance(error, InvalidInput):
        labels = FIELD_LABELS | ({"comment": COMMENT_LABELS[form]} if form in COMMENT_LABELS else {})
        return "; ".join(
            f"{_label(p.column, products, labels)}: {p.message}" if p.column else p.message for p in error.problems
        )
    return str(error)


def show_draft(
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
    of drafts the person came from (``listed_query``), which its links back to the campaign keep, and whose drafts,
    filters and order "next to review" follows."""
    stored = draft_ops.get_draft(session, draft_id)
    status, customer, _, sort = list_of(listed)
    following = draft_ops.next_to_review(
        session, stored, sort or DEFAULT_SORT, status, customer, per_page=DRAFTS_PER_PAGE
    )
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
    if said and done == "saved":
        said += _failing_after_edit(next(v for v in draft.variants if v.id == preview))
    from generation.locales import amounts_locale
    from service.pipeline.contact_policy import current_deferral, without_deferrals
    from service.pipeline.freshness import changes_since, shown_catalog, stale_facts
    from service.pipeline.send_outcomes import skip_note
    from service.refreshed_facts import refreshed

    written_in = copy_locale(stored)
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
        "error": _in_words(error, products, next(iter(comments or {}), None)) if error else None,
        "sender": sender_of(stored.campaign.brand.slug, SmtpSettings()),
        # prices as the email writes them: "€39.00" in an English email to a French customer of a brand without
        # French, not "39,00 €" (generation.locales.number_locale)
        "shown": shown, "written_in": written_in, "numbers_in": amounts_locale(draft.locale, written_in),
        "next_id": following.draft_id, "waiting": following.waiting, "comments": comments or {},
        "approval": approval or {}, "listed": listed, "filtered": bool(status or customer),
        # the list walked on, at the page of it the next draft is on, for its way back
        "next_listed": listed_query(status, customer, following.page, sort),
        "done": said if not error else "",
        "error_variant": labels.get((edit or suggested or {}).get("variant_id")) if edit or suggested else None,
        "suggested": suggested or {}, "copy_limits": copy_limits() if editable else {}, "note_most": NOTE_MAX,
        "comment_max": COMMENT_MAX,  # told by each comment's field, as the copy fields tell theirs
        # the configured model's language, else no "Suggest another version" (it would only be refused) but why not
        "unsuggested_language": _language_name(written_in) if editable and not _model_writes(written_in) else None,
        # the fields the error is about, by the API's names ("subject", "product_lines[0]"), marked on the page
        "error_fields": [p.column for p in error.problems if p.column] if isinstance(error, InvalidInput) else [],
        "checks_refused": isinstance(error, ChecksFailed),  # the override box is what the error is about
    }  # fmt: skip
    return templates.TemplateResponse(request, "draft.html", context, status_code=error.status_code if error else 200)


def copy_limits() -> dict[str, dict[str, Any]]:
    """Each copy field's limits, as its edit field tells them while the person types (they were told only by Save's
    refusal and by a flag): the most characters an edit may hold (``most``: VariantEdit's, which refuses more) and
    the range of characters the length check passes (``passes``: generation.guardrails.length's), each read where it
    is set."""
    from generation.guardrails.length import LIMITS
    from service.schemas.copy_edits import VariantEdit

    fields = VariantEdit.model_json_schema()["properties"]
    checked = {"subject": "subject", "preheader": "preheader", "intro": "intro", "product_lines": "product line"}
    return {
        name: {"most": _longest(fields[name]), "passes": LIMITS[checked_as]} for name, checked_as in checked.items()
    }


def _longest(field: dict[str, Any]) -> int:
    """A field's maxLength in VariantEdit's JSON schema (for a list of lines, each line's)."""
    given = next(option for option in field["anyOf"] if option["type"] != "null")
    return given.get("items", given)["maxLength"]


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


def _failing_after_edit(variant: VariantOut) -> str:
    """What "saved" adds for an edit its checks fail: the draft went to flagged with no word but its badge, and a
    screen reader heard only that the edit was saved."""
    from generation.guardrails import check_label

    failed = [check_label(check.name) for check in variant.checks if not check.passed]
    return f" It fails the checks {', '.join(failed)}, so the draft is flagged for a person." if failed else ""


def _still(done: str | None, draft, edited_shown: bool) -> bool:
    """Whether what ``?done=`` says is still so: a link kept, or opened after someone else acted, says nothing."""
    if done in ("saved", "suggested"):  # a suggestion's page is the answer to its form alone (never ?done=)
        return edited_shown
    if done in ("reopened", "refreshed"):
        return draft.status in draft_ops.REVIEWABLE
    return done in ("approved", "rejected") and draft.status == done


def copy_locale(draft: Draft) -> str:
    """The locale the draft's copy is written in, for the edit fields' lang: the brand's default for a customer
    whose language it has no templates for, not the customer's (English copy spell-checked as French)."""
    from generation.brands import load_brand
    from service.pipeline.rendering import written_locale

    return written_locale(draft, load_brand(draft.campaign.brand.slug))


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(
    draft_id: DatabaseId, request: Request, session: SessionDep, _key: ApiKeyDep, preview: DatabaseId | None = None,
    done: str | None = None, status: str | None = None,
    customer: str | None = Query(None, max_length=CUSTOMER_SEARCH_MAX),
    page: int | None = Query(None, ge=1, le=DATABASE_INT_MAX // DRAFTS_PER_PAGE), sort: str | None = None,
) -> HTMLResponse:  # fmt: skip
    """The draft; `preview` names the variant whose email the preview shows (else the one sent, else the chosen
    one); `done`, the action just done (saved, approved, rejected, reopened), said at the top; `status`, `customer`,
    `sort` and `page`, the campaign's list of drafts it was opened from, which "← campaign" goes back to."""
    listed = listed_query(status, customer, page, sort)
    return show_draft(request, session, draft_id, preview=preview, done=done, listed=listed)


@router.get("/drafts/{draft_id}/{action:path}", include_in_schema=False)
def action_address(draft_id: DatabaseId, action: str, request: Request) -> RedirectResponse:
    """A form's address opened as a page (a bookmark, Back to a refused action's page, a link sent on): the draft,
    where the form is; it was a 405 page."""
    return to_page(request, f"/review/drafts/{draft_id}")
