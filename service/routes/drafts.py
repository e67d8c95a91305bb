"""Drafts of a campaign: list, export, read, edit a variant (or ask the model for another version of it), refresh
its email with the catalog's facts (one, or all out of date), approve (one, all pending, or all held back for
lateness), reject, reopen.

An edit, approval, rejection or reopening may carry the draft's `revision` it is based on as `expected_revision`:
if the draft changed since (someone else edited or reviewed it), it is refused with 409 naming who changed what.
"""

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from service import drafts as draft_ops
from service import late_drafts, refreshed_facts, suggestions
from service.deps import WHOLE_LIST, ApiKeyDep, OffsetQuery, SessionDep, StateDep
from service.draft_sorts import DEFAULT_SORT, SORT_HELP, DraftSort
from service.pipeline.exporting import EXPORT_WARNING, draft_ids, jsonl_chunks
from service.routes.responses import KEYED, errors
from service.schemas import (
    ApproveIn,
    ApprovePendingIn,
    DatabaseId,
    DraftOut,
    DraftStatus,
    JobStarted,
    LateReapproved,
    PendingApproved,
    RefreshFactsCampaignIn,
    RefreshFactsIn,
    RejectIn,
    SuggestionIn,
    SuggestionOut,
    VariantEdit,
)
from service.schemas.common import CUSTOMER_SEARCH_MAX

router = APIRouter(tags=["drafts"], responses=errors(*KEYED))


@router.get("/campaigns/{campaign_id}/drafts", response_model=list[DraftOut], responses=errors(404))
def list_drafts(
    campaign_id: DatabaseId, session: SessionDep, _key: ApiKeyDep, status: DraftStatus | None = None,
    flagged: bool | None = None, limit: int = Query(100, ge=1, le=1000), offset: OffsetQuery = 0,
    customer: str | None = Query(
        None, max_length=CUSTOMER_SEARCH_MAX,
        description="only the drafts of this customer: their id or email, or their first name, in any case",
    ),
    sort: DraftSort = Query(DEFAULT_SORT, description=SORT_HELP),
) -> list[DraftOut]:  # fmt: skip
    """The campaign's drafts, flagged first unless `sort` names another order (each tie broken by the draft's id, so
    that pages of `limit` from `offset` neither repeat nor skip a draft); a campaign that does not exist is a 404,
    an unknown `status` or `sort` a 422 listing the values it takes."""
    drafts = draft_ops.list_drafts(session, campaign_id, status, flagged, limit, offset, customer, sort)
    return [draft_ops.draft_out(d) for d in drafts]


@router.get(
    "/campaigns/{campaign_id}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "one JSON object per line",
            "headers": {
                EXPORT_WARNING: {
                    "description": "set when the campaign's generation failed (how many customers have no "
                    "draft), and for an experiment (its holdout's lines say `holdout`: send them nothing)",
                    "schema": {"type": "string"},
                }
            },
        },
        **errors(404, 409),
    },
    openapi_extra={WHOLE_LIST: "the export is answered whole, not a page at a time: the campaign's drafts streamed "
                   "line by line whatever its size, one file for the email service"},
)  # fmt: skip
def export_drafts(
    campaign_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep,
    status: DraftStatus | None = Query(None, description="only drafts in this status, e.g. approved"),
    selected_only: bool = Query(
        False, description="one line per draft, the variant to mail (the one chosen, by its reviewer or "
        "generation), for a sender that mails every line; refused (409) for an experiment, which chooses its "
        "variants as it sends",
    ),
) -> StreamingResponse:  # fmt: skip
    """The campaign's drafts as JSON lines, one per customer and variant, in the audience's order, streamed
    whatever the campaign's size: for an email service provider (`?status=approved` after review) or the shop's
    own tools. Each line has the customer (`customer_id`, `email`, `first_name`, `locale`, `mailable`: consent
    given, not unsubscribed, an address that did not bounce, and `holdout`: an experiment's holdout keeps them),
    the draft (`draft_id`, `status`, `flagged`,
    `flag_reasons`), the variant (`variant_id`, `variant`, `selected`: the one chosen, by the reviewer or else by
    generation; `sent`: the one mailed, which in an experiment is the customer's arm's), its `subject`,
    `preheader`, `text_body` and `html_body` (with the `{{unsubscribe_url}}` placeholder for the sender's own
    link; in the HTML, a link's address and text), `checks` and `scores`. Refused (409) while the campaign is being
    generated, as the lines would stop wherever its job had got; for a campaign whose generation failed, the
    `X-Tailor-Warning` header says how many of its customers have no draft. With `selected_only`, each draft has one
    line, its variant to mail."""
    # 404 (no campaign) or 409 (being generated; an experiment's selected_only) before streaming
    ids, warning = draft_ids(session, campaign_id, status, selected_only)
    # the page's link names the same file
    name = f"campaign-{campaign_id}{f'-{status}' if status else ''}{'-selected' if selected_only else ''}.jsonl"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if warning:
        headers[EXPORT_WARNING] = warning
    return StreamingResponse(
        jsonl_chunks(state.engine, ids, selected_only), media_type="application/x-ndjson", headers=headers
    )


