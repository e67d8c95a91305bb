"""Why a draft waits for a person: the guardrail checks its variants fail, each named with its reason.

Selection (scoring.selection) flags a draft when a variant fails a check and when the chosen variant's predictions
fall under the review floors; the check part is said again here with the checks' names, at generation and after
every edit, so that a reviewer reads what to fix rather than that something is wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from generation.guardrails import check_label
from scoring.selection import SelectionRules, floor_reasons, is_floor_reason
from service.db.models import Draft
from service.settings import CampaignSettings

CHECK_REASON = "failed a guardrail check"  # selection's words too: the sentences these replace contain them


def check_reasons(variants: Iterable[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """One sentence per variant, given as (label, checks as stored), that fails a check: which checks and why."""
    reasons = []
    for label, checks in variants:
        failed = [
            f"{check_label(c['name'])} ({c['reason']})" if c.get("reason") else check_label(c["name"])
            for c in checks
            if not c["passed"]
        ]
        if failed:
            reasons.append(f"variant {label} {CHECK_REASON}: {'; '.join(failed)}")
    return reasons


def with_check_reasons(reasons: Iterable[str], variants: Iterable[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """``reasons`` with those about checks replaced by the named ones of ``variants``; the others (predictions
    under a floor) kept, first."""
    return [r for r in reasons if CHECK_REASON not in r] + check_reasons(variants)


def refresh_flags(draft: Draft) -> None:
    """After an edit: the draft's reasons say what its variants fail now; it is flagged (and its status says so)
    while any reason is left, and back to pending when an edit mended the last one."""
    _flag_for(draft, with_check_reasons(draft.flag_reasons or [], ((v.label, v.checks) for v in draft.variants)))


def review_floors(settings: CampaignSettings) -> SelectionRules:
    """The predictions under which a draft goes to a person (`TAILOR_CAMPAIGN_REVIEW_THRESHOLD_*`), at generation
    and after an edit alike."""
    return SelectionRules(min_p_open=settings.review_threshold_p_open, min_p_click=settings.review_threshold_p_click)


def refresh_floor_reasons(draft: Draft) -> None:
    """After an edit scored the draft again: its reasons about the review floors say what its chosen variant's new
    predictions are, against the floors of now (`TAILOR_CAMPAIGN_REVIEW_THRESHOLD_*`): an edit that lifted the
    predicted open rate above the floor kept "predicted open rate 34.0% is under the 40% floor" and the draft
    flagged, beside the 41.0% its variant showed, and one that sank it under the floor left the draft pending,
    for approving all at once. Flagged (and its status saying so) while any reason is left, as ``refresh_flags``."""
    chosen = next((v for v in draft.variants if v.id == draft.selected_variant_id), None)
    if chosen is None or chosen.p_open is None or chosen.p_click is None:
        return
    others = [reason for reason in draft.flag_reasons or [] if not is_floor_reason(reason)]
    _flag_for(draft, floor_reasons(chosen.p_open, chosen.p_click, review_floors(CampaignSettings())) + others)


def _flag_for(draft: Draft, reasons: list[str]) -> None:
    """The draft's reasons; flagged (and its status saying so) while any is left, back to pending when none is."""
    draft.flag_reasons = reasons
    draft.flagged = bool(reasons)
    draft.status = "flagged" if draft.flagged else "pending"


# What a reason says of its kind: its words before the first colon, a variant's label and the figures left out
# ("predicted open rate 8.1% is under the 12% floor" and "…9.3%…" are "predicted open rate is under the floor").
_LABEL = re.compile(r"\bvariants?(?:\(s\))? [\w, ]+? (?=failed)")
_FIGURE = re.compile(r"\d[\d.,]*%?")


def flag_kinds(session: Session, campaign_id: int, shown: int = 3) -> dict[str, int]:
    """The campaign's flagged drafts counted by the kinds of their reasons, the ``shown`` most common first: what
    the person who ran the campaign reads before opening a draft (8,331 drafts were "flagged" and no more)."""
    kinds: Counter[str] = Counter()
    reasons = session.scalars(select(Draft.flag_reasons).where(Draft.campaign_id == campaign_id, Draft.flagged))
    for listed in reasons:
        kinds.update(
            {" ".join(_FIGURE.sub("", _LABEL.sub("a variant ", reason.split(":")[0])).split()) for reason in listed}
        )
    return dict(kinds.most_common(shown))
