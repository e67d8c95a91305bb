"""`tailor drafts list|show|approve|reject|suggest`: a campaign's drafts reviewed one by one from a terminal, through
the functions the review page and the API call (service.drafts, service.suggestions), so the same rules hold and the
same reviews are recorded. Registered on the `drafts` group by service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated

import typer

from service.cli_bounds import OFFSET, REVISION, ROW_ID, CampaignOption
from service.draft_sorts import DEFAULT_SORT, SORT_LABELS, DraftSort

LISTED = 100  # drafts `tailor drafts list` shows unless told otherwise, as GET /campaigns/{id}/drafts answers

DraftId = Annotated[int, typer.Argument(metavar="DRAFT_ID", **ROW_ID, help="the draft's id (`tailor drafts list`)")]
# The draft's revision a review is based on, as ExpectedRevision is the API's.
Revision = Annotated[
    int | None,
    typer.Option(**REVISION, help="the revision `tailor drafts show` showed: refused if it changed since"),
]


# The orders --sort takes, each in the review page's words; ties are broken by the draft's id, so that pages from
# --offset neither repeat nor skip a draft.
SORT_OPTION_HELP = "the order, each tie broken by the draft's id: " + "; ".join(
    f"{name} ({words})" for name, words in SORT_LABELS.items()
)


def drafts_list(
    campaign: CampaignOption,
    status: Annotated[str | None, typer.Option(help="only drafts in this status, e.g. flagged or pending")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many drafts")] = LISTED,
    offset: Annotated[int, typer.Option(**OFFSET, help="the drafts after this many: the next page of a listing")] = 0,
    sort: Annotated[str, typer.Option(help=SORT_OPTION_HELP)] = DEFAULT_SORT,
) -> None:
    """The campaign's drafts in the order --sort names (flagged first and then in the audience's order unless
    asked), as the review page lists them: each draft's id (for `tailor drafts show`), customer, status, chosen
    variant's subject and, for a flagged one, its latest flag reason. A listing with more drafts after it says the
    --offset of the next."""
    from typing import get_args

    from service.cli import _engine_after_crashes, _one_of
    from service.db.session import session_scope
    from service.drafts import draft_out, list_drafts
    from service.schemas import DraftStatus

    if status is not None:
        _one_of(status, get_args(DraftStatus), "--status")
    _one_of(sort, get_args(DraftSort), "--sort")
    with session_scope(_engine_after_crashes()) as session:
        # One draft more than asked tells whether a next page has any: a full last page offers none.
        listed = list_drafts(session, campaign, status, limit=limit + 1, offset=offset, sort=sort)
        more, drafts = len(listed) > limit, [draft_out(draft) for draft in listed[:limit]]
    for draft in drafts:
        typer.echo(_draft_line(draft))
    if not drafts:
        beyond = f" after the first {offset:,}" if offset else ""
        _echo(f"campaign {campaign} has no drafts{f' with the status {status}' if status else ''}{beyond}")
    elif more:  # --limit stops at 1,000: a big campaign's flagged drafts went past it
        _echo(f"drafts {offset + 1:,} to {offset + limit:,} shown: --offset {offset + limit} for the next")


def _draft_line(draft) -> str:
    """ "12  C00017  flagged  Your autumn picks  (the latest flag reason)"."""
    chosen = next((v for v in draft.variants if v.id == draft.selected_variant_id), None)
    subject = chosen.subject if chosen is not None else "(no variant chosen)"
    why = f"  ({draft.flag_reasons[-1]})" if draft.flagged and draft.flag_reasons else ""
    return f"{draft.id}  {draft.customer_id}  {draft.status}  {subject}{why}"


def drafts_show(draft_id: DraftId) -> None:
    """What a copywriter needs to decide on a draft, as its review page shows it: the customer, the draft's status
    and revision, why it was flagged, and each variant's subject, preheader, text, scores and checks."""
    from service.cli import _engine_after_crashes
    from service.db.session import session_scope
    from service.drafts import draft_out, get_draft

    with session_scope(_engine_after_crashes()) as session:
        draft = draft_out(get_draft(session, draft_id))
    for line in _draft_words(draft):
        typer.echo(line)