@router.get("/drafts/{draft_id}", response_model=DraftOut, responses=errors(404))
def get_draft(draft_id: DatabaseId, session: SessionDep, _key: ApiKeyDep) -> DraftOut:
    """One draft: its variants with their copy, rendered email, check results and predictions, its products and
    their explanations, and its review history."""
    return draft_ops.draft_out(draft_ops.get_draft(session, draft_id))


@router.patch("/drafts/{draft_id}/variants/{variant_id}", response_model=DraftOut, responses=errors(404, 409, 413))
def edit_variant(
    draft_id: DatabaseId, variant_id: DatabaseId, edit: VariantEdit, session: SessionDep, state: StateDep,
    _key: ApiKeyDep,
) -> DraftOut:  # fmt: skip
    """Edit a variant's copy (the fields given); the email is rendered again, the guardrails and the scoring model
    run again on it. A draft already reviewed is a 409, as is one changed since `expected_revision`."""
    return draft_ops.draft_out(draft_ops.edit_variant(session, draft_id, variant_id, edit, state.models))


@router.post(
    "/drafts/{draft_id}/variants/{variant_id}/suggestion", response_model=SuggestionOut,
    responses=errors(404, 409, 413, 504),
)  # fmt: skip
def suggest_variant(
    draft_id: DatabaseId, variant_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep,
    body: SuggestionIn | None = None,
) -> SuggestionOut:  # fmt: skip
    """Another version of the variant's subject, preheader and intro, written by the configured model (with `note`,
    the copywriter's wish: "warmer", "mention the gift first") and held to every check model copy meets, with its
    checks and predictions. The draft is not changed: save the version with the variant's edit (`PATCH`, its
    `revision` as `expected_revision`). Refused: a draft already reviewed (409); every version the model wrote
    failing the checks (422, `problems` naming each `check`); the model unreachable (503) or not done within
    `TAILOR_LLM_SUGGESTION_DEADLINE`, at most `TAILOR_LLM_GROUP_DEADLINE` (504)."""
    note = body.note if body else ""
    return suggestions.suggest_for_variant(session, draft_id, variant_id, note, state.models)


@router.post("/drafts/{draft_id}/approve", response_model=DraftOut, responses=errors(404, 409, 413))
def approve(
    draft_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep, body: ApproveIn | None = None
) -> DraftOut:
    """Approve the draft (with `variant_id`, that variant of the draft's: another is a 422 naming it); a variant
    that failed guardrail checks needs `override_checks` and a `comment` saying why (409 without them), recorded
    with the review. With `expected_revision`, a draft changed since (copy its approver never saw) is a 409, as is a
    draft whose email shows a product as the catalog no longer has it (out of stock, gone, another price): sending
    would hold it back again; the message says what changed and what can be done."""
    body = body or ApproveIn()  # no body: the chosen variant, by nobody in particular
    draft = draft_ops.approve(
        session, draft_id, body.variant_id, body.reviewer, body.comment, override_checks=body.override_checks,
        expected_revision=body.expected_revision, models=state.models,
    )  # fmt: skip
    return draft_ops.draft_out(draft)


@router.post("/campaigns/{campaign_id}/drafts/approve", response_model=PendingApproved, responses=errors(404, 409, 413))
def approve_pending(
    campaign_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep, body: ApprovePendingIn | None = None
) -> PendingApproved:
    """Approve every pending draft of the campaign, each with its chosen variant: the drafts that passed every
    guardrail check and review floor. Flagged drafts stay for a person. Refused (409) while the campaign is being
    generated. The body is optional, as for one draft's approval."""
    body = body or ApprovePendingIn()
    return PendingApproved(
        **draft_ops.approve_pending(session, campaign_id, body.reviewer, body.comment, models=state.models)
    )


