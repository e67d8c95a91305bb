"""A campaign's drafts as JSON lines, one per customer and variant, for an email service provider or a tool of
the shop's own: `tailor export`, `tailor generate --out` and `GET /campaigns/{id}/export` write the same lines.

Drafts are read a page at a time in the audience's order, so memory stays bounded whatever the campaign's size.
The bodies keep the `{{unsubscribe_url}}` placeholder for the sender to fill with its own unsubscribe link;
`mailable` says whether the customer may be mailed now (consent given, not unsubscribed since generation, an
address that did not bounce).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from generation.export import private_opener
from service.campaigns import get_campaign
from service.db.batches import batches
from service.db.models import Draft
from service.db.session import session_scope
from service.drafts import AS_SHOWN, AUDIENCE_ORDER, draft_out

PAGE = 500  # drafts read at a time (each with its variants' rendered email)


def draft_ids(session: Session, campaign_id: int, status: str | None = None) -> list[int]:
    """The campaign's draft ids in its audience's order, optionally of one status; NotFound for no campaign."""
    get_campaign(session, campaign_id)
    query = select(Draft.id).where(Draft.campaign_id == campaign_id).order_by(*AUDIENCE_ORDER)
    if status is not None:
        query = query.where(Draft.status == status)
    return list(session.scalars(query))


def export_records(session: Session, ids: list[int]) -> Iterator[dict[str, Any]]:
    """One record per variant of each draft in ``ids``, in that order."""
    for page in batches(ids, size=PAGE):
        loaded = session.scalars(select(Draft).where(Draft.id.in_(page)).options(*AS_SHOWN))
        by_id = {draft.id: draft for draft in loaded}
        for draft_id in page:
            draft = by_id.get(draft_id)
            if draft is None:  # deleted since the ids were read
                continue
            yield from _records(draft)
        session.expunge_all()  # memory holds one page


def _records(draft: Draft) -> Iterator[dict[str, Any]]:
    body = draft_out(draft)
    mailable = body.cannot_mail is None
    for variant in body.variants:
        yield {
            "customer_id": body.customer_id, "email": body.email, "first_name": body.first_name,
            "locale": body.locale, "mailable": mailable, "draft_id": body.id, "variant_id": variant.id,
            "variant": variant.label, "selected": variant.id == body.selected_variant_id,
            "sent": variant.id == body.sent_variant_id, "sent_to": body.sent_to, "status": body.status,
            "flagged": body.flagged, "flag_reasons": body.flag_reasons, "subject": variant.subject,
            "preheader": variant.preheader, "text_body": variant.text, "html_body": variant.html,
            "checks": [c.model_dump() for c in variant.checks],
            "scores": {"p_open": variant.p_open, "p_click": variant.p_click, "p_conversion": variant.p_conversion},
        }  # fmt: skip


def jsonl_lines(engine: Engine, ids: list[int]) -> Iterator[str]:
    """The export's lines, read in a session of their own (an HTTP response streams them after its request's
    session has closed)."""
    with session_scope(engine) as session:
        for record in export_records(session, ids):
            yield json.dumps(record, ensure_ascii=False) + "\n"


def export_campaign(engine: Engine, campaign_id: int, out: Path, status: str | None = None) -> tuple[int, int]:
    """Write the campaign's drafts (optionally of one ``status``) to ``out``; (drafts, lines) written. The file
    appears whole or not at all: it is written beside ``out`` and renamed at the end; its owner alone reads it."""
    with session_scope(engine) as session:
        ids = draft_ids(session, campaign_id, status)
    out.parent.mkdir(parents=True, exist_ok=True)
    drafts, rows = set(), 0
    partial = out.with_name(f".{out.name}.part")
    try:
        with (
            session_scope(engine) as session,
            open(partial, "w", encoding="utf-8", opener=private_opener) as handle,  # its owner's alone
        ):
            for record in export_records(session, ids):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                drafts.add(record["draft_id"])
                rows += 1
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return len(drafts), rows