def _draft_words(draft) -> list[str]:
    """The draft (a DraftOut) as lines of text: its header, flag reasons, variants and review history."""
    from service.send_times import on_customer_clock

    name = f"{draft.first_name} " if draft.first_name else ""
    zone = f"{draft.timezone}, " if draft.timezone else ""
    lines = [
        f"draft {draft.id} of campaign {draft.campaign_id}: {draft.status}, revision {draft.revision}",
        f"customer {draft.customer_id}: {name}<{draft.email}>, {draft.locale}, {zone}{draft.segment}",
    ]
    if draft.cannot_mail:
        lines.append(f"cannot be mailed: {draft.cannot_mail}")
    # on the customer's clock, as the review page says them ("goes at 2027-01-08 09:00 America/New_York")
    if draft.send_after is not None and draft.status == "approved":
        lines.append(f"goes at {on_customer_clock(draft.send_after, '%Y-%m-%d %H:%M', draft.timezone)}")
    if draft.retry_after is not None and draft.status == "approved":  # as the review page's "tried again" says
        retry = on_customer_clock(draft.retry_after, "%Y-%m-%d %H:%M", draft.timezone)
        lines.append(f"tried again at {retry}: the mail server refused the address for now")
    if draft.flag_reasons:
        lines += ["flagged:" if draft.flagged else "flag reasons:", *(f"  - {reason}" for reason in draft.flag_reasons)]
    for variant in draft.variants:
        lines += ["", *_variant_words(variant, draft)]
    if draft.reviews:
        lines += ["", "reviews:"]
        lines += [f"  {r.created_at:%Y-%m-%d %H:%M} {r.action} by {r.reviewer or 'someone'}{_said(r)}"
                  for r in draft.reviews]  # fmt: skip
    return lines


def _variant_words(variant, draft) -> list[str]:
    """A variant's copy, scores and checks, marked when it is the chosen one or the one sent."""
    from generation.guardrails import check_label

    marks = [mark for mark, its in (("chosen", draft.selected_variant_id), ("sent", draft.sent_variant_id))
             if its == variant.id]  # fmt: skip
    template = ", in template copy" if variant.used_fallback else ""
    failed = [check for check in variant.checks if not check.passed]
    passed = len(variant.checks) - len(failed)
    lines = [
        f"variant {variant.label} (id {variant.id}{', ' + ', '.join(marks) if marks else ''}{template})",
        f"  subject: {variant.subject}",
        f"  preheader: {variant.preheader}",
        f"  scores: {_scores(variant)}",
        f"  checks: {passed} passed" + (f", {len(failed)} failed:" if failed else ""),
        *(f"    - {check_label(check.name)}: {check.reason}" for check in failed),
        *_why_template_copy(variant),
        "  text:",
        *(f"    {line}" for line in _as_previewed(variant.text).splitlines()),
    ]
    return lines


def _why_template_copy(variant) -> list[str]:
    """Why a variant in template copy (or in part: a preheader) is not the model's, as the review page says it: each
    check that turned the model's copy down, with its reason (a copywriter told only "in template copy" could not
    tell a model that keeps inventing prices from one that cannot write the language)."""
    from generation.guardrails import check_label

    turned_down = [check for check in variant.checks if check.turned_down]
    if not turned_down:
        return []
    return [
        f"  why template copy{'' if variant.used_fallback else ' in part'}: the model's copy failed",
        *(f"    - {check_label(check.name)}: {check.turned_down}" for check in turned_down),
    ]


def _as_previewed(text: str) -> str:
    """A variant's text as a reviewer reads it: the footer's unsubscribe slot said in words, not the template
    placeholder ("{{unsubscribe_url}}") the stored email keeps until each recipient's own link is made at sending."""
    from generation.brands import UNSUBSCRIBE_PLACEHOLDER

    return text.replace(UNSUBSCRIBE_PLACEHOLDER, "[the recipient's own unsubscribe link, made when it is sent]")


def _scores(variant) -> str:
    """ "P(open) 24.1 %, P(click) 3.2 %, P(conversion) 0.8 %", or that the scoring model gave none."""
    scores = (("P(open)", variant.p_open), ("P(click)", variant.p_click), ("P(conversion)", variant.p_conversion))
    given = [f"{name} {value:.1%}" for name, value in scores if value is not None]
    return ", ".join(given) or "not scored"


def _said(review) -> str:
    overridden = f" despite {', '.join(review.overridden_checks)}" if review.overridden_checks else ""
    return f"{overridden}: {review.comment}" if review.comment else overridden


