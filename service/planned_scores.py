"""Scores that follow the moment a draft's email is planned to go.

A draft is scored for its planned moment (``service.send_times.planned_send_moment``: the engagement model reads the
send's hour and weekday), and that moment moves after the draft is written: a campaign scheduled, rescheduled or
unscheduled, its drafts given their customers' best hours, a draft approved (the campaign's moment, or now once it has
passed) or taken back for review. Each of those paths reads the planned hours of the drafts it may move
(``PlannedMoments.read``) before it moves them, and after (``PlannedMoments.follow``) scores again, for its new
moment, each draft whose hour moved: ``RESCORE_BATCH`` drafts loaded and scored in one pass of the engagement model,
read once from the model store. A draft rescheduled from Wednesday morning to Saturday night kept Wednesday's p_open,
and a marketing tool reading it after the reschedule was told figures for a moment that no longer applied.

Only the figures move: the chosen, picked or approved variant stays; a draft waiting for review has its review
floors' reasons said again (``refresh_floor_reasons``, as an edit does), an approved one stays approved. Drafts sent,
being sent or skipped keep the figures they had (``FROZEN``); the API says what moment a draft's figures are for
(``DraftOut.scored_for``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from service.db.batches import batches
from service.db.models import Campaign, Draft
from service.draft_orders import WAITING
from service.errors import NotReady
from service.send_times import planned_send_moment

if TYPE_CHECKING:
    from service.pipeline.model_store import ModelStore

RESCORE_BATCH = 500  # drafts loaded and scored at a time: memory stays bounded for a campaign of 100,000
FROZEN = ("sending", "sent", "skipped")  # drafts whose sending is under way or over: their figures stay as they went


def planned_hours(session: Session, *where: ColumnElement[bool]) -> dict[int, datetime]:
    """The hour each draft matching ``where`` (but those ``FROZEN``) is planned to go in, by its id: the model reads no
    finer than the hour, so a moment moved within it needs no scoring."""
    rows = session.execute(
        select(Draft.id, Draft.send_after, Campaign.scheduled_at, Draft.created_at)
        .join(Campaign, Campaign.id == Draft.campaign_id)
        .where(Draft.status.not_in(FROZEN), *where)
    )
    return {
        draft_id: planned_send_moment(send_after, scheduled_at, written_at).replace(minute=0, second=0, microsecond=0)
        for draft_id, send_after, scheduled_at, written_at in rows
    }


@dataclass
class PlannedMoments:
    """The planned hours of the drafts a change may move, read before it (``read``), to score again after it
    (``follow``) those whose hour moved."""

    where: tuple[ColumnElement[bool], ...]
    before: dict[int, datetime]

    @classmethod
    def read(cls, session: Session, *where: ColumnElement[bool]) -> PlannedMoments:
        return cls(where, planned_hours(session, *where))

    def follow(self, session: Session, models: ModelStore | None = None) -> list[int]:
        """Score again, for their new planned moment, the drafts whose planned hour moved since ``read``; the ids of
        those scored (none before any engagement model is trained). ``models``: the server's store, whose model is
        read already; without it (a command, a job of its own), the current model is read once for the call."""
        session.flush()
        moved = sorted(
            draft_id
            for draft_id, hour in planned_hours(session, *self.where).items()
            if self.before.get(draft_id) != hour
        )
        if moved:
            rescore(session, moved, models)
        self.before = {}
        return moved


def rescore(session: Session, draft_ids: list[int], models: ModelStore | None = None) -> list[int]:
    """Score the drafts again for the moment each is planned to go, ``RESCORE_BATCH`` at a time, each batch in one
    pass of the engagement model (read once); the ids scored (none before any engagement model is trained). Drafts
    ``FROZEN`` meanwhile are left; those loaded already are read again, as the bulk updates that moved them left
    them (a send time, a status)."""
    from service.pipeline.flags import refresh_floor_reasons
    from service.pipeline.generate import rescore_drafts

    if models is None:
        from service.settings import home_settings
        from service.state import model_store

        models = model_store(home_settings().models_dir)
    try:
        engagement = models.get("engagement")
    except NotReady:  # drafts made before any scoring model: nothing scored them, nothing to follow
        return []
    scored: list[int] = []
    session.flush()
    for batch in batches(draft_ids, size=RESCORE_BATCH):
        drafts = list(
            session.scalars(
                select(Draft)
                .where(Draft.id.in_(batch), Draft.status.not_in(FROZEN))
                .options(selectinload(Draft.variants), selectinload(Draft.customer), selectinload(Draft.campaign))
                .execution_options(populate_existing=True)
            )
        )
        rescore_drafts(drafts, engagement)
        for draft in drafts:
            if draft.status in WAITING:
                refresh_floor_reasons(draft)
        session.flush()
        scored += [draft.id for draft in drafts]
    return scored
