"""The conditions on sends and experiment assignments that the contact policy (service.pipeline.contact_policy), the
best send hours (service.send_times) and the audience preview (service.audiences) share: which sends hold a draft
back, and which customers an experiment held out lately."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_

from scoring.experiments import HOLDOUT
from service.db.models import Assignment, Send


def not_their_own(drafts):
    """The condition on sends of other drafts than ``drafts``: one (its id, or the id column of a query's drafts) or
    several (their ids, or a select of them). A draft's own send, that of an email whose answer was lost, does not
    hold it back once a person approves it again."""
    several = isinstance(drafts, list | set | Select)
    return or_(Send.draft_id.is_(None), Send.draft_id.not_in(drafts) if several else Send.draft_id != drafts)


def held_out_since(since: datetime):
    """The condition on experiment assignments of a customer held out after ``since`` (the start of the window
    still protected): the contact policy defers their email, the audience preview counts them."""
    return (Assignment.arm == HOLDOUT) & (Assignment.assigned_at > since)