def drafts_approve(
    draft_id: DraftId,
    variant: Annotated[
        str | None,
        typer.Option(help="the variant to send, by its label or id as `tailor drafts show` lists it; default: the "
                     "chosen one"),
    ] = None,
    reviewer: Annotated[str, typer.Option(help="who approves it, kept with the approval")] = "",
    comment: Annotated[str, typer.Option(help="kept with the approval; says why, with --override-checks")] = "",
    override_checks: Annotated[
        bool, typer.Option("--override-checks", help="approve a variant that fails checks; needs --comment")
    ] = False,
    revision: Revision = None,
) -> None:  # fmt: skip
    """Approve a pending or flagged draft to be sent, as its review page does: a variant that fails a check is refused
    unless --override-checks says why in --comment, and a draft whose email the catalog no longer agrees with is
    refused, saying what changed."""
    from service.cli import _engine_after_crashes
    from service.db.session import session_scope
    from service.drafts import approve, get_draft
    from service.send_times import on_customer_clock

    if override_checks and not comment.strip():
        _refuse(draft_id, "say in --comment why its checks are overridden: it is kept with the approval")
    with session_scope(_engine_after_crashes()) as session, told_by_option(f"draft {draft_id}", APPROVE_OPTIONS):
        chosen = _variant_id(get_draft(session, draft_id), variant)
        draft = approve(
            session, draft_id, chosen, reviewer, comment, override_checks=override_checks, expected_revision=revision
        )
        label = next(v.label for v in draft.variants if v.id == draft.selected_variant_id)
        goes = (
            f"; it goes at {on_customer_clock(draft.send_after, '%Y-%m-%d %H:%M', draft.customer.timezone)} "
            "(`tailor send-due`)"
            if draft.send_after
            else f"; it goes with the campaign's next send (`tailor send --campaign {draft.campaign_id}`)"
        )
    typer.echo(f"draft {draft_id} approved with variant {label}{goes}")


def _variant_id(draft, variant: str | None) -> int | None:
    """The id of the draft's variant that ``variant`` names by label (A, B...) or id; None for the chosen one."""
    from service.errors import NotFound

    if variant is None:
        return None
    named = next((v for v in draft.variants if variant.strip().upper() in (v.label.upper(), str(v.id))), None)
    if named is None:
        labels = ", ".join(v.label for v in draft.variants)
        raise NotFound(f"Draft {draft.id} has no variant {variant}: its variants are {labels}.")
    return named.id


def drafts_reject(
    draft_id: DraftId,
    reason: Annotated[str, typer.Option(help="why: whoever reopens it, or rewrites its copy, reads it")],
    reviewer: Annotated[str, typer.Option(help="who rejects it, kept with the rejection")] = "",
    revision: Revision = None,
) -> None:
    """Reject a pending or flagged draft, as its review page does: it will not be sent, and the reason is kept in its
    review history."""
    from service.cli import _engine_after_crashes
    from service.db.session import session_scope
    from service.drafts import reject

    if not reason.strip():
        _refuse(draft_id, "say in --reason why it is rejected: whoever reopens it, or rewrites its copy, reads it")
    with session_scope(_engine_after_crashes()) as session, told_by_option(f"draft {draft_id}", REJECT_OPTIONS):
        reject(session, draft_id, reviewer, reason, expected_revision=revision)
    typer.echo(f"draft {draft_id} rejected: it will not be sent")


