"""A campaign's drafts as JSON lines, one per customer and variant, for an email service provider or a tool of
the shop's own: `tailor export`, `tailor generate --out` and `GET /campaigns/{id}/export` write the same lines.

Drafts are read a page at a time in the audience's order, so memory stays bounded whatever the campaign's size,
as the columns the lines hold (the drafts with their customer and send, then their variants), not as ORM objects.
The bodies keep the `{{unsubscribe_url}}` placeholder for the sender to fill with its own unsubscribe link (in the
HTML body, a link's address and text, as Tailor's own send makes it);
`mailable` says whether the customer may be mailed now (consent given, not unsubscribed since generation, an
address that did not bounce) with the line's email: one holding a character its reader does not see, in its copy,
its customer's address or its products' links (service.unseen_copy, from before copy, imports and brand kits were
read without them), which Tailor's own send holds back, is not mailable,
and its `flag_reasons` say where the character is; `holdout` whether the campaign's experiment holds the customer
out (held out by a send already, or to be by the next one, by the hash sending uses): they are to be sent nothing.
With ``selected_only`` each draft has one line, the variant chosen (by its reviewer, else by generation), so that a
sender mailing every line mails each customer once; an experiment chooses its variants as it sends, so it has no such
export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine, Row, and_, func, select
from sqlalchemy.orm import Session

from generation.brands import UNSUBSCRIBE_PLACEHOLDER
from generation.export import written_whole
from service.campaigns import cancel_first, get_campaign
from service.db.batches import batches
from service.db.models import Campaign, Customer, Draft, Job, Send, Variant
from service.db.session import session_scope, wait_for_locks_bounded
from service.draft_orders import AUDIENCE_ORDER
from service.errors import Conflict, Remedy
from service.experiments import held_out_customers, takes_into_arms
from service.kept_unsubscribes import stopped_by_kept
from service.pipeline.frames import MAILABLE
from service.pipeline.freshness import unseen_reason
from service.pipeline.mail import with_unsubscribe_link
from service.schemas import CheckOut
from service.unseen_copy import unseen_in, unseen_in_addresses

PAGE = 500  # drafts read at a time (each with its variants' rendered email)
CHUNK = 256_000  # characters of lines the API's export streams at a time
# The HTTP header in which GET /campaigns/{id}/export says that its lines are not the whole campaign's (cut_short).
EXPORT_WARNING = "X-Tailor-Warning"
NOT_MAILABLE = "Not to be mailed"  # how a line's reason that its email holds a character no one sees begins


def draft_ids(
    session: Session, campaign_id: int, status: str | None = None, selected_only: bool = False
) -> tuple[list[int], str | None]:
    """The campaign's draft ids in its audience's order, optionally of one status, and a warning when they are not
    the whole campaign's (see ``cut_short``); NotFound for no campaign, Conflict while it is being generated, and
    for ``selected_only`` of an experiment."""
    campaign = get_campaign(session, campaign_id)
    if selected_only and campaign.holdout_share:
        send = Remedy(api=f"POST /campaigns/{campaign_id}/send", command_line=f"`tailor send --campaign {campaign_id}`")
        raise Conflict.naming(
            send,
            lambda how: (
                f"Campaign {campaign_id} is an experiment: the variant each customer is mailed is chosen as "
                "the campaign is sent (its arms learn from the opens so far), so it has no one variant per customer to "
                f"export. Send it with Tailor ({how}), or export every variant and its lines' `sent` marks once it has "
                "gone."
            ),
        )
    warnings = [text for text in (cut_short(session, campaign, status), _holdout_note(campaign, status)) if text]
    warning = "; ".join(warnings) or None
    query = select(Draft.id).where(Draft.campaign_id == campaign_id).order_by(*AUDIENCE_ORDER)
    if status is not None:
        query = query.where(Draft.status == status)
    return list(session.scalars(query)), warning


def cut_short(session: Session, campaign: Campaign, status: str | None = None) -> str | None:
    """Whether an export of ``campaign`` would be missing drafts, for the person handing it to a sender: Conflict
    while it is being generated (the file would stop wherever its job had got), and for a campaign whose generation
    failed (stopped, cancelled, or killed with its process), a warning saying how many of the customers it was
    writing for have no draft, where its job counted them. An export of one ``status`` leaves out the other drafts
    by request: the warning then counts the customers with no draft at all, not the lines missing from it."""
    if campaign.status not in ("generating", "failed"):
        return None
    stored = session.scalar(select(func.count()).select_from(Draft).where(Draft.campaign_id == campaign.id))
    job = session.scalars(
        select(Job).where(Job.campaign_id == campaign.id, Job.kind == "generate").order_by(Job.created_at.desc())
    ).first()
    audience = job.total if job is not None and job.total > max(stored, 1) else None  # 1: before it counted them
    if campaign.status == "generating":
        so_far = f"{stored:,} of {audience:,}" if audience else f"{stored:,}"
        raise Conflict.naming(
            cancel_first(session, campaign.id, "generate"),
            lambda first: (
                f"Campaign {campaign.id} is being generated ({so_far} drafts written so far): export it once "
                f"it is ready, or {first}"
            ),
        )
    again = (
        f"generate it again (`tailor campaigns generate {campaign.id}`, or POST /campaigns/{campaign.id}/generate) "
        "to write them all"
    )
    if audience:
        missing = (
            f"{audience - stored:,} are missing from this file"
            if status is None
            else f"{audience - stored:,} have no draft, {status} or other"
        )
        return (
            f"campaign {campaign.id} failed while generating: it has drafts for {stored:,} of the {audience:,} "
            f"customers its generation was writing for, so {missing}; {again}"
        )
    return f"campaign {campaign.id} failed while generating: this file holds the drafts it had stored; {again}"


# The statuses of drafts an experiment never holds out (``_held_out``): an export of them has no holdout line.
_NEVER_HELD_OUT = ("sent", "rejected", "skipped")


def _holdout_note(campaign: Campaign, status: str | None) -> str | None:
    """For an experiment, that its holdout's lines are marked: a sender that mails them leaves nothing to compare
    the variants with. Not for an export of drafts of a ``status`` no holdout line has (its sent ones, say)."""
    if not campaign.holdout_share or status in _NEVER_HELD_OUT:
        return None
    return (
        f"campaign {campaign.id} is an experiment holding out {campaign.holdout_share:.0%} of its customers: their "
        "lines say holdout true; send them nothing, or the lift over the holdout cannot be measured"
    )


def _held_out(rows: list[Row], campaign: Campaign | None) -> set[int]:
    """The drafts in ``rows`` whose customer the campaign's experiment holds out: held out by a send already, or
    still to send, in the arms (not pinned) and taken by the hash sending uses, as the forecast counts them."""
    held = {row.id for row in rows if row.status == "holdout"}
    if campaign is None or not campaign.holdout_share:
        return held
    in_arms = {
        row.customer_id: row.id
        for row in rows
        if row.status in ("pending", "flagged", "approved", "sending") and takes_into_arms(row.mailable, row.pinned)
    }
    taken = held_out_customers(campaign.id, campaign.holdout_share, list(in_arms))
    return held | {in_arms[customer] for customer in taken}


# What a line says of a draft, its customer (``mailable``: now, whatever became of the draft) and its send, read as
# columns: loaded as ORM objects with what the review page shows (reviews, a customer's profile), 20,000 drafts
# made some 100,000 objects the lines never read.
_DRAFT_COLUMNS = (
    Draft.id, Draft.campaign_id, Draft.status, Draft.flagged, Draft.flag_reasons, Draft.selected_variant_id,
    Draft.pinned, Draft.recommendations, Customer.id.label("customer_row_id"),
    Customer.external_id.label("customer_id"), Customer.email, Customer.first_name, Customer.locale,
    and_(*MAILABLE).label("mailable"), Send.variant_id.label("sent_variant_id"), Send.to_email.label("sent_to"),
    Send.perhaps_sent.label("perhaps_sent"),
)  # fmt: skip
_VARIANT_COLUMNS = (
    Variant.draft_id, Variant.id, Variant.label, Variant.subject, Variant.preheader, Variant.intro,
    Variant.product_lines, Variant.text, Variant.html,
    Variant.checks, Variant.p_open, Variant.p_click, Variant.p_conversion,
)  # fmt: skip
# A variant's checks as the API shows them (VariantOut.checks): every field named, in the schema's order.
_CHECKS = TypeAdapter(list[CheckOut])


def export_records(session: Session, ids: list[int], selected_only: bool = False) -> Iterator[dict[str, Any]]:
    """One record per variant of each draft in ``ids``, in that order; with ``selected_only``, one per draft: its
    selected variant."""
    campaigns: dict[int, Campaign | None] = {}
    unsubscribed = stopped_by_kept(session)  # while the database was busy: not written yet, and not to be mailed
    for page in batches(ids, size=PAGE):
        rows = session.execute(
            select(*_DRAFT_COLUMNS)
            .join(Customer, Customer.id == Draft.customer_id)
            .outerjoin(Send, Send.draft_id == Draft.id)
            .where(Draft.id.in_(page))
        ).all()
        by_id = {row.id: row for row in rows}
        variants: dict[int, list[Row]] = {}
        for variant in session.execute(
            select(*_VARIANT_COLUMNS).where(Variant.draft_id.in_(page)).order_by(Variant.id)
        ):  # fmt: skip
            variants.setdefault(variant.draft_id, []).append(variant)
        campaign_id = rows[0].campaign_id if rows else None
        if campaign_id is not None and campaign_id not in campaigns:
            campaigns[campaign_id] = session.get(Campaign, campaign_id)
        held = _held_out(rows, campaigns.get(campaign_id))
        for draft_id in page:
            row = by_id.get(draft_id)
            if row is None:  # deleted since the ids were read
                continue
            written = variants.get(draft_id, [])
            if selected_only:  # outside an experiment, the variant sending mails (``sending._variant_for``)
                written = [variant for variant in written if variant.id == row.selected_variant_id]
            mailable = bool(row.mailable) and row.customer_row_id not in unsubscribed
            yield from _records(row, written, mailable, draft_id in held)


def _records(draft: Row, variants: list[Row], mailable: bool, holdout: bool) -> Iterator[dict[str, Any]]:
    """A line per variant: ``sent`` for the one known to have gone out, ``perhaps_sent`` for the one whose mail
    server's answer was lost (``Send.perhaps_sent``), which a tool counting what went out leaves out. A variant whose
    email, or whose customer's address or product links, hold a character its reader does not see is not mailable,
    and its line's ``flag_reasons`` say where."""
    addresses = unseen_in_addresses(draft.email, draft.recommendations)
    for variant in variants:
        mailed = variant.id == draft.sent_variant_id
        unseen = [  # an address, links or copy stored with such characters, which no approval overrides
            *(f"{NOT_MAILABLE}: {where}; {advice}." for where, advice in addresses),
            *(
                unseen_reason(NOT_MAILABLE, variant.label, where, advice)
                for where, advice in unseen_in(variant, draft.recommendations)
            ),
        ]
        reasons = [*(draft.flag_reasons or []), *unseen] if unseen else draft.flag_reasons
        yield {
            "customer_id": draft.customer_id, "email": draft.email, "first_name": draft.first_name,
            "locale": draft.locale, "mailable": mailable and not unseen, "holdout": holdout, "draft_id": draft.id,
            "variant_id": variant.id, "variant": variant.label, "selected": variant.id == draft.selected_variant_id,
            "sent": mailed and not draft.perhaps_sent, "perhaps_sent": mailed and bool(draft.perhaps_sent),
            "sent_to": draft.sent_to, "status": draft.status,
            "flagged": draft.flagged, "flag_reasons": reasons, "subject": variant.subject,
            "preheader": variant.preheader, "text_body": variant.text,
            "html_body": with_unsubscribe_link(variant.html, UNSUBSCRIBE_PLACEHOLDER),
            "checks": _CHECKS.dump_python(_CHECKS.validate_python(variant.checks)),
            "scores": {"p_open": variant.p_open, "p_click": variant.p_click, "p_conversion": variant.p_conversion},
        }  # fmt: skip