@router.post(
    "/campaigns/{campaign_id}/drafts/reapprove-late", response_model=LateReapproved, responses=errors(404, 409, 413)
)
def reapprove_late(
    campaign_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep, body: ApprovePendingIn | None = None
) -> LateReapproved:
    """Approve again the campaign's drafts the send's due-check held back for lateness alone (more than
    `TAILOR_SEND_LATE_LIMIT_HOURS` past their moment, after an outage), untouched since: a fresh approval each, with
    the variant and overridden checks it had, and the send time an approval gets now (`send_after`), so they go at
    the next due-check (or at each customer's next best hour, or with the next send asked for: `goes`) rather than
    being late again. Drafts flagged for anything else (their facts, their checks, a send cut off) stay for a
    person, as do those whose catalog facts changed meanwhile (flagged with what changed): `left` counts them by
    why. Refused (409) while the campaign is being generated. The body is optional."""
    body = body or ApprovePendingIn()
    return LateReapproved(
        **late_drafts.reapprove_late(session, campaign_id, body.reviewer, body.comment, models=state.models)
    )


@router.post("/drafts/{draft_id}/reject", response_model=DraftOut, responses=errors(404, 409, 413))
def reject(draft_id: DatabaseId, session: SessionDep, _key: ApiKeyDep, body: RejectIn | None = None) -> DraftOut:
    """Reject the draft, with a `comment` saying why, kept in its review history; it will not be sent. With
    `expected_revision`, a draft changed since is a 409."""
    body = body or RejectIn()
    draft = draft_ops.reject(session, draft_id, body.reviewer, body.comment, body.expected_revision)
    return draft_ops.draft_out(draft)


@router.post("/drafts/{draft_id}/reopen", response_model=DraftOut, responses=errors(404, 409, 413))
def reopen(
    draft_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep, body: RejectIn | None = None
) -> DraftOut:
    """Take back the draft's approval (before it is sent) or rejection: it waits for review again (`pending`, or
    `flagged` if it was), with a `reopen` review in its history. 409 for a draft sent or never reviewed."""
    body = body or RejectIn()
    draft = draft_ops.reopen(session, draft_id, body.reviewer, body.comment, body.expected_revision, state.models)
    return draft_ops.draft_out(draft)


@router.post("/drafts/{draft_id}/refresh-facts", response_model=DraftOut, responses=errors(404, 409, 413))
def refresh_facts(
    draft_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep, body: RefreshFactsIn | None = None
) -> DraftOut:
    """Render the draft's email again with the catalog's facts of now (its products' prices, names, links), keeping
    every variant's copy, and run the guardrails and the scoring model again: copy that states an old price then
    fails its grounding check and flags the draft. The draft's flag reasons about a price the email now shows as the
    catalog has it go; a product no longer for sale (out of stock, gone) stays in the email and the draft flagged.
    A `refresh` review in its history names what changed (none when nothing had: the draft is returned as it was).
    409 for a draft not pending or flagged, or changed since `expected_revision`."""
    body = body or RefreshFactsIn()
    draft, _ = refreshed_facts.refresh_facts(session, draft_id, body.reviewer, body.expected_revision, state.models)
    return draft_ops.draft_out(draft)


@router.post(
    "/campaigns/{campaign_id}/drafts/refresh-facts",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobStarted,
    responses=errors(404, 409, 413),
)
def refresh_campaign_facts(
    campaign_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep,
    body: RefreshFactsCampaignIn | None = None,
) -> JobStarted:  # fmt: skip
    """Start refreshing (a `refresh_facts` job), as `POST /drafts/{id}/refresh-facts` does, each pending or flagged
    draft of the campaign whose email the catalog has changed a fact of since it was written; poll GET /jobs/{job_id}
    for its progress. Each draft is refreshed and kept on its own: a job cancelled or interrupted keeps those it did,
    and run again refreshes the others. Its result: `refreshed`, `flagged` (of those, the ones still waiting for a
    person: copy stating an old price, a product no longer for sale) and `changed_meanwhile` (edited or reviewed by
    someone else meanwhile: left as they are). Refused (409) while the campaign is being generated and while its
    drafts are being refreshed already."""
    body = body or RefreshFactsCampaignIn()
    job_id = refreshed_facts.start_refresh(session, state.jobs, state.engine, campaign_id, body.reviewer, state.models)
    return JobStarted.of(job_id)