def drafts_suggest(
    draft_id: DraftId,
    variant: Annotated[
        str | None,
        typer.Option(help="the variant to rewrite, by its label or id as `tailor drafts show` lists it; default: the "
                     "chosen one"),
    ] = None,
    note: Annotated[str, typer.Option(help="what you wish of the new version, told to the model: e.g. warmer")] = "",
    save: Annotated[
        bool, typer.Option("--save", help="save the suggestion as the variant's edit, as the review page's editor does")
    ] = False,
    reviewer: Annotated[str, typer.Option(help="who saves it, with --save: kept in the draft's review history")] = "",
) -> None:  # fmt: skip
    """Another version of a variant's subject, preheader and intro, written by the configured model (TAILOR_LLM_MODEL)
    and checked as all its copy is: the version, its checks and its predictions. The draft is left as it is unless
    --save saves the version as the variant's edit, refused if someone changed the draft while the model wrote."""
    from service.cli import _engine_after_crashes
    from service.db.session import session_scope
    from service.drafts import edit_variant, get_draft
    from service.schemas import VariantEdit
    from service.settings import home_settings
    from service.state import model_store
    from service.suggestions import suggest_for_variant

    if save and not reviewer.strip():
        _refuse(draft_id, "say in --reviewer who saves the suggestion: it is kept in its review history", UNASKED)
    if reviewer and not save:
        _refuse(draft_id, "--reviewer is kept with a saved suggestion: add --save, or leave --reviewer out", UNASKED)
    models = model_store(home_settings().models_dir)
    try:
        with session_scope(_engine_after_crashes()) as session, told_by_option(
            f"draft {draft_id}", SUGGEST_OPTIONS, outcome=UNASKED
        ):  # fmt: skip
            draft = get_draft(session, draft_id)
            variant_id = _variant_id(draft, variant) or draft.selected_variant_id or draft.variants[0].id
            suggestion = suggest_for_variant(session, draft_id, variant_id, note, models)
        for line in _suggestion_words(suggestion):
            typer.echo(line)
        if not save:
            return
        edit = VariantEdit(
            subject=suggestion.subject, preheader=suggestion.preheader, intro=suggestion.intro, reviewer=reviewer,
            expected_revision=suggestion.revision,  # a change made while the model wrote is not overwritten
        )  # fmt: skip
        with session_scope(_engine_after_crashes()) as session:  # one transaction: saved whole or not at all
            saved = edit_variant(session, draft_id, variant_id, edit, models)
            status, revision = saved.status, saved.revision
    except KeyboardInterrupt:  # said, where typer ends the command with no word: a version shown is not one saved
        _echo(f"interrupted: nothing was saved, draft {draft_id} is as it was")
        raise
    typer.echo(f"saved as variant {suggestion.label}'s edit: draft {draft_id} is {status}, revision {revision}")


def _suggestion_words(suggestion) -> list[str]:
    """The suggestion (a SuggestionOut) as lines of text: what it is for, its copy, checks and predictions."""
    from generation.guardrails import check_label

    wish = f", for your note “{suggestion.note}”" if suggestion.note else ""
    failed = [check for check in suggestion.checks if not check.passed]
    passed = len(suggestion.checks) - len(failed)
    return [
        f"suggestion for variant {suggestion.label} of draft {suggestion.draft_id} (revision {suggestion.revision})"
        f"{wish}:",
        f"  subject: {suggestion.subject}",
        f"  preheader: {suggestion.preheader}",
        "  intro:",
        *(f"    {line}" for line in suggestion.intro.splitlines()),
        f"  checks: {passed} passed" + (f", {len(failed)} failed:" if failed else ""),
        *(f"    - {check_label(check.name)}: {check.reason}" for check in failed),
        f"  scores: {_scores(suggestion)}",
        *(f"    - {reason}" for reason in suggestion.reasons),
    ]


# The option of `tailor drafts approve` and `reject` that gives each field of the API's review.
APPROVE_OPTIONS = {"expected_revision": "--revision", "comment": "--comment"}
REJECT_OPTIONS = {"expected_revision": "--revision", "comment": "--reason"}
SUGGEST_OPTIONS = {"note": "--note"}
UNASKED = "got no suggestion, and is unchanged"  # what `tailor drafts suggest` refused says became of the draft


# The option of `tailor drafts approve-pending` and `reapprove-late` that gives the API's field.
BULK_APPROVAL_OPTIONS = {"comment": "--comment"}


@contextmanager
def told_by_option(what: str, options: dict[str, str], outcome: str = "was not reviewed"):
    """A review refused for a value given (service.drafts, which names the API's fields: expected_revision) in the
    command's words: by its option (--revision), and what became of ``what`` ("draft 7 rejected" was said of a draft
    being approved, "review rejected" of a campaign's drafts approved in bulk)."""
    from service.errors import InvalidInput, Problem

    try:
        yield
    except InvalidInput as refused:
        problems = [
            Problem(p.row, options[p.column], p.message, "option") if p.column in options else p
            for p in refused.problems
        ]
        raise InvalidInput(what, problems, outcome=outcome) from None


def _refuse(draft_id: int, why: str, outcome: str = "was not reviewed") -> None:
    _echo(f"error: draft {draft_id} {outcome}: {why}")
    raise typer.Exit(2)


def _echo(message: str) -> None:
    typer.echo(message, err=True)