def jsonl_chunks(engine: Engine, ids: list[int], selected_only: bool = False) -> Iterator[str]:
    """The export's lines, whole lines joined into chunks of about ``CHUNK`` characters, read in a session of their
    own (an HTTP response streams them after its request's session has closed). A response streams each item of a
    plain iterator from a worker thread and sends it as a piece of its own: one a line took 52 s for 20,000 drafts
    (40,000 lines, 145 MB), five times the time to write them."""
    with session_scope(engine) as session:
        # As long as other requests' waits: the answer has begun (200), so a database busy past it cuts the stream
        # before its end, which the client reads as a broken transfer, never as a whole file of fewer lines.
        wait_for_locks_bounded(session)
        lines, size = [], 0
        for record in export_records(session, ids, selected_only):
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
            size += len(lines[-1])
            if size >= CHUNK:
                yield "".join(lines)
                lines, size = [], 0
        if lines:
            yield "".join(lines)


def export_campaign(
    engine: Engine, campaign_id: int, out: Path, status: str | None = None, selected_only: bool = False
) -> tuple[int, int, str | None]:
    """Write the campaign's drafts (optionally of one ``status``; with ``selected_only``, the variant to send
    alone) to ``out``; (drafts, lines) written, and a warning
    when they are not the whole campaign's (``cut_short``). The file appears whole or not at all: it is written
    beside ``out`` and renamed at the end; its owner alone reads it."""
    with session_scope(engine) as session:
        ids, warning = draft_ids(session, campaign_id, status, selected_only)
    drafts, rows = set(), 0
    with session_scope(engine) as session, written_whole(out) as handle:  # its owner's alone
        for record in export_records(session, ids, selected_only):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            drafts.add(record["draft_id"])
            rows += 1
    return len(drafts), rows, warning
